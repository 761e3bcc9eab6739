//! TikTok's `comment.update` webhook over real HTTP: the signature over time and body, stale
//! times refused, the content parsed twice with ids above 2^53 kept exact, the text fetched
//! from the simulator's `comment/list`, redeliveries as duplicates, our own replies coming
//! back recognised as ours, and a TikTok outage answered 503 with nothing stored.

use crate::automation::{create_rule, number, wait_for};
use crate::common::*;
use crate::outbox::{Sim, connect};
use serde_json::{Value, json};
use unibox::connectors::signature::sign_tiktok;
use unibox::simulate::Faults;
use unibox::simulate::world::Item;

pub const SECRET: &str = "tiktok-client-secret";
pub const ACCOUNT: &str = "act.example.openid";
pub const TOKEN: &str = "tt-token-0123456789abcdef";
pub const VIDEO: &str = "7377694258502880513";

pub fn seed(sim: &Sim, id: &str, author: &str, text: &str, parent: Option<&str>) {
    sim.world.add(Item {
        id: id.into(),
        platform: "tiktok",
        by_token: None,
        author_id: author.into(),
        parent: parent.map(str::to_owned),
        video: Some(VIDEO.into()),
        text: text.into(),
        hidden: false,
        liked: false,
        deleted: false,
        created: chrono::Utc::now().timestamp(),
    });
}

pub fn notice(comment: &str, action: &str) -> Vec<u8> {
    // The content is JSON inside a string, with the ids as bare integers, as TikTok sends it.
    let content = format!(
        "{{\"comment_id\":{comment},\"video_id\":{VIDEO},\"parent_comment_id\":0,\"comment_type\":\"comment\",\"comment_action\":\"{action}\",\"timestamp\":{},\"unique_identifier\":\"fan\"}}",
        chrono::Utc::now().timestamp_millis()
    );
    serde_json::to_vec(&json!({"client_key": "sbaw0000", "event": "comment.update",
        "create_time": chrono::Utc::now().timestamp(), "user_openid": ACCOUNT, "content": content}))
    .unwrap()
}

/// A TikTok signature of `body` with the app's secret, made now.
pub fn signed(body: &[u8]) -> Option<String> {
    Some(sign_tiktok(SECRET, body, now()))
}

pub async fn deliver(s: &TestServer, body: &[u8], signature: Option<String>) -> (u16, Value) {
    let mut r = s
        .anonymous()
        .post(s.url("/webhooks/tiktok"))
        .header("content-type", "application/json")
        .body(body.to_vec());
    if let Some(sig) = signature {
        r = r.header("tiktok-signature", sig);
    }
    let r = r.send().await.unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

pub fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

async fn scenario(s: &TestServer, sim: &Sim) {
    connect(s, sim, "tiktok", ACCOUNT, TOKEN).await;
    create_rule(
        s,
        json!({"name": "Thanks", "mode": "auto", "delay_seconds": 0,
        "conditions": [{"type": "keywords", "any": ["love"]}],
        "actions": [{"type": "reply", "variants": ["Thank you {{ author.username }}!"]}]}),
    )
    .await;
    let big = "7385350567722402578";
    sim.world.set_person(unibox::simulate::Person {
        id: "6900000000000000001".into(),
        username: Some("fan_6900".into()),
        name: Some("Fan".into()),
    });
    seed(sim, big, "6900000000000000001", "I love this product", None);
    let body = notice(big, "insert");

    // Refused: no signature, a wrong one, a replayed (stale) one; nothing stored.
    assert_eq!(deliver(s, &body, None).await.0, 401);
    assert_eq!(
        deliver(s, &body, Some(sign_tiktok("guess", &body, now())))
            .await
            .0,
        403
    );
    let (status, answer) = deliver(s, &body, Some(sign_tiktok(SECRET, &body, now() - 3600))).await;
    assert_eq!(status, 403, "{answer}");
    assert!(answer.to_string().contains("five minutes"), "{answer}");
    assert_eq!(s.count("messages").await, 0);

    // Accepted: the text is fetched, the id stays exact, and the rule answers it on TikTok.
    let (status, answer) = deliver(s, &body, Some(sign_tiktok(SECRET, &body, now()))).await;
    assert_eq!(
        (status, answer["created"].clone()),
        (200, json!(1)),
        "{answer}"
    );
    assert_eq!(number(s, &format!("SELECT COUNT(*) FROM messages WHERE external_id = '{big}' AND text = 'I love this product'")).await, 1);
    wait_for(s, "SELECT COUNT(*) FROM outbox WHERE state = 'sent'", 1).await;
    let reply = sim.writes("reply")[big][0].clone();
    assert_eq!(reply.text.as_deref(), Some("Thank you fan_6900!"));
    // A redelivery is a duplicate.
    let (status, answer) = deliver(s, &body, Some(sign_tiktok(SECRET, &body, now()))).await;
    assert_eq!(
        (status, answer["duplicates"].clone()),
        (200, json!(1)),
        "{answer}"
    );

    // Our own reply comes back through the webhook: recognised as the message we sent.
    let echo = notice(&reply.id, "insert");
    let (status, answer) = deliver(s, &echo, Some(sign_tiktok(SECRET, &echo, now()))).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(
        number(
            s,
            &format!(
                "SELECT COUNT(*) FROM messages WHERE external_id = '{}' AND direction = 'outbound'",
                reply.id
            )
        )
        .await,
        1
    );
    assert_eq!(
        number(
            s,
            "SELECT COUNT(*) FROM messages WHERE direction = 'inbound'"
        )
        .await,
        1,
        "not answered as someone else's"
    );

    // Other actions are acknowledged; malformed content says where.
    let deleted = notice(big, "delete");
    let (status, answer) = deliver(s, &deleted, Some(sign_tiktok(SECRET, &deleted, now()))).await;
    assert_eq!((status, answer["ignored"].clone()), (200, json!(1)));
    let bad = serde_json::to_vec(
        &json!({"event": "comment.update", "user_openid": ACCOUNT, "content": "{\"video_id\": 1}"}),
    )
    .unwrap();
    let (status, answer) = deliver(s, &bad, Some(sign_tiktok(SECRET, &bad, now()))).await;
    assert_eq!(status, 422, "{answer}");
    assert!(
        answer.to_string().contains("content.comment_id"),
        "{answer}"
    );
    let (status, _) = deliver(s, b"{oops", Some(sign_tiktok(SECRET, b"{oops", now()))).await;
    assert_eq!(status, 400);

    // TikTok down: 503, nothing stored, and TikTok's redelivery later stores it.
    let second = "7385350567722402999";
    seed(sim, second, "6900000000000000002", "love the colour", None);
    let body = notice(second, "insert");
    sim.world.set_faults(Faults {
        error_rate: 1.0,
        ..Faults::default()
    });
    let (status, answer) = deliver(s, &body, Some(sign_tiktok(SECRET, &body, now()))).await;
    assert_eq!(status, 503, "{answer}");
    // The channel's health says so: a 503 is never hidden behind a healthy channel.
    let health = channel_health(s).await;
    assert!(
        health.contains("webhook not taken") && health.contains("could not fetch the comment"),
        "{health}"
    );
    assert_eq!(
        number(
            s,
            &format!("SELECT COUNT(*) FROM messages WHERE external_id = '{second}'")
        )
        .await,
        0
    );
    sim.world.set_faults(Faults::default());
    let (status, _) = deliver(s, &body, Some(sign_tiktok(SECRET, &body, now()))).await;
    assert_eq!(status, 200);
    assert_eq!(
        number(
            s,
            &format!("SELECT COUNT(*) FROM messages WHERE external_id = '{second}'")
        )
        .await,
        1
    );
    // The channel heard from TikTok.
    assert_eq!(
        number(
            s,
            "SELECT COUNT(*) FROM channel_health WHERE last_event_at IS NOT NULL"
        )
        .await,
        1
    );

    // The account's minute of `comment/list` spent (by another app of the account): TikTok
    // refuses, the answer is 503 and the channel says why; the next notice within the minute
    // is held back by unibox instead of being sent to TikTok to be refused again.
    let http = reqwest::Client::new();
    for _ in 0..40 {
        http.get(format!(
            "{}/tiktok/open_api/v1.3/business/comment/list/?business_id={ACCOUNT}&video_id={VIDEO}",
            sim.root
        ))
        .header("Access-Token", TOKEN)
        .send()
        .await
        .unwrap();
    }
    let third = "7385350567722403001";
    seed(sim, third, "6900000000000000003", "love it", None);
    let body = notice(third, "insert");
    let (status, answer) = deliver(s, &body, Some(sign_tiktok(SECRET, &body, now()))).await;
    assert_eq!(status, 503, "{answer}");
    assert!(
        answer["error"]
            .as_str()
            .unwrap()
            .contains("Too many requests"),
        "{answer}"
    );
    assert!(channel_health(s).await.contains("Too many requests"));
    let (status, answer) = deliver(s, &body, Some(sign_tiktok(SECRET, &body, now()))).await;
    assert_eq!(status, 503, "{answer}");
    assert!(
        answer["error"]
            .as_str()
            .unwrap()
            .contains("budget for comment/list is spent"),
        "held back, not refused again by TikTok: {answer}"
    );
}

/// What `/channels` shows of the TikTok channel's health.
async fn channel_health(s: &TestServer) -> String {
    let (status, page) = s.page("/channels").await;
    assert_eq!(status, 200);
    select(&page, "tr.channel td.health")
        .iter()
        .map(text_of)
        .collect()
}

pub fn tiktok(sim: &Sim) -> impl FnOnce(&mut unibox::Config) + use<> {
    let base = sim.config();
    move |c| {
        base(c);
        c.platforms.tiktok_client_secret = Some(unibox::config::Secret::new(SECRET));
    }
}

simulated_on_both_backends! {
    comment_update(s, sim) with tiktok(&sim) => scenario(&s, &sim);
}
