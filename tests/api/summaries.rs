//! Thread summaries (count, latest time, preview, subject, last inbound time) stay what the
//! thread's messages say, whatever order and batches the messages arrive in. Ingest keeps
//! them up to date by adding a batch's messages to threads that already exist and by
//! recomputing when a thread's top-level comment arrives after its replies; both paths are
//! checked against the messages themselves.

use crate::common::*;
use serde_json::{Value, json};

/// A small deterministic generator: the same seed gives the same deliveries on both backends.
struct Draw(u64);

impl Draw {
    fn below(&mut self, n: usize) -> usize {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        ((self.0 >> 33) % n as u64) as usize
    }
}

/// Comment trees and DM conversations on a channel of their own, with times that often tie.
fn conversation(seed: u64, draw: &mut Draw) -> Vec<Value> {
    let channel = format!("summaries_{seed}");
    let minute = |draw: &mut Draw| format!("{}T10:{:02}:00Z", day(), draw.below(6));
    let mut events = Vec::new();
    for t in 0..3 {
        let top = format!("s{seed}-t{t}");
        events.push(
            FakeMessage::comment(&top)
                .on("tiktok", &channel)
                .text(&format!("top {top}"))
                .at(&minute(draw))
                .build(),
        );
        for r in 0..1 + draw.below(3) {
            let reply = format!("{top}-r{r}");
            events.push(
                FakeMessage::comment(&reply)
                    .on("tiktok", &channel)
                    .reply_to(&top)
                    .text(&format!("reply {reply}"))
                    .at(&minute(draw))
                    .build(),
            );
            if draw.below(2) == 0 {
                let nested = format!("{reply}-n");
                events.push(
                    FakeMessage::comment(&nested)
                        .on("tiktok", &channel)
                        .reply_to(&reply)
                        .text(&format!("nested {nested}"))
                        .at(&minute(draw))
                        .build(),
                );
            }
        }
    }
    for contact in ["lisa", "bob"] {
        for d in 0..2 + draw.below(3) {
            let id = format!("s{seed}-{contact}-{d}");
            let mut event = FakeMessage::dm(&id, contact)
                .on("instagram", &channel)
                .text(&format!("dm {id}"))
                .at(&minute(draw))
                .build();
            if draw.below(3) == 0 {
                // Our own answer, delivered back by the platform.
                event["author"] = json!({"external_id": "acme-account"});
                event["direction"] = json!("outbound");
                event["recipient"] = json!({"external_id": contact});
            }
            events.push(event);
        }
    }
    events
}

/// Checks one thread's summary against its messages.
async fn check_summary(s: &TestServer, thread: &Value) {
    let (status, detail) = s
        .get_json(&format!("/api/v1/threads/{}", thread["id"]))
        .await;
    assert_eq!(status, 200, "{detail}");
    let mut messages: Vec<&Value> = detail["messages"].as_array().unwrap().iter().collect();
    let time = |m: &Value| m["created_at"].as_str().unwrap().to_owned();
    messages.sort_by_key(|m| (time(m), m["id"].as_i64().unwrap()));
    let earliest = messages.first().unwrap();
    let latest = messages.last().unwrap();
    let root = messages
        .iter()
        .find(|m| m["kind"] == "comment" && m["parent_external_id"].is_null());
    let subject = root.unwrap_or(earliest)["text"].clone();
    let last_inbound = messages
        .iter()
        .filter(|m| m["direction"] == "inbound")
        .map(|m| time(m))
        .max();
    let summary = &detail["thread"];
    let context = format!("{summary}\n{messages:#?}");
    assert_eq!(summary["message_count"], messages.len(), "{context}");
    assert_eq!(summary["last_message_at"], time(latest), "{context}");
    assert_eq!(summary["preview"], latest["text"], "{context}");
    assert_eq!(summary["subject"], subject, "{context}");
    assert_eq!(
        summary["last_inbound_at"].as_str().map(str::to_owned),
        last_inbound,
        "{context}"
    );
    if last_inbound.is_some() {
        assert_eq!(summary["status"], "open", "{context}");
        assert_eq!(summary["unread"], true, "{context}");
    }
}

on_both_backends! {
    async fn summaries_hold_for_any_order_and_batching(s: &TestServer) {
        for seed in 1..=8u64 {
            let mut draw = Draw(seed);
            let mut events = conversation(seed, &mut draw);
            // Shuffled, then delivered in batches of one to five, one batch after another.
            for i in (1..events.len()).rev() {
                let j = draw.below(i + 1);
                events.swap(i, j);
            }
            let total = events.len();
            let mut rest = events.as_slice();
            while !rest.is_empty() {
                let (batch, later) = rest.split_at((1 + draw.below(5)).min(rest.len()));
                s.ingest(Value::Array(batch.to_vec())).await;
                rest = later;
            }
            let channel = format!("summaries_{seed}");
            let threads: Vec<Value> = s
                .threads("?limit=200")
                .await
                .into_iter()
                .filter(|t| t["channel"] == channel.as_str())
                .collect();
            // Three comment threads and two DM conversations, holding every message.
            assert_eq!(threads.len(), 5, "seed {seed}: {threads:#?}");
            let counted: u64 = threads.iter().map(|t| t["message_count"].as_u64().unwrap()).sum();
            assert_eq!(counted, total as u64, "seed {seed}");
            for thread in &threads {
                check_summary(s, thread).await;
            }
        }
    }
}
