//! Properties of the webhook parsers over real HTTP: whatever shape a correctly signed Meta or
//! TikTok delivery takes, the answer is a 2xx or a 4xx (never a 5xx, never a dropped
//! connection), and a refused delivery stores nothing.

use crate::common::*;
use crate::outbox::{IG, IG_TOKEN, Sim, connect};
use crate::properties::{any_json, cases};
use crate::tiktok::{ACCOUNT, TOKEN, seed};
use proptest::prelude::*;
use serde_json::{Value, json};
use unibox::connectors::signature::{sign_hmac_sha256, sign_tiktok};

const META_SECRET: &str = "meta-app-secret";
const TIKTOK_SECRET: &str = "tiktok-client-secret";

fn config(sim: &Sim) -> impl FnOnce(&mut unibox::Config) + use<> {
    let simulated = sim.config();
    move |c| {
        simulated(c);
        c.platforms.meta_app_secret = Some(unibox::config::Secret::new(META_SECRET));
        c.platforms.tiktok_client_secret = Some(unibox::config::Secret::new(TIKTOK_SECRET));
    }
}

/// A real-format Instagram delivery: a comment, a reply, a DM and an echo.
fn meta_delivery() -> Value {
    let now = chrono::Utc::now().timestamp();
    json!({"object": "instagram", "entry": [
        {"id": IG, "time": now, "changes": [
            {"field": "comments", "value": {"id": "18000000000000001", "text": "Wat kost dit?",
             "from": {"id": "5550001", "username": "lisa"}, "media": {"id": "18100000000000009", "media_product_type": "REELS"}}},
            {"field": "comments", "value": {"id": "18000000000000002", "text": "Link in bio", "parent_id": "18000000000000001",
             "from": {"id": IG, "username": "acme"}, "media": {"id": "18100000000000009"}}}]},
        {"id": IG, "time": now, "messaging": [
            {"sender": {"id": "5550002"}, "recipient": {"id": IG}, "timestamp": now * 1000,
             "message": {"mid": "m-1", "text": "Hoi"}},
            {"sender": {"id": IG}, "recipient": {"id": "5550002"}, "timestamp": now * 1000,
             "message": {"mid": "m-2", "text": "Ja!", "is_echo": true}}]}]})
}

/// The paths a mutation may replace or remove, from the root to the leaves.
const META_PATHS: &[&str] = &[
    "/object",
    "/entry",
    "/entry/0",
    "/entry/0/id",
    "/entry/0/time",
    "/entry/0/changes",
    "/entry/0/changes/0",
    "/entry/0/changes/0/field",
    "/entry/0/changes/0/value",
    "/entry/0/changes/0/value/id",
    "/entry/0/changes/0/value/text",
    "/entry/0/changes/0/value/from",
    "/entry/0/changes/0/value/from/id",
    "/entry/0/changes/0/value/media",
    "/entry/0/changes/1/value/parent_id",
    "/entry/1/messaging",
    "/entry/1/messaging/0",
    "/entry/1/messaging/0/sender",
    "/entry/1/messaging/0/timestamp",
    "/entry/1/messaging/0/message",
    "/entry/1/messaging/0/message/mid",
    "/entry/1/messaging/0/message/text",
    "/entry/1/messaging/1/message/is_echo",
    "/entry/1/messaging/1/recipient",
];

const TIKTOK_PATHS: &[&str] = &[
    "/event",
    "/create_time",
    "/user_openid",
    "/content",
    "/content/comment_id",
    "/content/video_id",
    "/content/parent_comment_id",
    "/content/comment_action",
    "/content/timestamp",
    "/content/comment_type",
];

/// `base` with up to four of `paths` replaced by anything at all, or removed.
fn mutated(base: Value, paths: &'static [&'static str]) -> impl Strategy<Value = Value> {
    prop::collection::vec(
        (
            prop::sample::select(paths.to_vec()),
            prop::option::of(any_json()),
        ),
        0..4,
    )
    .prop_map(move |changes| {
        let mut body = base.clone();
        for (path, value) in changes {
            let (parent, key) = path.rsplit_once('/').unwrap();
            let Some(parent) = body.pointer_mut(parent) else {
                continue;
            };
            match (parent, value) {
                (Value::Object(map), Some(v)) => {
                    map.insert(key.to_owned(), v);
                }
                (Value::Object(map), None) => {
                    map.remove(key);
                }
                (Value::Array(items), v) => {
                    if let Ok(i) = key.parse::<usize>()
                        && i < items.len()
                    {
                        match v {
                            Some(v) => items[i] = v,
                            None => {
                                items.remove(i);
                            }
                        }
                    }
                }
                _ => {}
            }
        }
        body
    })
}

/// A TikTok notice whose `content` is an object here; it is sent as a string of JSON (or as
/// whatever a mutation made of it).
fn tiktok_notice() -> Value {
    json!({"client_key": "sbaw0000", "event": "comment.update",
        "create_time": chrono::Utc::now().timestamp(), "user_openid": ACCOUNT,
        "content": {"comment_id": 7385350567722402578_u64, "video_id": 7377694258502880513_u64,
            "parent_comment_id": 0, "comment_type": "comment", "comment_action": "insert",
            "timestamp": chrono::Utc::now().timestamp_millis(), "unique_identifier": "fan"}})
}

async fn post(
    s: &TestServer,
    path: &str,
    header: &str,
    signature: String,
    body: Vec<u8>,
) -> (u16, Value) {
    let r = s
        .anonymous()
        .post(s.url(path))
        .header("content-type", "application/json")
        .header(header, signature)
        .body(body)
        .send()
        .await
        .expect("an answer, not a dropped connection");
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

async fn any_shape_scenario(s: &TestServer, sim: &Sim) {
    connect(s, sim, "instagram", IG, IG_TOKEN).await;
    connect(s, sim, "tiktok", ACCOUNT, TOKEN).await;
    seed(
        sim,
        "7385350567722402578",
        "6900000000000000001",
        "Mooi!",
        None,
    );

    for body in cases(160, mutated(meta_delivery(), META_PATHS)) {
        let before = s.count("messages").await;
        let raw = serde_json::to_vec(&body).unwrap();
        let signature = format!("sha256={}", sign_hmac_sha256(META_SECRET.as_bytes(), &raw));
        let (status, answer) =
            post(s, "/webhooks/meta", "x-hub-signature-256", signature, raw).await;
        assert!(status < 500, "{status} {answer} for {body}");
        if status >= 400 {
            assert_eq!(
                s.count("messages").await,
                before,
                "a refused delivery stored: {body}"
            );
        }
    }

    for mut body in cases(160, mutated(tiktok_notice(), TIKTOK_PATHS)) {
        if body["content"].is_object() {
            body["content"] = json!(body["content"].to_string());
        }
        let before = s.count("messages").await;
        let raw = serde_json::to_vec(&body).unwrap();
        let signature = sign_tiktok(TIKTOK_SECRET, &raw, chrono::Utc::now().timestamp());
        let (status, answer) =
            post(s, "/webhooks/tiktok", "tiktok-signature", signature, raw).await;
        // A well-formed notice makes unibox fetch the comment from TikTok, within TikTok's 40
        // reads a minute; past those it answers 503, saying so, for TikTok to deliver again.
        let fetch_put_off = status == 503
            && answer["error"]
                .as_str()
                .is_some_and(|e| e.contains("TikTok"));
        assert!(
            status < 500 || fetch_put_off,
            "{status} {answer} for {body}"
        );
        if status >= 400 {
            assert_eq!(
                s.count("messages").await,
                before,
                "a refused notice stored: {body}"
            );
        }
    }
}

simulated_on_both_backends! {
    webhooks_answer_2xx_or_4xx(s, sim) with config(&sim) => any_shape_scenario(&s, &sim);
}
