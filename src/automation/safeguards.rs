//! The checks that keep automation from ever looking careless: each one that stops a rule is
//! recorded by name, so the page can say what held it back.

use chrono::{DateTime, Duration, Utc};

use crate::domain::Kind;
use crate::ids::ChannelId;

/// A comment older than this gets no automated answer (a back-fill after downtime is not a
/// conversation); private replies have the same window on Instagram and Facebook.
pub const COMMENT_WINDOW_DAYS: i64 = 7;
/// DMs may be answered by automation within a day of the person's message (the human-agent
/// tag is for people only).
pub const DM_WINDOW_HOURS: i64 = 24;

/// Outcomes that count as "this rule answered": waiting, done, or waiting for approval.
pub const LIVE: &str = "('due', 'done', 'approved', 'suggested')";

/// Why a rule did not act.
#[derive(Debug, Clone, PartialEq)]
pub enum Stop {
    /// The workspace paused all automation.
    Paused,
    /// The message is older than the platform's window when the action falls due.
    TooOld,
    /// Another rule already answers this message.
    Answered,
    /// This rule answered this author within its cool-down.
    Cooldown,
    /// This author already got an automated answer under this video.
    OncePerVideo,
    /// The channel had its hourly share of automated actions.
    HourlyCap,
    /// Every variant would repeat the last text to this author or under this video.
    WouldRepeat,
    /// Every variant is longer than the platform takes.
    TooLong,
    /// No variant could be written (a value it needs is missing).
    Unrenderable(String),
    /// A suggest rule has no reply this platform can take (a private reply on TikTok).
    NothingToSuggest,
}

impl Stop {
    pub fn reason(&self) -> String {
        match self {
            Stop::Paused => "paused".into(),
            Stop::TooOld => "too_old".into(),
            Stop::Answered => "answered".into(),
            Stop::Cooldown => "cooldown".into(),
            Stop::OncePerVideo => "once_per_video".into(),
            Stop::HourlyCap => "hourly_cap".into(),
            Stop::WouldRepeat => "would_repeat".into(),
            Stop::TooLong => "too_long".into(),
            Stop::Unrenderable(why) => format!("unrenderable: {why}"),
            Stop::NothingToSuggest => "nothing_to_suggest".into(),
        }
    }
}

/// Who and where a decision is about.
pub struct Subject {
    pub author: i64,
    pub channel: ChannelId,
    pub video: Option<i64>,
    pub kind: Kind,
    pub created_at: DateTime<Utc>,
}

/// Whether the message is still inside the platform's window at `at`.
pub fn in_window(kind: Kind, created_at: DateTime<Utc>, at: DateTime<Utc>) -> bool {
    let window = match kind {
        Kind::Comment => Duration::days(COMMENT_WINDOW_DAYS),
        Kind::Dm => Duration::hours(DM_WINDOW_HOURS),
    };
    at - created_at <= window
}
