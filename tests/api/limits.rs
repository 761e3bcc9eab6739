//! A platform's length limit is said while composing and never met by cutting: the test box
//! warns on a reply a rule could not send, and the reply endpoint names the limit.

use crate::automation::create_rule;
use crate::common::*;
use serde_json::{Value, json};

on_both_backends! {
    async fn the_test_box_warns_on_a_reply_too_long_for_tiktok(s: &TestServer) {
        create_rule(s, json!({"name": "Echo", "mode": "suggest",
            "conditions": [{"type": "keywords", "any": ["order"]}],
            "actions": [{"type": "reply", "variants": ["You wrote: {{ message.text }}", "Thanks!"]}]})).await;
        let admin = s.api_client(&s.token_for(1, Scope::Admin).await);
        let long = format!("About my order: {}", "it came without the manual and the box was open ".repeat(4));
        let trial = |platform: &str, kind: &str| json!({"platform": platform, "channel": "acme", "kind": kind,
            "text": long, "author": {"username": "lisa"}});
        let tried = |body: Value| {
            let request = admin.post(s.url("/api/v1/rules/test")).json(&body);
            async move {
                let r = request.send().await.unwrap();
                assert_eq!(r.status(), 200);
                r.json::<Value>().await.unwrap()["fired"][0]["actions"][0]["rendered"].clone()
            }
        };
        let rendered = tried(trial("tiktok", "comment")).await;
        let n = rendered[0]["text"].as_str().unwrap().chars().count();
        assert!(n > 150, "rendered in full, never cut: {n}");
        let warning = rendered[0]["warning"].as_str().unwrap_or_default();
        assert!(warning.contains("TikTok takes at most 150") && warning.contains(&n.to_string()), "{rendered}");
        assert!(rendered[1]["warning"].is_null(), "a short variant is fine: {rendered}");
        // Instagram and DMs have no such limit.
        assert!(tried(trial("instagram", "comment")).await[0]["warning"].is_null());
        assert!(tried(trial("tiktok", "dm")).await[0]["warning"].is_null());
        // The rules page's test box shows it beside the reply.
        let html = s.post_form("/rules/try", &[("platform", "tiktok"), ("kind", "comment"),
            ("channel", "acme"), ("username", "lisa"), ("text", &long)]).await.text().await.unwrap();
        let html = scraper::Html::parse_document(&html);
        let warnings: Vec<String> = select(&html, "ul.replies li .reply-warning").iter().map(text_of).collect();
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        assert!(warnings[0].contains("at most 150"), "{warnings:?}");
    }
}
