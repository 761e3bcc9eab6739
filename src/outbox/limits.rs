//! What this instance may send now, per connected account: a token bucket per account and
//! kind of call (Instagram private replies 750 an hour; TikTok 40 calls a minute per
//! endpoint), the platform's own `Retry-After` (nothing of that kind goes to that account
//! before it has passed), and a circuit breaker per account that stops calling a platform
//! that keeps failing, then lets one call through to see whether it is back.
//!
//! Kept in memory: each instance holds its own buckets. YouTube's daily units are counted in
//! the database instead (`quota.rs`), because they must survive restarts.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::claim::Held;
use super::window::Window;
use crate::connectors::calls::ReadBudget;
use crate::connectors::calls::{LONGEST_HOLD, Outcome};
use crate::connectors::profiles::PROFILE_READS;
use crate::domain::{Deed, Platform};

/// Failures in a row without a single success (timeouts, 5xx, refused connections) that open
/// a channel's breaker: a platform that is down, not one that fails now and then.
const BREAKER_FAILURES: u32 = 10;
const BREAKER_FIRST_OPEN: Duration = Duration::from_secs(10);
const BREAKER_LONGEST_OPEN: Duration = Duration::from_secs(600);
/// How long a "too many requests" without `Retry-After` holds a kind of call back.
const DEFAULT_BACKOFF: Duration = Duration::from_secs(60);

/// A budget: `capacity` calls, refilled evenly over `per`.
#[derive(Debug, Clone, Copy)]
pub struct Budget {
    pub capacity: f64,
    pub per: Duration,
}

/// TikTok's calls a minute per account and endpoint.
const TIKTOK_PER_MINUTE: usize = 40;
/// Profile look-ups of DM senders a minute per Meta account: Meta publishes no fixed number
/// (its Business Use Case limits scale with the account), so unibox keeps to a modest one.
const META_PROFILES_PER_MINUTE: usize = 30;

/// Reads a minute per account allowed on `endpoint` of `platform`; `None`: unmetered.
fn reads_per_minute(platform: Platform, endpoint: &str) -> Option<usize> {
    match platform {
        Platform::Tiktok => Some(TIKTOK_PER_MINUTE),
        Platform::Instagram | Platform::Facebook if endpoint == PROFILE_READS => {
            Some(META_PROFILES_PER_MINUTE)
        }
        _ => None,
    }
}

fn read_window(per_minute: usize) -> Window {
    Window::new(per_minute, Duration::from_secs(60))
}

/// The platform's published budget for a kind of call on one account, if it has one.
pub fn budget(platform: Platform, deed: Deed) -> Option<Budget> {
    let per_minute = |n: f64| Budget {
        capacity: n,
        per: Duration::from_secs(60),
    };
    match (platform, deed) {
        (Platform::Instagram, Deed::PrivateReply) => Some(Budget {
            capacity: 750.0,
            per: Duration::from_secs(3600),
        }),
        // The Send API: 100 calls a second on Instagram, 300 on Facebook.
        (Platform::Instagram, Deed::Dm) => Some(Budget {
            capacity: 100.0,
            per: Duration::from_secs(1),
        }),
        (Platform::Facebook, Deed::Dm | Deed::PrivateReply) => Some(Budget {
            capacity: 300.0,
            per: Duration::from_secs(1),
        }),
        (Platform::Tiktok, _) => Some(per_minute(TIKTOK_PER_MINUTE as f64)),
        _ => None,
    }
}

/// TikTok counts per endpoint; the others per kind of call.
fn endpoint(platform: Platform, deed: Deed) -> Deed {
    match (platform, deed) {
        (Platform::Tiktok, Deed::Unhide) => Deed::Hide,
        _ => deed,
    }
}

struct Bucket {
    budget: Budget,
    tokens: f64,
    at: Instant,
}

impl Bucket {
    fn refill(&mut self, now: Instant) {
        let rate = self.budget.capacity / self.budget.per.as_secs_f64();
        let gained = now.duration_since(self.at).as_secs_f64() * rate;
        self.tokens = (self.tokens + gained).min(self.budget.capacity);
        self.at = now;
    }

    /// One token, or how long until there is one.
    fn take(&mut self, now: Instant) -> Result<(), Duration> {
        self.refill(now);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            Ok(())
        } else {
            Err(self.wait())
        }
    }

    /// When the next token will be there.
    fn wait(&self) -> Duration {
        let rate = self.budget.capacity / self.budget.per.as_secs_f64();
        Duration::from_secs_f64(((1.0 - self.tokens) / rate).max(0.0))
    }
}

#[derive(Default)]
struct Breaker {
    failures: u32,
    opened: u32,
    open_until: Option<Instant>,
}

#[derive(Default)]
struct State {
    buckets: HashMap<(i64, Deed), Bucket>,
    /// Reads (listings, statistics) per account and endpoint, counted as TikTok counts.
    reads: HashMap<(i64, &'static str), Window>,
    /// "Not before": the platform's `Retry-After`, or an empty bucket.
    holds: HashMap<(i64, Deed), Instant>,
    breakers: HashMap<i64, Breaker>,
}

/// This instance's view of every account's budgets.
#[derive(Default)]
pub struct Limits {
    state: Mutex<State>,
}

/// What the channels page shows of an account's budgets.
#[derive(Debug, Clone, serde::Serialize)]
pub struct BudgetView {
    pub action: Deed,
    pub left: u64,
    pub capacity: u64,
    pub per_seconds: u64,
}

impl Limits {
    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// What must not be claimed now.
    pub fn held(&self, now: Instant) -> Vec<Held> {
        let mut s = self.state();
        s.holds.retain(|_, until| *until > now);
        let mut held: Vec<Held> = s
            .holds
            .keys()
            .map(|&(channel, deed)| Held {
                channel,
                deed: Some(deed),
            })
            .collect();
        for (&channel, b) in &s.breakers {
            // Open: nothing goes. Half-open (the time passed): one call goes, and holds the rest.
            if b.open_until.is_some_and(|t| t > now) {
                held.push(Held {
                    channel,
                    deed: None,
                });
            }
        }
        held
    }

    /// Whether calls of `deed` on `channel` are held back now (a platform's `Retry-After`, a
    /// spent budget), or its breaker is open or probing: then a reply is not handed to the
    /// dispatcher as it is queued, but waits for a claim like the rest.
    pub fn holds(&self, channel: i64, platform: Platform, deed: Deed, now: Instant) -> bool {
        let deed = endpoint(platform, deed);
        let s = self.state();
        s.holds
            .get(&(channel, deed))
            .is_some_and(|until| *until > now)
            || s.breakers
                .get(&channel)
                .is_some_and(|b| b.open_until.is_some())
    }

    /// Takes a token for a call of `deed` on `channel`, or says how long until one is there.
    pub fn take(
        &self,
        channel: i64,
        platform: Platform,
        deed: Deed,
        now: Instant,
    ) -> Result<(), Duration> {
        let deed = endpoint(platform, deed);
        let mut s = self.state();
        if let Some(until) = s.holds.get(&(channel, deed)).filter(|t| **t > now) {
            return Err(*until - now);
        }
        if let Some(b) = s.breakers.get_mut(&channel)
            && let Some(until) = b.open_until
        {
            if until > now {
                return Err(until - now);
            }
            // Half-open: this call is the probe; the others wait for its outcome.
            b.open_until = Some(now + BREAKER_FIRST_OPEN);
        }
        let Some(budget) = budget(platform, deed) else {
            return Ok(());
        };
        let bucket = s.buckets.entry((channel, deed)).or_insert(Bucket {
            budget,
            tokens: budget.capacity,
            at: now,
        });
        let taken = bucket.take(now);
        if let Err(wait) = taken {
            s.holds.insert((channel, deed), now + wait);
        }
        taken
    }

    /// Learns from a call's outcome: `Retry-After` holds that kind of call back, failures
    /// count towards the breaker, a success closes it.
    pub fn observe(
        &self,
        channel: i64,
        platform: Platform,
        deed: Deed,
        outcome: &Outcome,
        now: Instant,
    ) {
        let deed = endpoint(platform, deed);
        let mut s = self.state();
        match outcome {
            Outcome::Retry {
                limited: true,
                after,
                ..
            } => {
                let after = after.unwrap_or(DEFAULT_BACKOFF).min(LONGEST_HOLD);
                let until = now.checked_add(after).unwrap_or(now);
                let hold = s.holds.entry((channel, deed)).or_insert(until);
                *hold = (*hold).max(until);
                // The platform's count is the truth: our bucket is empty too.
                if let Some(b) = s.buckets.get_mut(&(channel, deed)) {
                    b.tokens = 0.0;
                    b.at = now;
                }
            }
            Outcome::Unknown { .. } | Outcome::Retry { .. } => {
                let b = s.breakers.entry(channel).or_default();
                b.failures += 1;
                if b.failures >= BREAKER_FAILURES {
                    let open = BREAKER_FIRST_OPEN
                        .saturating_mul(1 << b.opened.min(6))
                        .min(BREAKER_LONGEST_OPEN);
                    b.opened += 1;
                    b.failures = 0;
                    b.open_until = Some(now + open);
                    tracing::warn!(
                        channel,
                        seconds = open.as_secs(),
                        "platform keeps failing: the channel's breaker is open"
                    );
                }
            }
            Outcome::Done { .. } | Outcome::Refused { .. } => {
                s.breakers.remove(&channel);
            }
        }
    }

    /// How long until the first hold or open breaker ends, if any.
    pub fn next_release(&self, now: Instant) -> Option<Duration> {
        let s = self.state();
        let holds = s.holds.values().copied();
        let breakers = s.breakers.values().filter_map(|b| b.open_until);
        holds
            .chain(breakers)
            .filter(|t| *t > now)
            .map(|t| t - now)
            .min()
    }

    /// Whether `channel`'s breaker is open, and until when.
    pub fn breaker_open(&self, channel: i64, now: Instant) -> Option<Duration> {
        let s = self.state();
        s.breakers
            .get(&channel)
            .and_then(|b| b.open_until)
            .filter(|t| *t > now)
            .map(|t| t - now)
    }

    /// The budgets of `channel` on `platform` as this instance counts them now.
    pub fn budgets(&self, channel: i64, platform: Platform, now: Instant) -> Vec<BudgetView> {
        let mut s = self.state();
        Deed::ALL
            .iter()
            .filter(|d| endpoint(platform, **d) == **d)
            .filter_map(|&deed| {
                let budget = budget(platform, deed)?;
                let left = match s.buckets.get_mut(&(channel, deed)) {
                    Some(b) => {
                        b.refill(now);
                        b.tokens.floor() as u64
                    }
                    None => budget.capacity as u64,
                };
                Some(BudgetView {
                    action: deed,
                    left,
                    capacity: budget.capacity as u64,
                    per_seconds: budget.per.as_secs(),
                })
            })
            .collect()
    }
}

/// The read budgets, as the polls and the webhooks that fetch take them.
impl ReadBudget for Limits {
    /// Takes a call for a read of `endpoint` (TikTok: 40 in any minute per account and
    /// endpoint; Meta's profile look-ups: 30), leaving `reserve` calls for others (the polls leave some for webhooks), or
    /// says how long until one is there. Reads wait while the platform holds the account's
    /// calls back (`Retry-After` on anything).
    fn take_read(
        &self,
        channel: i64,
        platform: Platform,
        endpoint: &'static str,
        reserve: usize,
        now: Instant,
    ) -> Result<(), Duration> {
        let mut s = self.state();
        if let Some(wait) = s
            .holds
            .iter()
            .filter(|((c, _), until)| *c == channel && **until > now)
            .map(|(_, until)| *until - now)
            .max()
        {
            return Err(wait);
        }
        let Some(per_minute) = reads_per_minute(platform, endpoint) else {
            return Ok(());
        };
        s.reads
            .entry((channel, endpoint))
            .or_insert_with(|| read_window(per_minute))
            .take(reserve, now)
    }

    /// Learns from a read's outcome: the platform's "too many requests" counts the endpoint's
    /// minute as spent (until its `Retry-After`, else a minute), so no call goes before then.
    fn observe_read(&self, channel: i64, endpoint: &'static str, outcome: &Outcome, now: Instant) {
        if let Outcome::Retry {
            limited: true,
            after,
            ..
        } = outcome
        {
            // Only a metered endpoint has a window, made by the `take_read` before its call.
            if let Some(window) = self.state().reads.get_mut(&(channel, endpoint)) {
                window.fill_until(now + after.unwrap_or(DEFAULT_BACKOFF).min(LONGEST_HOLD));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bucket_runs_dry_and_refills() {
        let limits = Limits::default();
        let t0 = Instant::now();
        for _ in 0..40 {
            assert!(limits.take(1, Platform::Tiktok, Deed::Reply, t0).is_ok());
        }
        let wait = limits
            .take(1, Platform::Tiktok, Deed::Reply, t0)
            .unwrap_err();
        assert!((1.4..=1.6).contains(&wait.as_secs_f64()), "{wait:?}");
        // Another endpoint and another account have their own budgets.
        assert!(limits.take(1, Platform::Tiktok, Deed::Like, t0).is_ok());
        assert!(limits.take(2, Platform::Tiktok, Deed::Reply, t0).is_ok());
        assert!(
            limits
                .take(
                    1,
                    Platform::Tiktok,
                    Deed::Reply,
                    t0 + Duration::from_secs(2)
                )
                .is_ok()
        );
    }

    #[test]
    fn retry_after_holds_that_kind_of_call_back() {
        let limits = Limits::default();
        let t0 = Instant::now();
        let limited = Outcome::limited(Some(Duration::from_secs(3)), "slow down");
        limits.observe(7, Platform::Instagram, Deed::Reply, &limited, t0);
        assert_eq!(
            limits.held(t0),
            vec![Held {
                channel: 7,
                deed: Some(Deed::Reply)
            }]
        );
        assert!(
            limits
                .take(
                    7,
                    Platform::Instagram,
                    Deed::Reply,
                    t0 + Duration::from_secs(2)
                )
                .is_err()
        );
        assert!(
            limits
                .take(
                    7,
                    Platform::Instagram,
                    Deed::Reply,
                    t0 + Duration::from_secs(3)
                )
                .is_ok()
        );
    }

    #[test]
    fn the_breaker_opens_after_failures_and_probes() {
        let limits = Limits::default();
        let t0 = Instant::now();
        let failed = Outcome::Unknown {
            reason: "503".into(),
        };
        for _ in 0..BREAKER_FAILURES {
            limits.observe(3, Platform::Facebook, Deed::Reply, &failed, t0);
        }
        assert_eq!(limits.breaker_open(3, t0), Some(BREAKER_FIRST_OPEN));
        assert!(limits.take(3, Platform::Facebook, Deed::Reply, t0).is_err());
        let later = t0 + BREAKER_FIRST_OPEN;
        assert!(
            limits
                .take(3, Platform::Facebook, Deed::Reply, later)
                .is_ok(),
            "the probe goes"
        );
        assert!(
            limits
                .take(3, Platform::Facebook, Deed::Reply, later)
                .is_err(),
            "the rest wait for it"
        );
        limits.observe(
            3,
            Platform::Facebook,
            Deed::Reply,
            &Outcome::Done { platform_id: None },
            later,
        );
        assert_eq!(limits.breaker_open(3, later), None);
    }
}
