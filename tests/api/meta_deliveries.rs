//! Meta deliveries read strictly and stored once: many changes for one account make one event
//! each, a `changes` or `messaging` that is not a list is refused with 422, and the signature's
//! hex is hex.

use crate::common::*;
use crate::outbox::{IG, IG_TOKEN, Sim, connect};
use crate::webhooks::SECRET;
use serde_json::{Value, json};
use unibox::connectors::signature::sign_hmac_sha256;

async fn post(s: &TestServer, body: &Value, signature: Option<String>) -> (u16, Value) {
    let body = serde_json::to_vec(body).unwrap();
    let signature = signature
        .unwrap_or_else(|| format!("sha256={}", sign_hmac_sha256(SECRET.as_bytes(), &body)));
    let r = s
        .anonymous()
        .post(s.url("/webhooks/meta"))
        .header("content-type", "application/json")
        .header("x-hub-signature-256", signature)
        .body(body)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

async fn strict_deliveries_scenario(s: &TestServer, sim: &Sim) {
    connect(s, sim, "instagram", IG, IG_TOKEN).await;
    let now = chrono::Utc::now().timestamp();

    // 600 changes for one account: 600 events, each queued once.
    let changes: Vec<Value> = (0..600)
        .map(|i| {
            json!({"field": "comments", "value": {"id": format!("1800000000{i:07}"),
            "text": format!("comment {i}"), "from": {"id": format!("55{i:05}"), "username": "fan"},
            "media": {"id": "18100000000000009"}}})
        })
        .collect();
    let many =
        json!({"object": "instagram", "entry": [{"id": IG, "time": now, "changes": changes}]});
    let (status, answer) = post(s, &many, None).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["created"], 600, "{answer}");
    assert_eq!(answer["duplicates"], 0, "{answer}");
    assert_eq!(s.count("messages").await, 600);

    // Not a list: refused, naming the field; nothing stored.
    for (field, value) in [
        ("changes", json!({"field": "comments", "value": {}})),
        ("messaging", json!({"message": {"mid": "m1", "text": "hi"}})),
    ] {
        let body = json!({"object": "instagram", "entry": [{"id": IG, "time": now, field: value}]});
        let (status, answer) = post(s, &body, None).await;
        assert_eq!(status, 422, "{field}: {answer}");
        assert_eq!(
            answer["problems"][0]["field"],
            format!("entry[0].{field}"),
            "{answer}"
        );
    }

    // A signature whose hex has a sign in it is not a signature: a byte `0a` written `+a`.
    let (one, hex, at) = (1..)
        .find_map(|time: i64| {
            let one =
                json!({"object": "instagram", "entry": [{"id": IG, "time": time, "changes": []}]});
            let hex = sign_hmac_sha256(SECRET.as_bytes(), &serde_json::to_vec(&one).unwrap());
            let at = (0..32).find(|i| hex.as_bytes()[2 * i] == b'0')?;
            Some((one, hex, 2 * at))
        })
        .unwrap();
    assert_eq!(post(s, &one, Some(format!("sha256={hex}"))).await.0, 200);
    let forged = format!("sha256={}+{}", &hex[..at], &hex[at + 1..]);
    let (status, answer) = post(s, &one, Some(forged)).await;
    assert_eq!(status, 403, "{answer}");
    assert_eq!(s.count("messages").await, 600);
}

simulated_on_both_backends! {
    strict_deliveries(s, sim) with crate::webhooks::meta_at(&sim) => strict_deliveries_scenario(&s, &sim);
}
