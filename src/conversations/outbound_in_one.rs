//! On PostgreSQL, outbound messages (up to `MAX_ROWS` at once) are recorded in one statement:
//! the messages, their outbox rows and their threads' growth, where the general path
//! (`outbound.rs`) takes four round trips (insert, read back what the outbox row needs, insert
//! the rows, grow the threads). The messages are read from one array per column, so the
//! statement has one shape (prepared and planned once per connection) for any number of them.
//! A rule's replies are written while the batch holds its channels' lock, which concurrent
//! batches wait for, so every round trip there counts twice.
//!
//! The outbox row is read off the joined thread, contact, video and answered comment in SQL,
//! as `delivery::Queued::deed` reads it in Rust for the general path and SQLite; the two must
//! say the same. Every test of replies, private replies and DMs runs on both backends, so each
//! is checked against the same expectations.
//!
//! One difference, at the edge: a thread whose latest message is dated after now (a
//! platform's clock ahead of ours) has its subject looked up again, and in one statement that
//! lookup does not see the reply being stored. The subject then stays the person's message
//! where the general path would take the reply, if it were the thread's earliest.

use chrono::{DateTime, Utc};

use super::delivery::{DM_WINDOW, INSERT_REPLY, Leased, PRIVATE_REPLY_WINDOW, Sender};
use super::new_message::{NewMessage, push_insert};
use super::summary::GROW;
use crate::domain::Deed;
use crate::ids::{MessageId, OutboxId};
use crate::storage::{Backend, Sql, Tx};

/// A message's lease, when it is one: the channel it goes through and the dispatcher's slot.
pub(super) type Lease = Option<(Sender, tokio::sync::OwnedSemaphorePermit)>;

/// What comes back for each message: its id, and its outbox row's id, deed, target, video and
/// window's end when it got one.
type Written = (
    i64,
    Option<OutboxId>,
    Option<Deed>,
    Option<String>,
    Option<String>,
    Option<DateTime<Utc>>,
);

/// Inserts `rows` (outbound, no platform id yet; a row stored `sending` is leased, with its
/// lease in `leases` at the same position, until `until`), queues those that reach a
/// platform, and grows the threads of the counted ones. Returns the ids in order and the
/// leased rows, to hand over once the transaction commits.
pub(super) async fn record_in_one(
    tx: &mut Tx,
    rows: &[NewMessage<'_>],
    leases: Vec<Lease>,
    until: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Result<(Vec<Option<MessageId>>, Vec<Leased>), sqlx::Error> {
    debug_assert!(rows.iter().all(|m| m.external_id.is_none()));
    let mut sql = Sql::new("WITH m AS (");
    push_insert(&mut sql, Backend::Postgres, rows);
    sql.push(
        " RETURNING id, workspace_id, channel_id, thread_id, kind, parent_external_id, text, state), \
         k AS (SELECT thread_id AS id, COUNT(*) AS added, ",
    );
    sql.bind(now).push(" AS first_at, ").bind(now).push(
        " AS latest_at, substr((array_agg(text ORDER BY id DESC))[1], 1, 240) AS latest_text, \
         CAST(NULL AS TIMESTAMPTZ) AS inbound_at, CAST(NULL AS BIGINT) AS video_id FROM m \
         WHERE state NOT IN ('suggested', 'dry_run', 'rejected') GROUP BY thread_id), \
         g AS (UPDATE threads SET ",
    );
    sql.push(GROW).bind(now);
    sql.push(" FROM k WHERE threads.id = k.id), o AS (")
        .push(INSERT_REPLY)
        .push(
            " SELECT m.workspace_id, m.channel_id, m.id, m.thread_id, \
             CASE WHEN m.kind = 'comment' THEN 'reply' WHEN t.kind = 'comment' \
             THEN 'private_reply' ELSE 'dm' END, \
             CASE WHEN m.kind = 'dm' AND t.kind = 'dm' THEN COALESCE(c.external_id, t.thread_key) \
             ELSE COALESCE(m.parent_external_id, '') END, \
             v.external_id, m.text, m.state, m.state = 'sending', \
             CASE WHEN m.state = 'sending' THEN 1 ELSE 0 END, \
             CASE WHEN m.state = 'sending' THEN ",
        )
        .bind(until)
        .push(" END, ")
        .bind(now)
        .push(
            ", CASE WHEN m.kind = 'comment' THEN NULL \
             WHEN t.kind = 'comment' THEN p.created_at + INTERVAL '1 second' * ",
        )
        .bind(PRIVATE_REPLY_WINDOW.num_seconds())
        .push(" ELSE t.last_inbound_at + INTERVAL '1 second' * ")
        .bind(DM_WINDOW.num_seconds())
        .push(" END, ")
        .bind(now)
        .push(", ")
        .bind(now)
        .push(
            " FROM m JOIN threads t ON t.id = m.thread_id \
             LEFT JOIN contacts c ON c.id = t.contact_id LEFT JOIN videos v ON v.id = t.video_id \
             LEFT JOIN messages p ON p.channel_id = m.channel_id AND p.external_id = m.parent_external_id \
             JOIN channels ch ON ch.id = m.channel_id \
             WHERE ch.platform <> 'custom' AND m.state IN ('queued', 'sending') \
             ON CONFLICT (message_id, action) DO NOTHING \
             RETURNING id, message_id, action, target, video, expires_at) \
             SELECT m.id, o.id, o.action, o.target, o.video, o.expires_at \
             FROM m LEFT JOIN o ON o.message_id = m.id ORDER BY m.id",
        );
    let written: Vec<Written> = tx.fetch_all(sql).await?;
    if written.len() != rows.len() {
        return Err(sqlx::Error::RowNotFound);
    }
    // Ids are drawn in the order of the arrays, so the n-th smallest is the n-th row's.
    let mut leased = Vec::new();
    for ((row, lease), w) in rows.iter().zip(leases).zip(&written) {
        let (message, Some(id), Some(action), Some(target), video, expires_at) = w.clone() else {
            continue;
        };
        let (Some((sender, slot)), Some(until)) = (lease, until) else {
            continue;
        };
        leased.push(Leased {
            id,
            workspace_id: row.workspace,
            message_id: message,
            action,
            target,
            video,
            text: Some(row.text.to_owned()),
            expires_at,
            lease_until: until,
            sender,
            slot,
        });
    }
    let ids = written.iter().map(|w| Some(MessageId(w.0))).collect();
    Ok((ids, leased))
}
