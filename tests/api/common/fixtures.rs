//! Typed builders for the events tests send: say what matters to the test, take sensible
//! defaults for the rest. `FakeMessage::comment("c1").text("Price?").build()`.

use super::ts;
use serde_json::{Value, json};

pub const CHANNEL: &str = "acme_official";
pub const VIDEO: &str = "7377694258502880513";

/// A message event: a comment (by default on TikTok, under [`VIDEO`]) or a DM.
pub struct FakeMessage {
    platform: &'static str,
    channel: String,
    kind: &'static str,
    id: String,
    parent: Option<String>,
    video: Option<String>,
    author: String,
    text: String,
    created_at: String,
}

impl FakeMessage {
    /// A top-level comment with external id `id`, written by `author-{id}`.
    pub fn comment(id: &str) -> Self {
        FakeMessage {
            platform: "tiktok",
            channel: CHANNEL.to_owned(),
            kind: "comment",
            id: id.to_owned(),
            parent: None,
            video: Some(VIDEO.to_owned()),
            author: format!("author-{id}"),
            text: format!("comment {id}"),
            created_at: ts("10:00:00"),
        }
    }

    /// A DM from `author` on the Instagram account `acme.ig`.
    pub fn dm(id: &str, author: &str) -> Self {
        FakeMessage {
            platform: "instagram",
            channel: "acme.ig".to_owned(),
            kind: "dm",
            video: None,
            author: author.to_owned(),
            text: format!("dm {id}"),
            created_at: ts("11:00:00"),
            ..FakeMessage::comment(id)
        }
    }

    pub fn text(mut self, text: &str) -> Self {
        self.text = text.to_owned();
        self
    }

    pub fn reply_to(mut self, parent: &str) -> Self {
        self.parent = Some(parent.to_owned());
        self
    }

    pub fn by(mut self, author: &str) -> Self {
        self.author = author.to_owned();
        self
    }

    pub fn at(mut self, time: &str) -> Self {
        self.created_at = time.to_owned();
        self
    }

    pub fn on(mut self, platform: &'static str, channel: &str) -> Self {
        self.platform = platform;
        self.channel = channel.to_owned();
        self
    }

    pub fn video(mut self, video: &str) -> Self {
        self.video = Some(video.to_owned());
        self
    }

    pub fn build(self) -> Value {
        let mut event = json!({
            "type": "message", "platform": self.platform, "channel": self.channel,
            "kind": self.kind, "external_id": self.id, "text": self.text,
            "author": {"external_id": self.author, "username": format!("user_{}", self.author),
                       "display_name": format!("User {}", self.author)},
            "created_at": self.created_at,
        });
        if let Some(parent) = self.parent {
            event["parent_external_id"] = json!(parent);
        }
        if let Some(video) = self.video {
            event["video"] = json!({"external_id": video, "title": "Unboxing",
                "url": format!("https://www.tiktok.com/@acme/video/{video}")});
        }
        event
    }
}

/// A video statistics snapshot of [`VIDEO`] on [`CHANNEL`].
pub struct FakeVideoStats {
    video: String,
    views: i64,
    likes: i64,
    comments: i64,
    shares: i64,
    saves: i64,
    captured_at: String,
}

impl FakeVideoStats {
    pub fn new(views: i64) -> Self {
        FakeVideoStats {
            video: VIDEO.to_owned(),
            views,
            likes: 0,
            comments: 0,
            shares: 0,
            saves: 0,
            captured_at: ts("12:00:00"),
        }
    }

    pub fn video(mut self, video: &str) -> Self {
        self.video = video.to_owned();
        self
    }

    /// Likes, comments, shares and saves.
    pub fn engagement(mut self, likes: i64, comments: i64, shares: i64, saves: i64) -> Self {
        (self.likes, self.comments, self.shares, self.saves) = (likes, comments, shares, saves);
        self
    }

    pub fn at(mut self, time: &str) -> Self {
        self.captured_at = time.to_owned();
        self
    }

    pub fn build(self) -> Value {
        json!({
            "type": "video_stats", "platform": "tiktok", "channel": CHANNEL,
            "video": {"external_id": self.video},
            "views": self.views, "likes": self.likes, "comments": self.comments,
            "shares": self.shares, "saves": self.saves, "captured_at": self.captured_at,
        })
    }
}
