//! Ids of channels, videos and contacts already stored, kept in memory so that a batch whose
//! references are all known (the usual case under load) skips those statements.
//!
//! Ids never change once a row exists, so a cached id stays right even with several unibox
//! instances on one database. Entries are added only after the transaction that wrote them
//! committed. Each map is bounded: when full it is cleared and fills again from the database.

use std::collections::HashMap;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::Mutex;

use super::event::{AuthorRef, VideoRef};
use super::refs::{ChannelRef, Key};
use crate::domain::Platform;

const MAX_VIDEOS: usize = 100_000;
const MAX_CONTACTS: usize = 200_000;
const MAX_CHANNELS: usize = 10_000;

#[derive(Default)]
pub struct RefCache {
    channels: Mutex<HashMap<(Platform, String), ChannelRef>>,
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

impl RefCache {
    pub fn channel(&self, platform: Platform, name: &str) -> Option<ChannelRef> {
        lock(&self.channels)
            .get(&(platform, name.to_owned()))
            .cloned()
    }

    /// The cached id when the stored row already holds what `print` describes (an event
    /// without details, print of all-`None`, never needs a write either).
    pub fn video(&self, key: &Key, print: u64, empty: u64) -> Option<i64> {
        lock(&self.videos)
            .get(key)
            .and_then(|&(id, p)| (p == print || print == empty).then_some(id))
    }

    pub fn contact(&self, key: &Key, print: u64, empty: u64) -> Option<i64> {
        lock(&self.contacts)
            .get(key)
            .and_then(|&(id, p)| (p == print || print == empty).then_some(id))
    }

    /// Remembers what a committed batch wrote.
    pub fn remember(&self, learned: Learned) {
        insert_bounded(&mut lock(&self.channels), MAX_CHANNELS, learned.channels);
        insert_bounded(&mut lock(&self.videos), MAX_VIDEOS, learned.videos);
        insert_bounded(&mut lock(&self.contacts), MAX_CONTACTS, learned.contacts);
    }
}

/// Rows a batch resolved, to cache once it commits.
#[derive(Default)]
pub struct Learned {
    pub channels: Vec<((Platform, String), ChannelRef)>,
    pub videos: Vec<(Key, (i64, u64))>,
    pub contacts: Vec<(Key, (i64, u64))>,
}
