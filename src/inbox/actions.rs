//! Acting on threads: status, read state, labels, and replies (stored as queued outbound
//! messages until the platform connectors send them).

use chrono::{DateTime, Utc};
use tracing::instrument;

use super::refresh::refresh_threads;
use crate::accounts::audit::{self, Entry, Who};
use crate::domain::{Kind, Platform, Status};
use crate::error::AppError;
use crate::storage::{Db, Sql};

pub const MAX_REPLY_BYTES: usize = 8_000;
pub const MAX_LABEL_CHARS: usize = 64;

/// Sets the status of the workspace's threads among `ids`; returns how many matched. Done
/// threads are also read: nothing in them waits for anyone.
#[instrument(skip_all, fields(threads = ids.len(), status = %status))]
pub async fn set_status(
    db: &Db,
    workspace: i64,
    ids: &[i64],
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
    db.execute(sql).await
}

pub async fn set_unread(
    db: &Db,
    workspace: i64,
    id: i64,
    unread: bool,
    now: DateTime<Utc>,
) -> Result<u64, sqlx::Error> {
    let mut sql = Sql::new("UPDATE threads SET unread = ");
    sql.bind(unread).push(", updated_at = ").bind(now);
    sql.push(" WHERE workspace_id = ")
        .bind(workspace)
        .push(" AND id = ")
        .bind(id);
    db.execute(sql).await
}

/// `NotFound` unless thread `id` belongs to the workspace (cheaper than loading it).
pub async fn require_thread(db: &Db, workspace: i64, id: i64) -> Result<(), AppError> {
    let mut sql = Sql::new("SELECT id FROM threads WHERE workspace_id = ");
    sql.bind(workspace).push(" AND id = ").bind(id);
    match db.fetch_optional::<(i64,)>(sql).await? {
        Some(_) => Ok(()),
        None => Err(AppError::NotFound("thread")),
    }
}

/// A label name as typed: trimmed, 1 to 64 characters, no control characters.
pub fn label_name(raw: &str) -> Result<String, AppError> {
    let name = raw.trim();
    if name.is_empty()
        || name.chars().count() > MAX_LABEL_CHARS
        || name.chars().any(char::is_control)
    {
        return Err(AppError::field(
            "label",
            format!("must be 1 to {MAX_LABEL_CHARS} characters without control characters"),
        ));
    }
    Ok(name.to_owned())
}

pub async fn add_label(
    db: &Db,
    workspace: i64,
    thread: i64,
    name: &str,
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    let mut tx = db.begin().await?;
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
    tx.commit().await
}

pub async fn remove_label(
    db: &Db,
    workspace: i64,
    thread: i64,
    name: &str,
) -> Result<(), sqlx::Error> {
    let mut sql = Sql::new("DELETE FROM thread_labels WHERE thread_id = ");
    sql.bind(thread)
        .push(" AND label_id IN (SELECT id FROM labels WHERE workspace_id = ");
    sql.bind(workspace)
        .push(" AND name = ")
        .bind(name)
        .push(")");
    db.execute(sql).await.map(|_| ())
}

/// What a reply is sent to, from the thread it belongs to.
pub struct ReplyTarget {
    pub thread: i64,
    pub channel_id: i64,
    pub platform: Platform,
    pub kind: Kind,
    /// The comment answered (comment threads): the platform replies under it.
    pub parent_external_id: Option<String>,
}

/// Checks reply text: not blank, within our limit and the platform's.
pub fn reply_text(raw: &str, platform: Platform, kind: Kind) -> Result<String, AppError> {
    if raw.trim().is_empty() {
        return Err(AppError::field("text", "is empty; write a reply"));
    }
    if raw.contains('\0') {
        return Err(AppError::field("text", "must not contain NUL characters"));
    }
    if raw.len() > MAX_REPLY_BYTES {
        return Err(AppError::field(
            "text",
            format!("is longer than {MAX_REPLY_BYTES} bytes"),
        ));
    }
    if let (Kind::Comment, Some(max)) = (kind, platform.max_reply_chars()) {
        let n = raw.chars().count();
        if n > max {
            return Err(AppError::field(
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

/// Stores a manual reply as a queued outbound message; returns its id.
#[instrument(skip_all, fields(thread = target.thread))]
pub async fn queue_reply(
    db: &Db,
    workspace: i64,
    target: &ReplyTarget,
    text: &str,
    who: &Who,
) -> Result<i64, sqlx::Error> {
    let now = crate::clock::now();
    let mut tx = db.begin().await?;
    let mut insert = Sql::new(
        "INSERT INTO messages (workspace_id, channel_id, thread_id, kind, external_id, parent_external_id, \
         direction, source, state, text, created_at, received_at) VALUES ",
    );
    insert.bind_rows([target], |r, t| {
        r.bind(workspace)
            .bind(t.channel_id)
            .bind(t.thread)
            .bind(t.kind.as_str())
            .raw("NULL");
        r.bind(t.parent_external_id.clone())
            .raw("'outbound'")
            .raw("'manual'")
            .raw("'queued'");
        r.bind(text).bind(now).bind(now);
    });
    insert.push(" RETURNING id");
    let (id,) = tx
        .fetch_optional::<(i64,)>(insert)
        .await?
        .ok_or(sqlx::Error::RowNotFound)?;
    refresh_threads(&mut tx, &[target.thread], now).await?;
    // Answering is reading.
    let mut read = Sql::new("UPDATE threads SET unread = FALSE WHERE id = ");
    read.bind(target.thread);
    tx.execute(read).await?;
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
    audit::record(&mut tx, workspace, who, entry, now).await?;
    tx.commit().await?;
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
    workspace: i64,
    thread: i64,
    in_reply_to: Option<i64>,
) -> Result<ReplyTarget, AppError> {
    let mut sql = Sql::new(
        "SELECT t.channel_id, c.platform, t.kind, t.thread_key FROM threads t \
         JOIN channels c ON c.id = t.channel_id WHERE t.workspace_id = ",
    );
    sql.bind(workspace).push(" AND t.id = ").bind(thread);
    let row = db
        .fetch_optional::<TargetRow>(sql)
        .await?
        .ok_or(AppError::NotFound("thread"))?;
    let platform: Platform = row
        .platform
        .parse()
        .map_err(|e: String| anyhow::anyhow!(e))?;
    let kind: Kind = row.kind.parse().map_err(|e: String| anyhow::anyhow!(e))?;
    let parent_external_id = match (kind, in_reply_to) {
        (Kind::Dm, _) => None,
        (Kind::Comment, None) => Some(row.thread_key),
        (Kind::Comment, Some(message)) => {
            let mut sql = Sql::new("SELECT external_id FROM messages WHERE thread_id = ");
            sql.bind(thread).push(" AND id = ").bind(message);
            match db.fetch_optional::<(Option<String>,)>(sql).await? {
                Some((Some(ext),)) => Some(ext),
                Some((None,)) => {
                    return Err(AppError::field(
                        "in_reply_to",
                        "that message has not reached the platform yet",
                    ));
                }
                None => {
                    return Err(AppError::field(
                        "in_reply_to",
                        "is not a message of this thread",
                    ));
                }
            }
        }
    };
    Ok(ReplyTarget {
        thread,
        channel_id: row.channel_id,
        platform,
        kind,
        parent_external_id,
    })
}

/// Assigns a thread to a member of its workspace, or to nobody; 404 if either is not there.
pub async fn assign(
    db: &Db,
    workspace: i64,
    thread: i64,
    assignee: Option<i64>,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
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
    match db.execute(sql).await? {
        // Nothing updated: either no such thread here (404) or no such member.
        0 => {
            require_thread(db, workspace, thread).await?;
            Err(AppError::field(
                "assignee",
                "is not a member of this workspace",
            ))
        }
        _ => Ok(()),
    }
}
