//! Ids of channels, videos and contacts already stored, kept in memory so that a batch whose
//! references are all known (the usual case under load) skips those statements.
//!
//! Ids never change once a row exists, so a cached id stays right even with several unibox
//! instances on one database. A channel's own author id can change, and a channel can be
//! removed: channels are kept with the channels' count they were read at
//! ([`crate::live::ChannelsEpoch`], moved by every instance) and read again once it moved.
//! Entries are added only after the transaction that wrote them committed. Each map is
//! bounded: when full it is cleared and fills again from the database.

use std::collections::{BTreeMap, HashMap};
use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::{Arc, Mutex};

use super::event::{AuthorRef, VideoRef};
use super::resolved::{ChannelRef, Key};
use crate::domain::Platform;
use crate::ids::WorkspaceId;
use crate::live::{ChannelsEpoch, Live};

const MAX_VIDEOS: usize = 100_000;
const MAX_CONTACTS: usize = 200_000;
const MAX_CHANNELS: usize = 10_000;

/// What the ingest path keeps between batches: known ids, and each workspace's rules compiled.
pub struct Memory {
    pub refs: RefCache,
    pub rules: crate::automation::RuleBooks,
}

impl Memory {
    pub fn new(live: Arc<Live>) -> Memory {
        Memory {
            refs: RefCache {
                epoch: live.channels_epoch(),
                live,
                channels: Mutex::default(),
                videos: Mutex::default(),
                contacts: Mutex::default(),
            },
            rules: crate::automation::RuleBooks::default(),
        }
    }
}

type Channels = HashMap<(WorkspaceId, Platform, String), ChannelRef>;

pub struct RefCache {
    /// Told when a batch made a channel (other instances forget their channels).
    live: Arc<Live>,
    epoch: ChannelsEpoch,
    /// By workspace, platform and name: the same handle may be connected in two workspaces;
    /// with the channels' count they were read at.
    channels: Mutex<(u64, Channels)>,
    videos: Mutex<HashMap<Key, (i64, u64)>>,
    contacts: Mutex<HashMap<Key, (i64, u64)>>,
}

/// What of a video or contact an event would write; equal prints mean nothing to update.
pub fn video_print(v: &VideoRef) -> u64 {
    print(&(&v.title, &v.url, &v.published_at))
}

pub fn contact_print(a: &AuthorRef) -> u64 {
    print(&(&a.username, &a.display_name))
}

fn print(value: &impl Hash) -> u64 {
    let mut h = DefaultHasher::new();
    value.hash(&mut h);
    h.finish()
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn insert_bounded<K: Hash + Eq, V>(
    map: &mut HashMap<K, V>,
    max: usize,
    entries: impl IntoIterator<Item = (K, V)>,
) {
    for (k, v) in entries {
        if map.len() >= max {
            map.clear();
        }
        map.insert(k, v);
    }
}

fn known(map: &Mutex<HashMap<Key, (i64, u64)>>, key: &Key, print: u64, empty: u64) -> Option<i64> {
    lock(map)
        .get(key)
        .and_then(|&(id, p)| (p == print || print == empty).then_some(id))
}

/// Splits references into those the cache knows (with their ids) and those to write.
pub fn split_known<'a, T>(
    refs: &BTreeMap<Key, &'a T>,
    known: impl Fn(&Key, &T) -> Option<i64>,
) -> (HashMap<Key, i64>, BTreeMap<Key, &'a T>) {
    let mut ids = HashMap::with_capacity(refs.len());
    let mut write = BTreeMap::new();
    for (key, r) in refs {
        match known(key, r) {
            Some(id) => ids.insert(key.clone(), id),
            None => write.insert(key.clone(), *r).map(|_| 0),
        };
    }
    (ids, write)
}

/// Adds the ids of written references to `ids`, and to what the cache learns after commit.
pub fn learn_written<T>(
    ids: &mut HashMap<Key, i64>,
    learned: &mut Vec<(Key, (i64, u64))>,
    written: HashMap<Key, i64>,
    write: &BTreeMap<Key, &T>,
    print: impl Fn(&T) -> u64,
) {
    for (key, id) in written {
        learned.push((key.clone(), (id, print(write[&key]))));
        ids.insert(key, id);
    }
}

impl RefCache {
    /// What a batch starting now will learn, once it commits.
    pub fn learning(&self) -> Learned {
        Learned {
            epoch: self.epoch.get(),
            ..Learned::default()
        }
    }

    pub fn channel(
        &self,
        workspace: WorkspaceId,
        platform: Platform,
        name: &str,
    ) -> Option<ChannelRef> {
        let epoch = self.epoch.get();
        let mut channels = lock(&self.channels);
        if channels.0 != epoch {
            *channels = (epoch, HashMap::new());
        }
        channels
            .1
            .get(&(workspace, platform, name.to_owned()))
            .cloned()
    }

    /// The cached id when the stored row already holds what `print` describes (an event
    /// without details never needs a write either).
    pub fn video(&self, key: &Key, print: u64) -> Option<i64> {
        let empty = video_print(&VideoRef {
            external_id: String::new(),
            title: None,
            url: None,
            published_at: None,
        });
        known(&self.videos, key, print, empty)
    }

    pub fn contact(&self, key: &Key, print: u64) -> Option<i64> {
        let empty = contact_print(&AuthorRef {
            external_id: String::new(),
            username: None,
            display_name: None,
        });
        known(&self.contacts, key, print, empty)
    }

    /// Remembers what a committed batch wrote.
    pub fn remember(&self, learned: Learned) {
        if learned.made_channel {
            self.live.channels_changed();
        }
        {
            // Channels read before a channel changed may be out of date: not kept.
            let mut channels = lock(&self.channels);
            if channels.0 == learned.epoch && self.epoch.get() == learned.epoch {
                insert_bounded(&mut channels.1, MAX_CHANNELS, learned.channels);
            }
        }
        insert_bounded(&mut lock(&self.videos), MAX_VIDEOS, learned.videos);
        insert_bounded(&mut lock(&self.contacts), MAX_CONTACTS, learned.contacts);
    }
}

/// Rows a batch resolved, to cache once it commits.
#[derive(Default)]
pub struct Learned {
    /// The channels' count when the batch began.
    epoch: u64,
    /// Whether the batch made a channel (seen for the first time).
    pub made_channel: bool,
    pub channels: Vec<((WorkspaceId, Platform, String), ChannelRef)>,
    pub videos: Vec<(Key, (i64, u64))>,
    pub contacts: Vec<(Key, (i64, u64))>,
}
