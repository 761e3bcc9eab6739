//! Finding or creating the threads a batch's new messages go into.
//!
//! A thread that already exists is locked (PostgreSQL: after the new ones are inserted) and
//! later grows by the batch's messages (see `messages::write_messages`). A thread this batch
//! creates gets its summary computed here, from the batch, and is inserted complete: most
//! comments open a thread of their own, and writing their summary once instead of inserting
//! then updating halves the index work.

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{DateTime, Utc};

use super::resolved::Incoming;
use crate::conversations::{lock_threads, snippet};
use crate::domain::{Direction, Kind};
use crate::ids::{ThreadId, WorkspaceId};
use crate::storage::{Backend, Sql, Tx, padded_chunks, table_chunks};

/// (channel id, kind, thread key).
pub type ThreadKey = (i64, &'static str, String);

/// The threads of a batch: ids, and which of them existed before it.
pub struct BatchThreads {
    pub ids: HashMap<ThreadKey, i64>,
    pub existing: Vec<i64>,
}

#[derive(sqlx::FromRow)]
struct ThreadRow {
    id: i64,
    channel_id: i64,
    kind: String,
    thread_key: String,
}

fn kind_str(kind: &str) -> &'static str {
    if kind == Kind::Dm.as_str() {
        Kind::Dm.as_str()
    } else {
        Kind::Comment.as_str()
    }
}

/// Summary of a new thread, from the batch's messages (in `pending` order).
struct Summary<'a> {
    first: &'a Incoming<'a>,
    root: Option<&'a Incoming<'a>>,
    latest: &'a Incoming<'a>,
    count: i64,
    last_inbound: Option<DateTime<Utc>>,
}

/// `known`: threads the batch already found (those of stored messages it looked up).
pub async fn resolve_threads(
    tx: &mut Tx,
    workspace: WorkspaceId,
    incoming: &[Incoming<'_>],
    pending: &[usize],
    keys: &HashMap<usize, String>,
    known: &HashMap<ThreadKey, i64>,
    now: DateTime<Utc>,
) -> Result<BatchThreads, sqlx::Error> {
    let mut summaries: BTreeMap<ThreadKey, Summary<'_>> = BTreeMap::new();
    for &pos in pending {
        let m = &incoming[pos];
        let key = (m.channel_id, m.event.kind.as_str(), keys[&pos].clone());
        let is_root = m.event.kind == Kind::Comment && m.event.external_id == key.2;
        let inbound = (m.direction == Direction::Inbound).then_some(m.event.created_at);
        let s = summaries.entry(key).or_insert(Summary {
            first: m,
            root: None,
            latest: m,
            count: 0,
            last_inbound: None,
        });
        s.count += 1;
        if m.event.created_at < s.first.event.created_at {
            s.first = m;
        }
        if m.event.created_at >= s.latest.event.created_at {
            s.latest = m;
        }
        if is_root {
            s.root = Some(m);
        }
        s.last_inbound = s.last_inbound.max(inbound);
    }
    let mut ids: HashMap<ThreadKey, i64> = summaries
        .keys()
        .filter_map(|k| Some((k.clone(), *known.get(k)?)))
        .collect();
    if tx.backend() == Backend::Sqlite {
        let wanted: Vec<&ThreadKey> = summaries.keys().filter(|k| !ids.contains_key(*k)).collect();
        ids.extend(find_existing(tx, &wanted).await?);
    }
    // PostgreSQL looks up only what its insert below did not insert: most comments open a
    // thread, so that costs one statement where a lookup first cost two.

    let new: Vec<(&ThreadKey, &Summary<'_>)> = summaries
        .iter()
        .filter(|(k, _)| !ids.contains_key(*k))
        .collect();
    let mut created: HashSet<ThreadKey> = HashSet::new();
    for chunk in table_chunks(tx.backend(), &new) {
        let mut sql = Sql::new(
            "INSERT INTO threads (workspace_id, channel_id, kind, thread_key, video_id, contact_id, subject, preview, \
             status, unread, message_count, last_message_at, last_inbound_at, created_at, updated_at) ",
        );
        sql.bind_table(tx.backend(), chunk, |r, ((channel, kind, key), s)| {
            let opener = s.root.unwrap_or(s.first);
            let contact = if *kind == Kind::Dm.as_str() {
                s.first.contact_id
            } else {
                opener.author_id
            };
            let video = s.root.and_then(|m| m.video_id).or(s.first.video_id);
            r.bind(workspace)
                .bind(*channel)
                .bind(*kind)
                .bind(key.as_str())
                .bind(video)
                .bind(contact);
            r.bind(snippet(&opener.event.text))
                .bind(snippet(&s.latest.event.text))
                .raw("'open'");
            r.bind(s.last_inbound.is_some())
                .bind(s.count)
                .bind(s.latest.event.created_at)
                .bind(s.last_inbound);
            r.bind(now).bind(now);
        });
        if tx.backend() == Backend::Sqlite {
            // One writer, and `find_existing` ran in this transaction: nothing can conflict.
            let new_ids = tx.insert_ids(sql, chunk.len()).await?;
            for ((key, _), id) in chunk.iter().zip(new_ids) {
                ids.insert((*key).clone(), id);
                created.insert((*key).clone());
            }
            continue;
        }
        sql.push(" ON CONFLICT (channel_id, kind, thread_key) DO NOTHING RETURNING id, channel_id, kind, thread_key");
        for row in tx.fetch_all::<ThreadRow>(sql).await? {
            let key = (row.channel_id, kind_str(&row.kind), row.thread_key);
            created.insert(key.clone());
            ids.insert(key, row.id);
        }
    }
    // Not inserted: existing before the batch (PostgreSQL did not look first), or created by a
    // concurrent writer between our lookup and our insert.
    let raced: Vec<&ThreadKey> = summaries.keys().filter(|k| !ids.contains_key(*k)).collect();
    if !raced.is_empty() {
        ids.extend(find_existing(tx, &raced).await?);
    }
    let mut existing: Vec<ThreadId> = Vec::new();
    for key in summaries.keys().filter(|k| !created.contains(*k)) {
        // Gone since we looked: another writer merged it away. The batch is tried again.
        existing.push(ThreadId(*ids.get(key).ok_or(sqlx::Error::RowNotFound)?));
    }
    // After inserting the new threads, in key order: concurrent batches never wait for each
    // other in a circle here, since a batch still inserting holds no lock on a thread that
    // existed. (Duplicate deliveries and merges can still deadlock; those batches are retried.)
    if lock_threads(tx, &existing).await? < existing.len() {
        return Err(sqlx::Error::RowNotFound);
    }
    Ok(BatchThreads {
        existing: existing.into_iter().map(|t| t.0).collect(),
        ids,
    })
}

/// Ids of the threads among `keys` that exist.
pub(super) async fn find_existing(
    tx: &mut Tx,
    keys: &[&ThreadKey],
) -> Result<HashMap<ThreadKey, i64>, sqlx::Error> {
    let mut found = HashMap::new();
    for chunk in padded_chunks(tx.backend(), keys) {
        let mut sql = Sql::new("WITH k(channel_id, kind, thread_key) AS (");
        sql.bind_table(tx.backend(), &chunk, |r, (channel, kind, key)| {
            r.bind(*channel).bind(*kind).bind(key.as_str());
        });
        sql.push(
            ") SELECT t.id, t.channel_id, t.kind, t.thread_key FROM k JOIN threads t \
             ON t.channel_id = k.channel_id AND t.kind = k.kind AND t.thread_key = k.thread_key",
        );
        for row in tx.fetch_all::<ThreadRow>(sql).await? {
            found.insert(
                (row.channel_id, kind_str(&row.kind), row.thread_key),
                row.id,
            );
        }
    }
    Ok(found)
}
