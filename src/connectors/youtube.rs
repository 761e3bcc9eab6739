//! YouTube coming in: there are no comment webhooks, so unibox polls `commentThreads` for the
//! channel, newest first, page by page; and reads `videos.list` and `channels.list` for the
//! statistics. Each call costs quota units, paid by the caller before it is made.

use serde_json::Value;

use super::calls::{Outcome, Platforms, id_of, read};
use super::youtube_send::refusal;
use crate::domain::{Direction, Kind, Platform};
use crate::ingest::{AuthorRef, ChannelStatsEvent, Event, MessageEvent, VideoRef, VideoStatsEvent};

/// One page of the channel's comment threads: ingest events, the newest and oldest times on
/// the page, and the next page's token.
pub struct ThreadsPage {
    pub events: Vec<Event>,
    pub published: Vec<chrono::DateTime<chrono::Utc>>,
    pub next: Option<String>,
}

async fn get(
    p: &Platforms,
    token: &str,
    path: &str,
    query: &[(&str, &str)],
) -> Result<Value, Outcome> {
    let request = p
        .http
        .get(format!("{}/{path}", p.youtube))
        .query(query)
        .bearer_auth(token);
    read(request, refusal).await
}

/// A page of comment threads on the channel `channel`'s videos, newest first.
pub async fn threads(
    p: &Platforms,
    token: &str,
    channel: &str,
    page: Option<&str>,
) -> Result<ThreadsPage, Outcome> {
    let mut query = vec![
        ("part", "snippet,replies"),
        ("allThreadsRelatedToChannelId", channel),
        ("maxResults", "100"),
        ("order", "time"),
        ("textFormat", "plainText"),
    ];
    if let Some(page) = page {
        query.push(("pageToken", page));
    }
    let body = get(p, token, "commentThreads", &query).await?;
    let mut events = Vec::new();
    let mut published = Vec::new();
    for thread in body["items"].as_array().into_iter().flatten() {
        let top = &thread["snippet"]["topLevelComment"];
        let video = thread["snippet"]["videoId"].as_str().unwrap_or_default();
        if let Some(e) = comment_event(top, channel, video, None) {
            published.extend(time_of(top));
            events.push(e);
        }
        let parent = id_of(&top["id"]);
        for reply in thread["replies"]["comments"]
            .as_array()
            .into_iter()
            .flatten()
        {
            if let Some(e) = comment_event(reply, channel, video, parent.as_deref()) {
                events.push(e);
            }
        }
    }
    Ok(ThreadsPage {
        events,
        published,
        next: body["nextPageToken"]
            .as_str()
            .filter(|t| !t.is_empty())
            .map(str::to_owned),
    })
}

fn time_of(comment: &Value) -> Option<chrono::DateTime<chrono::Utc>> {
    let raw = comment["snippet"]["publishedAt"].as_str()?;
    chrono::DateTime::parse_from_rfc3339(raw)
        .ok()
        .map(|t| t.with_timezone(&chrono::Utc))
}

fn comment_event(
    comment: &Value,
    channel: &str,
    video: &str,
    parent: Option<&str>,
) -> Option<Event> {
    let id = id_of(&comment["id"])?;
    let s = &comment["snippet"];
    let author = s["authorChannelId"]["value"]
        .as_str()
        .unwrap_or("unknown")
        .to_owned();
    let created = time_of(comment).unwrap_or_else(crate::clock::now);
    let text = s["textOriginal"].as_str().or(s["textDisplay"].as_str());
    Some(Event::Message(MessageEvent {
        platform: Platform::Youtube,
        channel: channel.to_owned(),
        kind: Kind::Comment,
        external_id: id,
        parent_external_id: parent.map(str::to_owned),
        video: Some(VideoRef::id(video)),
        // Our own replies are listed too: they are ours, never answered.
        direction: Some(Direction::ours(author == channel)),
        author: AuthorRef {
            display_name: Some(
                s["authorDisplayName"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
            ),
            ..AuthorRef::id(author)
        },
        recipient: None,
        text: text.unwrap_or_default().to_owned(),
        created_at: created,
    }))
}

/// YouTube gives counts as strings.
fn count(v: &Value) -> i64 {
    v.as_str()
        .and_then(|s| s.parse().ok())
        .or(v.as_i64())
        .unwrap_or(0)
}

/// Statistics snapshots of up to 50 videos (one call, one unit).
pub async fn video_stats(
    p: &Platforms,
    token: &str,
    channel: &str,
    videos: &[String],
) -> Result<Vec<Event>, Outcome> {
    let ids = videos.join(",");
    let body = get(p, token, "videos", &[("part", "statistics"), ("id", &ids)]).await?;
    let now = crate::clock::now();
    Ok(body["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|v| {
            let s = &v["statistics"];
            Some(Event::VideoStats(VideoStatsEvent {
                platform: Platform::Youtube,
                channel: channel.to_owned(),
                video: VideoRef::id(id_of(&v["id"])?),
                views: count(&s["viewCount"]),
                likes: count(&s["likeCount"]),
                comments: count(&s["commentCount"]),
                shares: 0,
                saves: None,
                captured_at: now,
            }))
        })
        .collect())
}

/// The channel's subscriber count as a snapshot (one unit).
pub async fn channel_stats(
    p: &Platforms,
    token: &str,
    channel: &str,
) -> Result<Option<Event>, Outcome> {
    let body = get(
        p,
        token,
        "channels",
        &[("part", "statistics"), ("id", channel)],
    )
    .await?;
    Ok(body["items"][0]["statistics"].as_object().map(|s| {
        let followers = count(&s["subscriberCount"]);
        let now = crate::clock::now();
        Event::ChannelStats(ChannelStatsEvent {
            posts: Some(count(&s["videoCount"])),
            ..ChannelStatsEvent::followers(Platform::Youtube, channel, followers, now)
        })
    }))
}
