//! What the inbox reads: threads with their channel, contact and video, and messages.

use crate::ids::UserId;
use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::domain::{Direction, Kind, Platform, Source, State, Status};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ThreadRow {
    pub id: i64,
    pub kind: Kind,
    pub platform: Platform,
    pub channel_id: i64,
    pub channel: String,
    pub status: Status,
    pub unread: bool,
    pub subject: String,
    pub preview: String,
    pub message_count: i64,
    pub last_message_at: DateTime<Utc>,
    pub last_inbound_at: Option<DateTime<Utc>>,
    pub video_id: Option<i64>,
    pub video_external_id: Option<String>,
    pub video_title: Option<String>,
    pub video_url: Option<String>,
    pub contact_id: Option<i64>,
    pub contact_external_id: Option<String>,
    pub contact_username: Option<String>,
    pub contact_display_name: Option<String>,
    pub assignee_id: Option<UserId>,
    pub assignee_email: Option<String>,
}

/// The columns of [`ThreadRow`], for `SELECT … FROM threads t` with the joins of [`THREAD_FROM`].
pub const THREAD_COLUMNS: &str = "t.id, t.kind, c.platform, t.channel_id, c.handle AS channel, t.status, t.unread, \
    t.subject, t.preview, t.message_count, t.last_message_at, t.last_inbound_at, \
    t.video_id, v.external_id AS video_external_id, v.title AS video_title, v.url AS video_url, \
    t.contact_id, ct.external_id AS contact_external_id, ct.username AS contact_username, \
    ct.display_name AS contact_display_name, t.assignee_id, au.email AS assignee_email";

pub const THREAD_FROM: &str = " FROM threads t JOIN channels c ON c.id = t.channel_id \
    LEFT JOIN contacts ct ON ct.id = t.contact_id LEFT JOIN videos v ON v.id = t.video_id \
    LEFT JOIN users au ON au.id = t.assignee_id";

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[schema(as = Contact)]
pub struct ContactView {
    pub id: i64,
    pub external_id: String,
    pub username: Option<String>,
    pub display_name: Option<String>,
}

impl ContactView {
    /// How a person is named on screen: display name, else @username, else (nothing known
    /// of them yet, as for a DM's sender) the platform and the end of their id: "Instagram
    /// user …1234", never a bare number.
    pub fn name_on(&self, platform: Platform) -> String {
        match (&self.display_name, &self.username) {
            (Some(d), _) if !d.trim().is_empty() => d.clone(),
            (_, Some(u)) if !u.trim().is_empty() => format!("@{u}"),
            _ => {
                let chars: Vec<char> = self.external_id.chars().collect();
                let tail: String = chars[chars.len().saturating_sub(4)..].iter().collect();
                if chars.len() > 4 {
                    format!("{} user …{tail}", platform.label())
                } else {
                    format!("{} user {tail}", platform.label())
                }
            }
        }
    }
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[schema(as = Video)]
pub struct VideoView {
    pub id: i64,
    pub external_id: String,
    pub title: Option<String>,
    pub url: Option<String>,
}

/// A thread as the API returns it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[schema(as = Thread)]
pub struct ThreadView {
    pub id: i64,
    pub kind: Kind,
    pub platform: Platform,
    pub channel: String,
    pub channel_id: i64,
    pub status: Status,
    pub unread: bool,
    pub subject: String,
    pub preview: String,
    pub message_count: i64,
    pub last_message_at: DateTime<Utc>,
    pub last_inbound_at: Option<DateTime<Utc>>,
    pub labels: Vec<String>,
    pub contact: Option<ContactView>,
    pub video: Option<VideoView>,
    /// The member the thread is assigned to.
    pub assignee: Option<AssigneeView>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[schema(as = Assignee)]
pub struct AssigneeView {
    pub id: UserId,
    pub email: String,
}

impl ThreadView {
    pub fn new(row: ThreadRow, labels: Vec<String>) -> Self {
        let contact = match (row.contact_id, row.contact_external_id) {
            (Some(id), Some(external_id)) => Some(ContactView {
                id,
                external_id,
                username: row.contact_username,
                display_name: row.contact_display_name,
            }),
            _ => None,
        };
        let video = match (row.video_id, row.video_external_id) {
            (Some(id), Some(external_id)) => Some(VideoView {
                id,
                external_id,
                title: row.video_title,
                url: row.video_url,
            }),
            _ => None,
        };
        ThreadView {
            id: row.id,
            kind: row.kind,
            platform: row.platform,
            channel: row.channel,
            channel_id: row.channel_id,
            status: row.status,
            unread: row.unread,
            subject: row.subject,
            preview: row.preview,
            message_count: row.message_count,
            last_message_at: row.last_message_at,
            last_inbound_at: row.last_inbound_at,
            labels,
            contact,
            video,
            assignee: match (row.assignee_id, row.assignee_email) {
                (Some(id), Some(email)) => Some(AssigneeView { id, email }),
                _ => None,
            },
        }
    }
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct MessageRow {
    pub id: i64,
    pub external_id: Option<String>,
    pub parent_external_id: Option<String>,
    pub kind: Kind,
    pub direction: Direction,
    pub source: Source,
    pub rule_id: Option<i64>,
    /// Which of the rule's reply variants this is.
    pub rule_variant: Option<i64>,
    pub state: State,
    pub error: Option<String>,
    pub text: String,
    pub created_at: DateTime<Utc>,
    pub sent_at: Option<DateTime<Utc>>,
    pub author_id: Option<i64>,
    pub author_external_id: Option<String>,
    pub author_username: Option<String>,
    pub author_display_name: Option<String>,
}

/// A reply stored `failed` is read with its outbox row's word when the row ended (`dead`,
/// `expired`, `cancelled`): the thread, the outbox and the API name a state alike.
pub const MESSAGE_SELECT: &str = "SELECT m.id, m.external_id, m.parent_external_id, m.kind, m.direction, m.source, \
    m.rule_id, m.rule_variant, CASE WHEN m.state = 'failed' THEN COALESCE((SELECT o.state FROM outbox o \
    WHERE o.message_id = m.id AND o.action IN ('reply', 'private_reply', 'dm') \
    AND o.state IN ('dead', 'expired', 'cancelled')), 'failed') ELSE m.state END AS state, m.error, m.text, m.created_at, m.sent_at, m.author_id, \
    a.external_id AS author_external_id, a.username AS author_username, a.display_name AS author_display_name \
    FROM messages m LEFT JOIN contacts a ON a.id = m.author_id";

/// A message as the API returns it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[schema(as = Message)]
pub struct MessageView {
    pub id: i64,
    pub external_id: Option<String>,
    pub parent_external_id: Option<String>,
    pub kind: Kind,
    pub direction: Direction,
    pub source: Source,
    pub rule_id: Option<i64>,
    /// Which of the rule's reply variants this is.
    pub rule_variant: Option<i64>,
    pub state: State,
    pub error: Option<String>,
    pub text: String,
    pub author: Option<ContactView>,
    pub created_at: DateTime<Utc>,
    pub sent_at: Option<DateTime<Utc>>,
}

impl From<MessageRow> for MessageView {
    fn from(row: MessageRow) -> Self {
        let author = match (row.author_id, row.author_external_id) {
            (Some(id), Some(external_id)) => Some(ContactView {
                id,
                external_id,
                username: row.author_username,
                display_name: row.author_display_name,
            }),
            _ => None,
        };
        MessageView {
            id: row.id,
            external_id: row.external_id,
            parent_external_id: row.parent_external_id,
            kind: row.kind,
            direction: row.direction,
            source: row.source,
            rule_id: row.rule_id,
            rule_variant: row.rule_variant,
            state: row.state,
            error: row.error,
            text: row.text,
            author,
            created_at: row.created_at,
            sent_at: row.sent_at,
        }
    }
}
