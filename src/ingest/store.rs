//! Writes a validated batch in one transaction: all of it or none of it.

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{DateTime, Utc};
use tracing::instrument;

use super::cache::{
    Learned, Memory, RefCache, contact_print, learn_written, split_known, video_print,
};
use super::error::IngestError;
use super::event::{AuthorRef, Event, MessageEvent, VideoRef};
use super::messages::{direction_of, write_messages};
use super::outcome::{Outcome, OutcomeStatus};
use super::refs::{resolve_channels, upsert_contacts, upsert_videos};
use super::resolved::{ChannelRef, Incoming, Key};
use super::stats::{write_channel_stats, write_video_stats};
use crate::automation::{self, Arrival};
use crate::conversations::{Handover, Leased};
use crate::domain::{Direction, Kind, Platform};
use crate::ids::{ChannelId, MessageId, ThreadId, WorkspaceId};
use crate::rules::trial::Sample;
use crate::storage::{Backend, Db, Tx, connection_lost};

/// How often a batch is tried when PostgreSQL aborts it for a deadlock or a serialization
/// conflict with a concurrent writer (the transaction rolled back, so a retry is safe).
const ATTEMPTS: u32 = 4;

/// A batch written: each event's outcome, the replies its rules leased as they queued them
/// (for the courier, now that the batch committed), and whether it queued anything else for
/// the dispatcher's claim.
pub struct Stored {
    pub outcomes: Vec<Outcome>,
    pub leased: Vec<Leased>,
    pub queued: bool,
}

#[instrument(skip_all, fields(events = events.len()))]
pub async fn store_events(
    db: &Db,
    memory: &Memory,
    courier: Option<&dyn Handover>,
    workspace: WorkspaceId,
    events: &[Event],
    now: DateTime<Utc>,
) -> Result<Stored, IngestError> {
    let mut attempt = 1;
    let mut reconnected = false;
    loop {
        match store_once(db, memory, courier, workspace, events, now).await {
            Err(IngestError::Database(e)) if attempt < ATTEMPTS && is_transient(&e) => {
                tracing::warn!(error = %e, attempt, "batch conflicted with a concurrent writer; retrying");
                tokio::time::sleep(std::time::Duration::from_millis(20 * u64::from(attempt))).await;
                attempt += 1;
            }
            // A connection lost (its backend terminated, or the socket closed while it lay in
            // the pool, where it is tried before use only after a second idle): once more on
            // another, so one stale connection does not refuse the batch. Lost before the
            // commit, nothing of it was stored; lost at the commit, it may have been, and
            // storing it again finds its events stored. Lost again: refused (`503`).
            Err(IngestError::Database(e))
                if !reconnected && db.backend() == Backend::Postgres && connection_lost(&e) =>
            {
                tracing::warn!(error = %e, "batch's connection was lost; trying once more on another");
                reconnected = true;
            }
            result => return result,
        }
    }
}

/// Deadlock detected or serialization failure (PostgreSQL), database busy (SQLite), or a row
/// looked up in this transaction that a concurrent writer removed before it could be locked
/// (a thread merged away).
fn is_transient(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::RowNotFound => true,
        sqlx::Error::Database(d) => {
            matches!(d.code().as_deref(), Some("40P01" | "40001" | "5" | "517"))
        }
        _ => false,
    }
}

async fn store_once(
    db: &Db,
    memory: &Memory,
    courier: Option<&dyn Handover>,
    workspace: WorkspaceId,
    events: &[Event],
    now: DateTime<Utc>,
) -> Result<Stored, IngestError> {
    let cache = &memory.refs;
    let mut learned = cache.learning();
    let (committed_refs, mut tx) = if db.backend() == Backend::Postgres {
        // Committed on their own: a channel, video or contact is only a name for an id, and
        // holding the new ones' index entries until the batch commits would make concurrent
        // writers that met the same new author wait for each other's whole batch. A small
        // batch (a webhook's few comments) commits each statement as it runs, without the two
        // round trips of `BEGIN` and `COMMIT` and without waiting for the disk
        // (`Db::each_on_its_own`: the batch's own commit, later in the log, waits for them
        // too); a bulk batch, with several statements, commits them together.
        let names = async {
            let mut own = if events.len() < BULK_EVENTS {
                db.each_on_its_own().await?
            } else {
                db.begin().await?
            };
            let refs = resolve_refs(&mut own, cache, &mut learned, workspace, events, now).await?;
            own.commit().await?;
            Ok(refs)
        };
        // The batch's transaction begins meanwhile, on its own connection: `BEGIN` takes no
        // snapshot, so the batch's first statement, after the names committed, sees them.
        let (refs, tx) = tokio::try_join!(names, db.begin())?;
        (Some(refs), tx)
    } else {
        (None, db.begin().await?)
    };
    // Every batch keeps PostgreSQL's cached plans: planning each of a bulk batch's statements
    // for its own arguments also re-planned the foreign-key checks behind every inserted row
    // (a third of the database's time at a million messages). The writers' plans are index
    // lookups only, right at any size of table (`storage`'s `KEYED`).
    let refs = match committed_refs {
        Some(refs) => refs,
        None => resolve_refs(&mut tx, cache, &mut learned, workspace, events, now).await?,
    };
    let channel_of = |e: &Event| channel_of(&refs.channels, e);

    let mut outcomes: Vec<Option<Outcome>> = vec![None; events.len()];
    let mut decided = automation::Decided::default();
    let mut incoming = Vec::new();
    for (index, event) in events.iter().enumerate() {
        let channel = channel_of(event);
        match event {
            Event::Message(m) => incoming.push(incoming_of(index, m, &channel, &refs)),
            Event::VideoStats(s) => {
                let video = refs.videos[&(channel.id, s.video.external_id.clone())];
                outcomes[index] = Some(write_video_stats(&mut tx, index, video, s, now).await?);
            }
            Event::ChannelStats(s) => {
                outcomes[index] =
                    Some(write_channel_stats(&mut tx, index, channel.id, s, now).await?);
            }
        }
    }
    if !incoming.is_empty() {
        let fresh = write_messages(&mut tx, workspace, &incoming, now, &mut outcomes).await?;
        let arrivals = arrivals(&incoming, &outcomes, &fresh);
        decided =
            automation::decide(&mut tx, &memory.rules, courier, workspace, &arrivals, now).await?;
    }
    tx.commit().await?;
    cache.remember(learned);
    let outcomes = outcomes
        .into_iter()
        .map(|o| o.ok_or(sqlx::Error::RowNotFound))
        .collect::<Result<_, _>>()?;
    Ok(Stored {
        outcomes,
        leased: decided.leased,
        queued: decided.queued,
    })
}

/// From this many events on, a batch's new channels, videos and contacts commit together on
/// PostgreSQL (one flush of the log), not statement by statement.
const BULK_EVENTS: usize = 64;

/// The channel `event` is about, among those the batch resolved.
fn channel_of(channels: &HashMap<(Platform, String), ChannelRef>, event: &Event) -> ChannelRef {
    let (platform, name) = event.channel();
    channels[&(platform, name.to_owned())].clone()
}

/// Message event `m`, at `index` of its batch, with the ids its row needs.
fn incoming_of<'a>(
    index: usize,
    m: &'a MessageEvent,
    channel: &ChannelRef,
    refs: &Refs,
) -> Incoming<'a> {
    let direction = direction_of(m, channel);
    let other = match (m.kind, direction, &m.recipient) {
        (Kind::Dm, Direction::Outbound, Some(r)) => r,
        _ => &m.author,
    };
    let contact = |external: &str| refs.contacts[&(channel.id, external.to_owned())];
    Incoming {
        index,
        event: m,
        channel_id: channel.id,
        direction,
        video_id: m
            .video
            .as_ref()
            .map(|v| refs.videos[&(channel.id, v.external_id.clone())]),
        author_id: contact(&m.author.external_id),
        contact_id: contact(&other.external_id),
        contact_ext: &other.external_id,
    }
}

/// The ids of every channel, video and contact a batch names.
struct Refs {
    channels: HashMap<(Platform, String), ChannelRef>,
    videos: HashMap<Key, i64>,
    contacts: HashMap<Key, i64>,
}

/// Finds (creating or updating where the batch says more) what the batch's events name.
async fn resolve_refs(
    tx: &mut Tx,
    cache: &RefCache,
    learned: &mut Learned,
    workspace: WorkspaceId,
    events: &[Event],
    now: DateTime<Utc>,
) -> Result<Refs, sqlx::Error> {
    let channels = resolve_channels(tx, cache, learned, workspace, events, now).await?;
    let channel_of = |e: &Event| channel_of(&channels, e);

    let mut videos: BTreeMap<Key, &VideoRef> = BTreeMap::new();
    let mut contacts: BTreeMap<Key, &AuthorRef> = BTreeMap::new();
    for event in events {
        let channel = channel_of(event).id;
        match event {
            Event::Message(m) => {
                if let Some(v) = &m.video {
                    merge_ref(
                        &mut videos,
                        (channel, v.external_id.clone()),
                        v,
                        video_details,
                    );
                }
                merge_ref(
                    &mut contacts,
                    (channel, m.author.external_id.clone()),
                    &m.author,
                    author_details,
                );
                if let Some(r) = &m.recipient {
                    merge_ref(
                        &mut contacts,
                        (channel, r.external_id.clone()),
                        r,
                        author_details,
                    );
                }
            }
            Event::VideoStats(s) => {
                merge_ref(
                    &mut videos,
                    (channel, s.video.external_id.clone()),
                    &s.video,
                    video_details,
                );
            }
            Event::ChannelStats(_) => {}
        }
    }
    let videos = resolve_videos(tx, cache, learned, workspace, &videos, now).await?;
    let contacts = resolve_contacts(tx, cache, learned, workspace, &contacts, now).await?;
    Ok(Refs {
        channels,
        videos,
        contacts,
    })
}

/// The messages this batch stored from someone else, as the rules see them. In a thread the
/// batch made (`fresh`), only the batch's own messages can have answered them.
fn arrivals<'a>(
    incoming: &'a [Incoming<'a>],
    outcomes: &[Option<Outcome>],
    fresh: &HashSet<i64>,
) -> Vec<Arrival<'a>> {
    let created = |m: &Incoming<'_>| {
        outcomes[m.index]
            .as_ref()
            .filter(|o| o.status == OutcomeStatus::Created)
    };
    // The newest of the batch's own messages from the account (an ingested one is a person's),
    // by thread.
    let mut ours: HashMap<i64, i64> = HashMap::new();
    for m in incoming
        .iter()
        .filter(|m| m.direction == Direction::Outbound)
    {
        if let Some((thread, id)) = created(m).and_then(|o| Some((o.thread_id?, o.id))) {
            let newest = ours.entry(thread).or_insert(id);
            *newest = (*newest).max(id);
        }
    }
    incoming
        .iter()
        .filter(|m| m.direction == Direction::Inbound)
        .filter_map(|m| {
            let outcome = created(m)?;
            let thread = outcome.thread_id?;
            let e = m.event;
            Some(Arrival {
                message: MessageId(outcome.id),
                thread: ThreadId(thread),
                answered_in_batch: fresh
                    .contains(&thread)
                    .then(|| ours.get(&thread).is_some_and(|&id| id > outcome.id)),
                channel: ChannelId(m.channel_id),
                external_id: &e.external_id,
                parent_external_id: e.parent_external_id.as_deref(),
                video: m.video_id,
                video_published_at: e.video.as_ref().and_then(|v| v.published_at),
                author: m.author_id,
                created_at: e.created_at,
                sample: Sample {
                    platform: e.platform,
                    channel: Some(m.channel_id),
                    channel_handle: &e.channel,
                    kind: e.kind,
                    text: &e.text,
                    username: e.author.username.as_deref(),
                    display_name: e.author.display_name.as_deref(),
                    is_reply: e.parent_external_id.is_some(),
                    first_message: false,
                    video_title: e.video.as_ref().and_then(|v| v.title.as_deref()),
                    video_url: e.video.as_ref().and_then(|v| v.url.as_deref()),
                    at: e.created_at,
                },
            })
        })
        .collect()
}

/// Video ids: from the cache when the stored row already says what the event says, else
/// written (created or updated) and learned.
async fn resolve_videos(
    tx: &mut Tx,
    cache: &RefCache,
    learned: &mut Learned,
    workspace: WorkspaceId,
    videos: &BTreeMap<Key, &VideoRef>,
    now: DateTime<Utc>,
) -> Result<HashMap<Key, i64>, sqlx::Error> {
    let (mut ids, write) = split_known(videos, |key, v| cache.video(key, video_print(v)));
    let written = upsert_videos(tx, workspace, &write, now).await?;
    learn_written(&mut ids, &mut learned.videos, written, &write, video_print);
    Ok(ids)
}

/// Contact ids, as [`resolve_videos`] does for videos.
async fn resolve_contacts(
    tx: &mut Tx,
    cache: &RefCache,
    learned: &mut Learned,
    workspace: WorkspaceId,
    contacts: &BTreeMap<Key, &AuthorRef>,
    now: DateTime<Utc>,
) -> Result<HashMap<Key, i64>, sqlx::Error> {
    let (mut ids, write) = split_known(contacts, |key, a| cache.contact(key, contact_print(a)));
    let written = upsert_contacts(tx, workspace, &write, now).await?;
    learn_written(
        &mut ids,
        &mut learned.contacts,
        written,
        &write,
        contact_print,
    );
    Ok(ids)
}

/// How much a video reference says (title, address, publication time).
fn video_details(v: &VideoRef) -> usize {
    usize::from(v.title.is_some())
        + usize::from(v.url.is_some())
        + usize::from(v.published_at.is_some())
}

fn author_details(a: &AuthorRef) -> usize {
    usize::from(a.username.is_some()) + usize::from(a.display_name.is_some())
}

/// Keeps one reference per key: the one that says the most (a later one when they say as
/// much), so that a reply naming its video by id alone never hides what its comment said.
fn merge_ref<'a, T>(
    map: &mut BTreeMap<Key, &'a T>,
    key: Key,
    value: &'a T,
    details: impl Fn(&T) -> usize,
) {
    match map.get(&key) {
        Some(existing) if details(existing) > details(value) => {}
        _ => {
            map.insert(key, value);
        }
    }
}
