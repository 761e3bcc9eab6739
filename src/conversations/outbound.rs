//! Messages the account itself sends: manual replies and rule replies.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::{DateTime, Utc};

use super::delivery::{Leased, SendNow, enqueue_leasing};
use super::new_message::{Automated, NewMessage, insert_messages};
use super::outbound_in_one::record_in_one;
use super::summary::{Growth, grow_threads, lock_threads};
use crate::domain::{Deed, Direction, Kind, Source, State};
use crate::ids::{ChannelId, MessageId, ThreadId, WorkspaceId};
use crate::storage::{Backend, MAX_ROWS, Sql, Tx, sized_chunks};

/// A message to send from the account, waiting for the platform.
pub struct Outbound<'a> {
    pub workspace: WorkspaceId,
    pub channel: ChannelId,
    pub thread: ThreadId,
    pub kind: Kind,
    /// The comment answered (comment threads): the platform replies under it.
    pub parent_external_id: Option<&'a str>,
    pub text: &'a str,
    pub source: Source,
    pub state: State,
    pub automated: Option<Automated>,
}

/// Whether the transaction already holds the rows of the threads it adds to.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Threads {
    /// It wrote them already (a rule answering in the batch that stored the messages).
    Held,
    /// They are locked first, in key order (see `summary::lock_threads`).
    Lock,
}

/// Stores `message` in its thread and brings the thread up to date. A person answering has
/// read the thread: it is no longer unread (a rule's reply leaves it as it was).
pub async fn record_outbound(
    tx: &mut Tx,
    message: &Outbound<'_>,
    now: DateTime<Utc>,
) -> Result<MessageId, sqlx::Error> {
    record_outbound_many(tx, std::slice::from_ref(message), Threads::Lock, now)
        .await?
        .pop()
        .flatten()
        .ok_or(sqlx::Error::RowNotFound)
}

/// Stores `messages` (many per statement), then brings each thread they touch up to date once.
/// Replies not sent and not on their way (suggested, dry run) leave the summaries alone.
pub async fn record_outbound_many(
    tx: &mut Tx,
    messages: &[Outbound<'_>],
    threads: Threads,
    now: DateTime<Utc>,
) -> Result<Vec<Option<MessageId>>, sqlx::Error> {
    let (ids, _) = record_outbound_leasing(tx, messages, threads, None, now).await?;
    Ok(ids)
}

/// [`record_outbound_many`], leasing the queued replies `send_now` has a slot for (stored
/// `sending`); returns the ids and the leased rows, to hand over once the transaction commits.
pub async fn record_outbound_leasing(
    tx: &mut Tx,
    messages: &[Outbound<'_>],
    threads: Threads,
    send_now: Option<&SendNow<'_>>,
    now: DateTime<Utc>,
) -> Result<(Vec<Option<MessageId>>, Vec<Leased>), sqlx::Error> {
    if messages.is_empty() {
        return Ok((Vec::new(), Vec::new()));
    }
    let slots: Vec<_> = messages
        .iter()
        .map(|m| {
            let send_now = send_now.filter(|_| m.state == State::Queued)?;
            send_now.slot(m.channel.0, m.deed())
        })
        .collect();
    let rows: Vec<NewMessage<'_>> = messages
        .iter()
        .zip(&slots)
        .map(|(m, slot)| NewMessage {
            workspace: m.workspace,
            channel: m.channel,
            thread: m.thread,
            kind: m.kind,
            external_id: None,
            parent_external_id: m.parent_external_id,
            video: None,
            author: None,
            author_name: String::new(),
            direction: Direction::Outbound,
            source: m.source,
            state: if slot.is_some() {
                State::Sending
            } else {
                m.state
            },
            text: m.text,
            created_at: now,
            received_at: now,
            sent_at: None,
            automated: m.automated,
        })
        .collect();
    let growth = growth(messages, now);
    if threads == Threads::Lock {
        let threads: Vec<ThreadId> = growth.iter().map(|g| g.thread).collect();
        lock_threads(tx, &threads).await?;
    }
    let until = send_now.map(|s| s.until);
    let (ids, leased) = if tx.backend() == Backend::Postgres && rows.len() <= MAX_ROWS {
        record_in_one(tx, &rows, slots, until, now).await?
    } else {
        let ids = insert_messages(tx, &rows).await?;
        let queued: Vec<MessageId> = messages
            .iter()
            .zip(&ids)
            .filter(|(m, _)| m.state == State::Queued)
            .filter_map(|(_, id)| *id)
            .collect();
        let leases: HashMap<MessageId, _> = ids
            .iter()
            .zip(slots)
            .filter_map(|(id, slot)| Some(((*id)?, slot?)))
            .collect();
        let leased = enqueue_leasing(tx, &queued, leases, until, now).await?;
        grow_threads(tx, &growth, now).await?;
        (ids, leased)
    };
    let read: BTreeSet<ThreadId> = messages
        .iter()
        .filter(|m| m.source == Source::Manual)
        .map(|m| m.thread)
        .collect();
    for chunk in sized_chunks(&read.into_iter().collect::<Vec<_>>()) {
        let mut sql = Sql::new("UPDATE threads SET unread = FALSE WHERE id IN ");
        sql.bind_list(chunk.iter().copied());
        tx.execute(sql).await?;
    }
    Ok((ids, leased))
}

impl Outbound<'_> {
    /// What the platform will be asked to do (the outbox row says it for certain).
    fn deed(&self) -> Deed {
        match (self.kind, self.parent_external_id) {
            (Kind::Comment, _) => Deed::Reply,
            (Kind::Dm, Some(_)) => Deed::PrivateReply,
            (Kind::Dm, None) => Deed::Dm,
        }
    }
}

/// What the counted replies add to their threads' summaries (they are the threads' newest
/// messages, none a top-level comment, so the threads grow rather than being recomputed).
/// Replies not sent and not on their way (suggested, dry run) leave the summaries alone.
fn growth<'a>(messages: &[Outbound<'a>], now: DateTime<Utc>) -> Vec<Growth<'a>> {
    let counted =
        |m: &&Outbound<'_>| !matches!(m.state, State::Suggested | State::DryRun | State::Rejected);
    let mut by_thread: BTreeMap<ThreadId, Growth<'_>> = BTreeMap::new();
    for m in messages.iter().filter(counted) {
        let g = by_thread.entry(m.thread).or_insert(Growth {
            thread: m.thread,
            added: 0,
            first_at: now,
            latest_at: now,
            latest_text: m.text,
            last_inbound_at: None,
            video: None,
        });
        g.added += 1;
        // Of equal times the last inserted (the highest id) is the latest.
        g.latest_text = m.text;
    }
    by_thread.into_values().collect()
}
