//! Rule runs: one durable row per rule that fired for a message, saying what it does and when,
//! or which safeguard stopped it. Written in the transaction that stores the message.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::hourly::{self, Counts};
use super::variants::Picked;
use crate::domain::{Deed, Mode, RunOutcome};
use crate::ids::{ChannelId, MessageId, ThreadId, UserId, WorkspaceId};
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
    pub outcome: RunOutcome,
    pub reason: Option<String>,
    pub actions: &'a [Planned],
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
    let counted = runs.iter().filter(|r| {
        r.mode == Mode::Auto && matches!(r.outcome, RunOutcome::Due | RunOutcome::Done)
    });
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
            r.bind(run.reason.clone()).bind(stored(run.actions));
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

/// One action as a run records it (`rule_runs.actions`, JSON): a rule's action, with the
/// variant picked for a reply and its text.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Planned {
    Reply(PickedReply),
    PrivateReply(PickedReply),
    Like,
    Hide,
    Delete,
    Label { label: String },
    RemoveLabel { label: String },
    Assign { user_id: UserId },
    Close,
}

/// The reply a run picked; none when no variant could be written (the run says why).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PickedReply {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
}

impl Planned {
    /// What the outbox does on the platform to the message answered, if anything.
    pub fn moderation(&self) -> Option<Deed> {
        match self {
            Planned::Like => Some(Deed::Like),
            Planned::Hide => Some(Deed::Hide),
            Planned::Delete => Some(Deed::Delete),
            Planned::Reply(_)
            | Planned::PrivateReply(_)
            | Planned::Label { .. }
            | Planned::RemoveLabel { .. }
            | Planned::Assign { .. }
            | Planned::Close => None,
        }
    }
}

/// The actions as the run records them: replies with the variant picked and its text.
pub fn planned(actions: &[Action], picked: &[(usize, Picked)]) -> Vec<Planned> {
    let reply = |i: usize| {
        let p = picked.iter().find(|(at, _)| *at == i).map(|(_, p)| p);
        PickedReply {
            variant: p.map(|p| p.variant as i64),
            text: p.map(|p| p.text.clone()),
        }
    };
    let planned = |(i, action): (usize, &Action)| match action {
        Action::Reply { .. } => Planned::Reply(reply(i)),
        Action::PrivateReply { .. } => Planned::PrivateReply(reply(i)),
        Action::Like => Planned::Like,
        Action::Hide => Planned::Hide,
        Action::Delete => Planned::Delete,
        Action::Label { label } => Planned::Label {
            label: label.clone(),
        },
        Action::RemoveLabel { label } => Planned::RemoveLabel {
            label: label.clone(),
        },
        Action::Assign { user_id } => Planned::Assign { user_id: *user_id },
        Action::Close => Planned::Close,
    };
    actions.iter().enumerate().map(planned).collect()
}

/// A run's actions as stored; one that no longer reads is left out, and logged.
pub fn read_planned(stored: &str) -> Vec<Planned> {
    let items: Vec<Value> = serde_json::from_str(stored).unwrap_or_default();
    items
        .into_iter()
        .filter_map(|item| {
            serde_json::from_value(item.clone())
                .inspect_err(|e| tracing::warn!(%item, error = %e, "a run's action does not read"))
                .ok()
        })
        .collect()
}

/// `planned` as the run stores it.
fn stored(planned: &[Planned]) -> String {
    serde_json::to_value(planned)
        .unwrap_or_default()
        .to_string()
}

/// Marks run `id` with its outcome and, when given, a reason (else the one it had stays).
pub async fn settle(
    tx: &mut Tx,
    id: i64,
    outcome: RunOutcome,
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn planned_actions_are_stored_as_runs_always_stored_them() {
        let actions = [
            Action::Reply {
                variants: vec!["Hi".into(), "Hello".into()],
                weights: vec![1, 1],
            },
            Action::PrivateReply {
                variants: vec!["Psst".into()],
                weights: vec![1],
            },
            Action::Label {
                label: "lead".into(),
            },
            Action::Assign { user_id: UserId(7) },
            Action::Like,
        ];
        let picked = [(
            0,
            Picked {
                variant: 1,
                text: "Hello".into(),
            },
        )];
        let planned = planned(&actions, &picked);
        let as_stored: Value = serde_json::from_str(&stored(&planned)).unwrap();
        assert_eq!(
            as_stored,
            json!([{"type": "reply", "variant": 1, "text": "Hello"}, {"type": "private_reply"},
                   {"type": "label", "label": "lead"}, {"type": "assign", "user_id": 7},
                   {"type": "like"}])
        );
        assert_eq!(read_planned(&as_stored.to_string()), planned);
        let with_unknown = r#"[{"type": "close"}, {"type": "wave"}]"#;
        assert_eq!(read_planned(with_unknown), [Planned::Close]);
    }
}
