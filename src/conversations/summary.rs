//! Keeps each thread's summary columns (counts, times, subject, preview) true to its messages.
//!
//! The summary is recomputed from the messages rather than incremented, so concurrent writers
//! and out-of-order deliveries cannot make it drift. On PostgreSQL the caller holds the thread
//! rows locked (the thread upsert takes the lock), so the recomputation sees every committed
//! message.

use chrono::{DateTime, Utc};

use crate::ids::ThreadId;
use crate::storage::{Sql, Tx, sized_chunks};

/// Replies that were not sent and are not on their way (a suggestion waiting for a person, a
/// dry run, a rejected suggestion) are shown in the thread but do not count in its summary.
macro_rules! counted {
    () => {
        "m.thread_id = threads.id AND m.state NOT IN ('suggested', 'dry_run', 'rejected')"
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
    subject = COALESCE( \
        (SELECT substr(m.text, 1, 240) FROM messages m WHERE threads.kind = 'comment' \
            AND m.channel_id = threads.channel_id AND m.external_id = threads.thread_key), \
        (SELECT substr(m.text, 1, 240) FROM messages m WHERE ",
    counted!(),
    " ORDER BY m.created_at, m.id LIMIT 1), \
        ''), \
    contact_id = CASE WHEN threads.kind = 'comment' THEN COALESCE( \
        (SELECT m.author_id FROM messages m WHERE m.channel_id = threads.channel_id AND m.external_id = threads.thread_key), \
        threads.contact_id) ELSE threads.contact_id END, \
    video_id = COALESCE(threads.video_id, \
        (SELECT m.video_id FROM messages m WHERE m.thread_id = threads.id AND m.video_id IS NOT NULL LIMIT 1)), \
    updated_at = "
);

/// Recomputes the summaries of `threads`, then drops any that were left without messages.
pub async fn refresh_threads(
    tx: &mut Tx,
    threads: &[ThreadId],
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
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
