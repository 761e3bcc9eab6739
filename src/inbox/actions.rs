//! Acting on threads: status, read state, labels, assignment, and replies (stored as queued
//! outbound messages until the platform connectors send them). Each change takes the caller's
//! transaction, so that several changes (a `PATCH` with status, labels and assignee) commit
//! together or not at all.

use chrono::{DateTime, Utc};
use tracing::instrument;

use super::error::InboxError;
use crate::accounts::audit::{self, Entry, Who};
use crate::conversations::{Outbound, record_outbound};
use crate::domain::{Kind, Platform, Source, State, Status};
use crate::ids::{ChannelId, MessageId, ThreadId, UserId, WorkspaceId};
use crate::storage::{Db, Sql, Tx};

pub const MAX_REPLY_BYTES: usize = 8_000;
pub const MAX_LABEL_CHARS: usize = 64;

/// Sets the status of the workspace's threads among `ids`; returns how many matched. Done
/// threads are also read: nothing in them waits for anyone.
#[instrument(skip_all, fields(threads = ids.len(), status = %status))]
pub async fn set_status(
    tx: &mut Tx,
    workspace: WorkspaceId,
    ids: &[ThreadId],
    status: Status,
    now: DateTime<Utc>,
) -> Result<u64, sqlx::Error> {
    if ids.is_empty() {
        return Ok(0);
    }
    let mut sql = Sql::new("UPDATE threads SET status = ");
    sql.bind(status.as_str());
    if status == Status::Done {
        sql.push(", unread = FALSE");
    }
    sql.push(", updated_at = ")
        .bind(now)
        .push(" WHERE workspace_id = ")
        .bind(workspace);
    sql.push(" AND id IN ").bind_list(ids.iter().copied());
    tx.execute(sql).await
}

pub async fn set_unread(
    tx: &mut Tx,
    workspace: WorkspaceId,
    id: ThreadId,
    unread: bool,
    now: DateTime<Utc>,
) -> Result<u64, sqlx::Error> {
    let mut sql = Sql::new("UPDATE threads SET unread = ");
    sql.bind(unread).push(", updated_at = ").bind(now);
    sql.push(" WHERE workspace_id = ")
        .bind(workspace)
        .push(" AND id = ")
        .bind(id);
    tx.execute(sql).await
}

/// `NotFound` unless thread `id` belongs to the workspace (cheaper than loading it).
pub async fn require_thread(
    tx: &mut Tx,
    workspace: WorkspaceId,
    id: ThreadId,
) -> Result<(), InboxError> {
    let mut sql = Sql::new("SELECT id FROM threads WHERE workspace_id = ");
    sql.bind(workspace).push(" AND id = ").bind(id);
    match tx.fetch_optional::<(i64,)>(sql).await? {
        Some(_) => Ok(()),
        None => Err(InboxError::NotFound("thread")),
    }
}

/// A label name as typed: trimmed, 1 to 64 characters, no control characters.
pub fn label_name(raw: &str) -> Result<String, InboxError> {
    let name = raw.trim();
    if name.is_empty()
        || name.chars().count() > MAX_LABEL_CHARS
        || name.chars().any(char::is_control)
    {
        return Err(InboxError::field(
            "label",
            format!("must be 1 to {MAX_LABEL_CHARS} characters without control characters"),
        ));
    }
    Ok(name.to_owned())
}

pub async fn add_label(
    tx: &mut Tx,
    workspace: WorkspaceId,
    thread: ThreadId,
    name: &str,
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    let mut label = Sql::new("INSERT INTO labels (workspace_id, name, created_at) VALUES (");
    label
        .bind(workspace)
        .push(", ")
        .bind(name)
        .push(", ")
        .bind(now);
    label.push(") ON CONFLICT (workspace_id, name) DO NOTHING");
    tx.execute(label).await?;
    // Joining the thread keeps a label from ever linking to another workspace's thread.
    let mut link = Sql::new(
        "INSERT INTO thread_labels (thread_id, label_id) SELECT t.id, l.id FROM threads t \
         JOIN labels l ON l.workspace_id = t.workspace_id WHERE t.id = ",
    );
    link.bind(thread)
        .push(" AND t.workspace_id = ")
        .bind(workspace);
    link.push(" AND l.name = ")
        .bind(name)
        .push(" ON CONFLICT DO NOTHING");
    tx.execute(link).await?;
    Ok(())
}

pub async fn remove_label(
    tx: &mut Tx,
    workspace: WorkspaceId,
    thread: ThreadId,
    name: &str,
) -> Result<(), sqlx::Error> {
    let mut sql = Sql::new("DELETE FROM thread_labels WHERE thread_id = ");
    sql.bind(thread)
        .push(" AND label_id IN (SELECT id FROM labels WHERE workspace_id = ");
    sql.bind(workspace)
        .push(" AND name = ")
        .bind(name)
        .push(")");
    tx.execute(sql).await.map(|_| ())
}

/// What a reply is sent to, from the thread it belongs to.
pub struct ReplyTarget {
    pub thread: ThreadId,
    pub channel_id: ChannelId,
    pub platform: Platform,
    pub kind: Kind,
    /// The comment answered (comment threads): the platform replies under it.
    pub parent_external_id: Option<String>,
}

/// Checks reply text: not blank, within our limit and the platform's.
pub fn reply_text(raw: &str, platform: Platform, kind: Kind) -> Result<String, InboxError> {
    if raw.trim().is_empty() {
        return Err(InboxError::field("text", "is empty; write a reply"));
    }
    if raw.contains('\0') {
        return Err(InboxError::field("text", "must not contain NUL characters"));
    }
    if raw.len() > MAX_REPLY_BYTES {
        return Err(InboxError::field(
            "text",
            format!("is longer than {MAX_REPLY_BYTES} bytes"),
        ));
    }
    if let (Kind::Comment, Some(max)) = (kind, platform.max_reply_chars()) {
        let n = raw.chars().count();
        if n > max {
            return Err(InboxError::field(
                "text",
                format!(
                    "is {n} characters; {} accepts at most {max} in a comment reply",
                    platform.label()
                ),
            ));
        }
    }
    Ok(raw.to_owned())
}

/// Stores a manual reply as a queued outbound message, and its audit entry; returns its id.
#[instrument(skip_all, fields(thread = %target.thread))]
pub async fn queue_reply(
    tx: &mut Tx,
    workspace: WorkspaceId,
    target: &ReplyTarget,
    text: &str,
    who: &Who,
    now: DateTime<Utc>,
) -> Result<MessageId, sqlx::Error> {
    let message = Outbound {
        workspace,
        channel: target.channel_id,
        thread: target.thread,
        kind: target.kind,
        parent_external_id: target.parent_external_id.as_deref(),
        text,
        source: Source::Manual,
        state: State::Queued,
        automated: None,
    };
    let id = record_outbound(tx, &message, now).await?;
    let excerpt: String = text.chars().take(80).collect();
    let entry = Entry {
        action: "manual reply queued",
        target: format!("thread #{}, message #{id}", target.thread),
        detail: if excerpt.len() < text.len() {
            format!("{excerpt}…")
        } else {
            excerpt
        },
    };
    audit::record(tx, workspace, who, entry, now).await?;
    Ok(id)
}

#[derive(sqlx::FromRow)]
struct TargetRow {
    channel_id: i64,
    platform: String,
    kind: String,
    thread_key: String,
}

/// Resolves what a reply in thread `thread` answers: `in_reply_to` (a message of the thread
/// that came from the platform) or, by default, the thread's top-level comment.
pub async fn reply_target(
    db: &Db,
    workspace: WorkspaceId,
    thread: ThreadId,
    in_reply_to: Option<MessageId>,
) -> Result<ReplyTarget, InboxError> {
    let mut sql = Sql::new(
        "SELECT t.channel_id, c.platform, t.kind, t.thread_key FROM threads t \
         JOIN channels c ON c.id = t.channel_id WHERE t.workspace_id = ",
    );
    sql.bind(workspace).push(" AND t.id = ").bind(thread);
    let row = db
        .fetch_optional::<TargetRow>(sql)
        .await?
        .ok_or(InboxError::NotFound("thread"))?;
    let platform: Platform = row.platform.parse().map_err(stored_word)?;
    let kind: Kind = row.kind.parse().map_err(stored_word)?;
    let parent_external_id = match (kind, in_reply_to) {
        (Kind::Dm, _) => None,
        (Kind::Comment, None) => Some(row.thread_key),
        (Kind::Comment, Some(message)) => {
            let mut sql = Sql::new("SELECT external_id FROM messages WHERE thread_id = ");
            sql.bind(thread).push(" AND id = ").bind(message);
            match db.fetch_optional::<(Option<String>,)>(sql).await? {
                Some((Some(ext),)) => Some(ext),
                Some((None,)) => {
                    return Err(InboxError::field(
                        "in_reply_to",
                        "that message has not reached the platform yet",
                    ));
                }
                None => {
                    return Err(InboxError::field(
                        "in_reply_to",
                        "is not a message of this thread",
                    ));
                }
            }
        }
    };
    Ok(ReplyTarget {
        thread,
        channel_id: ChannelId(row.channel_id),
        platform,
        kind,
        parent_external_id,
    })
}

/// A word stored by us that we cannot read back is a broken database, not a bad request.
fn stored_word(e: String) -> sqlx::Error {
    sqlx::Error::Decode(e.into())
}

/// Assigns a thread to a member of its workspace, or to nobody; `NotFound` if the thread is
/// not there, `Invalid` if the member is not.
pub async fn assign(
    tx: &mut Tx,
    workspace: WorkspaceId,
    thread: ThreadId,
    assignee: Option<UserId>,
    now: DateTime<Utc>,
) -> Result<(), InboxError> {
    let mut sql = Sql::new("UPDATE threads SET assignee_id = ");
    sql.bind(assignee)
        .push(", updated_at = ")
        .bind(now)
        .push(" WHERE workspace_id = ")
        .bind(workspace)
        .push(" AND id = ")
        .bind(thread);
    if let Some(user) = assignee {
        // Checked in the statement itself, so a member removed meanwhile is not assigned
        // after their removal unassigned everything of theirs.
        sql.push(" AND EXISTS (SELECT 1 FROM memberships m WHERE m.workspace_id = ")
            .bind(workspace)
            .push(" AND m.user_id = ")
            .bind(user)
            .push(")");
    }
    match tx.execute(sql).await? {
        // Nothing updated: either no such thread here (404) or no such member.
        0 => {
            require_thread(tx, workspace, thread).await?;
            Err(InboxError::field(
                "assignee",
                "is not a member of this workspace",
            ))
        }
        _ => Ok(()),
    }
}
