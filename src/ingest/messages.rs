//! Stores message events: deduplicates, threads them, inserts in bulk, and keeps thread
//! summaries and states right.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use chrono::{DateTime, Utc};

use super::event::MessageEvent;
use super::outcome::{Outcome, OutcomeStatus};
use super::refs::with_keys;
use super::resolved::{ChannelRef, Incoming, Key};
use super::threading::thread_key;
use super::threads::{ThreadKey, find_existing, resolve_threads};
use crate::conversations::{
    self, Growth, NewMessage, grow_threads, mark_new_inbound, merge_thread, refresh_threads,
};
use crate::domain::{Direction, Kind, Source, State};
use crate::ids::{ChannelId, ThreadId, WorkspaceId};
use crate::storage::{Tx, padded_chunks};

/// Who wrote it: a message by the channel's own author id is ours whatever the event says
/// (connectors set the direction from the account id alone); otherwise the event decides.
pub fn direction_of(event: &MessageEvent, channel: &ChannelRef) -> Direction {
    match &channel.own_author_id {
        Some(own) if *own == event.author.external_id => Direction::Outbound,
        _ => event.direction.unwrap_or(Direction::Inbound),
    }
}

#[derive(sqlx::FromRow)]
struct StoredMessage {
    id: i64,
    channel_id: i64,
    external_id: String,
    thread_id: i64,
    thread_kind: Kind,
    thread_key: String,
}

/// Stores the batch's messages, filling in `outcomes`. Returns the batch's fresh threads: made
/// by this batch and holding nothing else (no merge moved older messages into them).
pub async fn write_messages(
    tx: &mut Tx,
    workspace: WorkspaceId,
    incoming: &[Incoming<'_>],
    now: DateTime<Utc>,
    outcomes: &mut [Option<Outcome>],
) -> Result<HashSet<i64>, sqlx::Error> {
    // Within one batch the first copy of a message counts; later copies are duplicates of it.
    let mut first: HashMap<Key, usize> = HashMap::new();
    let mut fresh = Vec::new();
    let mut repeats = Vec::new();
    for (pos, m) in incoming.iter().enumerate() {
        match first.get(&m.key()) {
            Some(&earlier) => repeats.push((pos, earlier)),
            None => {
                first.insert(m.key(), pos);
                fresh.push(pos);
            }
        }
    }

    let stored = lookup_stored(tx, incoming, &fresh).await?;
    let mut pending = Vec::new();
    for pos in fresh {
        let m = &incoming[pos];
        match stored.get(&m.key()) {
            Some(s) => {
                outcomes[m.index] = Some(Outcome::message(
                    m.index,
                    OutcomeStatus::Duplicate,
                    s.id,
                    s.thread_id,
                ))
            }
            None => pending.push(pos),
        }
    }

    // Messages are inserted in arrival order, so ids (the tie-break for equal times) follow
    // it. Two concurrent batches carrying the same messages in another order can deadlock on
    // PostgreSQL; the batch is then retried (see `store::store_events`).
    let keys = thread_keys(incoming, &pending, &stored);
    let known = stored_threads(&stored);
    let threads = resolve_threads(tx, workspace, incoming, &pending, &keys, &known, now).await?;
    let thread_ids = &threads.ids;
    let created =
        insert_messages(tx, workspace, incoming, &pending, &keys, thread_ids, now).await?;
    let existed: HashSet<i64> = threads.existing.iter().copied().collect();

    // New threads were inserted with their summary. Existing ones grow by their new messages,
    // or are recomputed when something else changed them (a merge, a race, their top-level
    // comment arriving after its replies).
    let mut touched: BTreeSet<i64> = BTreeSet::new();
    let mut inbound_threads: BTreeSet<i64> = BTreeSet::new();
    let mut grown: BTreeMap<i64, Growth<'_>> = BTreeMap::new();
    let mut raced = Vec::new();
    for &pos in &pending {
        let m = &incoming[pos];
        let thread = thread_ids[&(m.channel_id, m.event.kind.as_str(), keys[&pos].clone())];
        match created.get(&m.key()) {
            Some(&id) => {
                if existed.contains(&thread) {
                    if m.direction == Direction::Inbound {
                        inbound_threads.insert(thread);
                    }
                    if m.event.kind == Kind::Comment && m.event.external_id == keys[&pos] {
                        touched.insert(thread);
                    }
                    grow(&mut grown, thread, m);
                }
                outcomes[m.index] = Some(Outcome::message(
                    m.index,
                    OutcomeStatus::Created,
                    id,
                    thread,
                ));
            }
            // Another writer stored it between our lookup and our insert.
            None => {
                touched.insert(thread);
                raced.push(pos);
            }
        }
    }
    touched.extend(merge_provisional(tx, incoming, &pending, &created, &keys, thread_ids).await?);

    grown.retain(|thread, _| !touched.contains(thread));
    let fresh: HashSet<i64> = thread_ids
        .values()
        .copied()
        .filter(|t| !existed.contains(t) && !touched.contains(t))
        .collect();
    let grown: Vec<Growth<'_>> = grown.into_values().collect();
    grow_threads(tx, &grown, now).await?;
    // Grown threads were opened by `grow_threads`; recomputed ones are opened here.
    inbound_threads.retain(|thread| touched.contains(thread));
    let touched: Vec<ThreadId> = touched.into_iter().map(ThreadId).collect();
    refresh_threads(tx, &touched, now).await?;
    let inbound: Vec<ThreadId> = inbound_threads.into_iter().map(ThreadId).collect();
    mark_new_inbound(tx, &inbound, now).await?;

    if !raced.is_empty() {
        let again = lookup_stored(tx, incoming, &raced).await?;
        for pos in raced {
            let m = &incoming[pos];
            let s = again.get(&m.key()).ok_or(sqlx::Error::RowNotFound)?;
            outcomes[m.index] = Some(Outcome::message(
                m.index,
                OutcomeStatus::Duplicate,
                s.id,
                s.thread_id,
            ));
        }
    }
    for (pos, earlier) in repeats {
        let original = outcomes[incoming[earlier].index]
            .clone()
            .ok_or(sqlx::Error::RowNotFound)?;
        let index = incoming[pos].index;
        outcomes[index] = Some(Outcome {
            index,
            status: OutcomeStatus::Duplicate,
            ..original
        });
    }
    Ok(fresh)
}

/// Adds a newly stored message to what its (existing) thread grows by. Messages come in
/// insertion order, so of equal times the later one has the higher id.
fn grow<'a>(grown: &mut BTreeMap<i64, Growth<'a>>, thread: i64, m: &Incoming<'a>) {
    let e = m.event;
    let inbound = (m.direction == Direction::Inbound).then_some(e.created_at);
    let g = grown.entry(thread).or_insert(Growth {
        thread: ThreadId(thread),
        added: 0,
        first_at: e.created_at,
        latest_at: e.created_at,
        latest_text: &e.text,
        last_inbound_at: None,
        video: None,
    });
    g.added += 1;
    g.first_at = g.first_at.min(e.created_at);
    if e.created_at >= g.latest_at {
        g.latest_at = e.created_at;
        g.latest_text = &e.text;
    }
    g.last_inbound_at = g.last_inbound_at.max(inbound);
    g.video = g.video.or(m.video_id);
}

/// Stored messages among `positions` and among their parents, with their threads.
async fn lookup_stored(
    tx: &mut Tx,
    incoming: &[Incoming<'_>],
    positions: &[usize],
) -> Result<HashMap<Key, StoredMessage>, sqlx::Error> {
    let mut keys: BTreeSet<Key> = BTreeSet::new();
    for &pos in positions {
        let m = &incoming[pos];
        keys.insert(m.key());
        if let Some(parent) = &m.event.parent_external_id {
            keys.insert((m.channel_id, parent.clone()));
        }
    }
    let keys: Vec<&Key> = keys.iter().collect();
    let mut found = HashMap::new();
    for chunk in padded_chunks(tx.backend(), &keys) {
        let mut sql = with_keys(tx.backend(), &chunk);
        sql.push(
            "SELECT m.id, m.channel_id, m.external_id, m.thread_id, t.kind AS thread_kind, t.thread_key \
             FROM k JOIN messages m ON m.channel_id = k.channel_id AND m.external_id = k.external_id \
             JOIN threads t ON t.id = m.thread_id",
        );
        for row in tx.fetch_all::<StoredMessage>(sql).await? {
            found.insert((row.channel_id, row.external_id.clone()), row);
        }
    }
    Ok(found)
}

/// The threads of the stored messages looked up (a reply's parent's thread is its own).
fn stored_threads(stored: &HashMap<Key, StoredMessage>) -> HashMap<ThreadKey, i64> {
    stored
        .iter()
        .map(|((channel, _), s)| {
            let key = (*channel, s.thread_kind.as_str(), s.thread_key.clone());
            (key, s.thread_id)
        })
        .collect()
}

/// Comments of one channel in this batch, each with its parent (if any).
type BatchParents<'a> = HashMap<&'a str, Option<&'a str>>;
/// Thread keys of stored comments of one channel.
type StoredKeys<'a> = HashMap<&'a str, &'a str>;

/// The thread key of every pending message (indexed by position in `incoming`).
fn thread_keys(
    incoming: &[Incoming<'_>],
    pending: &[usize],
    stored: &HashMap<Key, StoredMessage>,
) -> HashMap<usize, String> {
    let mut per_channel: HashMap<i64, (BatchParents<'_>, StoredKeys<'_>)> = HashMap::new();
    for &pos in pending {
        let m = &incoming[pos];
        if m.event.kind == Kind::Comment {
            let (batch, _) = per_channel.entry(m.channel_id).or_default();
            batch.insert(&m.event.external_id, m.event.parent_external_id.as_deref());
        }
    }
    for ((channel, ext), s) in stored {
        if s.thread_kind == Kind::Comment
            && let Some((_, known)) = per_channel.get_mut(channel)
        {
            known.insert(ext.as_str(), s.thread_key.as_str());
        }
    }
    let mut keys = HashMap::with_capacity(pending.len());
    for &pos in pending {
        let m = &incoming[pos];
        let key = match m.event.kind {
            Kind::Dm => m.contact_ext.to_owned(),
            Kind::Comment => {
                let (batch, known) = &per_channel[&m.channel_id];
                thread_key(&m.event.external_id, batch, known)
            }
        };
        keys.insert(pos, key);
    }
    keys
}

/// Inserts pending messages; returns the ids of those actually created.
async fn insert_messages(
    tx: &mut Tx,
    workspace: WorkspaceId,
    incoming: &[Incoming<'_>],
    pending: &[usize],
    keys: &HashMap<usize, String>,
    thread_ids: &HashMap<ThreadKey, i64>,
    now: DateTime<Utc>,
) -> Result<HashMap<Key, i64>, sqlx::Error> {
    // `lookup_stored` ran in this transaction, as `conversations::insert_messages` needs.
    let rows: Vec<NewMessage<'_>> = pending
        .iter()
        .map(|&pos| {
            let m = &incoming[pos];
            let e = m.event;
            let thread = thread_ids[&(m.channel_id, e.kind.as_str(), keys[&pos].clone())];
            let (state, sent_at) = match m.direction {
                Direction::Inbound => (State::Received, None),
                Direction::Outbound => (State::Sent, Some(e.created_at)),
            };
            NewMessage {
                workspace,
                channel: ChannelId(m.channel_id),
                thread: ThreadId(thread),
                kind: e.kind,
                external_id: Some(&e.external_id),
                parent_external_id: e.parent_external_id.as_deref(),
                video: m.video_id,
                author: Some(m.author_id),
                author_name: e.author.search_name(),
                direction: m.direction,
                source: Source::Platform,
                state,
                text: &e.text,
                created_at: e.created_at,
                received_at: now,
                sent_at,
                automated: None,
            }
        })
        .collect();
    let ids = conversations::insert_messages(tx, &rows).await?;
    Ok(pending
        .iter()
        .zip(ids)
        .filter_map(|(&pos, id)| id.map(|id| (incoming[pos].key(), id.0)))
        .collect())
}

/// Replies that arrived before a newly stored comment wait in a thread keyed by its id. If that
/// comment is itself a reply, they belong in its thread: merge. Returns the threads merged into.
async fn merge_provisional(
    tx: &mut Tx,
    incoming: &[Incoming<'_>],
    pending: &[usize],
    created: &HashMap<Key, i64>,
    keys: &HashMap<usize, String>,
    thread_ids: &HashMap<ThreadKey, i64>,
) -> Result<Vec<i64>, sqlx::Error> {
    let mut targets: HashMap<Key, i64> = HashMap::new();
    for &pos in pending {
        let m = &incoming[pos];
        if m.event.kind == Kind::Comment
            && keys[&pos] != m.event.external_id
            && created.contains_key(&m.key())
        {
            targets.insert(
                m.key(),
                thread_ids[&(m.channel_id, Kind::Comment.as_str(), keys[&pos].clone())],
            );
        }
    }
    if targets.is_empty() {
        return Ok(Vec::new());
    }
    let mut merged_into = HashSet::new();
    // Looked up as thread keys, the kind one of each key's columns: with the kind a constant of
    // the statement, a plan made while the threads were few would read every comment thread
    // for each batch (its index's middle column): 200 ms a batch at 40,000 threads.
    let wanted: Vec<ThreadKey> = targets
        .keys()
        .map(|(channel, id)| (*channel, Kind::Comment.as_str(), id.clone()))
        .collect();
    let mut provisional: Vec<(ThreadKey, i64)> =
        find_existing(tx, &wanted.iter().collect::<Vec<_>>())
            .await?
            .into_iter()
            .collect();
    // In key order: the same merges in the same order on any run.
    provisional.sort();
    for ((channel, _, key), id) in provisional {
        let into = targets[&(channel, key)];
        if id != into {
            merge_thread(tx, ThreadId(id), ThreadId(into)).await?;
            merged_into.insert(into);
        }
    }
    Ok(merged_into.into_iter().collect())
}
