//! Instagram and Facebook statistics: a post's insights (Instagram media) and the account's
//! follower count, as snapshots for the engagement module.

use serde_json::Value;

use super::calls::{Outcome, Platforms, read};
use super::meta_send::refusal;
use crate::domain::Platform;
use crate::ingest::{ChannelStatsEvent, Event, VideoRef, VideoStatsEvent};

async fn get(
    p: &Platforms,
    token: &str,
    path: &str,
    query: &[(&str, &str)],
) -> Result<Value, Outcome> {
    let request = p
        .http
        .get(format!("{}/{path}", p.meta))
        .query(query)
        .bearer_auth(token);
    read(request, |answer| refusal(None, answer)).await
}

/// An Instagram post's figures as a snapshot.
pub async fn media_stats(
    p: &Platforms,
    token: &str,
    account: &str,
    media: &str,
) -> Result<Option<Event>, Outcome> {
    let body = get(
        p,
        token,
        &format!("{media}/insights"),
        &[("metric", "views,likes,comments,shares,saved")],
    )
    .await?;
    let mut figures = std::collections::HashMap::new();
    for m in body["data"].as_array().into_iter().flatten() {
        if let (Some(name), Some(value)) = (m["name"].as_str(), m["values"][0]["value"].as_i64()) {
            figures.insert(name.to_owned(), value);
        }
    }
    if figures.is_empty() {
        return Ok(None);
    }
    let n = |k: &str| figures.get(k).copied().unwrap_or(0);
    Ok(Some(Event::VideoStats(VideoStatsEvent {
        platform: Platform::Instagram,
        channel: account.to_owned(),
        video: VideoRef::id(media),
        views: n("views"),
        likes: n("likes"),
        comments: n("comments"),
        shares: n("shares"),
        saves: Some(n("saved")),
        captured_at: crate::clock::now(),
    })))
}

/// The account's (or Page's) follower count as a snapshot.
pub async fn channel_stats(
    p: &Platforms,
    token: &str,
    platform: Platform,
    account: &str,
) -> Result<Option<Event>, Outcome> {
    let body = get(p, token, account, &[("fields", "followers_count")]).await?;
    Ok(body["followers_count"].as_i64().map(|followers| {
        let now = crate::clock::now();
        Event::ChannelStats(ChannelStatsEvent::followers(
            platform, account, followers, now,
        ))
    }))
}
