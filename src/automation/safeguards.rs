//! The checks that keep automation from ever looking careless: each one that stops a rule is
//! recorded by name, so the page can say what held it back.

use chrono::{DateTime, Duration, Utc};

use super::book::Plan;
use crate::domain::{Kind, Mode};
use crate::ids::ChannelId;
use crate::storage::{Sql, Tx};

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

/// The first safeguard that stops `plan` from acting on `subject` at `due`, if any. Earlier
/// decisions in the same transaction count: they are rows already.
pub async fn check(
    tx: &mut Tx,
    plan: &Plan,
    subject: &Subject,
    answered: bool,
    due: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<Option<Stop>, sqlx::Error> {
    if !in_window(subject.kind, subject.created_at, due) {
        return Ok(Some(Stop::TooOld));
    }
    let replies = plan.replies();
    if replies && answered {
        return Ok(Some(Stop::Answered));
    }
    if plan.cooldown_hours > 0 {
        let since = now - Duration::hours(plan.cooldown_hours as i64);
        let mut sql = Sql::new("SELECT 1 FROM rule_runs WHERE rule_id = ");
        sql.bind(plan.id)
            .push(" AND author_id = ")
            .bind(subject.author);
        sql.push(" AND decided_at > ")
            .bind(since)
            .push(" AND outcome IN ")
            .push(LIVE)
            .push(" LIMIT 1");
        if tx.fetch_optional::<(i32,)>(sql).await?.is_some() {
            return Ok(Some(Stop::Cooldown));
        }
    }
    if let (true, true, Some(video)) = (replies, plan.once_per_video, subject.video) {
        let mut sql = Sql::new("SELECT 1 FROM rule_runs WHERE video_id = ");
        sql.bind(video)
            .push(" AND author_id = ")
            .bind(subject.author);
        sql.push(" AND reply_text IS NOT NULL AND outcome IN ")
            .push(LIVE)
            .push(" LIMIT 1");
        if tx.fetch_optional::<(i32,)>(sql).await?.is_some() {
            return Ok(Some(Stop::OncePerVideo));
        }
    }
    if plan.mode == Mode::Auto {
        let mut sql = Sql::new("SELECT COUNT(*) FROM rule_runs WHERE channel_id = ");
        sql.bind(subject.channel)
            .push(" AND decided_at > ")
            .bind(now - Duration::hours(1));
        sql.push(" AND mode = 'auto' AND outcome IN ('due', 'done')");
        let (count,): (i64,) = tx.fetch_optional(sql).await?.unwrap_or((0,));
        if count >= plan.max_per_hour as i64 {
            return Ok(Some(Stop::HourlyCap));
        }
    }
    Ok(None)
}

/// The last automated text this author got, and the last posted under this video: the next
/// one must differ from both.
pub async fn last_texts(
    tx: &mut Tx,
    author: i64,
    video: Option<i64>,
) -> Result<Vec<String>, sqlx::Error> {
    let mut texts = Vec::new();
    let column = |name: &str, id: i64| {
        let mut sql = Sql::new("SELECT reply_text FROM rule_runs WHERE ");
        sql.push(name).push(" = ").bind(id);
        sql.push(" AND reply_text IS NOT NULL AND outcome IN ")
            .push(LIVE)
            .push(" ORDER BY id DESC LIMIT 1");
        sql
    };
    let by_author = column("author_id", author);
    let by_video = video.map(|v| column("video_id", v));
    for sql in std::iter::once(by_author).chain(by_video) {
        if let Some((text,)) = tx.fetch_optional::<(String,)>(sql).await? {
            texts.push(text);
        }
    }
    Ok(texts)
}
