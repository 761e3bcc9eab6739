//! The channels' past month, written at the demo's start through the ingest API with its real
//! dates: twenty videos per channel, their comments, daily statistics and follower counts. On
//! half the videos (drawn by the seed) the creator answered the comments, and those videos
//! engaged `1 + reply_effect` times as much after the first replies: the true effect the
//! engagement page's comparison estimates.

use chrono::{DateTime, Duration, Utc};
use serde_json::{Value, json};

use super::corpus::{self, Said};
use super::seed::{CHANNELS, Channel};
use crate::engagement::compare::Rng;
use crate::simulate::world::{Item, Video};

/// Days of history.
pub const DAYS: i64 = 30;
const VIDEOS_PER_CHANNEL: i64 = 20;
/// The creator's replies come in during a video's first half day.
const REPLIES_BY_DAYS: f64 = 0.5;

/// A video of the demo and how its audience behaves.
#[derive(Debug, Clone)]
pub struct DemoVideo {
    pub platform: &'static str,
    pub channel: &'static str,
    pub id: String,
    pub title: String,
    pub published: DateTime<Utc>,
    /// Product videos draw price questions and link requests.
    pub product: bool,
    /// The creator answered its comments (in the history).
    pub engaged: bool,
    /// This video's appeal: multiplies every engagement rate.
    pub appeal: f64,
    pub total_views: f64,
    /// Days until most views are in.
    pub tau_days: f64,
}

const TITLES: &[&str] = &[
    "Unboxing the new lamp",
    "Behind the scenes: glazing",
    "3 ways to style a shelf",
    "Studio tour 🏡",
    "How we pack your order",
    "Restock day!",
    "Q&A: your questions",
    "Colour of the month",
];

/// Normal(0, 1) by Box–Muller.
pub fn gauss(rng: &mut Rng) -> f64 {
    let (u, v) = (rng.unit(), rng.unit());
    (-2.0 * u.ln()).sqrt() * (2.0 * std::f64::consts::PI * v).cos()
}

fn video_id(platform: &str, n: i64) -> String {
    match platform {
        "tiktok" => (7_400_000_000_000_000_000_i64 + n).to_string(),
        "instagram" => (18_100_000_000_000_000_i64 + n).to_string(),
        _ => format!("vid{n:08}"),
    }
}

/// A new video of `channel` published at `published`, drawn from `rng`.
pub fn new_video(rng: &mut Rng, c: &Channel, n: i64, published: DateTime<Utc>) -> DemoVideo {
    DemoVideo {
        platform: c.platform,
        channel: c.id,
        id: video_id(c.platform, n),
        title: TITLES[(rng.draw() % TITLES.len() as u64) as usize].to_owned(),
        published,
        product: rng.unit() < 0.5,
        engaged: rng.unit() < 0.5,
        appeal: (0.2 * gauss(rng)).exp(),
        total_views: 4_000.0 * (0.6 * gauss(rng)).exp(),
        tau_days: 1.5 + 2.0 * rng.unit(),
    }
}

/// The history's videos: the same for the same seed and start.
pub fn videos(rng: &mut Rng, now: DateTime<Utc>) -> Vec<DemoVideo> {
    let mut all = Vec::new();
    for (k, c) in CHANNELS.iter().enumerate() {
        for i in 0..VIDEOS_PER_CHANNEL {
            let published = now - Duration::days(DAYS) + Duration::hours(36 * i);
            all.push(new_video(rng, c, 1000 * k as i64 + i, published));
        }
    }
    all
}

/// Likes, comments, shares and saves per view, before appeal and replies.
pub const RATES: [f64; 4] = [0.045, 0.004, 0.006, 0.005];

impl DemoVideo {
    fn views_at(&self, days: f64) -> f64 {
        self.total_views * (1.0 - (-days.max(0.0) / self.tau_days).exp())
    }

    /// Views, likes, comments, shares and saves `days` after publication, under `effect`.
    pub fn figures(&self, days: f64, effect: f64) -> [i64; 5] {
        let views = self.views_at(days);
        let early = self.views_at(days.min(REPLIES_BY_DAYS));
        let boost = if self.engaged { 1.0 + effect } else { 1.0 };
        let engaged_views = early + (views - early) * boost;
        let [l, c, sh, sv] = RATES.map(|r| (engaged_views * r * self.appeal).round() as i64);
        [views.round() as i64, l, c, sh, sv]
    }

    pub fn age_days(&self, now: DateTime<Utc>) -> f64 {
        (now - self.published).num_seconds() as f64 / 86_400.0
    }

    pub fn as_world(&self, now: DateTime<Utc>, effect: f64) -> Video {
        let [views, likes, comments, shares, saves] = self.figures(self.age_days(now), effect);
        Video {
            platform: self.platform.to_owned(),
            id: self.id.clone(),
            account: self.channel.to_owned(),
            title: self.title.clone(),
            views,
            likes,
            comments,
            shares,
            saves,
            created: self.published.timestamp(),
        }
    }

    fn reference(&self) -> Value {
        json!({"external_id": self.id, "title": self.title, "published_at": self.published})
    }
}

/// A comment event, and the item the platform holds for it.
pub fn comment(
    v: &DemoVideo,
    id: &str,
    author: u64,
    text: &str,
    parent: Option<&str>,
    at: DateTime<Utc>,
) -> (Value, Item) {
    let event = json!({"type": "message", "platform": v.platform, "channel": v.channel, "kind": "comment",
        "external_id": id, "parent_external_id": parent, "video": v.reference(),
        "author": author_as_shown(v.platform, author), "text": text, "created_at": at});
    let item = Item {
        id: id.to_owned(),
        platform: v.platform,
        by_token: None,
        author_id: format!("{author}"),
        parent: parent.map(str::to_owned),
        video: Some(v.id.clone()),
        text: text.to_owned(),
        hidden: false,
        liked: false,
        deleted: false,
        created: at.timestamp(),
    };
    (event, item)
}

/// Follower `n` as `platform`'s own answers name them (the simulator's comment lists, polls
/// and webhooks), so that history and live agree on who someone is.
pub fn author_as_shown(platform: &str, n: u64) -> Value {
    let p = corpus::person(n);
    let username = p.username.clone().unwrap_or_else(|| match platform {
        "tiktok" => format!("user_{n}"),
        _ => format!("user{n}"),
    });
    match platform {
        "youtube" => {
            json!({"external_id": p.id, "display_name": format!("@{}", p.username.unwrap_or(p.id.clone()))})
        }
        "tiktok" => json!({"external_id": p.id, "username": username,
                           "display_name": p.name.unwrap_or_else(|| format!("User {n}"))}),
        _ => json!({"external_id": p.id, "username": username}),
    }
}

/// Every event of the history (messages first, then statistics) and the comments the
/// platforms hold.
pub fn events(
    rng: &mut Rng,
    videos: &[DemoVideo],
    effect: f64,
    now: DateTime<Utc>,
    world: &crate::simulate::World,
) -> Vec<Value> {
    let mut messages = Vec::new();
    let mut stats = Vec::new();
    for v in videos {
        let comments = 4 + rng.draw() % 5;
        for _ in 0..comments {
            let at = v.published + Duration::minutes((rng.unit() * 3.0 * 1440.0) as i64);
            if at >= now {
                continue;
            }
            let said = corpus::draw(rng, v.product);
            let author = rng.draw() % 400;
            let id = world.id(v.platform);
            let (event, item) = comment(v, &id, author, corpus::text(rng, said), None, at);
            messages.push(event);
            world.add(item);
            let answer_at = at + Duration::minutes(30 + (rng.unit() * 240.0) as i64);
            if v.engaged && said != Said::Spam && answer_at < now {
                let reply = world.id(v.platform);
                messages.push(
                    json!({"type": "message", "platform": v.platform, "channel": v.channel,
                    "kind": "comment", "external_id": reply, "parent_external_id": id,
                    "video": v.reference(), "direction": "outbound",
                    "author": {"external_id": v.channel, "username": "lumen.studio"},
                    "text": "Thank you so much 💛", "created_at": answer_at}),
                );
            }
        }
        let mut day = 1;
        while v.published + Duration::days(day) <= now && day <= DAYS {
            let [views, likes, comments, shares, saves] = v.figures(day as f64, effect);
            stats.push(json!({"type": "video_stats", "platform": v.platform, "channel": v.channel,
                "video": v.reference(), "views": views, "likes": likes, "comments": comments,
                "shares": shares, "saves": saves, "captured_at": v.published + Duration::days(day)}));
            day += 1;
        }
    }
    for c in &CHANNELS {
        let base = c.followers;
        for day in (0..DAYS).rev() {
            stats.push(json!({"type": "channel_stats", "platform": c.platform, "channel": c.id,
                "followers": base - 40 * day, "captured_at": now - Duration::days(day) - Duration::hours(1)}));
        }
    }
    // A few DMs on Instagram in the last two days.
    let ig = &CHANNELS[1];
    for n in 0..8 {
        let author = 500 + n;
        let at = now - Duration::minutes(30 + (rng.unit() * 2.0 * 1440.0) as i64);
        messages.push(
            json!({"type": "message", "platform": "instagram", "channel": ig.id, "kind": "dm",
            "external_id": format!("m_demo_{n}_{}", rng.draw() % 1_000_000),
            "author": {"external_id": format!("{author}")},
            "text": corpus::dm(rng), "created_at": at}),
        );
    }
    messages.sort_by_key(|m| m["created_at"].as_str().map(str::to_owned));
    messages.extend(stats);
    messages
}
