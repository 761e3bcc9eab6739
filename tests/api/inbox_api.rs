//! The JSON API for reading and acting on threads, through real HTTP on both backends.

use crate::common::*;
use serde_json::{Value, json};

fn ids(threads: &[Value]) -> Vec<i64> {
    threads.iter().map(|t| t["id"].as_i64().unwrap()).collect()
}

/// The numbers (`n…` in the subject) of every thread a search finds, page by page.
async fn every_page(s: &TestServer, q: &str, limit: usize) -> Vec<i64> {
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut path = format!("/api/v1/threads?q={q}&limit={limit}");
        if let Some(c) = &cursor {
            path.push_str(&format!("&cursor={c}"));
        }
        let (status, body) = s.get_json(&path).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["search_capped"], false, "{q}");
        let page = body["threads"].as_array().unwrap();
        assert!(page.len() <= limit);
        seen.extend(page.iter().map(|t| -> i64 {
            t["subject"]
                .as_str()
                .unwrap()
                .rsplit_once(" n")
                .unwrap()
                .1
                .parse()
                .unwrap()
        }));
        match body["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => return seen,
        }
    }
}

/// Three channels on three platforms, comments and DMs, at distinct times.
async fn seed(s: &TestServer) {
    let mut yt = at(comment("yt1", "Great tutorial, thanks"), ts("09:00:00"));
    yt["platform"] = json!("youtube");
    yt["channel"] = json!("UCacme");
    yt["video"] = json!({"external_id": "dQw4w9WgXcQ", "title": "How to"});
    s.ingest(json!([
        at(comment("tt1", "Where can I buy this?"), ts("10:00:00")),
        at(comment("tt2", "Shipping to Belgium?"), ts("10:30:00")),
        at(
            dm("ig1", "lisa", "Is the blue one back in stock?"),
            ts("11:00:00")
        ),
        yt,
    ]))
    .await;
}

on_both_backends! {
    /// A `PATCH` is one change: when any part of it is refused, no part of it is made.
    async fn patch_is_all_or_nothing(s: &TestServer) {
        s.ingest(json!([FakeMessage::comment("c1").text("Price?").build(), FakeVideoStats::new(100).engagement(10, 1, 0, 0).build()])).await;
        let id = s.threads("").await[0]["id"].clone();
        let path = format!("/api/v1/threads/{id}");
        let (status, body) = s.patch_json(&path, &json!({"status": "done", "unread": false, "add_labels": ["vip"], "assignee": 999_999})).await;
        assert_eq!(status, 422, "{body}");
        assert_eq!(body["problems"][0]["field"], "assignee");
        let (_, detail) = s.get_json(&path).await;
        let thread = &detail["thread"];
        assert_eq!((thread["status"].as_str(), thread["unread"].as_bool()), (Some("open"), Some(true)), "{thread}");
        assert_eq!(thread["labels"], json!([]), "{thread}");
        assert_eq!(s.count("labels").await, 0, "not even the label was created");
        // The same change without the bad part goes through whole.
        let (status, body) = s.patch_json(&path, &json!({"status": "done", "add_labels": ["vip"]})).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["thread"]["status"], "done");
        assert_eq!(body["thread"]["labels"], json!(["vip"]));
    }

    async fn newest_activity_comes_first(s: &TestServer) {
        seed(s).await;
        let subjects: Vec<String> = s.threads("").await.iter().map(|t| t["subject"].as_str().unwrap().to_owned()).collect();
        assert_eq!(subjects, ["Is the blue one back in stock?", "Shipping to Belgium?", "Where can I buy this?", "Great tutorial, thanks"]);
        // A reply on the oldest TikTok thread moves it to the top.
        s.ingest(at(reply("tt1-r", "tt1", "Also: does it come in red?"), ts("12:00:00"))).await;
        assert_eq!(s.threads("").await[0]["subject"], "Where can I buy this?");
    }

    async fn filters_narrow_the_list(s: &TestServer) {
        seed(s).await;
        assert_eq!(s.threads("?platform=tiktok").await.len(), 2);
        assert_eq!(s.threads("?platform=youtube").await.len(), 1);
        assert_eq!(s.threads("?channel=acme.ig").await.len(), 1);
        assert_eq!(s.threads("?kind=dm").await.len(), 1);
        assert_eq!(s.threads("?kind=comment").await.len(), 3);
        assert_eq!(s.threads("?kind=comment&platform=tiktok&channel=acme_official").await.len(), 2);
        let video = s.threads("?platform=youtube").await[0]["video"]["id"].clone();
        let on_video = s.threads(&format!("?video={video}")).await;
        assert_eq!(on_video.len(), 1);
        assert_eq!(on_video[0]["subject"], "Great tutorial, thanks");
        let first = s.threads("?platform=tiktok").await[0]["id"].clone();
        let (status, _) = s.patch_json(&format!("/api/v1/threads/{first}"), &json!({"add_labels": ["shipping", "vip"]})).await;
        assert_eq!(status, 200);
        let labelled = s.threads("?label=shipping").await;
        assert_eq!(ids(&labelled), [first.as_i64().unwrap()]);
        assert_eq!(labelled[0]["labels"], json!(["shipping", "vip"]));
        assert!(s.threads("?label=nonexistent").await.is_empty());
    }

    async fn status_filters_and_changes(s: &TestServer) {
        seed(s).await;
        let all = s.threads("").await;
        let (a, b) = (all[0]["id"].as_i64().unwrap(), all[1]["id"].as_i64().unwrap());
        let (status, body) = s.patch_json("/api/v1/threads", &json!({"ids": [a, b], "status": "done"})).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["updated"], 2);
        assert_eq!(ids(&s.threads("?status=done").await), [a, b]);
        assert_eq!(s.threads("?status=open").await.len(), 2);
        assert_eq!(s.threads("?status=all").await.len(), 4);
        assert_eq!(s.threads("?status=unread").await.len(), 2);
        let c = s.threads("?status=open").await[0]["id"].as_i64().unwrap();
        let (_, body) = s.patch_json(&format!("/api/v1/threads/{c}"), &json!({"unread": false})).await;
        assert_eq!(body["thread"]["unread"], false);
        assert_eq!(s.threads("?status=unread").await.len(), 1);
        let (_, body) = s.patch_json(&format!("/api/v1/threads/{a}"), &json!({"status": "open"})).await;
        assert_eq!(body["thread"]["status"], "open");
        let (_, body) = s.patch_json(&format!("/api/v1/threads/{a}"), &json!({"remove_labels": ["none"], "add_labels": ["x"]})).await;
        assert_eq!(body["thread"]["labels"], json!(["x"]));
        let (_, body) = s.patch_json(&format!("/api/v1/threads/{a}"), &json!({"remove_labels": ["x"]})).await;
        assert_eq!(body["thread"]["labels"], json!([]));
        let (_, labels) = s.get_json("/api/v1/labels").await;
        assert_eq!(labels["labels"], json!(["x"]));
    }

    async fn bad_changes_are_refused_and_change_nothing(s: &TestServer) {
        seed(s).await;
        let id = s.threads("").await[0]["id"].clone();
        let path = format!("/api/v1/threads/{id}");
        let (status, body) = s.patch_json(&path, &json!({"status": "archived"})).await;
        assert_eq!(status, 422, "{body}");
        assert_eq!(body["problems"][0]["field"], "status");
        let (status, _) = s.patch_json(&path, &json!({"add_labels": ["  "]})).await;
        assert_eq!(status, 422);
        let (status, body) = s.patch_json(&path, &json!({"colour": "red"})).await;
        assert_eq!(status, 422, "{body}");
        assert!(body["error"].as_str().unwrap().contains("colour"), "{body}");
        let r = s.client.patch(s.url(&path)).header("content-type", "application/json").body("{").send().await.unwrap();
        assert_eq!(r.status().as_u16(), 400);
        let (status, _) = s.patch_json("/api/v1/threads", &json!({"ids": [], "status": "done"})).await;
        assert_eq!(status, 422);
        let t = &s.threads("").await[0];
        assert_eq!(t["status"], "open");
        assert_eq!(t["labels"], json!([]));
        let (status, body) = s.patch_json("/api/v1/threads/999999", &json!({"status": "done"})).await;
        assert_eq!(status, 404, "{body}");
        let (status, _) = s.get_json("/api/v1/threads/999999").await;
        assert_eq!(status, 404);
        let (status, body) = s.get_json("/api/v1/threads?status=later&limit=0&platform=x").await;
        assert_eq!(status, 422);
        assert_eq!(body["problems"].as_array().unwrap().len(), 3);
        let (status, body) = s.get_json("/api/v1/nothing-here").await;
        assert_eq!(status, 404);
        assert!(body["error"].is_string());
    }

    async fn search_finds_text_and_authors(s: &TestServer) {
        seed(s).await;
        let found = |q: &str| {
            let q = q.to_owned();
            async move {
                let path = format!("?q={}", q);
                s.threads(&path).await.iter().map(|t| t["subject"].as_str().unwrap().to_owned()).collect::<Vec<_>>()
            }
        };
        assert_eq!(found("belgium").await, ["Shipping to Belgium?"]);
        // Prefixes and several words (all must match).
        assert_eq!(found("ship%20belg").await, ["Shipping to Belgium?"]);
        assert!(found("shipping%20canada").await.is_empty());
        // Words typed joined (a handle) must follow each other; apart, they need not.
        s.ingest(json!([comment("h1", "Thanks fan_123!"), comment("h2", "Fantastic, 123 likes")])).await;
        assert_eq!(found("fan_123").await, ["Thanks fan_123!"]);
        assert_eq!(found("FAN-12").await, ["Thanks fan_123!"]);
        assert_eq!(found("fan%20123").await.len(), 2);
        assert!(found("fa_123").await.is_empty());
        // Author names are searchable (the DM is from "lisa").
        assert_eq!(found("lisa").await, ["Is the blue one back in stock?"]);
        // A match in a reply finds the whole thread.
        s.ingest(reply("tt1-r", "tt1", "does it come in turquoise")).await;
        assert_eq!(found("turquoise").await, ["Where can I buy this?"]);
        // Query syntax from the user is just words, never an error.
        for hostile in ["%22unbalanced", "NEAR(a%20b)", "a%20OR%20*", "%26%7C!", "%3A*", "'%3B%20DROP%20TABLE%20messages"] {
            let (status, body) = s.get_json(&format!("/api/v1/threads?q={hostile}")).await;
            assert_eq!(status, 200, "{hostile}: {body}");
        }
        assert_eq!(s.count("messages").await, 7);
        // Search combines with filters.
        assert!(found("lisa&kind=comment").await.is_empty());
    }

    async fn cursor_pagination_has_no_gaps_or_repeats(s: &TestServer) {
        // 25 threads, several sharing the same timestamp, so the cursor must break ties.
        let events: Vec<Value> = (0..25)
            .map(|i| at(comment(&format!("c{i:02}"), &format!("comment {i}")), format!("{}T10:{:02}:00Z", day(), i / 3)))
            .collect();
        s.ingest(Value::Array(events)).await;
        let mut seen = Vec::new();
        let mut cursor: Option<String> = None;
        let mut pages = 0;
        loop {
            let path = match &cursor {
                Some(c) => format!("/api/v1/threads?limit=10&cursor={c}"),
                None => "/api/v1/threads?limit=10".to_owned(),
            };
            let (status, body) = s.get_json(&path).await;
            assert_eq!(status, 200, "{body}");
            seen.extend(ids(body["threads"].as_array().unwrap()));
            pages += 1;
            match body["next_cursor"].as_str() {
                Some(c) => cursor = Some(c.to_owned()),
                None => break,
            }
        }
        assert_eq!(pages, 3);
        let mut unique = seen.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), 25, "every thread exactly once");
        let all = ids(&s.threads("?limit=100").await);
        assert_eq!(seen, all, "pages in the same order as one long page");
        let (status, _) = s.get_json("/api/v1/threads?cursor=garbage").await;
        assert_eq!(status, 422);
    }

    async fn replies_are_queued_outbound_messages(s: &TestServer) {
        seed(s).await;
        let tt = s.threads("?platform=tiktok").await[1].clone();
        let id = tt["id"].as_i64().unwrap();
        let (status, body) = s.post_json(&format!("/api/v1/threads/{id}/messages"), &json!({"text": "Link in bio! 🛍️"})).await;
        assert_eq!(status, 201, "{body}");
        let m = &body["message"];
        assert_eq!(m["direction"], "outbound");
        assert_eq!(m["source"], "manual");
        assert_eq!(m["state"], "queued");
        assert!(m["external_id"].is_null());
        assert_eq!(m["parent_external_id"], "tt1");
        assert_eq!(m["text"], "Link in bio! 🛍️");
        let (_, detail) = s.get_json(&format!("/api/v1/threads/{id}")).await;
        assert_eq!(detail["thread"]["message_count"], 2);
        assert_eq!(detail["thread"]["unread"], false);
        assert_eq!(detail["messages"][1]["state"], "queued");
        // TikTok takes at most 150 characters in a comment reply.
        let (status, body) = s.post_json(&format!("/api/v1/threads/{id}/messages"), &json!({"text": "x".repeat(151)})).await;
        assert_eq!(status, 422);
        assert!(body["problems"][0]["message"].as_str().unwrap().contains("150"), "{body}");
        let (status, _) = s.post_json(&format!("/api/v1/threads/{id}/messages"), &json!({"text": "   "})).await;
        assert_eq!(status, 422);
        let (status, _) = s.post_json(&format!("/api/v1/threads/{id}/messages"), &json!({"text": "a", "in_reply_to": 999999})).await;
        assert_eq!(status, 422);
        let (status, _) = s.post_json("/api/v1/threads/999999/messages", &json!({"text": "a"})).await;
        assert_eq!(status, 404);
        // A DM reply has no parent and no 150-character limit.
        let dm_thread = s.threads("?kind=dm").await[0]["id"].clone();
        let long = "y".repeat(400);
        let (status, body) = s.post_json(&format!("/api/v1/threads/{dm_thread}/messages"), &json!({"text": long})).await;
        assert_eq!(status, 201, "{body}");
        assert!(body["message"]["parent_external_id"].is_null());
        assert_eq!(s.count("messages").await, 6);
    }

    async fn thread_messages_paginate(s: &TestServer) {
        let mut events = vec![at(comment("top", "root"), ts("10:00:00"))];
        for i in 0..7 {
            events.push(at(reply(&format!("r{i}"), "top", &format!("reply {i}")), format!("{}T10:0{}:30Z", day(), i + 1)));
        }
        s.ingest(Value::Array(events)).await;
        let id = s.threads("").await[0]["id"].clone();
        let (_, first) = s.get_json(&format!("/api/v1/threads/{id}?limit=5")).await;
        assert_eq!(first["messages"].as_array().unwrap().len(), 5);
        let cursor = first["next_cursor"].as_str().unwrap().to_owned();
        let (_, second) = s.get_json(&format!("/api/v1/threads/{id}?limit=5&cursor={cursor}")).await;
        let texts: Vec<&str> = second["messages"].as_array().unwrap().iter().map(|m| m["text"].as_str().unwrap()).collect();
        assert_eq!(texts, ["reply 4", "reply 5", "reply 6"]);
        assert!(second["next_cursor"].is_null());
    }
}

on_both_backends! {
    /// Words in more than 10,000 messages: PostgreSQL still answers exactly; SQLite answers from
    /// the most recent matches and says so. Rarer words are exact on both.
    async fn very_common_words_still_find_threads(s: &TestServer) {
        for chunk in 0..3 {
            let events: Vec<Value> = (0..3_400)
                .map(|i| {
                    let text = if i == 7 && chunk == 0 { "love it, rare quokka" } else { "love it" };
                    comment(&format!("c{chunk}-{i}"), text)
                })
                .collect();
            s.ingest(Value::Array(events)).await;
        }
        let capped = s.backend == Backend::Sqlite;
        let (_, common) = s.get_json("/api/v1/threads?q=love&limit=5").await;
        assert_eq!(common["search_capped"], capped, "{common}");
        assert_eq!(common["threads"].as_array().unwrap().len(), 5);
        let (_, rare) = s.get_json("/api/v1/threads?q=love%20quokka").await;
        assert_eq!(rare["search_capped"], false);
        assert_eq!(rare["threads"].as_array().unwrap().len(), 1);
        assert_eq!(rare["threads"][0]["subject"], "love it, rare quokka");
        let (_, html) = s.page("/?q=love").await;
        assert_eq!(select(&html, "#thread-list p.hint[role=status]").len(), usize::from(capped));
    }

    /// Searches whose matches sit at every depth of a long inbox: one word in every 40th thread
    /// (PostgreSQL finds it by walking the newest threads, in growing windows), one in the
    /// newest thread and three far older ones (the walk finds the first and leaves the rest
    /// to the index). Every page is exact, in order, with nothing twice or missing.
    async fn search_is_exact_at_every_depth(s: &TestServer) {
        let total = 7_000;
        let zephyr = [6_990, 100, 50, 10];
        for chunk in 0..total / 1_000 {
            let events: Vec<Value> = (chunk * 1_000..(chunk + 1) * 1_000)
                .map(|i| {
                    let text = match i {
                        i if zephyr.contains(&i) => format!("a rare zephyr n{i}"),
                        i if i % 40 == 0 => format!("every marigold n{i}"),
                        i => format!("plain words n{i}"),
                    };
                    let time = format!("{}T{:02}:{:02}:{:02}Z", day(), i / 3_600, i / 60 % 60, i % 60);
                    at(comment(&format!("d{i}"), &text), &time)
                })
                .collect();
            s.ingest(Value::Array(events)).await;
        }
        let number = |t: &Value| -> i64 { t["subject"].as_str().unwrap().rsplit_once(" n").unwrap().1.parse().unwrap() };
        let mut seen = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let path = match &cursor {
                Some(c) => format!("/api/v1/threads?q=marigold&limit=50&cursor={c}"),
                None => "/api/v1/threads?q=marigold&limit=50".to_owned(),
            };
            let (status, body) = s.get_json(&path).await;
            assert_eq!(status, 200, "{body}");
            assert_eq!(body["search_capped"], false);
            seen.extend(body["threads"].as_array().unwrap().iter().map(number));
            match body["next_cursor"].as_str() {
                Some(c) => cursor = Some(c.to_owned()),
                None => break,
            }
        }
        let expected: Vec<i64> = (0..total).rev().filter(|i| i % 40 == 0 && !zephyr.contains(i)).collect();
        assert_eq!(seen, expected);
        for q in ["zephyr", "rare%20zeph", "ZEPHYR%20a"] {
            let found: Vec<i64> = s.threads(&format!("?q={q}")).await.iter().map(number).collect();
            assert_eq!(found, zephyr, "{q}");
        }
        let (_, page) = s.get_json("/api/v1/threads?q=zephyr&limit=2").await;
        assert_eq!(page["threads"].as_array().unwrap().iter().map(number).collect::<Vec<_>>(), [6_990, 100]);
        let c = page["next_cursor"].as_str().unwrap();
        let (_, rest) = s.get_json(&format!("/api/v1/threads?q=zephyr&limit=2&cursor={c}")).await;
        assert_eq!(rest["threads"].as_array().unwrap().iter().map(number).collect::<Vec<_>>(), [50, 10]);
        assert!(rest["next_cursor"].is_null(), "{rest}");
        assert!(s.threads("?q=zephyr%20marigold").await.is_empty());
        assert!(s.threads("?q=marigold&status=done").await.is_empty());
    }

    /// More than a thousand matching threads, none among the newest: PostgreSQL's walk by the
    /// words gives up, and the index's list of threads is walked newest first (`sage`: the
    /// walk fills the page) or, when the matches lie too far back for that to pay, looked up
    /// (`sorrel`: one match the walk finds, the rest far older). Every page is exact.
    async fn many_matches_deep_in_the_inbox_are_exact(s: &TestServer) {
        let total = 3_000;
        for chunk in 0..total / 1_000 {
            let events: Vec<Value> = (chunk * 1_000..(chunk + 1) * 1_000)
                .map(|i| {
                    let mut words = vec!["plain".to_owned()];
                    if i < 2_200 && i % 2 == 0 {
                        words.push("sage".into());
                    }
                    if i < 1_100 || i == 2_300 {
                        words.push("sorrel".into());
                    }
                    let time = format!("{}T{:02}:{:02}:{:02}Z", day(), i / 3_600, i / 60 % 60, i % 60);
                    at(comment(&format!("m{i}"), &format!("{} n{i}", words.join(" "))), &time)
                })
                .collect();
            s.ingest(Value::Array(events)).await;
        }
        let sage: Vec<i64> = (0..2_200).rev().filter(|i| i % 2 == 0).collect();
        let sorrel: Vec<i64> = std::iter::once(2_300).chain((0..1_100).rev()).collect();
        assert_eq!(every_page(s, "sage", 50).await, sage);
        assert_eq!(every_page(s, "sorrel", 50).await, sorrel);
        assert_eq!(every_page(s, "sorrel%20sag", 200).await, sorrel.iter().copied().filter(|i| i % 2 == 0 && *i < 2_200).collect::<Vec<_>>());
        assert_eq!(every_page(s, "sorrel&status=done", 50).await, Vec::<i64>::new());
    }

    /// Search counts only the asking workspace's matches: another workspace's common word
    /// neither caps nor slows this one's answer, and the cap, where it applies, is per
    /// workspace.
    async fn search_counts_only_this_workspace(s: &TestServer) {
        let other = s.add_workspace("busy").await;
        let other_api = s.api_client(&s.token_for(other, Scope::Write).await);
        for chunk in 0..3 {
            let events: Vec<Value> = (0..3_400)
                .map(|i| comment(&format!("b{chunk}-{i}"), "love it"))
                .collect();
            let r = other_api.post(s.url("/api/v1/events")).json(&events).send().await.unwrap();
            assert_eq!(r.status(), 201);
        }
        s.ingest(json!([comment("a1", "love this"), comment("a2", "love that")])).await;
        let (_, mine) = s.get_json("/api/v1/threads?q=love").await;
        assert_eq!(mine["search_capped"], false, "{mine}");
        let subjects: Vec<&str> = mine["threads"].as_array().unwrap().iter().map(|t| t["subject"].as_str().unwrap()).collect();
        assert_eq!(subjects.len(), 2);
        assert!(subjects.iter().all(|t| t.starts_with("love th")), "{subjects:?}");
        // The busy workspace itself is capped on SQLite, and sees only its own threads.
        let r = other_api.get(s.url("/api/v1/threads?q=love&limit=200")).send().await.unwrap();
        let theirs: Value = r.json().await.unwrap();
        assert_eq!(theirs["search_capped"], s.backend == Backend::Sqlite);
        assert!(theirs["threads"].as_array().unwrap().iter().all(|t| t["subject"] == "love it"));
    }
}
