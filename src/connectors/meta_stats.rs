//! Instagram and Facebook statistics: a post's insights (Instagram media) and the account's
//! follower count, as snapshots for the engagement module.

use serde_json::{Value, json};

use super::calls::{Outcome, Platforms, read};
use super::meta_send::refusal;
use crate::domain::Platform;

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
) -> Result<Option<Value>, Outcome> {
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
    Ok(Some(
        json!({"type": "video_stats", "platform": "instagram", "channel": account,
        "video": {"external_id": media}, "views": n("views"), "likes": n("likes"), "comments": n("comments"),
        "shares": n("shares"), "saves": n("saved"), "captured_at": crate::clock::now().to_rfc3339()}),
    ))
}

/// The account's (or Page's) follower count as a snapshot.
pub async fn channel_stats(
    p: &Platforms,
    token: &str,
    platform: Platform,
    account: &str,
) -> Result<Option<Value>, Outcome> {
    let body = get(p, token, account, &[("fields", "followers_count")]).await?;
    Ok(body["followers_count"].as_i64().map(|followers| {
        json!({"type": "channel_stats", "platform": platform.as_str(), "channel": account, "followers": followers,
               "captured_at": crate::clock::now().to_rfc3339()})
    }))
}
