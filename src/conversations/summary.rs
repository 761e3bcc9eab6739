//! Keeps each thread's summary columns (counts, times, subject, preview) true to its messages.
//!
//! [`refresh_threads`] recomputes a summary from the thread's messages; ingest, which only adds
//! messages, makes existing threads [`grow_threads`] by them instead, and so do our own queued
//! replies (`outbound.rs`). On PostgreSQL both work on thread rows locked first
//! ([`lock_threads`]): a statement that waited for another writer's lock would otherwise
//! compute from a snapshot without that writer's messages.

use chrono::{DateTime, Utc};

use crate::ids::ThreadId;
use crate::storage::{Backend, Sql, Tx, sized_chunks};

/// Replies that were not sent and are not on their way (a suggestion waiting for a person, a
/// dry run, a rejected suggestion) are shown in the thread but do not count in its summary.
macro_rules! counted {
    () => {
        "m.thread_id = threads.id AND m.state NOT IN ('suggested', 'dry_run', 'rejected')"
    };
}

/// A comment thread's subject is its top-level comment; without one (replies that came
/// first, or a DM conversation) it is the earliest counted message.
macro_rules! subject {
    () => {
        concat!(
            "COALESCE( \
            (SELECT substr(m.text, 1, 240) FROM messages m WHERE threads.kind = 'comment' \
                AND m.channel_id = threads.channel_id AND m.external_id = threads.thread_key), \
            (SELECT substr(m.text, 1, 240) FROM messages m WHERE ",
            counted!(),
            " ORDER BY m.created_at, m.id LIMIT 1), \
            '')"
        )
    };
}

const REFRESH: &str = concat!(
    "UPDATE threads SET \
    message_count = (SELECT COUNT(*) FROM messages m WHERE ",
    counted!(),
    "), \
    last_message_at = COALESCE((SELECT MAX(m.created_at) FROM messages m WHERE ",
    counted!(),
    "), threads.last_message_at), \
    last_inbound_at = (SELECT MAX(m.created_at) FROM messages m WHERE m.thread_id = threads.id AND m.direction = 'inbound'), \
    preview = COALESCE((SELECT substr(m.text, 1, 240) FROM messages m WHERE ",
    counted!(),
    " \
        ORDER BY m.created_at DESC, m.id DESC LIMIT 1), ''), \
    subject = ",
    subject!(),
    ", \
    contact_id = CASE WHEN threads.kind = 'comment' THEN COALESCE( \
        (SELECT m.author_id FROM messages m WHERE m.channel_id = threads.channel_id AND m.external_id = threads.thread_key), \
        threads.contact_id) ELSE threads.contact_id END, \
    video_id = COALESCE(threads.video_id, \
        (SELECT m.video_id FROM messages m WHERE m.thread_id = threads.id AND m.video_id IS NOT NULL LIMIT 1)), \
    updated_at = "
);

/// Locks `threads` against concurrent summary updates, in key order (PostgreSQL; SQLite has one
/// writer). Returns how many of them exist.
pub async fn lock_threads(tx: &mut Tx, threads: &[ThreadId]) -> Result<usize, sqlx::Error> {
    if tx.backend() != Backend::Postgres {
        return Ok(threads.len());
    }
    let mut locked = 0;
    for chunk in sized_chunks(threads) {
        let mut sql = Sql::new("SELECT id FROM threads WHERE id IN ");
        sql.bind_list(chunk.iter().copied());
        sql.push(" ORDER BY channel_id, kind, thread_key FOR NO KEY UPDATE");
        locked += tx.fetch_all::<(i64,)>(sql).await?.len();
    }
    Ok(locked)
}

/// Recomputes the summaries of `threads`, then drops any that were left without messages.
pub async fn refresh_threads(
    tx: &mut Tx,
    threads: &[ThreadId],
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    lock_threads(tx, threads).await?;
    for chunk in sized_chunks(threads) {
        let mut sql = Sql::new(REFRESH);
        sql.bind(now)
            .push(" WHERE id IN ")
            .bind_list(chunk.iter().copied());
        tx.execute(sql).await?;
        let mut empty = Sql::new("DELETE FROM threads WHERE message_count = 0 AND id IN ");
        empty.bind_list(chunk.iter().copied());
        tx.execute(empty).await?;
    }
    Ok(())
}

/// What a batch of new counted messages adds to one thread that already existed.
pub struct Growth<'a> {
    pub thread: ThreadId,
    pub added: i64,
    pub first_at: DateTime<Utc>,
    /// The latest new message (the last of equal times: it got the highest id).
    pub latest_at: DateTime<Utc>,
    pub latest_text: &'a str,
    pub last_inbound_at: Option<DateTime<Utc>>,
    pub video: Option<i64>,
}

/// How [`grow_threads`] moves a thread's summary by what `k` adds to it (`k`: id, added,
/// first_at, latest_at, latest_text, inbound_at, video_id), up to `updated_at = `.
pub(super) const GROW: &str = concat!(
    "message_count = threads.message_count + k.added, \
    preview = CASE WHEN k.latest_at >= threads.last_message_at THEN k.latest_text \
        ELSE threads.preview END, \
    subject = CASE WHEN k.first_at >= threads.last_message_at THEN threads.subject ELSE ",
    subject!(),
    " END, \
    last_message_at = CASE WHEN k.latest_at > threads.last_message_at THEN k.latest_at \
        ELSE threads.last_message_at END, \
    last_inbound_at = CASE WHEN k.inbound_at IS NULL THEN threads.last_inbound_at \
        WHEN threads.last_inbound_at IS NULL OR k.inbound_at > threads.last_inbound_at \
        THEN k.inbound_at ELSE threads.last_inbound_at END, \
    status = CASE WHEN k.inbound_at IS NULL THEN threads.status ELSE 'open' END, \
    unread = (threads.unread OR k.inbound_at IS NOT NULL), \
    video_id = COALESCE(threads.video_id, k.video_id), \
    updated_at = "
);

/// Adds new messages to the summaries of threads that existed, without reading their other
/// messages: counts add up, the latest time and preview move forward, and the subject is
/// looked up again only when a new message is older than the thread's latest. It gives what
/// [`refresh_threads`] would, provided the new messages are counted, none is the thread's
/// top-level comment, and (PostgreSQL) the caller locked the thread rows before reading them.
/// A new inbound message also opens the thread and marks it unread, as [`mark_new_inbound`]
/// does.
pub async fn grow_threads(
    tx: &mut Tx,
    growth: &[Growth<'_>],
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    for chunk in sized_chunks(growth) {
        let mut sql = Sql::new(
            "WITH k(id, added, first_at, latest_at, latest_text, inbound_at, video_id) AS (VALUES ",
        );
        sql.bind_rows(chunk, |r, g| {
            r.bind(g.thread.0).bind(g.added).bind(g.first_at);
            r.bind(g.latest_at)
                .bind(snippet(g.latest_text))
                .bind(g.last_inbound_at)
                .bind(g.video);
        });
        sql.push(") UPDATE threads SET ").push(GROW).bind(now);
        sql.push(" FROM k WHERE threads.id = k.id");
        tx.execute(sql).await?;
    }
    Ok(())
}

/// The first 240 characters of a message, as previews and subjects show it (the SQL above
/// cuts with `substr(…, 1, 240)`, which counts characters too).
pub fn snippet(text: &str) -> String {
    text.chars().take(240).collect()
}

/// A new inbound message needs a person: the thread becomes open and unread (a thread marked
/// done reopens).
pub async fn mark_new_inbound(
    tx: &mut Tx,
    threads: &[ThreadId],
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    for chunk in sized_chunks(threads) {
        let mut sql = Sql::new("UPDATE threads SET status = 'open', unread = TRUE, updated_at = ");
        sql.bind(now)
            .push(" WHERE id IN ")
            .bind_list(chunk.iter().copied());
        tx.execute(sql).await?;
    }
    Ok(())
}

/// Moves everything of thread `from` into thread `into` and deletes `from`. Used when a comment
/// arrives whose replies were waiting in a provisional thread of their own.
pub async fn merge_thread(tx: &mut Tx, from: ThreadId, into: ThreadId) -> Result<(), sqlx::Error> {
    let mut moves = Sql::new("UPDATE messages SET thread_id = ");
    moves.bind(into).push(" WHERE thread_id = ").bind(from);
    tx.execute(moves).await?;
    let mut labels = Sql::new("INSERT INTO thread_labels (thread_id, label_id) SELECT ");
    labels
        .bind(into)
        .push(", label_id FROM thread_labels WHERE thread_id = ")
        .bind(from);
    labels.push(" ON CONFLICT DO NOTHING");
    tx.execute(labels).await?;
    let mut state = Sql::new(
        "UPDATE threads SET \
         unread = (unread OR (SELECT f.unread FROM threads f WHERE f.id = ",
    );
    state
        .bind(from)
        .push(")), status = CASE WHEN (SELECT f.status FROM threads f WHERE f.id = ");
    state
        .bind(from)
        .push(") = 'open' THEN 'open' ELSE status END WHERE id = ")
        .bind(into);
    tx.execute(state).await?;
    let mut delete = Sql::new("DELETE FROM threads WHERE id = ");
    delete.bind(from);
    tx.execute(delete).await?;
    Ok(())
}
