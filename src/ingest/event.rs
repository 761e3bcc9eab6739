//! Events after validation: every field present, typed and within limits.

use chrono::{DateTime, Utc};

use crate::domain::{Direction, Kind, Platform};

#[derive(Debug, Clone)]
pub enum Event {
    Message(MessageEvent),
    VideoStats(VideoStatsEvent),
    ChannelStats(ChannelStatsEvent),
}

impl Event {
    pub fn channel(&self) -> (Platform, &str) {
        match self {
            Event::Message(e) => (e.platform, &e.channel),
            Event::VideoStats(e) => (e.platform, &e.channel),
            Event::ChannelStats(e) => (e.platform, &e.channel),
        }
    }
}

#[derive(Debug, Clone)]
pub struct MessageEvent {
    pub platform: Platform,
    pub channel: String,
    pub kind: Kind,
    pub external_id: String,
    pub parent_external_id: Option<String>,
    pub video: Option<VideoRef>,
    pub author: AuthorRef,
    /// For a DM the account itself sent: who it went to (the conversation's contact).
    pub recipient: Option<AuthorRef>,
    /// `None` when the event does not say; then the channel's own author id decides.
    pub direction: Option<Direction>,
    pub text: String,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone)]
pub struct VideoRef {
    pub external_id: String,
    pub title: Option<String>,
    pub url: Option<String>,
    pub published_at: Option<DateTime<Utc>>,
}

impl VideoRef {
    /// A video known by its id alone.
    pub fn id(external_id: impl Into<String>) -> VideoRef {
        VideoRef {
            external_id: external_id.into(),
            title: None,
            url: None,
            published_at: None,
        }
    }
}

#[derive(Debug, Clone)]
pub struct AuthorRef {
    pub external_id: String,
    pub username: Option<String>,
    pub display_name: Option<String>,
}

impl AuthorRef {
    /// An author known by its id alone.
    pub fn id(external_id: impl Into<String>) -> AuthorRef {
        AuthorRef {
            external_id: external_id.into(),
            username: None,
            display_name: None,
        }
    }

    /// What full-text search indexes for this author.
    pub fn search_name(&self) -> String {
        [self.display_name.as_deref(), self.username.as_deref()]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(" ")
    }
}

#[derive(Debug, Clone)]
pub struct VideoStatsEvent {
    pub platform: Platform,
    pub channel: String,
    pub video: VideoRef,
    pub views: i64,
    pub likes: i64,
    pub comments: i64,
    pub shares: i64,
    pub saves: Option<i64>,
    pub captured_at: DateTime<Utc>,
}

#[derive(Debug, Clone)]
pub struct ChannelStatsEvent {
    pub platform: Platform,
    pub channel: String,
    pub followers: i64,
    pub following: Option<i64>,
    pub likes: Option<i64>,
    pub posts: Option<i64>,
    pub captured_at: DateTime<Utc>,
}

impl ChannelStatsEvent {
    /// A snapshot of the follower count alone.
    pub fn followers(
        platform: Platform,
        channel: impl Into<String>,
        followers: i64,
        captured_at: DateTime<Utc>,
    ) -> ChannelStatsEvent {
        ChannelStatsEvent {
            platform,
            channel: channel.into(),
            followers,
            following: None,
            likes: None,
            posts: None,
            captured_at,
        }
    }
}
