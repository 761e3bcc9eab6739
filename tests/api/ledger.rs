//! What the safeguards read of earlier batches' runs. The hourly cap counts a channel's
//! automated actions of the last hour, exactly: runs that were skipped when due stop counting,
//! runs older than an hour never count, even those in the minute at the window's edge. The
//! last text sent to a person, or under a video, is not sent again.

use std::time::Duration;

use crate::automation::{create_rule, fresh, number, wait_for};
use crate::common::*;
use chrono::{DateTime, Timelike, Utc};
use serde_json::json;
use unibox::storage::Sql;

fn capped_rule(delay: u64, cap: u64) -> serde_json::Value {
    json!({
        "name": "Price", "mode": "auto", "delay_seconds": {"min": delay, "max": delay},
        "conditions": [{"type": "keywords", "any": ["price"]}],
        "actions": [{"type": "reply", "variants": ["€19 {{ author.username }}", "Nineteen euro", "19 in the shop"]}],
        "safeguards": {"cooldown_hours": 0, "max_per_hour": cap, "once_per_video": false},
    })
}

/// What the cap's count holds for the channel, against the runs it counts.
async fn counted(s: &TestServer) -> (i64, i64) {
    (
        number(
            s,
            "SELECT COALESCE(CAST(SUM(actions) AS BIGINT), 0) FROM automation_minutes",
        )
        .await,
        number(
            s,
            "SELECT COUNT(*) FROM rule_runs WHERE mode = 'auto' AND outcome IN ('due', 'done')",
        )
        .await,
    )
}

/// A run of rule `rule` on channel `channel` decided at `at`, counted as the server counts it
/// (minutes since the epoch, in a ring of 64).
async fn earlier_run(s: &TestServer, rule: i64, channel: i64, n: i64, at: DateTime<Utc>) {
    let mut sql = Sql::new(
        "INSERT INTO rule_runs (workspace_id, rule_id, message_id, thread_id, channel_id, mode, \
         outcome, due_at, decided_at) VALUES (1, ",
    );
    sql.bind(rule)
        .push(", ")
        .bind(-n)
        .push(", 0, ")
        .bind(channel);
    sql.push(", 'auto', 'done', ")
        .bind(at)
        .push(", ")
        .bind(at)
        .push(")");
    s.db.execute(sql).await.unwrap();
    let minute = at.timestamp().div_euclid(60);
    let mut sql =
        Sql::new("INSERT INTO automation_minutes (channel_id, slot, minute, actions) VALUES (");
    sql.bind(channel)
        .push(", ")
        .bind(minute.rem_euclid(64))
        .push(", ")
        .bind(minute);
    sql.push(", 1) ON CONFLICT (channel_id, slot) DO UPDATE SET actions = automation_minutes.actions + 1");
    s.db.execute(sql).await.unwrap();
}

/// An hour ago, at least three seconds into its minute and five before its end: a run a
/// moment before it or after it is in the same minute, the one at the window's edge.
async fn an_hour_ago() -> DateTime<Utc> {
    loop {
        let start = Utc::now() - chrono::Duration::hours(1);
        if (3..55).contains(&start.second()) {
            return start;
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

on_both_backends! {
    async fn skipped_runs_stop_counting_towards_the_hourly_cap(s: &TestServer) {
        create_rule(s, capped_rule(1, 2)).await;
        let body = s.ingest(json!([fresh(comment("k1", "price?")), fresh(comment("k2", "price?"))])).await;
        assert_eq!(counted(s).await, (2, 2));
        // A person answers k1 before its run falls due: that run is skipped and frees its place.
        let thread = body["results"][0]["thread_id"].as_i64().unwrap();
        let (status, _) = s.post_json(&format!("/api/v1/threads/{thread}/messages"), &json!({"text": "€19!"})).await;
        assert_eq!(status, 201);
        wait_for(s, "SELECT COUNT(*) FROM rule_runs WHERE outcome IN ('done', 'skipped')", 2).await;
        assert_eq!(counted(s).await, (1, 1));
        s.ingest(json!([fresh(comment("k3", "price?"))])).await;
        s.ingest(json!([fresh(comment("k4", "price?"))])).await;
        assert_eq!(number(s, "SELECT COUNT(*) FROM rule_runs WHERE reason = 'hourly_cap'").await, 1);
        assert_eq!(counted(s).await, (2, 2));
        tokio::time::sleep(Duration::from_millis(1500)).await;
        assert_eq!(counted(s).await, (2, 2), "done runs keep counting");
    }

    async fn runs_older_than_an_hour_do_not_count_even_in_the_edge_minute(s: &TestServer) {
        let rule = create_rule(s, capped_rule(0, 2)).await;
        s.ingest(json!([fresh(comment("e0", "hello"))])).await;
        let channel = number(s, "SELECT id FROM channels WHERE handle = 'acme_official'").await;
        // Two runs a moment more than an hour ago, in the minute at the window's edge: the
        // channel still has room.
        let start = an_hour_ago().await;
        earlier_run(s, rule, channel, 1, start - chrono::Duration::milliseconds(1500)).await;
        earlier_run(s, rule, channel, 2, start - chrono::Duration::seconds(30)).await;
        s.ingest(json!([fresh(comment("e1", "price?"))])).await;
        assert_eq!(number(s, "SELECT COUNT(*) FROM rule_runs WHERE outcome = 'done'").await, 3);
        // One run in that minute but inside the hour still counts: with e1's, the cap of two
        // is reached.
        earlier_run(s, rule, channel, 3, start + chrono::Duration::milliseconds(2500)).await;
        s.ingest(json!([fresh(comment("e2", "price?"))])).await;
        assert_eq!(number(s, "SELECT COUNT(*) FROM rule_runs WHERE reason = 'hourly_cap'").await, 1);
    }

    async fn a_text_is_not_sent_again_to_a_person_or_under_a_video(s: &TestServer) {
        let mut rule = capped_rule(0, 1000);
        rule["actions"] = json!([{"type": "reply", "variants": ["See the shop!"]}]);
        create_rule(s, rule).await;
        let first_video = "7377694258502880513";
        ask(s, "t1", "fan-a", first_video).await;
        // The same person again, on another video: the one text was theirs last.
        ask(s, "t2", "fan-a", "7377694258502880999").await;
        // Someone else under the first video: it was the video's last text.
        ask(s, "t3", "fan-b", first_video).await;
        // Someone else on another video, where nobody was answered yet: answered.
        ask(s, "t4", "fan-c", "7377694258502880777").await;
        let outcomes: Vec<(String, Option<String>)> = s.db.fetch_all(Sql::new(
            "SELECT outcome, reason FROM rule_runs ORDER BY id")).await.unwrap();
        let repeat = ("suppressed".to_owned(), Some("would_repeat".to_owned()));
        assert_eq!(outcomes, [("done".to_owned(), None), repeat.clone(), repeat, ("done".to_owned(), None)]);
    }
}

/// `author` asks the price under `video`, in a batch of its own.
async fn ask(s: &TestServer, id: &str, author: &str, video: &str) {
    let mut event = fresh(comment(id, "price?"));
    event["author"]["external_id"] = json!(author);
    event["video"] = json!({"external_id": video});
    s.ingest(json!([event])).await;
}
