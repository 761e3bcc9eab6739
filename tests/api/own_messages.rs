//! What the account writes itself is ours on every path: a comment by the channel's own author
//! id is stored as outbound and never answered, whatever direction the connector set.

use crate::automation::{create_rule, fresh};
use crate::common::*;
use crate::outbox::{IG, IG_TOKEN, Sim, connect, thanks_rule};
use crate::webhooks::SECRET;
use serde_json::{Value, json};
use unibox::connectors::signature::sign_hmac_sha256;

/// The Instagram-scoped id our own comments carry in `from.id` (not the account's id).
const OWN: &str = "5550777";

async fn own_comments_scenario(s: &TestServer, sim: &Sim) {
    let channel = connect(s, sim, "instagram", IG, IG_TOKEN).await;
    let yt = connect(
        s,
        sim,
        "youtube",
        "UCsimulatedchannel0001",
        "yt-token-0123456789abcdef",
    )
    .await;
    let admin = s.api_client(&s.token_for(1, Scope::Admin).await);
    for (id, own) in [(channel, OWN), (yt, "UCourselves")] {
        let r = admin
            .patch(s.url(&format!("/api/v1/channels/{id}")))
            .json(&json!({"own_author_id": own}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
    }
    create_rule(s, thanks_rule()).await;

    // Meta says nothing of whose a comment is but its `from.id`: ours, not the account's id.
    let now = chrono::Utc::now().timestamp();
    let body = serde_json::to_vec(
        &json!({"object": "instagram", "entry": [{"id": IG, "time": now,
        "changes": [{"field": "comments", "value": {"id": "18000000000000777",
            "text": "We love you all!", "from": {"id": OWN, "username": "acme"},
            "media": {"id": "18100000000000009"}}}]}]}),
    )
    .unwrap();
    let r = s
        .anonymous()
        .post(s.url("/webhooks/meta"))
        .header("content-type", "application/json")
        .header(
            "x-hub-signature-256",
            format!("sha256={}", sign_hmac_sha256(SECRET.as_bytes(), &body)),
        )
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let answer: Value = r.json().await.unwrap();
    assert_eq!(answer["created"], 1, "{answer}");

    // An integrator's event that says `inbound` for the channel's own author id.
    s.ingest(json!([fresh(
        json!({"type": "message", "platform": "youtube",
        "channel": "UCsimulatedchannel0001", "kind": "comment", "direction": "inbound",
        "external_id": "UgzOwnComment01", "video": {"external_id": "dQw4w9WgXcQ"},
        "author": {"external_id": "UCourselves", "username": "acme"},
        "text": "We love this song too"})
    )]))
    .await;

    assert_eq!(
        s.count(
            "messages WHERE external_id IN ('18000000000000777', 'UgzOwnComment01') \
             AND direction = 'outbound'"
        )
        .await,
        2
    );
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(
        s.count("rule_runs").await,
        0,
        "a rule answered our own comment"
    );
    assert_eq!(s.count("outbox").await, 0);
    assert!(sim.writes("reply").is_empty());
}

simulated_on_both_backends! {
    own_comments(s, sim) with crate::webhooks::meta_at(&sim) => own_comments_scenario(&s, &sim);
}
