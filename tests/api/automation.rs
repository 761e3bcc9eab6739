//! Rules acting through real HTTP: decided in the ingest transaction, acted on when due,
//! suggested and approved or rejected, recorded in dry runs, and held back by every safeguard
//! — a rule never answers our own messages or another rule's reply.

use std::time::Duration;

use crate::common::*;
use serde_json::{Value, json};
use unibox::storage::Sql;

/// `event` written a minute ago (the platforms' windows count from the message's time).
pub fn fresh(mut event: Value) -> Value {
    let t = chrono::Utc::now() - chrono::Duration::minutes(1);
    event["created_at"] = json!(t.to_rfc3339());
    event
}

pub async fn create_rule(s: &TestServer, rule: Value) -> i64 {
    let admin = s.api_client(&s.token_for(1, Scope::Admin).await);
    let r = admin
        .post(s.url("/api/v1/rules"))
        .json(&rule)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    let body: Value = r.json().await.unwrap();
    assert_eq!(status, 201, "{body}");
    body["id"].as_i64().unwrap()
}

/// Runs `sql` (a single number) until it gives `want`, for up to ten seconds.
pub async fn wait_for(s: &TestServer, sql: &str, want: i64) -> i64 {
    let mut last = -1;
    for _ in 0..100 {
        let (n,): (i64,) = s.db.fetch_optional(Sql::new(sql)).await.unwrap().unwrap();
        if n == want {
            return n;
        }
        last = n;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{sql}: wanted {want}, still {last}");
}

pub async fn number(s: &TestServer, sql: &str) -> i64 {
    let (n,): (i64,) = s.db.fetch_optional(Sql::new(sql)).await.unwrap().unwrap();
    n
}

async fn messages_of(s: &TestServer, thread: i64) -> Vec<Value> {
    let (status, body) = s.get_json(&format!("/api/v1/threads/{thread}")).await;
    assert_eq!(status, 200, "{body}");
    body["messages"].as_array().unwrap().clone()
}

fn price_rule(mode: &str) -> Value {
    json!({
        "name": "Price", "mode": mode, "delay_seconds": 0,
        "conditions": [{"type": "keywords", "any": ["prijs", "price"]}],
        "actions": [
            {"type": "reply", "variants": ["Hoi {{ author.first_name | default('daar') }}, €19!",
                                           "Dank je {{ author.username }}: €19 in de shop."]},
            {"type": "label", "label": "price"}],
    })
}

on_both_backends! {
    async fn a_rule_without_delay_leaves_alone_what_the_same_batch_answered(s: &TestServer) {
        // A poll can bring a comment and our own later answer to it in one batch: the rule,
        // acting in that batch's transaction, sees the answer as the due worker would.
        create_rule(s, price_rule("auto")).await;
        let mut ours = reply("r9", "c9", "€19, see the shop");
        ours["direction"] = json!("outbound");
        s.ingest(json!([fresh(comment("c9", "Wat is de prijs?")), fresh(ours)])).await;
        assert_eq!(number(s, "SELECT COUNT(*) FROM rule_runs WHERE outcome = 'skipped' AND reason = 'answered_by_person'").await, 1);
        assert_eq!(number(s, "SELECT COUNT(*) FROM messages WHERE source = 'rule'").await, 0);
        // Unanswered, the same question is answered at once.
        s.ingest(json!([fresh(comment("c10", "Wat is de prijs?"))])).await;
        assert_eq!(number(s, "SELECT COUNT(*) FROM messages WHERE source = 'rule'").await, 1);
    }

    async fn an_automatic_rule_answers_once_and_never_itself(s: &TestServer) {
        let rule = create_rule(s, price_rule("auto")).await;
        let body = s.ingest(json!([
            fresh(comment("c1", "Wat is de prijs?")),
            fresh(comment("c2", "Mooie video")),
        ])).await;
        let thread = body["results"][0]["thread_id"].as_i64().unwrap();
        wait_for(s, "SELECT COUNT(*) FROM rule_runs WHERE outcome = 'done'", 1).await;
        let messages = messages_of(s, thread).await;
        let ours: Vec<&Value> = messages.iter().filter(|m| m["source"] == "rule").collect();
        assert_eq!(ours.len(), 1, "{messages:?}");
        assert_eq!(ours[0]["state"], "queued");
        assert_eq!(ours[0]["rule_id"], rule);
        assert_eq!(ours[0]["parent_external_id"], "c1");
        let text = ours[0]["text"].as_str().unwrap();
        assert!(text == "Hoi User, €19!" || text == "Dank je user_c1: €19 in de shop.", "{text}");
        let variant = ours[0]["rule_variant"].as_i64().unwrap();
        assert_eq!(text.starts_with("Hoi"), variant == 0, "the variant is recorded: {text} {variant}");
        let (_, t) = s.get_json(&format!("/api/v1/threads/{thread}")).await;
        assert_eq!(t["thread"]["labels"], json!(["price"]), "{t}");

        // Our own comment and the echo of a reply carry the keyword too: nothing answers them,
        // and a redelivery of c1 decides nothing again.
        let mut own = fresh(reply("own-1", "c1", "De prijs is €19"));
        own["direction"] = json!("outbound");
        s.ingest(json!([own, fresh(comment("c1", "Wat is de prijs?"))])).await;
        tokio::time::sleep(Duration::from_millis(600)).await;
        assert_eq!(number(s, "SELECT COUNT(*) FROM rule_runs").await, 1);
        assert_eq!(number(s, "SELECT COUNT(*) FROM messages WHERE source = 'rule'").await, 1);

        // An edit counts from the next message, without a restart.
        let admin = s.api_client(&s.token_for(1, Scope::Admin).await);
        let r = admin.patch(s.url(&format!("/api/v1/rules/{rule}"))).json(&json!({"enabled": false})).send().await.unwrap();
        assert_eq!(r.status(), 200);
        s.ingest(json!([fresh(comment("c3", "price please"))])).await;
        assert_eq!(number(s, "SELECT COUNT(*) FROM rule_runs").await, 1);
        // A rule made meanwhile counts too, though no rule of the old ones fires.
        let mut shipping = price_rule("dry_run");
        shipping["name"] = json!("Shipping");
        shipping["conditions"] = json!([{"type": "keywords", "any": ["shipping"]}]);
        let newer = create_rule(s, shipping).await;
        s.ingest(json!([fresh(comment("c4", "shipping to Belgium?"))])).await;
        assert_eq!(number(s, &format!("SELECT COUNT(*) FROM rule_runs WHERE rule_id = {newer}")).await, 1);

        let (_, rules) = s.get_json("/api/v1/rules").await;
        let stats = &rules["rules"][0]["stats"];
        assert_eq!((stats["matched"].as_i64(), stats["acted"].as_i64()), (Some(1), Some(1)), "{stats}");
        assert!(stats["last_fired"].is_string(), "{stats}");
    }

    async fn suggestions_wait_for_a_person(s: &TestServer) {
        create_rule(s, price_rule("suggest")).await;
        let body = s.ingest(json!([
            fresh(comment("s1", "price?")),
            fresh(comment("s2", "prijs?")),
        ])).await;
        let thread = body["results"][0]["thread_id"].as_i64().unwrap();
        let (status, waiting) = s.get_json("/api/v1/suggestions").await;
        assert_eq!(status, 200);
        let waiting = waiting["suggestions"].as_array().unwrap().clone();
        assert_eq!(waiting.len(), 2, "{waiting:?}");
        assert_eq!(waiting[0]["answers"], "price?");
        assert_eq!(waiting[0]["rule_name"], "Price");
        // Waiting suggestions are not the thread's latest message, and label nothing yet.
        let t = &s.threads("").await.into_iter().find(|t| t["id"] == thread).unwrap();
        assert_eq!(t["preview"], "price?", "{t}");
        assert_eq!(t["labels"], json!([]));

        let (first, second) = (waiting[0]["id"].as_i64().unwrap(), waiting[1]["id"].as_i64().unwrap());
        let reader = s.api_client(&s.token_for(1, Scope::Read).await);
        let r = reader.post(s.url(&format!("/api/v1/messages/{first}/approve"))).send().await.unwrap();
        assert_eq!(r.status(), 403, "readers do not approve");
        let agent = s.api_client(&s.token_for(1, Scope::Write).await);
        let r = agent.post(s.url(&format!("/api/v1/messages/{first}/approve")))
            .json(&json!({"text": "x".repeat(151)})).send().await.unwrap();
        assert_eq!(r.status(), 422, "an edit is checked like any TikTok reply");
        let r = agent.post(s.url(&format!("/api/v1/messages/{first}/approve")))
            .json(&json!({"text": "Hoi! Hij kost €19 <3"})).send().await.unwrap();
        assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
        let r = agent.post(s.url(&format!("/api/v1/messages/{first}/approve"))).send().await.unwrap();
        assert_eq!(r.status(), 409, "approved once only");
        let r = agent.post(s.url(&format!("/api/v1/messages/{second}/reject"))).send().await.unwrap();
        assert_eq!(r.status(), 200);

        let messages = messages_of(s, thread).await;
        let ours = messages.iter().find(|m| m["source"] == "rule").unwrap();
        assert_eq!((ours["state"].as_str(), ours["text"].as_str()), (Some("queued"), Some("Hoi! Hij kost €19 <3")));
        let (_, t) = s.get_json(&format!("/api/v1/threads/{thread}")).await;
        assert_eq!(t["thread"]["labels"], json!(["price"]), "approving does the rule's other actions");
        let (_, waiting) = s.get_json("/api/v1/suggestions").await;
        assert_eq!(waiting["suggestions"], json!([]));
        let (_, rules) = s.get_json("/api/v1/rules").await;
        let stats = &rules["rules"][0]["stats"];
        assert_eq!((stats["acted"].as_i64(), stats["rejected"].as_i64()), (Some(1), Some(1)), "{stats}");
        let actions: Vec<(String,)> = s.db.fetch_all(Sql::new(
            "SELECT action FROM audit_log WHERE action LIKE 'suggestion %' ORDER BY id")).await.unwrap();
        assert_eq!(actions, [("suggestion approved".to_owned(),), ("suggestion rejected".to_owned(),)]);
    }

    async fn a_dry_run_records_and_sends_nothing(s: &TestServer) {
        create_rule(s, price_rule("dry_run")).await;
        s.ingest(json!([fresh(comment("d1", "price?"))])).await;
        tokio::time::sleep(Duration::from_millis(600)).await;
        assert_eq!(number(s, "SELECT COUNT(*) FROM rule_runs WHERE outcome = 'dry_run'").await, 1);
        assert_eq!(number(s, "SELECT COUNT(*) FROM messages WHERE state = 'dry_run'").await, 1);
        assert_eq!(number(s, "SELECT COUNT(*) FROM messages WHERE state IN ('queued', 'sending', 'sent')").await, 0);
        assert_eq!(number(s, "SELECT COUNT(*) FROM thread_labels").await, 0);
    }

    async fn pausing_all_automation_stops_every_rule(s: &TestServer) {
        create_rule(s, price_rule("auto")).await;
        let admin = s.api_client(&s.token_for(1, Scope::Admin).await);
        let agent = s.api_client(&s.token_for(1, Scope::Write).await);
        let r = agent.put(s.url("/api/v1/automation")).json(&json!({"paused": true})).send().await.unwrap();
        assert_eq!(r.status(), 403, "admins pause automation");
        let r = admin.put(s.url("/api/v1/automation")).json(&json!({"paused": true})).send().await.unwrap();
        assert_eq!(r.status(), 200);
        assert_eq!(s.get_json("/api/v1/automation").await.1, json!({"paused": true, "time_zone": "UTC"}));
        let r = admin.put(s.url("/api/v1/automation")).json(&json!({"time_zone": "Europe/Amsterdm"})).send().await.unwrap();
        assert_eq!(r.status(), 422);
        let body: Value = r.json().await.unwrap();
        assert_eq!(body["problems"][0]["field"], "time_zone");
        let r = admin.put(s.url("/api/v1/automation")).json(&json!({"time_zone": "Europe/Amsterdam"})).send().await.unwrap();
        assert_eq!(r.status(), 200);
        assert_eq!(s.get_json("/api/v1/automation").await.1["time_zone"], "Europe/Amsterdam");
        s.ingest(json!([fresh(comment("p1", "price?"))])).await;
        tokio::time::sleep(Duration::from_millis(600)).await;
        assert_eq!(number(s, "SELECT COUNT(*) FROM rule_runs WHERE outcome = 'suppressed' AND reason = 'paused'").await, 1);
        assert_eq!(number(s, "SELECT COUNT(*) FROM messages WHERE source = 'rule'").await, 0);
        admin.put(s.url("/api/v1/automation")).json(&json!({"paused": false})).send().await.unwrap();
        s.ingest(json!([fresh(comment("p2", "price?"))])).await;
        wait_for(s, "SELECT COUNT(*) FROM messages WHERE source = 'rule'", 1).await;
        // Paused again, with the rules unchanged since the last decision: stopped at once.
        admin.put(s.url("/api/v1/automation")).json(&json!({"paused": true})).send().await.unwrap();
        s.ingest(json!([fresh(comment("p3", "price?"))])).await;
        assert_eq!(number(s, "SELECT COUNT(*) FROM rule_runs WHERE outcome = 'suppressed' AND reason = 'paused'").await, 2);
        assert_eq!(number(s, "SELECT COUNT(*) FROM messages WHERE source = 'rule'").await, 1);
    }

    async fn a_person_answering_first_keeps_the_rule_quiet(s: &TestServer) {
        let mut rule = price_rule("auto");
        rule["delay_seconds"] = json!({"min": 1, "max": 1});
        create_rule(s, rule).await;
        let body = s.ingest(json!([fresh(comment("h1", "price?"))])).await;
        let thread = body["results"][0]["thread_id"].as_i64().unwrap();
        let (status, _) = s.post_json(&format!("/api/v1/threads/{thread}/messages"), &json!({"text": "€19!"})).await;
        assert_eq!(status, 201);
        wait_for(s, "SELECT COUNT(*) FROM rule_runs WHERE outcome = 'skipped' AND reason = 'answered_by_person'", 1).await;
        assert_eq!(number(s, "SELECT COUNT(*) FROM messages WHERE source = 'rule'").await, 0);
    }

    async fn cooldown_and_hourly_cap_hold_under_a_burst(s: &TestServer) {
        // Channel A: a 24-hour cool-down per author. Channel B: no cool-down, a cap of 60.
        let mut a = price_rule("auto");
        a["scope"] = json!({"platforms": ["tiktok"]});
        a["safeguards"] = json!({"cooldown_hours": 24, "max_per_hour": 10000, "once_per_video": false});
        a["actions"][0]["variants"] = json!(["A1 {{ author.username }}", "A2", "A3"]);
        let mut b = price_rule("auto");
        b["scope"] = json!({"platforms": ["instagram"]});
        b["safeguards"] = json!({"cooldown_hours": 0, "max_per_hour": 60, "once_per_video": false});
        b["actions"] = json!([{"type": "reply", "variants": ["B1", "B2", "B3"]}]);
        create_rule(s, a).await;
        create_rule(s, b).await;
        let mut batches = Vec::new();
        for batch in 0..10 {
            let events: Vec<Value> = (0..100).map(|i| {
                let n = batch * 100 + i;
                let platform = if n % 2 == 0 { "tiktok" } else { "instagram" };
                let mut e = fresh(comment(&format!("b{n}"), "price?"));
                e["platform"] = json!(platform);
                e["author"]["external_id"] = json!(format!("fan-{}", n % 10));
                e["video"]["external_id"] = json!(format!("v{}", n % 7));
                e
            }).collect();
            batches.push(events);
        }
        let sends = batches.into_iter().map(|events| s.client.post(s.url("/api/v1/events")).json(&events).send());
        for r in futures_join(sends).await {
            assert_eq!(r.unwrap().status(), 201);
        }
        let tiktok = "(SELECT id FROM channels WHERE platform = 'tiktok')";
        let instagram = "(SELECT id FROM channels WHERE platform = 'instagram')";
        // Five authors comment on each channel (even and odd): each gets one answer on A.
        wait_for(s, &format!("SELECT COUNT(*) FROM messages WHERE source = 'rule' AND channel_id = {tiktok}"), 5).await;
        wait_for(s, &format!("SELECT COUNT(*) FROM messages WHERE source = 'rule' AND channel_id = {instagram}"), 60).await;
        tokio::time::sleep(Duration::from_millis(500)).await;
        assert_eq!(number(s, &format!("SELECT COUNT(*) FROM messages WHERE source = 'rule' AND channel_id = {tiktok}")).await, 5);
        assert_eq!(number(s, &format!("SELECT COUNT(*) FROM messages WHERE source = 'rule' AND channel_id = {instagram}")).await, 60);
        assert_eq!(number(s, "SELECT COUNT(*) FROM rule_runs WHERE reason = 'cooldown'").await, 495);
        assert_eq!(number(s, "SELECT COUNT(*) FROM rule_runs WHERE reason = 'hourly_cap'").await, 440);
        assert_eq!(number(s, "SELECT COUNT(*) FROM rule_runs").await, 1000, "one run per message and rule");
        // No author got the same text twice in a row, and no video had it twice in a row.
        let rows: Vec<(i64, Option<i64>, String)> = s.db.fetch_all(Sql::new(
            "SELECT author_id, video_id, reply_text FROM rule_runs WHERE outcome = 'done' ORDER BY id")).await.unwrap();
        let mut last_author = std::collections::HashMap::new();
        let mut last_video = std::collections::HashMap::new();
        for (author, video, text) in rows {
            assert_ne!(last_author.insert(author, text.clone()), Some(text.clone()), "author {author}");
            assert_ne!(last_video.insert(video, text.clone()), Some(text.clone()), "video {video:?}");
        }
    }

    async fn a_backtest_counts_what_each_safeguard_would_stop(s: &TestServer) {
        s.ingest(json!([
            fresh(comment("t1", "price?")),
            fresh(comment("t2", "price again?")),
            fresh(comment("t3", "nice")),
        ])).await;
        // t2 by the same author as t1: the cool-down stops it.
        let mut same = fresh(comment("t4", "what price"));
        same["author"]["external_id"] = json!("author-t1");
        s.ingest(json!([same])).await;
        let mut rule = price_rule("auto");
        rule["enabled"] = json!(false);
        let id = create_rule(s, rule).await;
        let admin = s.api_client(&s.token_for(1, Scope::Admin).await);
        let r = admin.post(s.url(&format!("/api/v1/rules/{id}/backtest"))).json(&json!({"days": 30})).send().await.unwrap();
        assert_eq!(r.status(), 200);
        let result: Value = r.json().await.unwrap();
        assert_eq!(result["scanned"], 4, "{result}");
        assert_eq!(result["matched"], 3, "{result}");
        assert_eq!(result["would_act"], 2, "{result}");
        assert_eq!(result["stopped"], json!({"cooldown": 1}), "{result}");
        let replies: Vec<&str> = result["examples"].as_array().unwrap().iter().filter_map(|e| e["reply"].as_str()).collect();
        assert_eq!(replies.len(), 2, "{result}");
        assert_eq!(number(s, "SELECT COUNT(*) FROM rule_runs").await, 0, "a backtest stores nothing");
        let r = admin.post(s.url(&format!("/api/v1/rules/{id}/backtest"))).json(&json!({"days": 0})).send().await.unwrap();
        assert_eq!(r.status(), 422);
        let body: Value = r.json().await.unwrap();
        assert_eq!(body["problems"][0]["field"], "days");
    }

    async fn suggest_without_a_reply_is_refused(s: &TestServer) {
        let admin = s.api_client(&s.token_for(1, Scope::Admin).await);
        let rule = json!({"name": "Hide spam", "mode": "suggest",
            "conditions": [{"type": "link"}], "actions": [{"type": "hide"}],
            "scope": {"platforms": ["tiktok"]}});
        let r = admin.post(s.url("/api/v1/rules")).json(&rule).send().await.unwrap();
        assert_eq!(r.status(), 422);
        let body: Value = r.json().await.unwrap();
        assert_eq!(body["problems"][0]["field"], "mode", "{body}");
        assert_eq!(s.count("rules").await, 0);
    }
}

/// Sends every request at once and waits for all.
async fn futures_join<F>(futures: impl Iterator<Item = F>) -> Vec<F::Output>
where
    F: std::future::Future + Send + 'static,
    F::Output: Send + 'static,
{
    let tasks: Vec<_> = futures.map(tokio::spawn).collect();
    let mut out = Vec::new();
    for t in tasks {
        out.push(t.await.unwrap());
    }
    out
}

on_both_backends! {
    /// `kill -9` while a burst is being decided and acted on: after a restart every stored
    /// comment has exactly one run, and every run exactly one reply.
    async fn a_crash_between_ingest_and_acting_loses_and_doubles_nothing(s: &TestServer) {
        let mut rule = price_rule("auto");
        rule["delay_seconds"] = json!({"min": 2, "max": 3});
        rule["safeguards"] = json!({"cooldown_hours": 0, "max_per_hour": 10000, "once_per_video": false});
        rule["actions"] = json!([{"type": "reply", "variants": ["R1", "R2", "R3"]}]);
        create_rule(s, rule).await;
        let (mut child, base) = crate::faults::spawn_unibox(&s.database_url);
        crate::faults::wait_ready(&base).await;
        let mut load = Vec::new();
        for c in 0..2 {
            let (client, url) = (s.client.clone(), format!("{base}/api/v1/events"));
            load.push(tokio::spawn(async move {
                for round in 0..200 {
                    let events: Vec<Value> = (0..50)
                        .map(|i| fresh(comment(&format!("k{c}-{round}-{i}"), "price?")))
                        .collect();
                    if client.post(&url).json(&events).send().await.is_err() {
                        return;
                    }
                }
            }));
        }
        tokio::time::sleep(Duration::from_millis(1500)).await;
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        for task in load {
            task.await.unwrap();
        }
        let decided = number(s, "SELECT COUNT(*) FROM rule_runs").await;
        assert!(decided > 0, "nothing was decided before the kill");
        assert!(
            number(s, "SELECT COUNT(*) FROM rule_runs WHERE outcome = 'due'").await > 0,
            "the kill came after every run was acted on"
        );
        let (mut child, base) = crate::faults::spawn_unibox(&s.database_url);
        crate::faults::wait_ready(&base).await;
        wait_for(s, "SELECT COUNT(*) FROM rule_runs WHERE outcome = 'due'", 0).await;
        child.kill().unwrap();
        child.wait().unwrap();
        let inbound = number(s, "SELECT COUNT(*) FROM messages WHERE direction = 'inbound'").await;
        assert_eq!(number(s, "SELECT COUNT(*) FROM rule_runs").await, inbound, "one run per stored comment");
        assert_eq!(number(s, "SELECT COUNT(*) FROM messages m WHERE m.direction = 'inbound' \
            AND NOT EXISTS (SELECT 1 FROM rule_runs r WHERE r.message_id = m.id)").await, 0);
        assert_eq!(number(s, "SELECT COUNT(*) FROM rule_runs WHERE outcome <> 'done'").await, 0);
        assert_eq!(number(s, "SELECT COUNT(*) FROM rule_runs r WHERE \
            (SELECT COUNT(*) FROM messages x WHERE x.rule_run_id = r.id) <> 1").await, 0,
            "every run has exactly one reply");
    }
}

on_both_backends! {
    async fn every_action_and_the_remaining_safeguards(s: &TestServer) {
        let member = s.add_user("agent@example.test", 1, Role::Agent).await;
        // A sorting rule that lets the next one go on, then an answering one, then a third
        // that would answer too: one automated reply per message.
        create_rule(s, json!({"name": "Sort", "mode": "auto", "delay_seconds": 0, "continue": true,
            "safeguards": {"cooldown_hours": 0},
            "conditions": [{"type": "keywords", "any": ["price"]}],
            "actions": [{"type": "label", "label": "sales"}, {"type": "label", "label": "new"},
                        {"type": "remove_label", "label": "new"}, {"type": "assign", "user_id": member},
                        {"type": "hide"}]})).await;
        create_rule(s, json!({"name": "Answer", "mode": "auto", "delay_seconds": 0, "continue": true,
            "conditions": [{"type": "keywords", "any": ["price"]}],
            "actions": [{"type": "reply", "variants": ["€19!", "It is €19.", "Only €19"]},
                        {"type": "close"}]})).await;
        create_rule(s, json!({"name": "Answer again", "mode": "auto", "delay_seconds": 0,
            "conditions": [{"type": "keywords", "any": ["price"]}],
            "actions": [{"type": "reply", "variants": ["Twice?", "Again?"]}]})).await;

        let body = s.ingest(json!([fresh(comment("e1", "price?"))])).await;
        let thread = body["results"][0]["thread_id"].as_i64().unwrap();
        wait_for(s, "SELECT COUNT(*) FROM rule_runs WHERE outcome = 'done'", 2).await;
        let (_, t) = s.get_json(&format!("/api/v1/threads/{thread}")).await;
        assert_eq!(t["thread"]["labels"], json!(["sales"]), "{t}");
        assert_eq!(t["thread"]["assignee"]["id"], member, "{t}");
        assert_eq!(t["thread"]["status"], "done", "{t}");
        let replies: Vec<&Value> = t["messages"].as_array().unwrap().iter().filter(|m| m["source"] == "rule").collect();
        assert_eq!(replies.len(), 1, "one automated reply per message: {replies:?}");
        assert_eq!(number(s, "SELECT COUNT(*) FROM rule_runs WHERE reason = 'answered'").await, 1);
        // Hiding goes to the outbox, for the TikTok connector, on the message itself.
        assert_eq!(number(s, "SELECT COUNT(*) FROM outbox o JOIN messages m ON m.id = o.message_id \
            WHERE o.action = 'hide' AND o.target = m.external_id AND m.direction = 'inbound'").await, 1);

        // The same person again under the same video: the answer rule holds back (its
        // cool-down, then once per video); a comment from a week ago gets no answer at all.
        let mut again = fresh(comment("e2", "and the price in euro?"));
        again["author"]["external_id"] = json!("author-e1");
        let old = at(comment("e3", "price?"), (chrono::Utc::now() - chrono::Duration::days(8)).to_rfc3339());
        s.ingest(json!([again, old])).await;
        tokio::time::sleep(Duration::from_millis(600)).await;
        assert_eq!(number(s, "SELECT COUNT(*) FROM messages WHERE source = 'rule'").await, 1);
        let reasons: Vec<(String, Option<String>)> = s.db.fetch_all(Sql::new(
            "SELECT r.name, x.reason FROM rule_runs x JOIN rules r ON r.id = x.rule_id \
             JOIN messages m ON m.id = x.message_id WHERE m.external_id IN ('e2', 'e3') ORDER BY m.external_id, x.id")).await.unwrap();
        assert_eq!(reasons, [
            ("Sort".to_owned(), None),
            ("Answer".to_owned(), Some("cooldown".to_owned())),
            ("Answer again".to_owned(), Some("once_per_video".to_owned())),
            ("Sort".to_owned(), Some("too_old".to_owned())),
            ("Answer".to_owned(), Some("too_old".to_owned())),
            ("Answer again".to_owned(), Some("too_old".to_owned())),
        ], "{reasons:?}");
    }

    async fn what_a_platform_cannot_do_is_left_out_and_said(s: &TestServer) {
        // No platform in the scope: a private reply and hiding are allowed, but YouTube does
        // neither; the public reply still goes.
        create_rule(s, json!({"name": "Everywhere", "mode": "auto", "delay_seconds": 0,
            "applies_to": ["comment"],
            "conditions": [{"type": "keywords", "any": ["link"]}],
            "actions": [{"type": "reply", "variants": ["In our bio!", "See the bio"]},
                        {"type": "private_reply", "variants": ["Here it is: https://example.com"]},
                        {"type": "hide"}]})).await;
        let mut yt = fresh(comment("y1", "link please"));
        yt["platform"] = json!("youtube");
        let mut ig = fresh(comment("i1", "link please"));
        ig["platform"] = json!("instagram");
        s.ingest(json!([yt, ig])).await;
        wait_for(s, "SELECT COUNT(*) FROM rule_runs WHERE outcome = 'done'", 2).await;
        let rows: Vec<(String, String, Option<String>)> = s.db.fetch_all(Sql::new(
            "SELECT c.platform, x.kind, x.parent_external_id FROM messages x JOIN channels c ON c.id = x.channel_id \
             WHERE x.source = 'rule' ORDER BY c.platform, x.kind")).await.unwrap();
        assert_eq!(rows, [
            ("instagram".to_owned(), "comment".to_owned(), Some("i1".to_owned())),
            ("instagram".to_owned(), "dm".to_owned(), Some("i1".to_owned())),
            ("youtube".to_owned(), "comment".to_owned(), Some("y1".to_owned())),
        ]);
        let (reason,): (Option<String>,) = s.db.fetch_optional(Sql::new(
            "SELECT x.reason FROM rule_runs x JOIN messages m ON m.id = x.message_id WHERE m.external_id = 'y1'")).await.unwrap().unwrap();
        assert_eq!(reason.as_deref(), Some("private_reply, hide: YouTube cannot do this"));
    }
}

on_both_backends! {
    async fn business_hours_follow_the_local_clock(s: &TestServer) {
        let always: serde_json::Map<String, Value> = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
            .iter().map(|d| (d.to_string(), json!(["00:00-24:00"]))).collect();
        let hours = |negate: bool| json!({"type": "business_hours", "time_zone": "Europe/Amsterdam",
            "hours": always, "negate": negate});
        create_rule(s, json!({"name": "After hours", "mode": "dry_run", "continue": true,
            "conditions": [{"type": "keywords", "any": ["price"]}, hours(true)],
            "actions": [{"type": "label", "label": "after-hours"}]})).await;
        create_rule(s, json!({"name": "Open", "mode": "dry_run",
            "conditions": [{"type": "keywords", "any": ["price"]}, hours(false)],
            "actions": [{"type": "label", "label": "open"}]})).await;
        s.ingest(json!([fresh(comment("bh1", "price?"))])).await;
        let fired: Vec<(String,)> = s.db.fetch_all(Sql::new(
            "SELECT r.name FROM rule_runs x JOIN rules r ON r.id = x.rule_id")).await.unwrap();
        assert_eq!(fired, [("Open".to_owned(),)]);

        let admin = s.api_client(&s.token_for(1, Scope::Admin).await);
        let bad = json!({"name": "Bad", "mode": "dry_run",
            "conditions": [{"type": "business_hours", "time_zone": "Europe/Amsterdm", "hours": {"mon": ["9-17"]}}],
            "actions": [{"type": "label", "label": "x"}]});
        let r = admin.post(s.url("/api/v1/rules")).json(&bad).send().await.unwrap();
        assert_eq!(r.status(), 422);
        let body: Value = r.json().await.unwrap();
        let fields: Vec<&str> = body["problems"].as_array().unwrap().iter().filter_map(|p| p["field"].as_str()).collect();
        assert_eq!(fields, ["conditions[0].time_zone", "conditions[0].hours.mon[0]"], "{body}");
    }
}

on_both_backends! {
    async fn the_test_box_gives_each_safeguards_verdict(s: &TestServer) {
        create_rule(s, price_rule("auto")).await;
        s.ingest(json!([fresh(comment("v1", "price?"))])).await;
        wait_for(s, "SELECT COUNT(*) FROM rule_runs WHERE outcome = 'done'", 1).await;
        let admin = s.api_client(&s.token_for(1, Scope::Admin).await);
        let test = |author: &str| json!({"platform": "tiktok", "channel": "acme_official", "kind": "comment",
            "text": "and the price?", "author": {"external_id": author}});
        let r = admin.post(s.url("/api/v1/rules/test")).json(&test("author-v1")).send().await.unwrap();
        let body: Value = r.json().await.unwrap();
        let fired = &body["fired"][0];
        assert_eq!(fired["would_act"], false, "{body}");
        let verdict = |name: &str| fired["safeguards"].as_array().unwrap().iter()
            .find(|v| v["safeguard"] == name).cloned().unwrap();
        assert_eq!(verdict("cooldown")["stops"], true, "{body}");
        assert_eq!(verdict("paused")["stops"], false);
        assert!(verdict("hourly_cap")["says"].as_str().unwrap().starts_with("1 of 60"), "{body}");
        // Someone new passes every safeguard.
        let body: Value = admin.post(s.url("/api/v1/rules/test")).json(&json!({"platform": "tiktok",
            "channel": "acme_official", "kind": "comment", "text": "price?"})).send().await.unwrap().json().await.unwrap();
        assert_eq!(body["fired"][0]["would_act"], true, "{body}");
        assert_eq!(number(s, "SELECT COUNT(*) FROM rule_runs").await, 1, "the test box stores nothing");
    }
}

on_both_backends! {
    async fn dry_runs_do_not_answer_and_platform_replies_count_as_a_persons(s: &TestServer) {
        // A dry run first, letting later rules go on: the real rule still answers.
        let mut watch = price_rule("dry_run");
        watch["continue"] = json!(true);
        watch["name"] = json!("Watch");
        create_rule(s, watch).await;
        let mut answer = price_rule("auto");
        answer["delay_seconds"] = json!({"min": 1, "max": 1});
        create_rule(s, answer).await;
        // A suggest rule whose only reply TikTok cannot take: nothing to suggest, said so.
        create_rule(s, json!({"name": "DM them", "mode": "suggest", "applies_to": ["comment"],
            "conditions": [{"type": "keywords", "any": ["dm"]}],
            "actions": [{"type": "private_reply", "variants": ["Hier is de link"]}, {"type": "label", "label": "dm"}]})).await;

        let body = s.ingest(json!([fresh(comment("d1", "price?")), fresh(comment("d2", "price!")),
                                   fresh(comment("d3", "dm me"))])).await;
        // The account answers d2 itself, in the platform's app: the rule keeps quiet there.
        let mut own = fresh(reply("d2-own", "d2", "€19, see bio"));
        own["direction"] = json!("outbound");
        s.ingest(json!([own])).await;
        wait_for(s, "SELECT COUNT(*) FROM rule_runs WHERE outcome IN ('done', 'skipped')", 2).await;
        let outcomes: Vec<(String, String, Option<String>)> = s.db.fetch_all(Sql::new(
            "SELECT m.external_id, x.outcome, x.reason FROM rule_runs x JOIN messages m ON m.id = x.message_id \
             ORDER BY m.external_id, x.id")).await.unwrap();
        assert_eq!(outcomes, [
            ("d1".to_owned(), "dry_run".to_owned(), None),
            ("d1".to_owned(), "done".to_owned(), None),
            ("d2".to_owned(), "dry_run".to_owned(), None),
            ("d2".to_owned(), "skipped".to_owned(), Some("answered_by_person".to_owned())),
            ("d3".to_owned(), "suppressed".to_owned(), Some("nothing_to_suggest".to_owned())),
        ], "{body}");
    }
}
