//! The outbox against the platform simulator over real HTTP: replies, private replies, DMs
//! and moderation reach each platform once, in its format; refusals end rows with the
//! platform's reason (a refused token waits for new credentials, a spam warning pauses the
//! rule); faults (500, 429 with `Retry-After`, timeouts, answers dropped after the write)
//! still end in exactly one delivery each, with every `Retry-After` kept; two instances on
//! one PostgreSQL database send each reply once.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use crate::automation::{create_rule, fresh, number, wait_for};
use crate::common::*;
use serde_json::{Value, json};
use unibox::simulate::{Faults, World};

pub const IG: &str = "17841400000000001";
pub const IG_TOKEN: &str = "ig-token-0123456789abcdef";

/// A simulator, and how to point a server at it with short timeouts for tests.
pub struct Sim {
    pub world: Arc<World>,
    pub root: String,
}

impl Sim {
    pub async fn start() -> Sim {
        let world = Arc::new(World::default());
        let root = unibox::simulate::spawn(world.clone()).await.unwrap();
        Sim { world, root }
    }

    pub fn config(&self) -> impl FnOnce(&mut unibox::Config) + use<> {
        let root = self.root.clone();
        move |c| {
            c.platforms.meta_graph_url = format!("{root}/meta/v21.0");
            c.platforms.tiktok_api_url = format!("{root}/tiktok/open_api/v1.3");
            c.platforms.youtube_api_url = format!("{root}/youtube/v3");
            c.outbox.platform_timeout_ms = 400;
            c.outbox.outbox_retry_base_ms = 50;
            c.outbox.outbox_lease_seconds = 2;
            c.outbox.outbox_max_attempts = 30;
        }
    }

    /// Writes of `action` that took effect, by target.
    pub fn writes(&self, action: &str) -> HashMap<String, Vec<unibox::simulate::Write>> {
        let mut by: HashMap<String, Vec<_>> = HashMap::new();
        for w in self
            .world
            .writes()
            .into_iter()
            .filter(|w| w.action == action)
        {
            by.entry(w.target.clone()).or_default().push(w);
        }
        by
    }
}

/// Tells the simulator whose the token is, and connects the account with it through the API
/// (which asks the platform).
pub async fn connect(s: &TestServer, sim: &Sim, platform: &str, id: &str, token: &str) -> i64 {
    sim.world.register(token, id);
    let admin = s.api_client(&s.token_for(1, Scope::Admin).await);
    let r = admin
        .post(s.url("/api/v1/channels"))
        .json(
            &json!({"platform": platform, "handle": format!("acme.{platform}"), "platform_id": id,
                      "credentials": {"access_token": token}}),
        )
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    let body: Value = r.json().await.unwrap();
    assert!(status == 201 || status == 200, "{body}");
    assert_eq!(body["verified"], true, "{body}");
    body["id"].as_i64().unwrap()
}

pub fn ig_comment(id: &str, author: &str, text: &str) -> Value {
    fresh(
        json!({"type": "message", "platform": "instagram", "channel": IG, "kind": "comment",
        "external_id": id, "video": {"external_id": "18100000000000009", "title": "Reel"},
        "author": {"external_id": author, "username": author}, "text": text}),
    )
}

pub fn thanks_rule() -> Value {
    json!({"name": "Thanks", "mode": "auto", "delay_seconds": 0,
           "conditions": [{"type": "keywords", "any": ["love"]}],
           "actions": [{"type": "reply", "variants": ["Thank you {{ author.username }}!"]}],
           "safeguards": {"max_per_hour": 10000, "once_per_video": false}})
}

async fn sending_scenario(s: &TestServer, sim: &Sim) {
    connect(s, sim, "instagram", IG, IG_TOKEN).await;
    let rule = create_rule(s, thanks_rule()).await;
    let hider = create_rule(
        s,
        json!({"name": "Links", "mode": "auto", "delay_seconds": 0,
        "conditions": [{"type": "link"}], "actions": [{"type": "hide"}]}),
    )
    .await;
    let body = s
        .ingest(json!([
            ig_comment("1790000000000001", "lisa", "I love this"),
            ig_comment(
                "1790000000000002",
                "spammer",
                "cheap followers at https://spam.example"
            ),
        ]))
        .await;
    let thread = body["results"][0]["thread_id"].as_i64().unwrap();
    wait_for(s, "SELECT COUNT(*) FROM outbox WHERE state = 'sent'", 2).await;

    // The reply reached Instagram once, as our account, under the comment; the message knows
    // the platform's id for it.
    let replies = sim.writes("reply");
    assert_eq!(replies["1790000000000001"].len(), 1, "{replies:?}");
    let sent = &replies["1790000000000001"][0];
    assert_eq!(sent.text.as_deref(), Some("Thank you lisa!"));
    let (_, t) = s.get_json(&format!("/api/v1/threads/{thread}")).await;
    let ours = t["messages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["source"] == "rule")
        .unwrap()
        .clone();
    assert_eq!(ours["state"], "sent", "{ours}");
    assert_eq!(ours["external_id"], json!(sent.id), "{ours}");
    // The link was hidden.
    assert_eq!(sim.writes("hide")["1790000000000002"].len(), 1);

    // The API lists both rows; a manual reply goes out too.
    let (_, listed) = s.get_json("/api/v1/outbox?state=sent").await;
    let items = listed["items"].as_array().unwrap();
    assert_eq!(items.len(), 2, "{listed}");
    assert!(
        items
            .iter()
            .any(|i| i["action"] == "reply" && i["platform_reply_id"] == json!(sent.id))
    );
    let (status, _) = s
        .post_json(
            &format!("/api/v1/threads/{thread}/messages"),
            &json!({"text": "And welcome!"}),
        )
        .await;
    assert_eq!(status, 201);
    wait_for(s, "SELECT COUNT(*) FROM outbox WHERE state = 'sent'", 3).await;
    assert_eq!(sim.writes("reply")["1790000000000001"].len(), 2);
    let (status, body) = s.get_json("/api/v1/outbox?state=bogus").await;
    assert_eq!(status, 422, "{body}");

    // A deleted comment: the platform's reason, at once, and a person can see it.
    sim.world.add(unibox::simulate::world::Item {
        id: "1790000000000003".into(),
        platform: "instagram",
        by_token: None,
        author_id: "gone".into(),
        parent: None,
        video: None,
        text: "I love it".into(),
        hidden: false,
        liked: false,
        deleted: true,
        created: 0,
    });
    s.ingest(json!([ig_comment("1790000000000003", "gone", "I love it")]))
        .await;
    wait_for(s, "SELECT COUNT(*) FROM outbox WHERE state = 'dead'", 1).await;
    let (_, dead) = s.get_json("/api/v1/outbox?state=dead").await;
    let error = dead["items"][0]["last_error"].as_str().unwrap();
    assert!(
        error.contains("code 100") && error.contains("does not exist"),
        "{error}"
    );
    assert_eq!(dead["items"][0]["attempts"], 1);
    // Retried by a person, it fails the same way; cancelled, it stays cancelled.
    let id = dead["items"][0]["id"].as_i64().unwrap();
    let (status, _) = s
        .post_json(&format!("/api/v1/outbox/{id}/retry"), &json!({}))
        .await;
    assert_eq!(status, 200);
    wait_for(
        s,
        "SELECT COUNT(*) FROM outbox WHERE state = 'dead' AND attempts = 1",
        1,
    )
    .await;
    let (status, _) = s
        .post_json(&format!("/api/v1/outbox/{id}/cancel"), &json!({}))
        .await;
    assert_eq!(status, 200);
    let (status, body) = s
        .post_json(&format!("/api/v1/outbox/{id}/cancel"), &json!({}))
        .await;
    assert_eq!(status, 409, "{body}");
    let (status, _) = s.post_json("/api/v1/outbox/999999/retry", &json!({})).await;
    assert_eq!(status, 404);

    // A revoked token: nothing is retried against it; the rows wait, the channel says why,
    // and new credentials send them.
    sim.world.revoke(IG_TOKEN);
    s.ingest(json!([ig_comment(
        "1790000000000004",
        "noor",
        "love the colours"
    )]))
    .await;
    wait_for(
        s,
        "SELECT COUNT(*) FROM channel_health WHERE token_problem LIKE '%code 190%'",
        1,
    )
    .await;
    let requests = sim.world.requests();
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(
        sim.world.requests(),
        requests,
        "a refused token is not tried again"
    );
    assert_eq!(
        number(s, "SELECT COUNT(*) FROM outbox WHERE state = 'queued'").await,
        1
    );
    let admin = s.api_client(&s.token_for(1, Scope::Admin).await);
    let channel = number(
        s,
        &format!("SELECT id FROM channels WHERE platform_id = '{IG}'"),
    )
    .await;
    sim.world.register("ig-token-renewed-000000", IG);
    let r = admin
        .patch(s.url(&format!("/api/v1/channels/{channel}")))
        .json(&json!({"credentials": {"access_token": "ig-token-renewed-000000"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    wait_for(s, "SELECT COUNT(*) FROM outbox WHERE state = 'sent'", 4).await;
    assert_eq!(sim.writes("reply")["1790000000000004"].len(), 1);

    // A spam warning from the platform pauses the rule that sent the reply.
    sim.world.flag("ig-token-renewed-000000");
    s.ingest(json!([ig_comment(
        "1790000000000005",
        "sam",
        "love love love"
    )]))
    .await;
    wait_for(s, &format!("SELECT COUNT(*) FROM rules WHERE id = {rule} AND NOT enabled AND paused_reason LIKE '%code 368%'"), 1).await;
    assert_eq!(
        number(
            s,
            &format!("SELECT COUNT(*) FROM rules WHERE id = {hider} AND enabled")
        )
        .await,
        1
    );
}

async fn other_platforms_scenario(s: &TestServer, sim: &Sim) {
    connect(
        s,
        sim,
        "tiktok",
        "7300000000000000001",
        "tt-token-0123456789abcdef",
    )
    .await;
    connect(
        s,
        sim,
        "youtube",
        "UCsimulatedchannel0001",
        "yt-token-0123456789abcdef",
    )
    .await;
    create_rule(s, thanks_rule()).await;
    // A TikTok id above 2^53 stays exact all the way to the platform and back.
    let big = "7385350567722402578";
    s.ingest(json!([
        fresh(json!({"type": "message", "platform": "tiktok", "channel": "7300000000000000001", "kind": "comment",
            "external_id": big, "video": {"external_id": "7377694258502880513"},
            "author": {"external_id": "6900000000000000001", "username": "tiktokker"}, "text": "love it"})),
        fresh(json!({"type": "message", "platform": "youtube", "channel": "UCsimulatedchannel0001", "kind": "comment",
            "external_id": "UgzYouTubeComment01", "video": {"external_id": "dQw4w9WgXcQ"},
            "author": {"external_id": "UCviewer", "username": "viewer"}, "text": "I love this song"})),
    ])).await;
    wait_for(s, "SELECT COUNT(*) FROM outbox WHERE state = 'sent'", 2).await;
    let replies = sim.writes("reply");
    assert_eq!(replies[big].len(), 1, "{replies:?}");
    assert_eq!(replies["UgzYouTubeComment01"].len(), 1);
    let tiktok_id = &replies[big][0].id;
    assert!(tiktok_id.parse::<u64>().unwrap() > 1 << 53);
    assert_eq!(
        number(
            s,
            &format!(
                "SELECT COUNT(*) FROM messages WHERE external_id = '{tiktok_id}' AND state = 'sent'"
            )
        )
        .await,
        1
    );
    // YouTube's units were counted: one reply, 50 units.
    assert_eq!(
        number(
            s,
            "SELECT CAST(COALESCE(SUM(units), 0) AS BIGINT) FROM platform_quota"
        )
        .await,
        50
    );
}

/// Every comment answered exactly once, however the platform misbehaves.
async fn faults_scenario(s: &TestServer, sim: &Sim, comments: usize) {
    connect(s, sim, "instagram", IG, IG_TOKEN).await;
    create_rule(s, thanks_rule()).await;
    sim.world.set_faults(Faults {
        error_rate: 0.075,
        rate_limit_rate: 0.075,
        timeout_rate: 0.075,
        drop_rate: 0.075,
        retry_after_seconds: 1,
        hang_ms: 1_000,
        ..Faults::default()
    });
    let events: Vec<Value> = (0..comments)
        .map(|i| {
            ig_comment(
                &format!("17950000000{i:05}"),
                &format!("fan{i}"),
                "love this",
            )
        })
        .collect();
    for chunk in events.chunks(50) {
        s.ingest(json!(chunk)).await;
    }
    let mut last = 0;
    for _ in 0..1200 {
        last = number(s, "SELECT COUNT(*) FROM outbox WHERE state = 'sent'").await;
        if last == comments as i64 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    if last != comments as i64 {
        let (_, rows) = s.get_json("/api/v1/outbox?state=failed").await;
        let (_, dead) = s.get_json("/api/v1/outbox?state=dead").await;
        let (_, queued) = s.get_json("/api/v1/outbox?state=queued").await;
        let (_, sending) = s.get_json("/api/v1/outbox?state=sending").await;
        let runs = number(s, "SELECT COUNT(*) FROM rule_runs WHERE outcome = 'done'").await;
        panic!(
            "{last} of {comments} sent ({runs} runs done); failed {rows}; dead {dead}; queued {queued}; sending {sending}"
        );
    }
    let replies = sim.writes("reply");
    assert_eq!(replies.len(), comments, "every comment answered");
    let twice: Vec<_> = replies.iter().filter(|(_, w)| w.len() != 1).collect();
    assert!(twice.is_empty(), "answered more than once: {twice:?}");
    assert_eq!(
        sim.world.violations(),
        Vec::<String>::new(),
        "every Retry-After kept"
    );
    assert_eq!(
        number(s, "SELECT COUNT(*) FROM outbox WHERE state <> 'sent'").await,
        0
    );
    // The faults happened: some rows needed more than one attempt.
    assert!(number(s, "SELECT COUNT(*) FROM outbox WHERE attempts > 1").await > 0);
}

simulated_on_both_backends! {
    sending(s, sim) with sim.config() => sending_scenario(&s, &sim);
}

/// An instance died after the platform took a reply and before it recorded it: the row is
/// still `sending`, in doubt, its lease run out. Another dispatcher takes the lease over, finds
/// the reply on the platform, and records it without sending it again.
async fn abandoned_lease_scenario(s: &TestServer, sim: &Sim) {
    connect(s, sim, "instagram", IG, IG_TOKEN).await;
    create_rule(s, thanks_rule()).await;
    s.ingest(json!([ig_comment(
        "1790000000000011",
        "lisa",
        "I love this"
    )]))
    .await;
    wait_for(s, "SELECT COUNT(*) FROM outbox WHERE state = 'sent'", 1).await;
    let sent = sim.writes("reply")["1790000000000011"][0].id.clone();
    let past = chrono::Utc::now() - chrono::Duration::seconds(5);
    let mut dead = unibox::storage::Sql::new(
        "UPDATE outbox SET state = 'sending', in_doubt = TRUE, platform_reply_id = NULL, lease_until = ",
    );
    dead.bind(past).push(" WHERE state = 'sent'");
    assert_eq!(s.db.execute(dead).await.unwrap(), 1);
    wait_for(
        s,
        "SELECT COUNT(*) FROM outbox WHERE state = 'sent' AND attempts = 2 AND in_doubt = FALSE",
        1,
    )
    .await;
    let replies = sim.writes("reply");
    assert_eq!(
        replies["1790000000000011"].len(),
        1,
        "sent once: {replies:?}"
    );
    let (_, listed) = s.get_json("/api/v1/outbox?state=sent").await;
    assert_eq!(
        listed["items"][0]["platform_reply_id"],
        json!(sent),
        "{listed}"
    );
}

simulated_on_both_backends! {
    abandoned_lease(s, sim) with sim.config() => abandoned_lease_scenario(&s, &sim);
}

simulated_on_both_backends! {
    tiktok_and_youtube(s, sim) with sim.config() => other_platforms_scenario(&s, &sim);
    faults(s, sim) with sim.config() => faults_scenario(&s, &sim, 200);
}

/// Two instances on one PostgreSQL database, both dispatching: each reply sent once.
#[tokio::test]
async fn two_instances_on_postgres_send_each_reply_once() {
    let sim = Sim::start().await;
    let Some(s) = TestServer::postgres_with(sim.config()).await else {
        return;
    };
    connect(&s, &sim, "instagram", IG, IG_TOKEN).await;
    create_rule(&s, thanks_rule()).await;
    // A second instance: its own pool and workers on the same database.
    let mut config = unibox::Config::for_database(&s.database_url);
    sim.config()(&mut config);
    let other_db = unibox::storage::connect(&s.database_url, 5).await.unwrap();
    let other = unibox::AppState::new(other_db.clone(), config);
    // Slow answers keep many calls in flight at once on both instances.
    sim.world.set_faults(Faults {
        slow_ms: 20,
        drop_rate: 0.05,
        hang_ms: 1_000,
        ..Faults::default()
    });
    let comments = 600;
    let events: Vec<Value> = (0..comments)
        .map(|i| {
            ig_comment(
                &format!("17970000000{i:05}"),
                &format!("fan{i}"),
                "love this",
            )
        })
        .collect();
    for chunk in events.chunks(100) {
        s.ingest(json!(chunk)).await;
    }
    let mut last = 0;
    for _ in 0..900 {
        last = number(&s, "SELECT COUNT(*) FROM outbox WHERE state = 'sent'").await;
        if last == comments {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(last, comments, "every reply sent");
    let replies = sim.writes("reply");
    assert_eq!(replies.len(), comments as usize);
    assert!(
        replies.values().all(|w| w.len() == 1),
        "each reply sent once"
    );
    other.workers.shutdown(Duration::from_secs(5)).await;
    other_db.close().await;
    s.finish().await;
}

on_both_backends! {
    async fn rows_that_cannot_be_sent_never_look_due(s: &TestServer) {
        // A reply on a channel first seen through ingest (no access token yet) waits, queued,
        // without making the dispatcher look for work again and again.
        let body = s.ingest(json!([fresh(comment("c1", "hello"))])).await;
        let thread = body["results"][0]["thread_id"].as_i64().unwrap();
        let (status, _) = s.post_json(&format!("/api/v1/threads/{thread}/messages"), &json!({"text": "hi"})).await;
        assert_eq!(status, 201);
        assert_eq!(number(s, "SELECT COUNT(*) FROM outbox WHERE state = 'queued'").await, 1);
        assert_eq!(unibox::outbox::claim::next_due(&s.db).await.unwrap(), None);
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert_eq!(number(s, "SELECT COUNT(*) FROM outbox WHERE state = 'queued' AND attempts = 0").await, 1);
    }
}
