//! Turns a request body into validated [`Event`]s, or every problem found in it.

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::batch::Batch;
use super::error::IngestError;
use super::event::{AuthorRef, ChannelStatsEvent, Event, MessageEvent, VideoRef, VideoStatsEvent};
use super::fields::{
    Fields, MAX_ID_CHARS, MAX_NAME_CHARS, MAX_TEXT_BYTES, MAX_URL_CHARS, is_web_url,
    message_conflict,
};
use crate::domain::{Direction, Kind, Platform};
use crate::problem::Problem;

/// Parses the body: one event object or an array of them. All or nothing.
pub fn parse_events(
    body: &[u8],
    max_events: usize,
    now: DateTime<Utc>,
) -> Result<Batch, IngestError> {
    let value: Value = crate::json::parse_keys_once(body)
        .map_err(|e| IngestError::Malformed(format!("the body is not valid JSON: {e}")))?;
    let items = match value {
        Value::Array(items) => items,
        Value::Object(_) => vec![value],
        _ => {
            return Err(IngestError::Malformed(
                "the body must be one event object or an array of event objects".into(),
            ));
        }
    };
    if items.is_empty() {
        return Err(IngestError::Malformed(
            "the batch is empty; send at least one event".into(),
        ));
    }
    if items.len() > max_events {
        return Err(IngestError::TooMany(format!(
            "the batch has {} events; the limit is {max_events} per request, split it",
            items.len()
        )));
    }
    let mut problems = Vec::new();
    let mut events = Vec::with_capacity(items.len());
    for (index, item) in items.iter().enumerate() {
        let Value::Object(obj) = item else {
            problems.push(Problem::at(index, "", "each event must be a JSON object"));
            continue;
        };
        let mut fields = Fields::new(obj, index, &mut problems);
        if let Some(event) = read_event(&mut fields, now) {
            events.push(event);
        }
    }
    if problems.is_empty() {
        Ok(Batch(events))
    } else {
        Err(IngestError::Invalid(problems))
    }
}

fn read_event(f: &mut Fields<'_>, now: DateTime<Utc>) -> Option<Event> {
    let kind = f.name("type", 32);
    let platform = f.word::<Platform>("platform");
    let platform = f.required("platform", platform);
    let channel = f.id("channel");
    let channel = f.required("channel", channel);
    match kind.as_deref() {
        Some("message") => read_message(f, platform, channel, now),
        Some("video_stats") => read_video_stats(f, platform, channel, now),
        Some("channel_stats") => read_channel_stats(f, platform, channel, now),
        Some(_) => {
            f.problem(
                "type",
                "must be one of: message, video_stats, channel_stats",
            );
            None
        }
        None => f.required("type", None),
    }
}

fn read_message(
    f: &mut Fields<'_>,
    platform: Option<Platform>,
    channel: Option<String>,
    now: DateTime<Utc>,
) -> Option<Event> {
    let kind = f.word::<Kind>("kind");
    let kind = f.required("kind", kind);
    let external_id = f.id("external_id");
    let external_id = f.required("external_id", external_id);
    let parent_external_id = f.id("parent_external_id");
    let video = f.object("video", read_video).flatten();
    let author = f.object("author", read_author).flatten();
    let author = f.required("author", author);
    let recipient = f.object("recipient", read_author).flatten();
    let direction = f.word::<Direction>("direction");
    let text = f.text("text", MAX_TEXT_BYTES);
    let text = f.required("text", text);
    let created_at = f.time("created_at", now);
    let conflict = message_conflict(
        kind,
        f.has("video"),
        external_id.as_deref(),
        parent_external_id.as_deref(),
        direction,
        recipient.is_some(),
    );
    if let Some((field, message)) = conflict {
        f.problem(field, message);
        return None;
    }
    Some(Event::Message(MessageEvent {
        platform: platform?,
        channel: channel?,
        kind: kind?,
        external_id: external_id?,
        parent_external_id,
        video,
        author: author?,
        recipient,
        direction,
        text: text?,
        created_at: created_at.unwrap_or(now),
    }))
}

fn read_video(f: &mut Fields<'_>) -> Option<VideoRef> {
    let external_id = f.id("external_id");
    let external_id = f.required("external_id", external_id);
    let title = f.text("title", MAX_NAME_CHARS * 4);
    let mut url = f.name("url", MAX_URL_CHARS);
    if url.as_deref().is_some_and(|u| !is_web_url(u)) {
        f.problem("url", "must be an http:// or https:// address");
        url = None;
    }
    let published_at = f.time("published_at", crate::clock::now());
    Some(VideoRef {
        external_id: external_id?,
        title,
        url,
        published_at,
    })
}

fn read_author(f: &mut Fields<'_>) -> Option<AuthorRef> {
    let external_id = f.id("external_id");
    let external_id = f.required("external_id", external_id);
    let username = f.name("username", MAX_ID_CHARS);
    let display_name = f.name("display_name", MAX_NAME_CHARS);
    Some(AuthorRef {
        external_id: external_id?,
        username,
        display_name,
    })
}

fn read_video_stats(
    f: &mut Fields<'_>,
    platform: Option<Platform>,
    channel: Option<String>,
    now: DateTime<Utc>,
) -> Option<Event> {
    let video = f.object("video", read_video).flatten();
    let video = f.required("video", video);
    let [views, likes, comments, shares] = ["views", "likes", "comments", "shares"].map(|name| {
        let n = f.count(name);
        f.required(name, n)
    });
    let saves = f.count("saves");
    let captured_at = f.time("captured_at", now);
    let captured_at = f.required("captured_at", captured_at);
    Some(Event::VideoStats(VideoStatsEvent {
        platform: platform?,
        channel: channel?,
        video: video?,
        views: views?,
        likes: likes?,
        comments: comments?,
        shares: shares?,
        saves,
        captured_at: captured_at?,
    }))
}

fn read_channel_stats(
    f: &mut Fields<'_>,
    platform: Option<Platform>,
    channel: Option<String>,
    now: DateTime<Utc>,
) -> Option<Event> {
    let followers = f.count("followers");
    let followers = f.required("followers", followers);
    let following = f.count("following");
    let likes = f.count("likes");
    let posts = f.count("posts");
    let captured_at = f.time("captured_at", now);
    let captured_at = f.required("captured_at", captured_at);
    Some(Event::ChannelStats(ChannelStatsEvent {
        platform: platform?,
        channel: channel?,
        followers: followers?,
        following,
        likes,
        posts,
        captured_at: captured_at?,
    }))
}
