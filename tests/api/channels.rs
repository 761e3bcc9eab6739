//! Connecting channels with credentials: write-only (never shown back, never in the audit
//! log), checked in full, and the channel's own author id decides which messages are ours.

use crate::common::*;
use serde_json::{Value, json};

const TOKEN: &str = "EAAGm0PX4ZCpsBAKZCZBf8secretvalue123456WXYZ";

async fn send(
    c: &reqwest::Client,
    method: reqwest::Method,
    url: String,
    body: Option<Value>,
) -> (u16, String) {
    let mut r = c.request(method, url);
    if let Some(b) = body {
        r = r.json(&b);
    }
    let r = r.send().await.unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

on_both_backends! {
    async fn channels_keep_their_credentials_to_themselves(s: &TestServer) {
        // First seen through ingest, without its own author id: our comment counts as theirs.
        s.ingest(json!([FakeMessage::comment("x1").on("instagram", "17841400000000007").by("17841400000000007").build()])).await;
        assert_eq!(s.count("messages WHERE direction = 'outbound'").await, 0);

        let admin = s.api_client(&s.token_for(1, Scope::Admin).await);
        let agent = s.api_client(&s.token_for(1, Scope::Write).await);
        let url = s.url("/api/v1/channels");
        let body = json!({"platform": "instagram", "handle": "acme.ig", "platform_id": "17841400000000007",
            "display_name": "ACME", "own_author_id": "17841400000000007",
            "credentials": {"access_token": TOKEN, "business_id": "42"}});
        let (status, _) = send(&agent, reqwest::Method::POST, url.clone(), Some(body.clone())).await;
        assert_eq!(status, 403, "admins connect channels");
        let (status, text) = send(&admin, reqwest::Method::POST, url.clone(), Some(body)).await;
        assert_eq!(status, 201, "{text}");
        assert!(!text.contains(TOKEN) && !text.contains("secretvalue"), "never shown back: {text}");
        let created: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(created["credentials"]["access_token"], "set, ending in …WXYZ");
        assert_eq!(created["credentials"]["business_id"], "set");
        assert_eq!(created["handle"], "acme.ig");
        let id = created["id"].as_i64().unwrap();
        assert_eq!(s.count("channels").await, 1, "the channel first seen through ingest was connected, not doubled");

        // From now on the account's own comments are ours.
        s.ingest(json!([FakeMessage::comment("x2").on("instagram", "acme.ig").by("17841400000000007").build()])).await;
        assert_eq!(s.count("messages WHERE direction = 'outbound'").await, 1);

        // A credential removed, another set; the list never shows values.
        let (status, text) = send(&admin, reqwest::Method::PATCH, format!("{url}/{id}"),
            Some(json!({"credentials": {"business_id": null, "page_token": "short"}}))).await;
        assert_eq!(status, 200, "{text}");
        let changed: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(changed["credentials"], json!({"access_token": "set, ending in …WXYZ", "page_token": "set"}));
        let (_, text) = send(&admin, reqwest::Method::GET, url.clone(), None).await;
        assert!(!text.contains(TOKEN) && !text.contains("short\""), "{text}");
        let (status, _) = send(&agent, reqwest::Method::GET, url.clone(), None).await;
        assert_eq!(status, 403);

        // The audit log names what changed, never the values.
        let rows: Vec<(String, String)> = s.db.fetch_all(unibox::storage::Sql::new(
            "SELECT action, detail FROM audit_log WHERE action LIKE 'channel %' ORDER BY id")).await.unwrap();
        assert_eq!(rows, [("channel connected".to_owned(), "credentials: access_token, business_id".to_owned()),
                          ("channel changed".to_owned(), "credentials: business_id, page_token".to_owned())]);

        // Bad input: every problem by path, the value never echoed.
        let (status, text) = send(&admin, reqwest::Method::POST, url.clone(),
            Some(json!({"platform": "myspace", "handle": "", "credentials": {"Bad Key": "x", "token": 5}}))).await;
        assert_eq!(status, 422);
        let problems: Value = serde_json::from_str(&text).unwrap();
        let fields: Vec<&str> = problems["problems"].as_array().unwrap().iter().filter_map(|p| p["field"].as_str()).collect();
        assert_eq!(fields, ["handle", "platform_id", "platform", "credentials.Bad Key", "credentials.token"], "{text}");

        // A channel that holds messages stays; an empty one goes.
        let (status, _) = send(&admin, reqwest::Method::DELETE, format!("{url}/{id}"), None).await;
        assert_eq!(status, 409);
        let (status, text) = send(&admin, reqwest::Method::POST, url.clone(),
            Some(json!({"platform": "tiktok", "handle": "acme_tt", "platform_id": "7000"}))).await;
        assert_eq!(status, 201, "{text}");
        let empty = serde_json::from_str::<Value>(&text).unwrap()["id"].as_i64().unwrap();
        let (status, _) = send(&admin, reqwest::Method::DELETE, format!("{url}/{empty}"), None).await;
        assert_eq!(status, 204);
        assert_eq!(s.count("channels").await, 1);
    }
}

on_both_backends! {
    async fn the_channels_page_connects_an_account(s: &TestServer) {
        let r = s.post_form("/channels", &[("platform", "instagram"), ("handle", "acme.ig"),
            ("platform_id", "17841400000000001"), ("own_author_id", "17841400000000001"), ("access_token", TOKEN)]).await;
        assert_eq!(r.status(), 303);
        let r = s.get("/channels").await;
        assert_eq!(r.status(), 200);
        let html = r.text().await.unwrap();
        assert!(!html.contains(TOKEN), "the token is never shown back");
        let page = scraper::Html::parse_document(&html);
        assert_eq!(select(&page, "tr.channel").len(), 1);
        assert!(text_of(&select(&page, "tr.channel")[0]).contains("access_token (set, ending in …WXYZ)"));
        assert!(text_of(&select(&page, "dl.webhook")[0]).contains("/webhooks/meta"));
        let r = s.post_form("/channels", &[("platform", "instagram"), ("handle", ""), ("platform_id", "1")]).await;
        assert_eq!(r.status(), 422);
        assert_eq!(s.count("channels").await, 1);
    }
}
