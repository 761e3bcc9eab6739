//! The simulator's world: the comments and messages on each platform, every write that took
//! effect (what tests and the demo check), the faults it is told to make, and the promises it
//! made (`Retry-After`) with any call that broke one.

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::random;

/// How long after a 429 calls may still arrive that were sent before it was read.
const IN_FLIGHT: Duration = Duration::from_millis(100);

/// A comment or message the platform holds.
#[derive(Debug, Clone, Serialize)]
pub struct Item {
    pub id: String,
    pub platform: &'static str,
    /// The token of the account that wrote it, when it was written through the API.
    #[serde(skip)]
    pub by_token: Option<String>,
    pub author_id: String,
    pub parent: Option<String>,
    pub video: Option<String>,
    pub text: String,
    pub hidden: bool,
    pub liked: bool,
    pub deleted: bool,
    pub created: i64,
}

/// A person's profile: the handle and the name they chose. Authors without one show the
/// platforms' default names ("User 93", "@245"), as real accounts that set none do.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Person {
    pub id: String,
    pub username: Option<String>,
    pub name: Option<String>,
}

/// A video or post with its figures, and the account it belongs to.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Video {
    pub platform: String,
    pub id: String,
    pub account: String,
    #[serde(default)]
    pub title: String,
    #[serde(default)]
    pub views: i64,
    #[serde(default)]
    pub likes: i64,
    #[serde(default)]
    pub comments: i64,
    #[serde(default)]
    pub shares: i64,
    #[serde(default)]
    pub saves: i64,
    /// Unix seconds.
    #[serde(default)]
    pub created: i64,
}

/// A write that took effect: a reply, a DM, a like, hiding or deleting.
#[derive(Debug, Clone, Serialize)]
pub struct Write {
    pub id: String,
    pub platform: &'static str,
    pub action: String,
    pub target: String,
    pub text: Option<String>,
    /// Microseconds since the Unix epoch when it took effect.
    pub at_us: i64,
}

/// What the simulator is told to do wrong, each a share of requests (0 to 1).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Faults {
    /// Answered 500 without doing anything.
    pub error_rate: f64,
    /// Answered 429 with `Retry-After: retry_after_seconds`.
    pub rate_limit_rate: f64,
    /// Never answered (the caller times out), nothing done.
    pub timeout_rate: f64,
    /// Done, then never answered: the caller cannot know it went through.
    pub drop_rate: f64,
    pub retry_after_seconds: u64,
    /// Every answer waits this long first.
    pub slow_ms: u64,
    /// How long an unanswered request hangs (then the connection is closed).
    pub hang_ms: u64,
}

/// One request's fate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fate {
    Normal,
    Error,
    RateLimited(u64),
    Timeout,
    Drop,
}

#[derive(Default)]
struct Inner {
    items: HashMap<String, Item>,
    order: Vec<String>,
    writes: Vec<Write>,
    /// Per (account token, endpoint): no calls before this (a `Retry-After` given).
    promised: HashMap<(String, String), (Instant, Instant)>,
    violations: Vec<String>,
    revoked: HashSet<String>,
    flagged: HashSet<String>,
    /// Which account each access token belongs to.
    accounts: HashMap<String, String>,
    /// TikTok: calls per (token, endpoint) in the current minute.
    minute: HashMap<(String, String), (Instant, u32)>,
    /// YouTube: units per token today.
    units: HashMap<String, i64>,
    videos: Vec<Video>,
    followers: HashMap<String, i64>,
    /// The people behind author ids, as their profiles name them.
    people: HashMap<String, Person>,
    requests: u64,
    /// Requests per endpoint, as `fate` names them.
    requests_to: HashMap<String, u64>,
}

/// Everything the fake platforms share.
#[derive(Default)]
pub struct World {
    inner: Mutex<Inner>,
    faults: Mutex<Faults>,
    next_id: AtomicU64,
}

impl World {
    fn inner(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn set_faults(&self, faults: Faults) {
        *self.faults.lock().unwrap_or_else(|e| e.into_inner()) = faults;
    }

    pub fn faults(&self) -> Faults {
        self.faults
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// A fresh id: TikTok's are above 2^53, like the real ones.
    pub fn id(&self, platform: &str) -> String {
        let n = self.next_id.fetch_add(1, Ordering::Relaxed) + 1;
        match platform {
            "tiktok" => (7_300_000_000_000_000_000_u64 + n).to_string(),
            "youtube" => format!("Ugz{n:08}sim"),
            _ => format!("{}{n}", 17_900_000_000_000_000_u64),
        }
    }

    /// Ids from here on are at least `n` (a restarted demo must not reuse the ids an earlier
    /// run stored).
    pub fn skip_ids_to(&self, n: u64) {
        self.next_id.fetch_max(n, Ordering::Relaxed);
    }

    /// Draws the fate of a request to `endpoint` by `token`, and checks it keeps the
    /// platform's `Retry-After`: an early call is recorded as a violation and refused again.
    pub fn fate(&self, token: &str, endpoint: &str) -> Fate {
        let f = self.faults();
        let mut inner = self.inner();
        inner.requests += 1;
        *inner.requests_to.entry(endpoint.to_owned()).or_default() += 1;
        let key = (token.to_owned(), endpoint.to_owned());
        let now = Instant::now();
        if let Some((told, until)) = inner.promised.get(&key).copied() {
            if until > now {
                let early = until - now;
                // Calls already under way when the 429 went out are not the caller's fault.
                if now.duration_since(told) > IN_FLIGHT {
                    inner.violations.push(format!(
                        "{endpoint} called {} ms before its Retry-After ran out",
                        early.as_millis()
                    ));
                }
                return Fate::RateLimited(early.as_secs().max(1));
            }
            inner.promised.remove(&key);
        }
        let r = random::between(0, 1_000_000) as f64 / 1_000_000.0;
        let mut edge = f.error_rate;
        if r < edge {
            return Fate::Error;
        }
        edge += f.rate_limit_rate;
        if r < edge {
            let seconds = f.retry_after_seconds.max(1);
            // A wait too long for the clock is never over.
            let until = now
                .checked_add(Duration::from_secs(seconds))
                .unwrap_or(now + Duration::from_secs(1 << 40));
            inner.promised.insert(key, (now, until));
            return Fate::RateLimited(seconds);
        }
        edge += f.timeout_rate;
        if r < edge {
            return Fate::Timeout;
        }
        edge += f.drop_rate;
        if r < edge {
            return Fate::Drop;
        }
        Fate::Normal
    }

    /// Counts a TikTok call against 40 a minute per account and endpoint; false when over.
    pub fn tiktok_budget(&self, token: &str, endpoint: &str) -> bool {
        let mut inner = self.inner();
        let now = Instant::now();
        let slot = inner
            .minute
            .entry((token.to_owned(), endpoint.to_owned()))
            .or_insert((now, 0));
        if now.duration_since(slot.0) >= Duration::from_secs(60) {
            *slot = (now, 0);
        }
        slot.1 += 1;
        slot.1 <= 40
    }

    /// Spends YouTube units of `token`; false (nothing spent) past 10,000 a day.
    pub fn youtube_units(&self, token: &str, units: i64) -> bool {
        let mut inner = self.inner();
        let spent = inner.units.entry(token.to_owned()).or_default();
        if *spent + units > 10_000 {
            return false;
        }
        *spent += units;
        true
    }

    /// Says which account `token` belongs to (what the platform knows from its own records).
    pub fn register(&self, token: &str, account: &str) {
        self.inner()
            .accounts
            .insert(token.to_owned(), account.to_owned());
    }

    /// The account behind `token`, when the platform knows the token.
    pub fn owner(&self, token: &str) -> Option<String> {
        self.inner().accounts.get(token).cloned()
    }

    /// The account behind `token`.
    pub fn account(&self, token: &str) -> String {
        self.inner()
            .accounts
            .get(token)
            .cloned()
            .unwrap_or_else(|| "unregistered".into())
    }

    pub fn is_revoked(&self, token: &str) -> bool {
        self.inner().revoked.contains(token)
    }

    pub fn revoke(&self, token: &str) {
        self.inner().revoked.insert(token.to_owned());
    }

    /// The account's next writes draw a spam warning.
    pub fn flag(&self, token: &str) {
        self.inner().flagged.insert(token.to_owned());
    }

    pub fn is_flagged(&self, token: &str) -> bool {
        self.inner().flagged.contains(token)
    }

    pub fn add(&self, item: Item) {
        let mut inner = self.inner();
        inner.order.push(item.id.clone());
        inner.items.insert(item.id.clone(), item);
    }

    pub fn get(&self, id: &str) -> Option<Item> {
        self.inner().items.get(id).cloned()
    }

    pub fn update(&self, id: &str, change: impl FnOnce(&mut Item)) -> bool {
        match self.inner().items.get_mut(id) {
            Some(item) => {
                change(item);
                true
            }
            None => false,
        }
    }

    /// Items under `parent`, oldest first.
    pub fn children(&self, parent: &str) -> Vec<Item> {
        let inner = self.inner();
        inner
            .order
            .iter()
            .filter_map(|id| inner.items.get(id))
            .filter(|i| i.parent.as_deref() == Some(parent) && !i.deleted)
            .cloned()
            .collect()
    }

    /// Takes effect: `token`'s account does `action` on `target`; replies and messages become
    /// items under `target`. Returns the new item's id (or the target's).
    pub fn take_effect(
        &self,
        platform: &'static str,
        action: &str,
        token: &str,
        target: &str,
        text: Option<&str>,
        video: Option<&str>,
    ) -> String {
        let makes = matches!(action, "reply" | "private_reply" | "dm");
        let id = match action {
            // Message ids, as Meta's look.
            "private_reply" | "dm" => format!("m_{}", self.id(platform)),
            "reply" => self.id(platform),
            _ => target.to_owned(),
        };
        if makes {
            self.add(Item {
                id: id.clone(),
                platform,
                by_token: Some(token.to_owned()),
                author_id: self.account(token),
                parent: Some(target.to_owned()),
                video: video.map(str::to_owned),
                text: text.unwrap_or_default().to_owned(),
                hidden: false,
                liked: false,
                deleted: false,
                created: chrono::Utc::now().timestamp(),
            });
        }
        self.record(Write {
            id: id.clone(),
            platform,
            action: action.to_owned(),
            target: target.to_owned(),
            text: text.map(str::to_owned),
            at_us: now_us(),
        });
        id
    }

    /// The comments of `platform` under video `video`, oldest first.
    pub fn on_video(&self, platform: &str, video: &str) -> Vec<Item> {
        let inner = self.inner();
        inner
            .order
            .iter()
            .filter_map(|id| inner.items.get(id))
            .filter(|i| i.platform == platform && i.video.as_deref() == Some(video) && !i.deleted)
            .cloned()
            .collect()
    }

    /// Adds or replaces a video (by platform and id).
    pub fn set_video(&self, video: Video) {
        let mut inner = self.inner();
        inner
            .videos
            .retain(|v| !(v.platform == video.platform && v.id == video.id));
        inner.videos.push(video);
    }

    /// The videos of `account` on `platform`, newest first.
    pub fn videos_of(&self, platform: &str, account: &str) -> Vec<Video> {
        let mut videos: Vec<Video> = self
            .inner()
            .videos
            .iter()
            .filter(|v| v.platform == platform && v.account == account)
            .cloned()
            .collect();
        videos.sort_by_key(|v| std::cmp::Reverse(v.created));
        videos
    }

    pub fn video(&self, platform: &str, id: &str) -> Option<Video> {
        self.inner()
            .videos
            .iter()
            .find(|v| v.platform == platform && v.id == id)
            .cloned()
    }

    pub fn set_person(&self, person: Person) {
        self.inner().people.insert(person.id.clone(), person);
    }

    pub fn person(&self, id: &str) -> Option<Person> {
        self.inner().people.get(id).cloned()
    }

    pub fn set_followers(&self, account: &str, n: i64) {
        self.inner().followers.insert(account.to_owned(), n);
    }

    pub fn followers(&self, account: &str) -> i64 {
        self.inner().followers.get(account).copied().unwrap_or(0)
    }

    pub fn record(&self, write: Write) {
        self.inner().writes.push(write);
    }

    pub fn writes(&self) -> Vec<Write> {
        self.inner().writes.clone()
    }

    pub fn violations(&self) -> Vec<String> {
        self.inner().violations.clone()
    }

    /// Requests made to `endpoint` (e.g. `meta/profile`), whatever their fate.
    pub fn requests_to(&self, endpoint: &str) -> u64 {
        self.inner().requests_to.get(endpoint).copied().unwrap_or(0)
    }

    pub fn requests(&self) -> u64 {
        self.inner().requests
    }
}

/// Now, in Unix microseconds.
pub fn now_us() -> i64 {
    chrono::Utc::now().timestamp_micros()
}
