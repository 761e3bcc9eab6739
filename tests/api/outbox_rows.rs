//! What a reply's outbox row says — what the platform is asked to do, on what, under which
//! video, and until when it may — checked on both backends: SQLite reads it back in Rust,
//! PostgreSQL writes it in the statement that stores the reply, and the two must agree.

use chrono::{DateTime, Duration, DurationRound, Utc};
use serde_json::json;
use unibox::storage::Sql;

use crate::automation::{create_rule, number};
use crate::common::*;

type Row = (
    String,
    String,
    String,
    Option<String>,
    Option<DateTime<Utc>>,
    String,
    i64,
);

on_both_backends! {
    async fn a_reply_s_row_says_what_to_do_on_what_until_when(s: &TestServer) {
        create_rule(s, json!({"name": "Link", "mode": "auto", "delay_seconds": 0,
            "applies_to": ["comment"], "conditions": [{"type": "keywords", "any": ["link"]}],
            "actions": [{"type": "reply", "variants": ["In our bio!"]},
                        {"type": "private_reply", "variants": ["Here it is"]}]})).await;
        create_rule(s, json!({"name": "Hello", "mode": "auto", "delay_seconds": 0,
            "applies_to": ["dm"], "conditions": [{"type": "keywords", "any": ["hello"]}],
            "actions": [{"type": "reply", "variants": ["Hi there!"]}]})).await;
        // Whole seconds, so both backends keep the times exactly.
        let now = Utc::now().duration_trunc(Duration::seconds(1)).unwrap();
        let (top_at, asked_at, dm_at) = (now - Duration::minutes(9), now - Duration::minutes(2),
                                         now - Duration::minutes(3));
        let instagram = |mut e: serde_json::Value, t: DateTime<Utc>| {
            e["platform"] = json!("instagram");
            e["created_at"] = json!(t.to_rfc3339());
            e
        };
        // A reply to a comment asks: the answer goes under the top-level comment, the private
        // reply to the one who asked.
        s.ingest(json!([instagram(comment("c1", "Nice video"), top_at),
                        instagram(reply("c2", "c1", "link please?"), asked_at)])).await;
        s.ingest(json!([at(dm("d1", "lisa", "hello!"), dm_at.to_rfc3339())])).await;

        let rows: Vec<Row> = s.db.fetch_all(Sql::new(
            "SELECT o.action, o.target, m.text, o.video, o.expires_at, o.state, o.attempts \
             FROM outbox o JOIN messages m ON m.id = o.message_id ORDER BY o.action")).await.unwrap();
        let video = Some("7377694258502880513".to_owned());
        assert_eq!(rows, [
            ("dm".into(), "lisa".into(), "Hi there!".into(), None, Some(dm_at + Duration::hours(24)),
             "queued".into(), 0),
            ("private_reply".into(), "c2".into(), "Here it is".into(), video.clone(),
             Some(asked_at + Duration::days(7)), "queued".into(), 0),
            ("reply".into(), "c1".into(), "In our bio!".into(), video, None, "queued".into(), 0),
        ]);
        // The replies count in their threads, the latest one shown.
        let threads: Vec<(String, i64, String)> = s.db.fetch_all(Sql::new(
            "SELECT kind, message_count, preview FROM threads ORDER BY kind")).await.unwrap();
        assert_eq!(threads, [
            ("comment".to_owned(), 4, "Here it is".to_owned()),
            ("dm".to_owned(), 2, "Hi there!".to_owned()),
        ]);
        assert_eq!(number(s, "SELECT COUNT(*) FROM messages WHERE state = 'queued'").await, 3);
    }
}

on_both_backends! {
    /// Forty comments in one batch, each answered by a rule at once: on PostgreSQL the forty
    /// replies are stored, queued and counted by one statement (rows read from arrays), on
    /// SQLite by the general path; each reply must end up in its own comment's thread with its
    /// own outbox row.
    async fn a_batch_s_replies_each_get_their_own_row(s: &TestServer) {
        create_rule(s, json!({"name": "Thanks", "mode": "auto", "delay_seconds": 0,
            "applies_to": ["comment"], "conditions": [{"type": "keywords", "any": ["love"]}],
            "actions": [{"type": "reply", "variants": ["Thanks {{ author.username }}!"]}]})).await;
        let ids: Vec<String> = (0..40).map(|n| format!("c{n:02}")).collect();
        let events: Vec<_> = ids.iter().map(|id| comment(id, "love it")).collect();
        s.ingest(json!(events)).await;

        // Each reply: its outbox row aims at the comment it answers, in that comment's thread.
        let rows: Vec<(String, String, String, String, String)> = s.db.fetch_all(Sql::new(
            "SELECT o.target, o.action, o.state, m.text, c.external_id FROM outbox o \
             JOIN messages m ON m.id = o.message_id JOIN messages c ON c.thread_id = m.thread_id \
             AND c.direction = 'inbound' ORDER BY o.target")).await.unwrap();
        let expected: Vec<(String, String, String, String, String)> = ids.iter()
            .map(|id| (id.clone(), "reply".into(), "queued".into(), format!("Thanks user_{id}!"),
                       id.clone()))
            .collect();
        assert_eq!(rows, expected);
        // Each reply names the run that wrote it, the run of its own comment.
        let (runs,): (i64,) = s.db.fetch_optional(Sql::new(
            "SELECT COUNT(*) FROM messages m JOIN rule_runs r ON r.id = m.rule_run_id \
             JOIN messages c ON c.id = r.message_id AND c.thread_id = m.thread_id \
             WHERE m.direction = 'outbound'")).await.unwrap().unwrap();
        assert_eq!(runs, 40);
        // Every thread counts its comment and its reply, the reply shown.
        let threads: Vec<(i64, String)> = s.db.fetch_all(Sql::new(
            "SELECT message_count, preview FROM threads ORDER BY thread_key")).await.unwrap();
        let expected: Vec<(i64, String)> =
            ids.iter().map(|id| (2, format!("Thanks user_{id}!"))).collect();
        assert_eq!(threads, expected);
    }
}
