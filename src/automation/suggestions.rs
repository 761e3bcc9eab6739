//! Suggestions: a rule's reply that waits for a person. Approving queues it like any reply
//! (with the person's edit, if any) and does the rule's other actions; rejecting keeps it in
//! the thread, marked rejected, and sends nothing.

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::AutomationError;
use super::act::Answering;
use super::act::apply;
use super::runs::{read_planned, settle};
use super::safeguards::in_window;
use crate::accounts::audit::{self, Entry, Who};
use crate::conversations::{enqueue_replies, refresh_threads};
use crate::domain::{Kind, Platform, RunOutcome, State};
use crate::ids::{ChannelId, MessageId, ThreadId, WorkspaceId};
use crate::inbox::actions::reply_text;
use crate::storage::{Db, Sql, Tx};

/// A reply a rule suggested, waiting for a person.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct Suggestion {
    pub id: i64,
    pub thread_id: i64,
    pub rule_id: Option<i64>,
    pub rule_name: Option<String>,
    pub kind: Kind,
    pub platform: Platform,
    pub channel: String,
    pub text: String,
    /// The message it answers.
    pub answers: Option<String>,
    pub author: Option<String>,
    pub created_at: DateTime<Utc>,
}

/// The workspace's suggestions waiting for a person, oldest first.
pub async fn waiting(
    db: &Db,
    workspace: WorkspaceId,
    limit: i64,
) -> Result<Vec<Suggestion>, sqlx::Error> {
    let mut sql = Sql::new(
        "SELECT s.id, s.thread_id, s.rule_id, ru.name AS rule_name, s.kind, c.platform, \
         c.handle AS channel, s.text, m.text AS answers, \
         COALESCE(a.display_name, a.username) AS author, s.created_at \
         FROM messages s JOIN channels c ON c.id = s.channel_id \
         LEFT JOIN rules ru ON ru.id = s.rule_id \
         LEFT JOIN rule_runs r ON r.id = s.rule_run_id \
         LEFT JOIN messages m ON m.id = r.message_id \
         LEFT JOIN contacts a ON a.id = m.author_id \
         WHERE s.state = 'suggested' AND s.workspace_id = ",
    );
    sql.bind(workspace)
        .push(" ORDER BY s.id LIMIT ")
        .bind(limit);
    db.fetch_all(sql).await
}

#[derive(sqlx::FromRow)]
struct Pending {
    thread_id: i64,
    channel_id: i64,
    kind: Kind,
    state: State,
    rule_id: Option<i64>,
    rule_run_id: Option<i64>,
    platform: Platform,
    text: String,
    /// The message it answers: its kind and time (the platform's window counts from it).
    answers_kind: Option<Kind>,
    answers_at: Option<DateTime<Utc>>,
}

async fn pending(
    tx: &mut Tx,
    workspace: WorkspaceId,
    id: MessageId,
) -> Result<Pending, AutomationError> {
    let mut sql = Sql::new(
        "SELECT m.thread_id, m.channel_id, m.kind, m.state, m.rule_id, m.rule_run_id, \
         c.platform, m.text, o.kind AS answers_kind, o.created_at AS answers_at \
         FROM messages m JOIN channels c ON c.id = m.channel_id \
         LEFT JOIN rule_runs r ON r.id = m.rule_run_id LEFT JOIN messages o ON o.id = r.message_id \
         WHERE m.workspace_id = ",
    );
    sql.bind(workspace).push(" AND m.id = ").bind(id);
    let found: Option<Pending> = tx.fetch_optional(sql).await?;
    let found = found.ok_or(AutomationError::NotFound("message"))?;
    if found.state != State::Suggested {
        return Err(AutomationError::Conflict(format!(
            "message {id} is {}, not a suggestion waiting for approval",
            found.state
        )));
    }
    Ok(found)
}

/// Queues suggestion `id` (with `edited` text, checked like any reply) and does the rest of
/// its rule's actions.
pub async fn approve(
    tx: &mut Tx,
    workspace: WorkspaceId,
    id: MessageId,
    edited: Option<&str>,
    who: &Who,
    now: DateTime<Utc>,
) -> Result<(), AutomationError> {
    let s = pending(tx, workspace, id).await?;
    if let (Some(kind), Some(at)) = (s.answers_kind, s.answers_at)
        && !in_window(kind, at, now)
    {
        return Err(AutomationError::Conflict(format!(
            "too late: the platform no longer takes an answer to this {} ({})",
            kind,
            match kind {
                Kind::Dm => "DMs within 24 hours",
                Kind::Comment => "comments within 7 days",
            }
        )));
    }
    // The page always sends the text; unchanged is not an edit.
    let edited = edited.filter(|t| t.replace("\r\n", "\n").trim() != s.text.trim());
    let text = match edited {
        Some(raw) => reply_text(raw, s.platform, s.kind).map_err(|e| match e {
            crate::inbox::InboxError::Invalid(p) => AutomationError::Invalid(p),
            crate::inbox::InboxError::Database(e) => AutomationError::Database(e),
            crate::inbox::InboxError::NotFound(what) => AutomationError::NotFound(what),
        })?,
        None => s.text.clone(),
    };
    let mut sql = Sql::new("UPDATE messages SET state = 'queued', text = ");
    sql.bind(text.as_str())
        .push(" WHERE id = ")
        .bind(id)
        .push(" AND state = 'suggested'");
    if tx.execute(sql).await? == 0 {
        return Err(AutomationError::Conflict(format!(
            "message {id} was decided meanwhile"
        )));
    }
    enqueue_replies(tx, &[id], now).await?;
    refresh_threads(tx, &[ThreadId(s.thread_id)], now).await?;
    if let Some(run) = s.rule_run_id {
        settle_run(tx, workspace, &s, run, now).await?;
    }
    let entry = Entry {
        action: "suggestion approved",
        target: format!("thread #{}, message #{id}", s.thread_id),
        detail: if edited.is_some() {
            "edited before sending".into()
        } else {
            String::new()
        },
    };
    audit::record(tx, workspace, who, entry, now).await?;
    Ok(())
}

/// The first approval of a run's replies also does its other actions (labels, assignment…).
async fn settle_run(
    tx: &mut Tx,
    workspace: WorkspaceId,
    s: &Pending,
    run: i64,
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    let mut sql = Sql::new(
        "SELECT r.actions, r.message_id, m.external_id, m.parent_external_id, m.kind FROM rule_runs r \
         JOIN messages m ON m.id = r.message_id \
         WHERE r.outcome IN ('suggested', 'rejected') AND r.id = ",
    );
    sql.bind(run);
    // The first approval of a run does its other actions, once: concurrent approvals of its
    // replies take turns here on PostgreSQL (SQLite has one writer).
    if tx.backend() == crate::storage::Backend::Postgres {
        sql.push(" FOR UPDATE OF r");
    }
    let Some((actions, message, external, parent, kind)) = tx
        .fetch_optional::<(String, i64, Option<String>, Option<String>, Kind)>(sql)
        .await?
    else {
        return Ok(());
    };
    let planned = read_planned(&actions);
    let to = Answering {
        message: MessageId(message),
        platform: s.platform,
        channel: ChannelId(s.channel_id),
        thread: ThreadId(s.thread_id),
        kind,
        external_id: external.as_deref().unwrap_or_default(),
        parent_external_id: parent.as_deref(),
    };
    let rule = s.rule_id.unwrap_or_default();
    let notes = apply(tx, workspace, rule, run, &to, &planned, None, now).await?;
    let reason = (!notes.is_empty()).then(|| notes.join("; "));
    settle(tx, run, RunOutcome::Approved, reason, now).await
}

/// Rejects suggestion `id`: nothing is sent, and its run counts as rejected.
pub async fn reject(
    tx: &mut Tx,
    workspace: WorkspaceId,
    id: MessageId,
    who: &Who,
    now: DateTime<Utc>,
) -> Result<(), AutomationError> {
    let s = pending(tx, workspace, id).await?;
    let mut sql = Sql::new("UPDATE messages SET state = 'rejected' WHERE id = ");
    sql.bind(id).push(" AND state = 'suggested'");
    if tx.execute(sql).await? == 0 {
        return Err(AutomationError::Conflict(format!(
            "message {id} was decided meanwhile"
        )));
    }
    if let Some(run) = s.rule_run_id {
        // A run is rejected only when none of its replies went out.
        let mut sql = Sql::new("UPDATE rule_runs SET outcome = 'rejected', acted_at = ");
        sql.bind(now)
            .push(" WHERE outcome = 'suggested' AND id = ")
            .bind(run);
        sql.push(
            " AND NOT EXISTS (SELECT 1 FROM messages x WHERE x.rule_run_id = rule_runs.id \
             AND x.state NOT IN ('suggested', 'rejected'))",
        );
        tx.execute(sql).await?;
    }
    let entry = Entry {
        action: "suggestion rejected",
        target: format!("thread #{}, message #{id}", s.thread_id),
        detail: String::new(),
    };
    audit::record(tx, workspace, who, entry, now).await?;
    Ok(())
}
