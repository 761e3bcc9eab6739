//! The language condition as a person writes it (`nl`, `nld`, `Dutch`), and the test box and
//! the backtest saying when a text is too short to tell its language.

use crate::automation::create_rule;
use crate::common::*;
use serde_json::{Value, json};

on_both_backends! {
    async fn language_conditions_take_codes_and_names_and_say_when_a_text_is_too_short(s: &TestServer) {
        let rule = create_rule(s, json!({"name": "Dutch", "mode": "suggest",
            "conditions": [{"type": "language", "is": ["nl", "Dutch"]}],
            "actions": [{"type": "reply", "variants": ["Dank je!"]}]})).await;
        let admin = s.api_client(&s.token_for(1, Scope::Admin).await);
        let trial = |text: &str| {
            let request = admin.post(s.url("/api/v1/rules/test")).json(&json!({"platform": "instagram",
                "channel": "acme", "kind": "comment", "text": text, "author": {"username": "lisa"}}));
            async move { request.send().await.unwrap().json::<Value>().await.unwrap() }
        };
        let body = trial("Ik heb gisteren een jas besteld maar hij is nog steeds niet aangekomen").await;
        assert_eq!(body["fired"][0]["name"], "Dutch", "{body}");
        assert_eq!(body["notes"], json!([]));
        let body = trial("Mooi!").await;
        assert_eq!(body["fired"], json!([]));
        let note = body["notes"][0].as_str().unwrap_or_default();
        assert!(note.contains("too short to tell its language"), "{body}");
        // The rules page's test box says it too.
        let html = s.post_form("/rules/try", &[("platform", "instagram"), ("kind", "comment"),
            ("channel", "acme"), ("username", "lisa"), ("text", "Mooi!")]).await.text().await.unwrap();
        let html = scraper::Html::parse_document(&html);
        assert!(select(&html, "[role=alert]").iter().map(text_of).any(|t| t.contains("too short to tell")));
        // A backtest counts the stored messages it missed for being too short to tell.
        let fresh = |id: &str, text: &str| at(comment(id, text), chrono::Utc::now().to_rfc3339());
        s.ingest(json!([
            fresh("lang-1", "Ik heb gisteren een jas besteld maar hij is nog steeds niet aangekomen"),
            fresh("lang-2", "Mooi!"),
            fresh("lang-3", "I ordered a jacket yesterday but it still has not arrived at my door"),
        ])).await;
        let r = admin.post(s.url(&format!("/api/v1/rules/{rule}/backtest"))).json(&json!({"days": 7})).send().await.unwrap();
        let body: Value = r.json().await.unwrap();
        assert_eq!(body["matched"], 1, "{body}");
        assert_eq!(body["too_short_for_language"], 1, "{body}");
        let html = s.post_form(&format!("/rules/{rule}/backtest"), &[("days", "7")]).await.text().await.unwrap();
        assert!(html.contains("1 message was too short to tell its language"), "{html}");
        // An unknown language says what to write.
        let r = admin.post(s.url("/api/v1/rules")).json(&json!({"name": "x",
            "conditions": [{"type": "language", "is": ["klingon"]}],
            "actions": [{"type": "label", "label": "x"}]})).send().await.unwrap();
        assert_eq!(r.status(), 422);
        let body: Value = r.json().await.unwrap();
        assert!(body["problems"][0]["message"].as_str().unwrap().contains("639-1"), "{body}");
    }
}
