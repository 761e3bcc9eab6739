//! The ingest API through real HTTP: storing, idempotency, threading and every refusal.

use crate::common::*;
use serde_json::{Value, json};

on_both_backends! {
    async fn single_event_creates_thread_video_and_contact(s: &TestServer) {
        let body = s.ingest(comment("7385350567722402578", "Where can I buy this?")).await;
        assert_eq!(body["created"], 1);
        assert_eq!(body["duplicates"], 0);
        assert_eq!(body["results"][0]["status"], "created");
        assert_eq!(body["results"][0]["index"], 0);
        let threads = s.threads("").await;
        assert_eq!(threads.len(), 1);
        let t = &threads[0];
        assert_eq!(t["kind"], "comment");
        assert_eq!(t["platform"], "tiktok");
        assert_eq!(t["channel"], "acme_official");
        assert_eq!(t["status"], "open");
        assert_eq!(t["unread"], true);
        assert_eq!(t["subject"], "Where can I buy this?");
        assert_eq!(t["message_count"], 1);
        assert_eq!(t["video"]["external_id"], "7377694258502880513");
        assert_eq!(t["video"]["title"], "Unboxing");
        assert_eq!(t["contact"]["username"], "user_7385350567722402578");
        assert_eq!(t["last_message_at"], ts("10:00:00"));
        let (_, detail) = s.get_json(&format!("/api/v1/threads/{}", t["id"])).await;
        // Big ids come back as the exact strings that went in.
        assert_eq!(detail["messages"][0]["external_id"], "7385350567722402578");
        assert_eq!(detail["messages"][0]["direction"], "inbound");
        assert_eq!(detail["messages"][0]["source"], "platform");
        assert_eq!(detail["messages"][0]["state"], "received");
    }

    async fn a_person_and_a_video_named_with_less_are_still_the_same(s: &TestServer) {
        s.ingest(comment("n1", "first")).await;
        // The same author and video again, saying less (a reply's webhook often does): nothing
        // to change in their rows, which the write therefore does not return; both messages
        // still point at them.
        let mut bare = comment("n2", "second");
        bare["author"] = json!({"external_id": "author-n1", "username": "user_n1"});
        bare["video"] = json!({"external_id": "7377694258502880513", "title": "Unboxing"});
        let body = s.ingest(bare).await;
        assert_eq!(body["created"], 1, "{body}");
        let rows: Vec<(i64, i64)> = s.db.fetch_all(unibox::storage::Sql::new(
            "SELECT COUNT(DISTINCT author_id), COUNT(DISTINCT video_id) FROM messages")).await.unwrap();
        assert_eq!(rows, [(1, 1)]);
        let threads = s.threads("").await;
        assert_eq!(threads[0]["contact"]["username"], "user_n1", "kept, not forgotten");
        assert_eq!(threads[0]["video"]["title"], "Unboxing");
    }

    async fn batch_stores_every_kind_of_event(s: &TestServer) {
        let body = s.ingest(json!([
            comment("c1", "first"),
            reply("c2", "c1", "second"),
            dm("d1", "lisa", "hi there"),
            {"type": "video_stats", "platform": "tiktok", "channel": "acme_official",
             "video": {"external_id": "7377694258502880513"},
             "views": 10000, "likes": 1200, "comments": 150, "shares": 50, "saves": 30,
             "captured_at": ts("12:00:00")},
            {"type": "channel_stats", "platform": "tiktok", "channel": "acme_official",
             "followers": 12500, "captured_at": ts("12:00:00")}
        ])).await;
        assert_eq!(body["created"], 5);
        let types: Vec<&str> = body["results"].as_array().unwrap().iter().map(|r| r["type"].as_str().unwrap()).collect();
        assert_eq!(types, ["message", "message", "message", "video_stats", "channel_stats"]);
        assert_eq!(s.count("messages").await, 3);
        assert_eq!(s.count("threads").await, 2);
        assert_eq!(s.count("video_stats").await, 1);
        assert_eq!(s.count("channel_stats").await, 1);
        // The stats refer to the same video the comments did: one video row.
        assert_eq!(s.count("videos").await, 1);
        // Channels were created on first sight, one per platform account.
        assert_eq!(s.count("channels").await, 2);
    }

    async fn duplicates_are_stored_once_and_reported(s: &TestServer) {
        let first = s.ingest(json!([comment("c1", "hello"), comment("c1", "hello again")])).await;
        assert_eq!(first["created"], 1);
        assert_eq!(first["duplicates"], 1);
        assert_eq!(first["results"][1]["status"], "duplicate");
        assert_eq!(first["results"][0]["id"], first["results"][1]["id"]);
        let again = s.ingest(json!([comment("c1", "hello"), comment("c2", "new")])).await;
        assert_eq!(again["created"], 1);
        assert_eq!(again["duplicates"], 1);
        assert_eq!(again["results"][0]["status"], "duplicate");
        assert_eq!(again["results"][0]["id"], first["results"][0]["id"]);
        assert_eq!(again["results"][1]["status"], "created");
        assert_eq!(s.count("messages").await, 2);
        // A duplicate does not bump the thread.
        let threads = s.threads("").await;
        assert!(threads.iter().all(|t| t["message_count"] == 1));
        let stats = json!({"type": "channel_stats", "platform": "tiktok", "channel": "acme_official",
            "followers": 10, "captured_at": ts("12:00:00")});
        assert_eq!(s.ingest(stats.clone()).await["created"], 1);
        assert_eq!(s.ingest(stats).await["duplicates"], 1);
        let metrics = s.get("/metrics").await.text().await.unwrap();
        assert!(metrics.contains("unibox_events_duplicate_total 3"), "{metrics}");
    }

    async fn same_id_on_another_channel_is_another_message(s: &TestServer) {
        let mut other = comment("c1", "elsewhere");
        other["channel"] = json!("other_brand");
        s.ingest(json!([comment("c1", "here"), other])).await;
        assert_eq!(s.count("messages").await, 2);
    }

    async fn replies_join_their_top_level_comment(s: &TestServer) {
        s.ingest(json!([at(comment("top", "question?"), ts("10:00:00"))])).await;
        s.ingest(json!([at(reply("r1", "top", "answer"), ts("10:05:00"))])).await;
        s.ingest(json!([at(reply("r2", "r1", "answer to answer"), ts("10:06:00"))])).await;
        let threads = s.threads("").await;
        assert_eq!(threads.len(), 1);
        assert_eq!(threads[0]["message_count"], 3);
        assert_eq!(threads[0]["subject"], "question?");
        assert_eq!(threads[0]["preview"], "answer to answer");
        assert_eq!(threads[0]["last_message_at"], ts("10:06:00"));
    }

    async fn reply_before_its_parent_joins_the_thread_when_the_parent_arrives(s: &TestServer) {
        // The reply to a reply arrives first, then the reply, then the top-level comment.
        s.ingest(json!([at(reply("r2", "r1", "late reply"), ts("10:06:00"))])).await;
        s.ingest(json!([at(reply("r1", "top", "middle"), ts("10:05:00"))])).await;
        assert_eq!(s.count("threads").await, 1, "the orphan thread merged into the reply's thread");
        s.ingest(json!([at(comment("top", "the question"), ts("10:00:00"))])).await;
        let threads = s.threads("").await;
        assert_eq!(threads.len(), 1);
        let t = &threads[0];
        assert_eq!(t["message_count"], 3);
        assert_eq!(t["subject"], "the question");
        assert_eq!(t["contact"]["external_id"], "author-top");
        let (_, detail) = s.get_json(&format!("/api/v1/threads/{}", t["id"])).await;
        let ids: Vec<&str> = detail["messages"].as_array().unwrap().iter().map(|m| m["external_id"].as_str().unwrap()).collect();
        assert_eq!(ids, ["top", "r1", "r2"]);
    }

    async fn out_of_order_inside_one_batch(s: &TestServer) {
        s.ingest(json!([reply("r2", "r1", "c"), reply("r1", "top", "b"), comment("top", "a")])).await;
        let threads = s.threads("").await;
        assert_eq!(threads.len(), 1);
        assert_eq!(threads[0]["message_count"], 3);
        assert_eq!(threads[0]["subject"], "a");
    }

    async fn dms_thread_per_contact(s: &TestServer) {
        s.ingest(json!([dm("d1", "lisa", "hi"), dm("d2", "lisa", "are you there?"), dm("d3", "bob", "yo")])).await;
        let threads = s.threads("?kind=dm").await;
        assert_eq!(threads.len(), 2);
        let lisa = threads.iter().find(|t| t["contact"]["external_id"] == "lisa").unwrap();
        assert_eq!(lisa["message_count"], 2);
        assert!(lisa["video"].is_null());
        // Our own DM back, delivered by the platform: outbound, in Lisa's conversation.
        let mut ours = dm("d4", "acme-account", "Hi Lisa!");
        ours["direction"] = json!("outbound");
        ours["recipient"] = json!({"external_id": "lisa"});
        ours["created_at"] = json!(ts("11:05:00"));
        s.ingest(ours).await;
        let (_, detail) = s.get_json(&format!("/api/v1/threads/{}", lisa["id"])).await;
        let last = detail["messages"].as_array().unwrap().last().unwrap().clone();
        assert_eq!(last["direction"], "outbound");
        assert_eq!(last["state"], "sent");
        assert_eq!(detail["thread"]["message_count"], 3);
    }

    async fn new_inbound_message_reopens_a_done_thread(s: &TestServer) {
        s.ingest(comment("c1", "question")).await;
        let id = s.threads("").await[0]["id"].clone();
        let (status, _) = s.patch_json(&format!("/api/v1/threads/{id}"), &json!({"status": "done"})).await;
        assert_eq!(status, 200);
        assert_eq!(s.threads("?status=done").await.len(), 1);
        assert_eq!(s.threads("?status=done").await[0]["unread"], false);
        s.ingest(reply("r1", "c1", "hello??")).await;
        let t = &s.threads("").await[0];
        assert_eq!(t["status"], "open");
        assert_eq!(t["unread"], true);
    }
}

/// Asserts a refusal with the given status whose problems name exactly `fields` (with the
/// event index), and that nothing at all was stored.
async fn refused(s: &TestServer, body: Value, status: u16, fields: &[(usize, &str)]) {
    let before = (
        s.count("messages").await,
        s.count("channels").await,
        s.count("videos").await,
        s.count("threads").await,
    );
    let (got, answer) = s.post_json("/api/v1/events", &body).await;
    assert_eq!(got, status, "{answer}");
    assert!(
        answer["error"].as_str().is_some_and(|e| !e.is_empty()),
        "{answer}"
    );
    let problems: Vec<(usize, String)> = answer["problems"]
        .as_array()
        .map(|ps| {
            ps.iter()
                .map(|p| {
                    (
                        p["index"].as_u64().unwrap() as usize,
                        p["field"].as_str().unwrap().to_owned(),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    let expected: Vec<(usize, String)> =
        fields.iter().map(|(i, f)| (*i, (*f).to_owned())).collect();
    assert_eq!(problems, expected, "{answer}");
    let after = (
        s.count("messages").await,
        s.count("channels").await,
        s.count("videos").await,
        s.count("threads").await,
    );
    assert_eq!(before, after, "a refused request stored something");
}

on_both_backends! {
    async fn every_problem_in_a_batch_is_listed_and_nothing_is_stored(s: &TestServer) {
        let mut numeric = comment("c3", "x");
        numeric["external_id"] = json!(7385350567722402578_u64);
        let mut bad_time = comment("c4", "x");
        bad_time["created_at"] = json!("yesterday");
        let mut future = comment("c5", "x");
        future["created_at"] = json!("2999-01-01T00:00:00Z");
        let mut nul = comment("c6", "x");
        nul["text"] = json!("a\u{0}b");
        let mut bad_url = comment("c7", "x");
        bad_url["video"]["url"] = json!("javascript:alert(1)");
        let mut no_author_id = comment("c8", "x");
        no_author_id["author"] = json!({"username": "x"});
        let mut platform = comment("c9", "x");
        platform["platform"] = json!("myspace");
        let mut kind = comment("c10", "x");
        kind["kind"] = json!("tweet");
        let mut no_video = comment("c11", "x");
        no_video.as_object_mut().unwrap().remove("video");
        let mut self_parent = comment("c12", "x");
        self_parent["parent_external_id"] = json!("c12");
        let mut huge = comment("c13", "x");
        huge["text"] = json!("a".repeat(70_000));
        let body = json!([
            comment("ok", "this one is fine but must not be stored"),
            {"type": "message"},
            numeric, bad_time, future, nul, bad_url, no_author_id, platform, kind, no_video, self_parent, huge,
            {"type": "video_stats", "platform": "tiktok", "channel": "acme", "video": {"external_id": "v"},
             "views": -1, "likes": 1.5, "comments": "3", "captured_at": ts("12:00:00")},
            {"type": "channel_stats", "platform": "tiktok", "channel": "acme", "followers": 5},
            {"type": "poll"},
            "not an object"
        ]);
        refused(s, body, 422, &[
            (1, "platform"), (1, "channel"), (1, "kind"), (1, "external_id"), (1, "author"), (1, "text"),
            (2, "external_id"),
            (3, "created_at"),
            (4, "created_at"),
            (5, "text"),
            (6, "video.url"),
            (7, "author.external_id"),
            (8, "platform"),
            (9, "kind"),
            (10, "video.external_id"),
            (11, "parent_external_id"),
            (12, "text"),
            (13, "views"), (13, "likes"), (13, "comments"), (13, "shares"),
            (14, "captured_at"),
            (15, "platform"), (15, "channel"), (15, "type"),
            (16, ""),
        ]).await;
    }

    async fn malformed_bodies_get_clear_400s(s: &TestServer) {
        for body in ["{not json", "", "42", "[]", "\"text\""] {
            let r = s.client.post(s.url("/api/v1/events")).header("content-type", "application/json").body(body).send().await.unwrap();
            assert_eq!(r.status().as_u16(), 400, "body {body:?}");
            let answer: Value = r.json().await.unwrap();
            assert!(answer["error"].as_str().unwrap().len() > 10, "{answer}");
        }
        let r = s.client.post(s.url("/api/v1/events")).body("{\"type\": \"message\", \"text\": \"\\ud800\"}").send().await.unwrap();
        assert_eq!(r.status().as_u16(), 400);
        assert_eq!(s.count("messages").await, 0);
    }
}

#[tokio::test]
async fn oversized_body_gets_413_with_a_message() {
    let s = TestServer::sqlite_with(|c| c.server.max_body_bytes = 10_000).await;
    let big = json!([comment("c1", &"x".repeat(20_000))]);
    let (status, answer) = s.post_json("/api/v1/events", &big).await;
    assert_eq!(status, 413);
    assert!(
        answer["error"].as_str().unwrap().contains("10000 bytes"),
        "{answer}"
    );
    assert_eq!(s.count("messages").await, 0);
    s.finish().await;
}

#[tokio::test]
async fn too_many_events_get_413() {
    let s = TestServer::sqlite_with(|c| c.ingest.max_batch_events = 3).await;
    let batch = json!([
        comment("a", "1"),
        comment("b", "2"),
        comment("c", "3"),
        comment("d", "4")
    ]);
    let (status, answer) = s.post_json("/api/v1/events", &batch).await;
    assert_eq!(status, 413);
    assert!(
        answer["error"].as_str().unwrap().contains("limit is 3"),
        "{answer}"
    );
    assert_eq!(s.count("messages").await, 0);
    s.finish().await;
}

on_both_backends! {
    async fn concurrent_overlapping_batches_store_each_message_once(s: &TestServer) {
        // Four clients deliver the same 200 comments and replies, in different orders, at once
        // (at-least-once delivery retried by several workers).
        let mut events: Vec<Value> = Vec::new();
        for i in 0..50 {
            events.push(comment(&format!("t{i}"), "top"));
            for j in 0..3 {
                events.push(reply(&format!("t{i}-r{j}"), &format!("t{i}"), "reply"));
            }
        }
        let mut requests = Vec::new();
        for variant in 0..4 {
            let mut batch = events.clone();
            match variant {
                1 => batch.reverse(),
                2 => batch.rotate_left(97),
                3 => batch.sort_by_key(|e| e["text"].as_str().unwrap().to_owned()),
                _ => {}
            }
            let client = s.client.clone();
            let url = s.url("/api/v1/events");
            requests.push(tokio::spawn(async move { client.post(url).json(&batch).send().await.unwrap() }));
        }
        let mut created = 0;
        let mut ids_by_text: std::collections::HashMap<String, i64> = Default::default();
        for r in requests {
            let r = r.await.unwrap();
            assert!(r.status().is_success(), "{}", r.status());
            let body = r.json::<Value>().await.unwrap();
            created += body["created"].as_i64().unwrap();
            // Each request gets its own answer, indexed from 0, even when written together.
            let results = body["results"].as_array().unwrap();
            assert_eq!(results.len(), 200);
            for (i, result) in results.iter().enumerate() {
                assert_eq!(result["index"], i as u64, "{result}");
                ids_by_text.entry(result["id"].to_string()).or_insert(result["id"].as_i64().unwrap());
            }
        }
        assert_eq!(ids_by_text.len(), 200, "every copy of a message points at the same stored row");
        assert_eq!(created, 200, "each message created by exactly one request");
        assert_eq!(s.count("messages").await, 200);
        let threads = s.threads("?limit=200").await;
        assert_eq!(threads.len(), 50);
        assert!(threads.iter().all(|t| t["message_count"] == 4 && t["subject"] == "top"), "{threads:?}");
    }
}
