//! Rule runs: one durable row per rule that fired for a message, saying what it does and when,
//! or which safeguard stopped it. Written in the transaction that stores the message.

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::hourly::{self, Counts};
use super::variants::Picked;
use crate::domain::Mode;
use crate::ids::{ChannelId, MessageId, ThreadId, WorkspaceId};
use crate::rules::action::Action;
use std::collections::HashMap;

use crate::storage::{Backend, Sql, Tx, table_chunks};

pub struct NewRun<'a> {
    pub workspace: WorkspaceId,
    pub rule: i64,
    pub message: MessageId,
    pub thread: ThreadId,
    pub channel: ChannelId,
    pub author: i64,
    pub video: Option<i64>,
    pub mode: Mode,
    pub outcome: &'static str,
    pub reason: Option<String>,
    pub actions: &'a Value,
    /// The first reply's text: what the next automated reply must not repeat.
    pub reply_text: Option<&'a str>,
    pub due_at: DateTime<Utc>,
    pub decided_at: DateTime<Utc>,
    /// Set when the run acts in the transaction that decides it (no delay).
    pub acted_at: Option<DateTime<Utc>>,
}

/// Inserts `runs`, many per statement; returns each one's id by (message, rule).
pub async fn insert_many(
    tx: &mut Tx,
    runs: &[NewRun<'_>],
) -> Result<HashMap<(i64, i64), i64>, sqlx::Error> {
    let counted = runs
        .iter()
        .filter(|r| r.mode == Mode::Auto && matches!(r.outcome, "due" | "done"));
    let counts = Counts::of(counted.map(|r| (r.channel.0, r.decided_at)));
    // On PostgreSQL a batch's count goes with (the first of) its runs' statements: they are
    // written while the batch holds its channels' lock, where every round trip keeps other
    // batches waiting.
    let together = tx.backend() == Backend::Postgres && counts.fit_one();
    let mut count_here = together;
    let mut ids = HashMap::with_capacity(runs.len());
    for chunk in table_chunks(tx.backend(), runs) {
        let mut sql = Sql::new("");
        if std::mem::take(&mut count_here) {
            sql.push("WITH counted AS (");
            counts.push_add(&mut sql);
            sql.push(") ");
        }
        sql.push(
            "INSERT INTO rule_runs (workspace_id, rule_id, message_id, thread_id, channel_id, author_id, \
             video_id, mode, outcome, reason, actions, reply_text, due_at, decided_at, acted_at) ",
        );
        sql.bind_table(tx.backend(), chunk, |r, run| {
            r.bind(run.workspace).bind(run.rule).bind(run.message);
            r.bind(run.thread).bind(run.channel).bind(run.author);
            r.bind(run.video).bind(run.mode).bind(run.outcome);
            r.bind(run.reason.clone()).bind(run.actions.to_string());
            r.bind(run.reply_text).bind(run.due_at).bind(run.decided_at);
            r.bind(run.acted_at);
        });
        // Rows come back in no promised order: matched by their key.
        sql.push(" RETURNING id, message_id, rule_id");
        for (id, message, rule) in tx.fetch_all::<(i64, i64, i64)>(sql).await? {
            ids.insert((message, rule), id);
        }
    }
    if !together {
        hourly::add(tx, &counts).await?;
    }
    Ok(ids)
}

/// The actions as the run records them: replies with the variant picked and its text.
pub fn planned(actions: &[Action], picked: &[(usize, Picked)]) -> Value {
    let listed: Vec<Value> = actions
        .iter()
        .enumerate()
        .map(|(i, action)| {
            let mut shown = match action {
                Action::Reply { .. } => json!({"type": "reply"}),
                Action::PrivateReply { .. } => json!({"type": "private_reply"}),
                other => serde_json::to_value(other).unwrap_or(Value::Null),
            };
            if let Some((_, p)) = picked.iter().find(|(at, _)| *at == i) {
                shown["variant"] = json!(p.variant);
                shown["text"] = json!(p.text);
            }
            shown
        })
        .collect();
    Value::Array(listed)
}

/// Marks run `id` with its outcome and, when given, a reason (else the one it had stays).
pub async fn settle(
    tx: &mut Tx,
    id: i64,
    outcome: &'static str,
    reason: Option<String>,
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    let mut sql = Sql::new("UPDATE rule_runs SET outcome = ");
    sql.bind(outcome)
        .push(", reason = COALESCE(")
        .bind(reason)
        .push(", reason), acted_at = ")
        .bind(now);
    sql.push(" WHERE id = ").bind(id);
    tx.execute(sql).await.map(|_| ())
}
