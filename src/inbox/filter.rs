//! The inbox's filters, shared by the page and the JSON API, parsed once from the query string.

use crate::ids::UserId;
use chrono::{DateTime, Utc};
use serde::Deserialize;

use super::error::InboxError;
use crate::domain::{Kind, Platform};
use crate::problem::Problem;

pub const DEFAULT_LIMIT: i64 = 50;
pub const MAX_LIMIT: i64 = 200;

/// Which threads by state. `Open` (the default view) includes unread ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum StatusFilter {
    #[default]
    Open,
    Unread,
    Done,
    All,
}

impl StatusFilter {
    pub fn as_str(self) -> &'static str {
        match self {
            StatusFilter::Open => "open",
            StatusFilter::Unread => "unread",
            StatusFilter::Done => "done",
            StatusFilter::All => "all",
        }
    }
}

/// The raw query string, as sent. Each field is a query parameter of `GET /api/v1/threads`.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct FilterParams {
    /// Full-text search: every word must match as a prefix.
    pub q: Option<String>,
    /// `open` (unread included), `unread`, `done` or `all`; the API's default is `all`.
    pub status: Option<String>,
    /// `tiktok`, `instagram`, `facebook`, `youtube` or `custom`.
    pub platform: Option<String>,
    /// A channel by its handle or platform id.
    pub channel: Option<String>,
    /// One channel by its id in unibox (`channel` names them by handle or platform id, which
    /// two platforms' accounts may share).
    pub channel_id: Option<String>,
    /// `comment` or `dm`.
    pub kind: Option<String>,
    /// Threads carrying this label.
    pub label: Option<String>,
    /// Comments on this video, by its id in unibox.
    pub video: Option<String>,
    /// `none`, `me` (signed-in users only) or a member's user id.
    pub assignee: Option<String>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// Threads per page, 1 to 200 (default 50).
    pub limit: Option<String>,
}

/// A position in the newest-first thread list: the last thread of the previous page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cursor {
    pub last_message_at: DateTime<Utc>,
    pub id: i64,
}

impl Cursor {
    pub fn encode(&self) -> String {
        format!("{}_{}", self.last_message_at.timestamp_micros(), self.id)
    }

    pub fn decode(s: &str) -> Option<Cursor> {
        let (micros, id) = s.split_once('_')?;
        let last_message_at = DateTime::from_timestamp_micros(micros.parse().ok()?)?;
        Some(Cursor {
            last_message_at,
            id: id.parse().ok()?,
        })
    }
}

#[derive(Debug, Clone, Default)]
pub struct ThreadFilter {
    pub q: Option<String>,
    pub status: StatusFilter,
    pub platform: Option<Platform>,
    pub channel: Option<String>,
    pub channel_id: Option<i64>,
    pub kind: Option<Kind>,
    pub label: Option<String>,
    pub video: Option<i64>,
    pub assignee: Option<AssigneeFilter>,
    pub cursor: Option<Cursor>,
    pub limit: i64,
}

/// Whose threads: nobody's, or one member's (`me` is resolved to the signed-in user).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AssigneeFilter {
    Nobody,
    User(UserId),
}

impl AssigneeFilter {
    /// The word the filter form uses for it.
    pub fn word(self, me: Option<UserId>) -> String {
        match self {
            AssigneeFilter::Nobody => "none".into(),
            AssigneeFilter::User(id) if Some(id) == me => "me".into(),
            AssigneeFilter::User(id) => id.to_string(),
        }
    }
}

fn blank_to_none(v: &Option<String>) -> Option<&str> {
    v.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

impl ThreadFilter {
    /// Parses the filters; `default_status` applies when none is given (the page shows open
    /// threads, the API everything). `me` is the signed-in user, if a user is asking.
    pub fn parse(
        p: &FilterParams,
        default_status: StatusFilter,
        me: Option<UserId>,
    ) -> Result<Self, InboxError> {
        let mut problems = Vec::new();
        let mut bad = |field: &str, message: String| problems.push(Problem::new(field, message));
        let status = match blank_to_none(&p.status) {
            None => default_status,
            Some("open") => StatusFilter::Open,
            Some("unread") => StatusFilter::Unread,
            Some("done") => StatusFilter::Done,
            Some("all") => StatusFilter::All,
            Some(_) => {
                bad("status", "must be one of: open, unread, done, all".into());
                default_status
            }
        };
        let platform =
            blank_to_none(&p.platform).and_then(|s| s.parse().map_err(|e| bad("platform", e)).ok());
        let kind = blank_to_none(&p.kind).and_then(|s| s.parse().map_err(|e| bad("kind", e)).ok());
        let video = blank_to_none(&p.video).and_then(|s| {
            s.parse()
                .map_err(|_| bad("video", "must be a video id (a whole number)".into()))
                .ok()
        });
        let channel_id = blank_to_none(&p.channel_id).and_then(|s| {
            s.parse()
                .map_err(|_| {
                    bad(
                        "channel_id",
                        "must be a channel's id (a whole number)".into(),
                    )
                })
                .ok()
        });
        let assignee = match blank_to_none(&p.assignee) {
            None => None,
            Some("none") => Some(AssigneeFilter::Nobody),
            Some("me") => match me {
                Some(id) => Some(AssigneeFilter::User(id)),
                None => {
                    bad(
                        "assignee",
                        "`me` needs a signed-in user; an API token can ask for a member's id"
                            .into(),
                    );
                    None
                }
            },
            Some(s) => match s.parse() {
                Ok(id) => Some(AssigneeFilter::User(UserId(id))),
                Err(_) => {
                    bad(
                        "assignee",
                        "must be `me`, `none` or a member's user id".into(),
                    );
                    None
                }
            },
        };
        let cursor = blank_to_none(&p.cursor).and_then(|s| {
            Cursor::decode(s)
                .ok_or(())
                .map_err(|()| {
                    bad(
                        "cursor",
                        "is not a cursor this server issued; start without one".into(),
                    )
                })
                .ok()
        });
        let limit = match blank_to_none(&p.limit) {
            None => DEFAULT_LIMIT,
            Some(s) => match s.parse::<i64>() {
                Ok(n) if (1..=MAX_LIMIT).contains(&n) => n,
                _ => {
                    bad(
                        "limit",
                        format!("must be a whole number from 1 to {MAX_LIMIT}"),
                    );
                    DEFAULT_LIMIT
                }
            },
        };
        let q = blank_to_none(&p.q).map(str::to_owned);
        if q.as_ref().is_some_and(|q| q.len() > 500) {
            bad("q", "is longer than 500 bytes".into());
        }
        if !problems.is_empty() {
            return Err(InboxError::Invalid(problems));
        }
        Ok(ThreadFilter {
            q,
            status,
            platform,
            channel: blank_to_none(&p.channel).map(str::to_owned),
            channel_id,
            kind,
            label: blank_to_none(&p.label).map(str::to_owned),
            video,
            assignee,
            cursor,
            limit,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursor_round_trips() {
        let c = Cursor {
            last_message_at: DateTime::from_timestamp_micros(1_764_000_000_123_456).unwrap(),
            id: 42,
        };
        assert_eq!(Cursor::decode(&c.encode()), Some(c));
        assert_eq!(Cursor::decode("nonsense"), None);
    }

    #[test]
    fn bad_values_are_all_reported() {
        let p = FilterParams {
            status: Some("later".into()),
            platform: Some("myspace".into()),
            limit: Some("0".into()),
            ..Default::default()
        };
        let Err(InboxError::Invalid(problems)) = ThreadFilter::parse(&p, StatusFilter::Open, None)
        else {
            panic!("refused with field problems");
        };
        let fields: Vec<_> = problems.iter().map(|p| p.field.as_str()).collect();
        assert_eq!(fields, ["status", "platform", "limit"]);
    }
}
