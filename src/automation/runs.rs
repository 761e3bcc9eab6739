//! Rule runs: one durable row per rule that fired for a message, saying what it does and when,
//! or which safeguard stopped it. Written in the transaction that stores the message.

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::variants::Picked;
use crate::domain::Mode;
use crate::ids::{ChannelId, MessageId, ThreadId};
use crate::rules::action::Action;
use crate::storage::{Arg, Sql, Tx};

pub struct NewRun<'a> {
    pub workspace: i64,
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
}

pub async fn insert(tx: &mut Tx, run: &NewRun<'_>) -> Result<i64, sqlx::Error> {
    let mut sql = Sql::new(
        "INSERT INTO rule_runs (workspace_id, rule_id, message_id, thread_id, channel_id, author_id, \
         video_id, mode, outcome, reason, actions, reply_text, due_at, decided_at) VALUES ",
    );
    let values: [Arg; 14] = [
        run.workspace.into(),
        run.rule.into(),
        run.message.into(),
        run.thread.into(),
        run.channel.into(),
        run.author.into(),
        run.video.into(),
        run.mode.into(),
        run.outcome.into(),
        run.reason.clone().into(),
        run.actions.to_string().into(),
        run.reply_text.into(),
        run.due_at.into(),
        run.decided_at.into(),
    ];
    sql.bind_list(values);
    sql.push(" RETURNING id");
    tx.insert_id(sql).await
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
