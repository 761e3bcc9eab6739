//! A platform's back-off is bounded: a `Retry-After` of any size holds a row back an hour at
//! most, and never stops the outbox from recording what the other calls did.

use crate::automation::{create_rule, fresh, wait_for};
use crate::common::*;
use crate::outbox::{IG, IG_TOKEN, Sim, connect, ig_comment, thanks_rule};
use serde_json::{Value, json};
use unibox::simulate::Faults;

const TIKTOK: &str = "7300000000000000001";

async fn huge_retry_after_scenario(s: &TestServer, sim: &Sim) {
    connect(s, sim, "instagram", IG, IG_TOKEN).await;
    connect(s, sim, "tiktok", TIKTOK, "tt-token-0123456789abcdef").await;
    create_rule(s, thanks_rule()).await;
    // Ten trillion seconds: about 317,000 years.
    sim.world.set_faults(Faults {
        rate_limit_rate: 1.0,
        retry_after_seconds: 10_000_000_000_000,
        ..Faults::default()
    });
    s.ingest(json!([ig_comment(
        "1790000000000301",
        "lisa",
        "I love this"
    )]))
    .await;
    wait_for(s, "SELECT COUNT(*) FROM outbox WHERE state = 'failed'", 1).await;
    sim.world.set_faults(Faults::default());

    let (status, body) = s.get_json("/api/v1/outbox").await;
    assert_eq!(status, 200, "{body}");
    let rows = body["items"].as_array().expect("items");
    let held = rows
        .iter()
        .find(|r| r["state"] == "failed")
        .expect("the held row");
    let next: chrono::DateTime<chrono::Utc> =
        serde_json::from_value(held["next_attempt_at"].clone()).expect("a time");
    let wait = next - chrono::Utc::now();
    assert!(
        wait <= chrono::Duration::minutes(61),
        "held until {next}: {wait} from now"
    );

    // The recorder is still there: a reply on another account goes out and is recorded.
    s.ingest(json!([fresh(
        json!({"type": "message", "platform": "tiktok", "channel": TIKTOK,
        "kind": "comment", "external_id": "7385350567722402001",
        "video": {"external_id": "7377694258502880513"},
        "author": {"external_id": "6900000000000000001", "username": "tiktokker"},
        "text": "love it"})
    )]))
    .await;
    wait_for(s, "SELECT COUNT(*) FROM outbox WHERE state = 'sent'", 1).await;
    let replies: Value = json!(sim.writes("reply").len());
    assert_eq!(replies, json!(1));
}

simulated_on_both_backends! {
    huge_retry_after(s, sim) with sim.config() => huge_retry_after_scenario(&s, &sim);
}
