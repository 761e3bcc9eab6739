//! Meta webhooks in their real format over real HTTP: the handshake, signatures checked on the
//! raw body (a refused webhook stores nothing), several entries and changes per delivery, our
//! own comments and echoes stored as ours, redeliveries as duplicates, and the rules acting on
//! what arrives.

use crate::automation::{create_rule, fresh};
use crate::common::*;
use crate::outbox::{Sim, connect};
use serde_json::{Value, json};
use unibox::connectors::signature::sign_hmac_sha256;

pub const SECRET: &str = "meta-app-secret";
const VERIFY: &str = "verify-me";
pub const IG: &str = "17841400000000001";

pub(crate) fn meta(config: &mut unibox::Config) {
    config.platforms.meta_app_secret = Some(unibox::config::Secret::new(SECRET));
    config.platforms.meta_verify_token = Some(unibox::config::Secret::new(VERIFY));
}

pub async fn post(s: &TestServer, body: &[u8], signature: Option<String>) -> (u16, Value) {
    let mut r = s
        .anonymous()
        .post(s.url("/webhooks/meta"))
        .header("content-type", "application/json")
        .body(body.to_vec());
    if let Some(sig) = signature {
        r = r.header("x-hub-signature-256", sig);
    }
    let r = r.send().await.unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

pub fn signed(body: &[u8]) -> Option<String> {
    Some(format!(
        "sha256={}",
        sign_hmac_sha256(SECRET.as_bytes(), body)
    ))
}

fn delivery(account: &str) -> Vec<u8> {
    let now = chrono::Utc::now().timestamp();
    serde_json::to_vec(&json!({"object": "instagram", "entry": [
        {"id": account, "time": now, "changes": [
            {"field": "comments", "value": {"id": "18000000000000001", "text": "Wat is de prijs?",
             "from": {"id": "5550001", "username": "lisa"}, "media": {"id": "18100000000000009", "media_product_type": "REELS"}}},
            {"field": "comments", "value": {"id": "18000000000000002", "text": "Link in bio!", "parent_id": "18000000000000001",
             "from": {"id": account, "username": "acme"}, "media": {"id": "18100000000000009"}}}]},
        {"id": account, "time": now, "messaging": [
            {"sender": {"id": "5550002"}, "recipient": {"id": account}, "timestamp": now * 1000,
             "message": {"mid": "aWdfZAG1faXRlbToxOklHTWVzc2FnZAUlEOjE3ODQx", "text": "Hoi, is dit nog te koop?"}},
            {"sender": {"id": account}, "recipient": {"id": "5550002"}, "timestamp": now * 1000 + 5,
             "message": {"mid": "aWdfZAG1faXRlbToxOklHTWVzc2FnZAUlEOjE3ODQy", "text": "Ja!", "is_echo": true}}]}]}))
    .unwrap()
}

/// Meta's webhook settings, with the platforms' APIs at `sim` (which says whose tokens are).
pub fn meta_at(sim: &Sim) -> impl FnOnce(&mut unibox::Config) + use<> {
    let base = sim.config();
    move |c| {
        base(c);
        meta(c);
    }
}

async fn scenario(s: &TestServer, sim: &Sim) {
    // The handshake.
    let url = |token: &str| {
        s.url(&format!(
            "/webhooks/meta?hub.mode=subscribe&hub.verify_token={token}&hub.challenge=1158201444"
        ))
    };
    let r = s.anonymous().get(url(VERIFY)).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.text().await.unwrap(), "1158201444");
    assert_eq!(
        s.anonymous()
            .get(url("guess"))
            .send()
            .await
            .unwrap()
            .status(),
        403
    );

    // The account is connected with a token Meta says is its own (first seen through the
    // ingest API, then given its token), and a rule listens.
    s.ingest(json!([fresh(
        json!({"type": "message", "platform": "instagram", "channel": IG, "kind": "dm",
        "external_id": "setup-1", "author": {"external_id": "5559999"}, "text": "hello"})
    )]))
    .await;
    connect(s, sim, "instagram", IG, "ig-token-0123456789abcdef").await;
    create_rule(s, json!({"name": "Prijs", "mode": "suggest", "conditions": [{"type": "keywords", "any": ["prijs"]}],
        "actions": [{"type": "reply", "variants": ["€19, {{ author.username }}!", "Hij kost €19."]}]})).await;
    let before = s.count("messages").await;

    // Refused: no signature, a wrong one, a body changed after signing. Nothing is stored.
    let body = delivery(IG);
    assert_eq!(post(s, &body, None).await.0, 401);
    assert_eq!(
        post(s, &body, Some("sha256=".to_owned() + &"0".repeat(64)))
            .await
            .0,
        403
    );
    let mut changed = body.clone();
    changed.push(b' ');
    assert_eq!(post(s, &changed, signed(&body)).await.0, 403);
    assert_eq!(s.count("messages").await, before);

    // Accepted: four events from two entries; our own comment and the echo are ours.
    let (status, answer) = post(s, &body, signed(&body)).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["created"], 4, "{answer}");
    let rows: Vec<(String, String, String)> = s.db.fetch_all(unibox::storage::Sql::new(
        "SELECT external_id, kind, direction FROM messages WHERE external_id <> 'setup-1' AND source = 'platform' ORDER BY external_id")).await.unwrap();
    assert_eq!(
        rows,
        [
            (
                "18000000000000001".to_owned(),
                "comment".to_owned(),
                "inbound".to_owned()
            ),
            (
                "18000000000000002".to_owned(),
                "comment".to_owned(),
                "outbound".to_owned()
            ),
            (
                "aWdfZAG1faXRlbToxOklHTWVzc2FnZAUlEOjE3ODQx".to_owned(),
                "dm".to_owned(),
                "inbound".to_owned()
            ),
            (
                "aWdfZAG1faXRlbToxOklHTWVzc2FnZAUlEOjE3ODQy".to_owned(),
                "dm".to_owned(),
                "outbound".to_owned()
            ),
        ]
    );
    // The comment asked the price: the rule suggests an answer to it, and to nothing else.
    let (_, waiting) = s.get_json("/api/v1/suggestions").await;
    assert_eq!(
        waiting["suggestions"].as_array().unwrap().len(),
        1,
        "{waiting}"
    );
    assert_eq!(waiting["suggestions"][0]["answers"], "Wat is de prijs?");

    // Meta delivers at least once: the same delivery again stores nothing new.
    let (status, answer) = post(s, &body, signed(&body)).await;
    assert_eq!(
        (
            status,
            answer["created"].as_i64(),
            answer["duplicates"].as_i64()
        ),
        (200, Some(0), Some(4)),
        "{answer}"
    );

    // An account nobody connected: acknowledged, not stored.
    let other = delivery("17841499999999999");
    let (status, answer) = post(s, &other, signed(&other)).await;
    assert_eq!(
        (status, answer["not_connected"].as_i64()),
        (200, Some(4)),
        "{answer}"
    );

    // A signed but malformed delivery: every problem by its path, nothing stored.
    let broken = serde_json::to_vec(&json!({"object": "instagram", "entry": [{"id": IG, "changes": [
        {"field": "comments", "value": {"text": "no id", "from": {"id": "5"}, "media": {"id": "6"}}}]}]})).unwrap();
    let (status, answer) = post(s, &broken, signed(&broken)).await;
    assert_eq!(status, 422, "{answer}");
    assert_eq!(
        answer["problems"][0]["field"],
        "entry[0].changes[0].value.id"
    );
    let bad_json = b"{\"object\": \"instagram\", ";
    assert_eq!(post(s, bad_json, signed(bad_json)).await.0, 400);
    assert_eq!(
        s.count("messages").await,
        before + 4 + 1,
        "four events and one suggestion"
    );
}

simulated_on_both_backends! {
    // The simulator says whose the token is; the webhooks themselves need no platform.
    meta_webhooks(s, sim) with meta_at(&sim) => scenario(&s, &sim);
}

#[tokio::test]
async fn without_the_app_secret_meta_webhooks_are_refused() {
    let s = TestServer::sqlite().await;
    let body = delivery(IG);
    let (status, answer) = post(&s, &body, signed(&body)).await;
    assert_eq!(status, 403);
    assert!(
        answer["error"]
            .as_str()
            .unwrap()
            .contains("UNIBOX_META_APP_SECRET"),
        "{answer}"
    );
    s.finish().await;
}

/// A comment webhook for the account with comments `ids` by the author `5550001`.
pub fn comments(ids: &[&str]) -> Vec<u8> {
    let now = chrono::Utc::now().timestamp();
    let changes: Vec<Value> = ids
        .iter()
        .map(|id| {
            json!({"field": "comments", "value": {"id": id, "text": "Mooi!",
            "from": {"id": "5550001", "username": "lisa"}, "media": {"id": "18100000000000009"}}})
        })
        .collect();
    serde_json::to_vec(
        &json!({"object": "instagram", "entry": [{"id": IG, "time": now, "changes": changes}]}),
    )
    .unwrap()
}

/// Two instances on one PostgreSQL database: what one changes about a channel, the other
/// acts on at once — not after its memory of channels times out.
#[tokio::test]
async fn another_instance_sees_a_changed_channel_at_once() {
    let sim = Sim::start().await;
    sim.world.register("token-0123456789", IG);
    let Some(s) = TestServer::postgres_with(meta_at(&sim)).await else {
        return;
    };
    // Connects the account in `workspace`; the channel's id.
    let server = &s;
    let connect = |workspace: i64| async move {
        let s = server;
        let admin = s.api_client(&s.token_for(workspace, Scope::Admin).await);
        let body = json!({"platform": "instagram", "handle": "acme.ig", "platform_id": IG,
            "credentials": {"access_token": "token-0123456789"}});
        let r = admin
            .post(s.url("/api/v1/channels"))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201);
        r.json::<Value>().await.unwrap()["id"].as_i64().unwrap()
    };
    let channel = connect(1).await;

    // The other instance, serving webhooks on its own port with its own pool and workers.
    let mut config = unibox::Config::for_database(&s.database_url);
    meta_at(&sim)(&mut config);
    let other_db = unibox::storage::connect(&s.database_url, 5).await.unwrap();
    let other = unibox::AppState::new(other_db.clone(), config);
    let epoch = other.live.channels_epoch();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let served = tokio::spawn(unibox::serve(listener, other, async {
        let _ = stopped.await;
    }));
    let post_other = |body: Vec<u8>| {
        let url = format!("{base}/webhooks/meta");
        async move {
            let r = reqwest::Client::new()
                .post(url)
                .header("content-type", "application/json")
                .header("x-hub-signature-256", signed(&body).unwrap())
                .body(body)
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 200);
            r.json::<Value>().await.unwrap()
        }
    };
    // Waits (briefly: well within the memory's few seconds) until the other instance heard.
    let heard = |before: u64| {
        let epoch = epoch.clone();
        async move {
            for _ in 0..200 {
                if epoch.get() > before {
                    return;
                }
                tokio::time::sleep(std::time::Duration::from_millis(10)).await;
            }
            panic!("the other instance never heard that a channel changed");
        }
    };
    // Let the other instance's listener connect before anything changes.
    heard(0).await;
    let answer = post_other(comments(&["18000000000000101"])).await;
    assert_eq!(answer["created"], 1, "{answer}");

    // Connected in a second workspace too: the next comment goes to both.
    let two = s.add_workspace("two").await;
    let before = epoch.get();
    connect(two).await;
    heard(before).await;
    let answer = post_other(comments(&["18000000000000102"])).await;
    assert_eq!(answer["created"], 2, "stored in both workspaces: {answer}");

    // The account's own id set in the first workspace: what the ingest API brings from that
    // author is ours there now (a webhook says whose a comment is itself).
    let admin = s.api_client(&s.token_for(1, Scope::Admin).await);
    let before = epoch.get();
    let r = admin
        .patch(s.url(&format!("/api/v1/channels/{channel}")))
        .json(&json!({"own_author_id": "5550001"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    heard(before).await;
    let event = FakeMessage::comment("18000000000000103")
        .on("instagram", IG)
        .by("5550001")
        .build();
    let r = s
        .api_client(&s.token_for(1, Scope::Write).await)
        .post(format!("{base}/api/v1/events"))
        .json(&json!([event]))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    assert_eq!(
        s.count("messages WHERE external_id = '18000000000000103' AND direction = 'outbound'")
            .await,
        1
    );

    let _ = stop.send(());
    served.await.unwrap().unwrap();
    other_db.close().await;
    s.finish().await;
}
