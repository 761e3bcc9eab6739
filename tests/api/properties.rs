//! Properties of the HTTP edge, over generated input sent to the real server: whatever a
//! client sends to the ingest API or the search, the answer is a 2xx or a 4xx (never a 5xx),
//! and a refused batch stores nothing.

use crate::common::*;
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::TestRunner;
use serde_json::{Map, Value, json};

/// Text that tends to break things: NUL and control characters, markup, right-to-left marks,
/// emoji, long runs, numbers that look like ids.
fn nasty_text() -> impl Strategy<Value = String> {
    prop_oneof![short_nasty_text(), Just("x".repeat(70_000)),]
}

/// As [`nasty_text`], short enough for a URL.
fn short_nasty_text() -> impl Strategy<Value = String> {
    prop_oneof![
        ".{0,20}",
        "[\\x00-\\x1f\\\\\"'<>&%]{0,10}",
        "\\PC{0,40}",
        Just("\u{202E}\u{200B}\u{FEFF}👩🏽‍💻".to_owned()),
        Just("9007199254740993".to_owned()),
        Just(ts("10:00:00")),
        Just("x".repeat(1_000)),
        prop::sample::select(vec![
            "tiktok",
            "instagram",
            "dm",
            "comment",
            "message",
            "video_stats",
            "channel_stats",
            "custom"
        ])
        .prop_map(str::to_owned),
    ]
}

pub fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<f64>().prop_map(|f| json!(f)),
        nasty_text().prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 24, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::vec((nasty_text(), inner), 0..4)
                .prop_map(|kv| Value::Object(kv.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

/// A plausible event with some fields replaced by anything at all, or left out.
fn event() -> impl Strategy<Value = Value> {
    let fields = [
        "type",
        "platform",
        "channel",
        "kind",
        "external_id",
        "parent_external_id",
        "video",
        "author",
        "text",
        "created_at",
        "views",
        "likes",
        "followers",
        "captured_at",
        "recipient",
    ];
    (
        prop::sample::select(vec![0usize, 1, 2]),
        prop::collection::vec(
            (
                prop::sample::select(fields.to_vec()),
                prop::option::of(any_json()),
            ),
            0..4,
        ),
    )
        .prop_map(|(base, changes)| {
            let mut e = match base {
                0 => comment("p1", "hello"),
                1 => dm("p2", "lisa", "hi"),
                _ => {
                    json!({"type": "video_stats", "platform": "tiktok", "channel": "acme_official",
                            "video": {"external_id": "v1"}, "views": 10, "likes": 1, "comments": 0,
                            "shares": 0, "saves": 0, "captured_at": ts("12:00:00")})
                }
            };
            for (field, value) in changes {
                match value {
                    Some(v) => e[field] = v,
                    None => {
                        e.as_object_mut().unwrap().remove(field);
                    }
                }
            }
            e
        })
}

/// `cases` values of `strategy`, from a fixed seed so that a failure repeats. (Generated up
/// front, without shrinking: the server is async and the failing input is printed whole.)
pub fn cases<S: Strategy>(cases: usize, strategy: S) -> Vec<S::Value> {
    let mut runner = TestRunner::deterministic();
    (0..cases)
        .map(|_| strategy.new_tree(&mut runner).unwrap().current())
        .collect()
}

on_both_backends! {
    async fn ingest_answers_2xx_or_4xx(s: &TestServer) {
        for batch in cases(256, prop::collection::vec(event(), 1..4)) {
            let before = s.count("messages").await;
            let body = Value::Array(batch);
            let (status, answer) = s.post_json("/api/v1/events", &body).await;
            assert!(status < 500, "{status} {answer} for {body}");
            if status >= 400 {
                assert_eq!(s.count("messages").await, before, "a refused batch stored messages: {body}");
            }
        }
        // Bodies that are not JSON at all.
        for bytes in cases(64, prop::collection::vec(any::<u8>(), 0..200)) {
            let r = s.client.post(s.url("/api/v1/events")).header("content-type", "application/json").body(bytes.clone()).send().await.unwrap();
            assert!(r.status().is_client_error(), "{} for {bytes:?}", r.status());
        }
    }

    async fn search_answers_2xx_or_4xx(s: &TestServer) {
        s.ingest(json!([comment("s1", "Where can I buy this café?"), dm("s2", "lisa", "\"quoted\" OR NOT -x*")])).await;
        let queries = prop_oneof![short_nasty_text(), "[\"*():^~+\\-|&!{}\\[\\] a-z]{0,20}"];
        for q in cases(256, queries) {
            let encoded = url_encode(&q);
            for path in [format!("/api/v1/threads?q={encoded}"), format!("/?q={encoded}")] {
                let status = s.get(&path).await.status().as_u16();
                assert!(status == 200 || (400..500).contains(&status), "{status} for {q:?}");
            }
        }
    }
}

fn url_encode(s: &str) -> String {
    s.bytes().map(|b| format!("%{b:02X}")).collect()
}
