//! Reply rules through the API: saved whole and checked in full, changed by admins only,
//! audited, and kept to their workspace.

use crate::common::*;
use serde_json::{Value, json};

/// The rule of `interfaces.md`, as a user writes it.
fn price_rule() -> Value {
    json!({
        "name": "Price question", "enabled": true, "position": 10,
        "applies_to": ["comment", "dm"],
        "scope": {"platforms": ["tiktok", "instagram"], "channels": [], "videos": []},
        "conditions": [
            {"type": "keywords", "any": ["prijs", "kost", "price"]},
            {"type": "regex", "pattern": "hoeveel (?P<wat>\\w+)"},
            {"type": "keywords", "any": ["retour"], "negate": true}],
        "actions": [
            {"type": "reply", "variants": ["Hoi {{ author.first_name | default('daar') }}! De {{ match.wat }} kost €19.",
                                            "Dank je {{ author.username }}, €19 in de webshop."]},
            {"type": "label", "label": "price"}],
        "mode": "auto",
        "delay_seconds": {"min": 20, "max": 90},
        "continue": false,
        "safeguards": {"cooldown_hours": 24, "max_per_hour": 60}
    })
}

async fn admin(s: &TestServer) -> reqwest::Client {
    s.api_client(&s.token_for(1, Scope::Admin).await)
}

async fn send(
    client: &reqwest::Client,
    method: reqwest::Method,
    url: String,
    body: Option<&Value>,
) -> (u16, Value) {
    let mut request = client.request(method, url);
    if let Some(body) = body {
        request = request.json(body);
    }
    let r = request.send().await.unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

on_both_backends! {
    async fn rules_are_created_read_changed_and_deleted(s: &TestServer) {
        let admin = admin(s).await;
        let url = |path: &str| s.url(path);
        let (status, first) = send(&admin, reqwest::Method::POST, url("/api/v1/rules"), Some(&price_rule())).await;
        assert_eq!(status, 201, "{first}");
        assert_eq!(first["name"], "Price question");
        assert_eq!(first["position"], 10);
        assert_eq!(first["mode"], "auto");
        assert_eq!(first["conditions"][2]["negate"], true);
        assert_eq!(first["actions"][0]["type"], "reply");
        assert_eq!(first["actions"][0]["weights"], json!([1, 1]));
        assert_eq!(first["delay_seconds"], json!({"min": 20, "max": 90}));
        assert_eq!(first["warnings"], json!([]));
        // Defaults: after the last rule, suggest mode, a human-like delay, safeguards on.
        let second = json!({"name": "Thanks", "conditions": [{"type": "only_emoji"}],
                            "actions": [{"type": "reply", "variants": ["❤️"]}]});
        let (status, second) = send(&admin, reqwest::Method::POST, url("/api/v1/rules"), Some(&second)).await;
        assert_eq!(status, 201, "{second}");
        assert_eq!(second["position"], 20);
        assert_eq!(second["mode"], "suggest");
        assert_eq!(second["applies_to"], json!(["comment", "dm"]));
        assert_eq!(second["safeguards"], json!({"cooldown_hours": 24, "max_per_hour": 60, "once_per_video": true}));
        assert!(second["warnings"][0].as_str().unwrap().contains("spam"), "{second}");

        let (first_id, second_id) = (first["id"].as_i64().unwrap(), second["id"].as_i64().unwrap());
        // What GET answers can be sent back with PUT as it is.
        let (_, mut changed) = s.get_json(&format!("/api/v1/rules/{first_id}")).await;
        changed["name"] = json!("Price (NL)");
        let (status, body) = send(&admin, reqwest::Method::PUT, url(&format!("/api/v1/rules/{first_id}")), Some(&changed)).await;
        assert_eq!((status, body["name"].as_str()), (200, Some("Price (NL)")), "{body}");
        let (status, body) = send(&admin, reqwest::Method::PATCH, url(&format!("/api/v1/rules/{first_id}")), Some(&json!({"enabled": false, "position": 30}))).await;
        assert_eq!((status, body["enabled"].as_bool()), (200, Some(false)), "{body}");
        let (status, _) = send(&admin, reqwest::Method::PATCH, url(&format!("/api/v1/rules/{first_id}")), Some(&json!({"position": i64::MAX}))).await;
        assert_eq!(status, 422, "positions stay where \"after the last\" has room");
        let (_, list) = s.get_json("/api/v1/rules").await;
        let order: Vec<i64> = list["rules"].as_array().unwrap().iter().map(|r| r["id"].as_i64().unwrap()).collect();
        assert_eq!(order, [second_id, first_id], "by position");

        let (status, _) = send(&admin, reqwest::Method::DELETE, url(&format!("/api/v1/rules/{second_id}")), None).await;
        assert_eq!(status, 204);
        assert_eq!(s.get_json(&format!("/api/v1/rules/{second_id}")).await.0, 404);
        let (status, _) = send(&admin, reqwest::Method::DELETE, url(&format!("/api/v1/rules/{second_id}")), None).await;
        assert_eq!(status, 404);

        let actions: Vec<(String,)> = s.db.fetch_all(unibox::storage::Sql::new(
            "SELECT action FROM audit_log WHERE action LIKE 'rule %' ORDER BY id")).await.unwrap();
        let actions: Vec<&str> = actions.iter().map(|(a,)| a.as_str()).collect();
        assert_eq!(actions, ["rule created", "rule created", "rule changed", "rule paused", "rule deleted"]);

        // Another workspace sees none of it; agents' tokens change nothing.
        let other = s.add_workspace("other").await;
        let theirs = s.api_client(&s.token_for(other, Scope::Admin).await);
        let (status, _) = send(&theirs, reqwest::Method::GET, url(&format!("/api/v1/rules/{first_id}")), None).await;
        assert_eq!(status, 404);
        let (status, _) = send(&theirs, reqwest::Method::DELETE, url(&format!("/api/v1/rules/{first_id}")), None).await;
        assert_eq!(status, 404);
        let (status, body) = send(&s.client, reqwest::Method::POST, url("/api/v1/rules"), Some(&price_rule())).await;
        assert_eq!(status, 403, "{body}");
        assert_eq!(s.count("rules").await, 1);
    }

    async fn bad_rules_are_refused_with_paths_and_nothing_is_saved(s: &TestServer) {
        let admin = admin(s).await;
        let cases: Vec<(Value, &str, &str)> = vec![
            (json!({"conditions": [{"type": "regex", "pattern": "(unclosed"}]}), "conditions[0].pattern", "regular expression"),
            (json!({"conditions": [{"type": "regex", "pattern": "\\w{1000}{1000}"}]}), "conditions[0].pattern", "too large"),
            (json!({"actions": [{"type": "reply", "variants": ["Hoi {{ author.username "]}]}), "actions[0].variants[0]", "line 1, column"),
            (json!({"actions": [{"type": "reply", "variants": ["Hoi {{ author.address }}", "b {{ platform }}"]}]}), "actions[0].variants[0]", "author.address"),
            (json!({"scope": {"platforms": ["tiktok"]}, "actions": [{"type": "private_reply", "variants": ["a", "b"]}]}), "actions[0].type", "TikTok"),
            (json!({"delay_seconds": {"min": 90, "max": 20}}), "delay_seconds.max", "upside down"),
            (json!({"actions": [{"type": "reply", "variants": ["x".repeat(151), "y"]}]}), "actions[0].variants[0]", "150"),
            (json!({"actions": [{"type": "assign", "user_id": 999}]}), "actions[0].user_id", "member"),
            (json!({"colour": "red"}), "colour", "not a field"),
            (json!({"mode": "yolo"}), "mode", "auto, suggest, dry_run"),
            (json!({"scope": "instagram"}), "scope", "must be an object"),
            (json!({"position": i64::MAX}), "position", "from 0 to"),
            (json!({"conditions": [{"type": "keywords", "any": ["\u{301}"]}]}), "conditions[0].any[0]", "nothing left"),
            (json!({"actions": [{"type": "reply", "variants": ["{% for a in \"x\"*100000000 %}{% endfor %}", "b"]}]}), "actions[0].variants[0]", "{% for %}"),
            (json!({"actions": [{"type": "reply", "variants": ["{{ \"y\" * 100000000 }}", "b"]}]}), "actions[0].variants[0]", "arithmetic"),
            // A comment, a string or a raw block hides no tag from the check.
            (json!({"actions": [{"type": "reply", "variants": ["{# {{ #}{% for c in message.text %}x{% endfor %}", "b"]}]}), "actions[0].variants[0]", "{% for %}"),
            (json!({"actions": [{"type": "reply", "variants": ["{{ '{{' }}{% set x = 1 %}", "b"]}]}), "actions[0].variants[0]", "{% set %}"),
            (json!({"actions": [{"type": "reply", "variants": ["{{ message.text | replace('', 'xxxxxxxx') }}", "b"]}]}), "actions[0].variants[0]", "filter “replace”"),
            (json!({"actions": [{"type": "reply", "variants": ["Hoi{{ '\\u0000' }}", "b"]}]}), "actions[0].variants[0]", "NUL"),
            (json!({"conditions": (0..21).map(|i| json!({"type": "keywords", "any": [format!("w{i}")]})).collect::<Vec<_>>()}), "conditions", "at most 20"),
        ];
        for (change, field, says) in cases {
            let mut rule = price_rule();
            for (k, v) in change.as_object().unwrap() {
                rule[k] = v.clone();
            }
            let (status, body) = send(&admin, reqwest::Method::POST, s.url("/api/v1/rules"), Some(&rule)).await;
            assert_eq!(status, 422, "{field}: {body}");
            let problem = body["problems"].as_array().unwrap().iter().find(|p| p["field"] == field)
                .unwrap_or_else(|| panic!("no problem at {field}: {body}"));
            assert!(problem["message"].as_str().unwrap().contains(says), "{field}: {problem}");
        }
        // Several at once are all listed.
        let (status, body) = send(&admin, reqwest::Method::POST, s.url("/api/v1/rules"),
            Some(&json!({"name": "", "conditions": [{"type": "colour"}], "actions": []}))).await;
        assert_eq!(status, 422);
        let fields: Vec<&str> = body["problems"].as_array().unwrap().iter().map(|p| p["field"].as_str().unwrap()).collect();
        assert_eq!(fields, ["name", "conditions[0].type", "actions"], "{body}");
        assert_eq!(s.count("rules").await, 0, "nothing half-saved");
        assert_eq!(s.get_json("/api/v1/rules").await.1["rules"], json!([]));
    }

    /// The test box: which rule fires for a pasted message, and what it would answer.
    async fn trying_a_message_stores_nothing(s: &TestServer) {
        let admin = admin(s).await;
        let (status, rule) = send(&admin, reqwest::Method::POST, s.url("/api/v1/rules"), Some(&price_rule())).await;
        assert_eq!(status, 201, "{rule}");
        let mut thanks = json!({"name": "Hearts", "conditions": [{"type": "only_emoji"}], "mode": "dry_run",
            "actions": [{"type": "reply", "variants": ["{{ greeting }} {{ author.username }} ❤️", "Thanks!"]}]});
        thanks["position"] = json!(5);
        send(&admin, reqwest::Method::POST, s.url("/api/v1/rules"), Some(&thanks)).await;
        let trial = |text: &str, platform: &str| json!({"platform": platform, "channel": "acme_official", "kind": "comment",
            "text": text, "author": {"username": "lisa", "display_name": "Lisa de Vries"}});
        let (status, body) = send(&admin, reqwest::Method::POST, s.url("/api/v1/rules/test"), Some(&trial("Hoeveel kost deze tas? Wat is de prijs", "tiktok"))).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["stored"], false);
        let fired = &body["fired"][0];
        assert_eq!(fired["rule_id"], rule["id"], "{body}");
        assert_eq!(fired["mode"], "auto");
        let rendered = &fired["actions"][0]["rendered"];
        assert_eq!(rendered[0]["text"], "Hoi Lisa! De kost kost €19.", "{body}");
        assert_eq!(rendered[1]["text"], "Dank je lisa, €19 in de webshop.");
        assert_eq!(fired["actions"][1]["type"], "label");
        assert_eq!(body["fired"].as_array().unwrap().len(), 1, "the first rule that fires wins");
        // A negated keyword, another platform, or no keyword at all: nothing fires.
        for (text, platform) in [("Hoeveel kost de retour?", "tiktok"), ("Hoeveel kost het?", "youtube"), ("Mooie video", "tiktok")] {
            let (_, body) = send(&admin, reqwest::Method::POST, s.url("/api/v1/rules/test"), Some(&trial(text, platform))).await;
            assert_eq!(body["fired"], json!([]), "{text} on {platform}: {body}");
        }
        let (_, body) = send(&admin, reqwest::Method::POST, s.url("/api/v1/rules/test"), Some(&trial("🔥🔥", "tiktok"))).await;
        assert_eq!(body["fired"][0]["name"], "Hearts");
        assert_eq!(body["fired"][0]["actions"][0]["rendered"][0]["text"], "Hi lisa ❤️");
        // Bad samples are refused; nothing was stored by any of it.
        let (status, body) = send(&admin, reqwest::Method::POST, s.url("/api/v1/rules/test"), Some(&trial("x", "myspace"))).await;
        assert_eq!((status, body["problems"][0]["field"].as_str()), (422, Some("platform")), "{body}");
        assert_eq!(s.count("messages").await, 0);
        assert_eq!(s.count("channels").await, 0);
    }

    /// The rules page lists rules in order, switches them, deletes them, and tries a message.
    async fn rules_page_lists_switches_and_tries(s: &TestServer) {
        let admin = admin(s).await;
        let mut hostile = price_rule();
        hostile["name"] = json!("<script>alert(1)</script> Price");
        let (_, rule) = send(&admin, reqwest::Method::POST, s.url("/api/v1/rules"), Some(&hostile)).await;
        let id = rule["id"].as_i64().unwrap();
        let (status, html) = s.page("/rules").await;
        assert_eq!(status, 200);
        let names: Vec<String> = select(&html, "li.rule .name").iter().map(text_of).collect();
        assert_eq!(names, ["<script>alert(1)</script> Price"], "shown as text");
        assert!(select(&html, "li.rule script").is_empty());
        let when = text_of(&select(&html, "li.rule .when")[0]);
        assert!(when.contains("keywords: prijs · kost · price") && when.contains("not keywords: retour"), "{when}");
        // Try a message: which rule fires and what it would say; nothing is stored.
        let r = s.post_form("/rules/try", &[("platform", "tiktok"), ("kind", "comment"), ("channel", "acme_official"),
            ("username", "lisa"), ("text", "Hoeveel kost deze tas?")]).await;
        assert_eq!(r.status(), 200);
        let html = scraper::Html::parse_document(&r.text().await.unwrap());
        let replies: Vec<String> = select(&html, ".try-result .replies li").iter().map(text_of).collect();
        assert_eq!(replies, ["Hoi daar! De kost kost €19.", "Dank je lisa, €19 in de webshop."]);
        assert!(text_of(&select(&html, ".try-result .fired")[0]).contains("would also: label"));
        let r = s.post_form("/rules/try", &[("platform", "myspace"), ("kind", "comment"), ("text", "x")]).await;
        assert_eq!(r.status(), 422);
        assert_eq!(s.count("messages").await, 0);
        // Pause, switch on, delete.
        assert_eq!(s.post_form(&format!("/rules/{id}/enabled"), &[("enabled", "false")]).await.status(), 303);
        let (_, html) = s.page("/rules").await;
        assert_eq!(select(&html, "li.rule.paused").len(), 1);
        assert_eq!(text_of(&select(&html, "li.rule button")[0]), "Switch on");
        assert_eq!(s.post_form(&format!("/rules/{id}/delete"), &[]).await.status(), 303);
        let (_, html) = s.page("/rules").await;
        assert!(select(&html, "li.rule").is_empty());
        assert_eq!(s.post_form(&format!("/rules/{id}/delete"), &[]).await.status(), 404);
    }
}
