//! Calling the platforms: one HTTP client for every connector, what a call asks for (`Job`),
//! and what came of it (`Outcome`) — the difference between "it did not happen, try again",
//! "it will never happen" and "nobody knows" is what makes exactly-once sending possible.

use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

use crate::config::PlatformConfig;
use crate::domain::{Deed, Platform};

/// The platforms' base URLs and the client that calls them.
pub struct Platforms {
    pub(crate) http: reqwest::Client,
    pub(crate) meta: String,
    pub(crate) tiktok: String,
    pub(crate) youtube: String,
}

impl Platforms {
    /// A client whose calls give up after `timeout` (the outcome is then unknown).
    pub fn new(config: &PlatformConfig, timeout: Duration) -> Self {
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(5)))
            .user_agent(concat!("unibox/", env!("CARGO_PKG_VERSION")))
            .build()
            .expect("the HTTP client's settings are valid");
        let trim = |s: &str| s.trim_end_matches('/').to_owned();
        Platforms {
            http,
            meta: trim(&config.meta_graph_url),
            tiktok: trim(&config.tiktok_api_url),
            youtube: trim(&config.youtube_api_url),
        }
    }
}

/// One thing to do on a platform, with the account that does it.
pub struct Job<'a> {
    pub platform: Platform,
    pub deed: Deed,
    /// The comment answered or moderated, or the person a DM goes to.
    pub target: &'a str,
    pub video: Option<&'a str>,
    pub text: Option<&'a str>,
    /// The connected account's own id on the platform (page, IG user, TikTok business, YouTube channel).
    pub account: &'a str,
    /// The id the account writes under, when it differs from `account`.
    pub own_author_id: Option<&'a str>,
    pub credentials: &'a Map<String, Value>,
}

impl Job<'_> {
    pub fn credential(&self, name: &str) -> Option<&str> {
        self.credentials.get(name).and_then(Value::as_str)
    }

    pub fn token(&self) -> Result<&str, Outcome> {
        self.credential("access_token")
            .ok_or_else(|| Outcome::Refused {
                why: Refusal::Token,
                reason: "the channel has no access_token; add it on the channels page".into(),
            })
    }

    pub fn text(&self) -> &str {
        self.text.unwrap_or_default()
    }

    /// Whether `author` is this account.
    pub fn is_us(&self, author: &str) -> bool {
        author == self.account || self.own_author_id == Some(author)
    }
}

/// Why a platform will never do what was asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// The comment or person is gone (deleted, private, unavailable).
    Gone,
    /// The platform's window for this closed (24 h for DMs, 7 days for private replies).
    Window,
    /// The access token expired or was revoked: nothing goes until it is replaced.
    Token,
    /// The platform flagged the account for spam or abuse: the rule that sent it pauses.
    Spam,
    /// Anything else the platform says will never work (too long, not allowed, bad request).
    Invalid,
}

/// What came of a call.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// Done; the platform's id of what it made (a reply), when it gives one.
    Done { platform_id: Option<String> },
    /// Certainly not done; may be tried again, not before `after` when the platform says so.
    Retry {
        after: Option<Duration>,
        reason: String,
        /// The platform said "too many requests": the account's budget for this is spent.
        limited: bool,
    },
    /// Perhaps done (a timeout, a dropped connection, a 5xx): reconcile before trying again.
    Unknown { reason: String },
    /// Never going to work.
    Refused { why: Refusal, reason: String },
}

impl Outcome {
    /// What went wrong, unless it was done.
    pub fn reason(&self) -> Option<&str> {
        match self {
            Outcome::Done { .. } => None,
            Outcome::Retry { reason, .. }
            | Outcome::Unknown { reason }
            | Outcome::Refused { reason, .. } => Some(reason),
        }
    }

    pub fn retry(reason: impl Into<String>) -> Self {
        Outcome::Retry {
            after: None,
            reason: reason.into(),
            limited: false,
        }
    }

    pub fn limited(after: Option<Duration>, reason: impl Into<String>) -> Self {
        Outcome::Retry {
            after,
            reason: reason.into(),
            limited: true,
        }
    }

    pub fn refused(why: Refusal, reason: impl Into<String>) -> Self {
        Outcome::Refused {
            why,
            reason: reason.into(),
        }
    }

    /// A read changes nothing on the platform: what would leave a write in doubt (a timeout,
    /// a 5xx) only means the read is worth trying again.
    pub fn for_read(self) -> Self {
        match self {
            Outcome::Unknown { reason } => Outcome::retry(reason),
            other => other,
        }
    }
}

/// A platform's answer, read whole.
pub struct Answer {
    pub status: u16,
    pub retry_after: Option<Duration>,
    pub body: Value,
}

/// Sends `request` and reads the answer; a failure to get one becomes its outcome: refused
/// connections certainly did nothing, anything later (a timeout, a dropped connection) may
/// have.
pub async fn call(request: reqwest::RequestBuilder) -> Result<Answer, Outcome> {
    let response = match request.send().await {
        Ok(r) => r,
        Err(e) if e.is_connect() => return Err(Outcome::retry(format!("cannot connect: {e}"))),
        Err(e) if e.is_builder() => {
            return Err(Outcome::refused(
                Refusal::Invalid,
                format!("bad request: {e}"),
            ));
        }
        Err(e) if e.is_timeout() => return Err(unknown("no answer in time")),
        Err(e) => return Err(unknown(&format!("the connection failed: {e}"))),
    };
    let status = response.status().as_u16();
    let retry_after = response
        .headers()
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| retry_after(v, crate::clock::now()));
    let bytes = match response.bytes().await {
        Ok(b) => b,
        Err(e) if status < 300 => {
            return Err(unknown(&format!("the answer broke off: {e}")));
        }
        Err(_) => Default::default(),
    };
    let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    Ok(Answer {
        status,
        retry_after,
        body,
    })
}

/// Sends a read (`GET`) and returns the answer's body, or what `refusal` (the platform's own
/// reading of its errors, shared with its sends) says of a failed one, as a read.
pub async fn read(
    request: reqwest::RequestBuilder,
    refusal: impl Fn(&Answer) -> Outcome,
) -> Result<Value, Outcome> {
    let answer = call(request).await.map_err(Outcome::for_read)?;
    if answer.status < 300 {
        return Ok(answer.body);
    }
    Err(refusal(&answer).for_read())
}

fn unknown(reason: &str) -> Outcome {
    Outcome::Unknown {
        reason: reason.to_owned(),
    }
}

/// The outcome of an answer no platform-specific rule explained: 429 waits, 5xx is unknown,
/// other 4xx are refusals.
pub fn by_status(answer: &Answer, reason: String) -> Outcome {
    match answer.status {
        429 => Outcome::limited(answer.retry_after, reason),
        401 => Outcome::refused(Refusal::Token, reason),
        404 | 410 => Outcome::refused(Refusal::Gone, reason),
        500.. => Outcome::Unknown { reason },
        _ => Outcome::refused(Refusal::Invalid, reason),
    }
}

/// The longest a platform's `Retry-After` holds anything back: a call is tried again after
/// an hour at most, and a platform that still wants a pause says so again.
pub const LONGEST_HOLD: Duration = Duration::from_secs(3600);

/// Reads `Retry-After`: seconds, or an HTTP date; never more than [`LONGEST_HOLD`].
pub fn retry_after(value: &str, now: DateTime<Utc>) -> Option<Duration> {
    let value = value.trim();
    let wait = if let Ok(seconds) = value.parse::<u64>() {
        Duration::from_secs(seconds)
    } else if value.len() > 2 && value.bytes().all(|b| b.is_ascii_digit()) {
        // More seconds than a u64 holds.
        LONGEST_HOLD
    } else {
        let at = DateTime::parse_from_rfc2822(value)
            .ok()?
            .with_timezone(&Utc);
        at.signed_duration_since(now).to_std().unwrap_or_default()
    };
    Some(wait.min(LONGEST_HOLD))
}

/// Whether a platform's creation time, read by `made`, is at or after `since`; an item
/// without one is not known to be ours.
pub fn made_since(made: Option<DateTime<Utc>>, since: DateTime<Utc>) -> bool {
    made.is_some_and(|t| t >= since)
}

/// A time as the platforms write it: RFC 3339, or Meta's `2026-11-24T10:00:00+0000`.
pub fn time_of(value: &Value) -> Option<DateTime<Utc>> {
    let text = value.as_str()?;
    DateTime::parse_from_rfc3339(text)
        .or_else(|_| DateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%z"))
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

/// A platform id from JSON, which may be a string or a number (TikTok's exceed 2^53: they are
/// read as integers, never through a float).
pub fn id_of(value: &Value) -> Option<String> {
    match value {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) if n.is_u64() || n.is_i64() => Some(n.to_string()),
        _ => None,
    }
}

/// The per-minute budgets of the platforms' read endpoints (kept by the outbox, whose sends
/// share them).
pub trait ReadBudget: Send + Sync {
    /// Takes a call of `endpoint` for `channel`, leaving `reserve` calls of the minute to
    /// others; else how long until one is free.
    fn take_read(
        &self,
        channel: i64,
        platform: Platform,
        endpoint: &'static str,
        reserve: usize,
        now: Instant,
    ) -> Result<(), Duration>;
    /// Learns from a call's outcome (a platform saying the budget is spent).
    fn observe_read(&self, channel: i64, endpoint: &'static str, outcome: &Outcome, now: Instant);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_reads_seconds_and_dates() {
        let now = DateTime::parse_from_rfc3339("2026-11-26T10:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(retry_after("7", now), Some(Duration::from_secs(7)));
        assert_eq!(
            retry_after("Thu, 26 Nov 2026 10:00:30 GMT", now),
            Some(Duration::from_secs(30))
        );
        assert_eq!(retry_after("soon", now), None);
    }

    #[test]
    fn retry_after_is_bounded_whatever_the_platform_says() {
        let now = DateTime::parse_from_rfc3339("2026-11-26T10:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        for huge in [
            "10000000000000",
            &u64::MAX.to_string(),
            "999999999999999999999999999",
            "Fri, 31 Dec 9999 23:59:59 GMT",
        ] {
            assert_eq!(retry_after(huge, now), Some(LONGEST_HOLD), "{huge}");
        }
        assert_eq!(
            retry_after("Mon, 01 Jan 1900 00:00:00 GMT", now),
            Some(Duration::ZERO)
        );
    }

    #[test]
    fn big_ids_stay_exact() {
        let v: Value = serde_json::from_str(r#"{"id": 7385350567722402578}"#).unwrap();
        assert_eq!(id_of(&v["id"]).as_deref(), Some("7385350567722402578"));
    }
}
