//! A reply that missed the platform's window has one name everywhere — `expired` in the
//! thread, the outbox and the API — and offers no Retry, since no attempt can succeed.

use crate::automation::wait_for;
use crate::common::*;
use crate::outbox::{IG, IG_TOKEN, Sim, connect};
use serde_json::json;

async fn expired(s: &TestServer, sim: &Sim) {
    connect(s, sim, "instagram", IG, IG_TOKEN).await;
    // A DM from two days ago: Instagram's 24-hour window closed long since.
    s.ingest(
        json!([{"type": "message", "platform": "instagram", "channel": IG, "kind": "dm",
        "external_id": "m_old", "author": {"external_id": "532", "username": "sam"},
        "text": "Hoi! Verzenden jullie ook naar België?", "created_at": ts("11:00:00")}]),
    )
    .await;
    let thread = s.threads("?kind=dm").await[0]["id"].as_i64().unwrap();
    let (status, body) = s
        .post_json(
            &format!("/api/v1/threads/{thread}/messages"),
            &json!({"text": "Yes, we do!"}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    wait_for(s, "SELECT COUNT(*) FROM outbox WHERE state = 'expired'", 1).await;

    let (_, detail) = s.get_json(&format!("/api/v1/threads/{thread}")).await;
    let reply = detail["messages"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .clone();
    assert_eq!(reply["state"], "expired", "{reply}");
    let (_, outbox) = s.get_json("/api/v1/outbox?state=expired").await;
    let row = &outbox["items"][0];
    assert_eq!(
        (row["state"].clone(), row["message_id"].clone()),
        (json!("expired"), reply["id"].clone())
    );

    // No Retry: not on the page, and the API says why and what to do instead.
    let (_, page) = s.page("/outbox?state=expired").await;
    assert_eq!(
        select(&page, "tr.outbox-row[data-state='expired']").len(),
        1
    );
    assert!(select(&page, "tr.outbox-row form[action$='/retry']").is_empty());
    let (status, body) = s
        .post_json(&format!("/api/v1/outbox/{}/retry", row["id"]), &json!({}))
        .await;
    assert_eq!(status, 409, "{body}");
    assert!(
        body["error"].as_str().unwrap().contains("window closed"),
        "{body}"
    );

    // The thread names it as the outbox does.
    let (_, page) = s.page(&format!("/threads/{thread}")).await;
    let badge = select(&page, "li.message .badge.state-expired");
    assert_eq!(badge.len(), 1, "{}", page.html());
    assert!(text_of(&badge[0]).starts_with("expired"));
    assert!(select(&page, ".badge.state-failed").is_empty());
}

simulated_on_both_backends! {
    a_reply_past_the_window_is_expired_everywhere_and_not_retried(s, sim) with sim.config() => expired(&s, &sim);
}
