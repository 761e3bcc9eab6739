//! TikTok's comments coming in: the `comment.update` webhook (whose `content` is JSON inside a
//! string, with ids above 2^53, and no text), the text fetched through `comment/list`, and
//! TikTok's comments turned into ingest events — for the webhook and for polling alike.

use serde_json::Value;

use super::calls::{Outcome, Platforms, call, id_of};
use super::tiktok_send::envelope;
use crate::domain::{Direction, Kind, Platform};
use crate::ingest::{AuthorRef, ChannelStatsEvent, Event, MessageEvent, VideoRef, VideoStatsEvent};
use crate::problem::Problem;

/// What a `comment.update` webhook says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    /// The account the comment is on (its open id).
    pub account: String,
    pub comment_id: String,
    pub video_id: String,
    pub parent_comment_id: Option<String>,
    pub action: CommentAction,
}

/// What happened to the comment a notice names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CommentAction {
    /// Written: the only one that brings something to store.
    Insert,
    Delete,
    SetToHidden,
    SetToFriendsOnly,
    SetToPublic,
    /// A word TikTok did not document: acknowledged, like any change.
    Other,
}

impl CommentAction {
    /// TikTok's word; a notice without one is an insert.
    fn read(word: Option<&str>) -> CommentAction {
        match word {
            None | Some("insert") => CommentAction::Insert,
            Some("delete") => CommentAction::Delete,
            Some("set_to_hidden") => CommentAction::SetToHidden,
            Some("set_to_friends_only") => CommentAction::SetToFriendsOnly,
            Some("set_to_public") => CommentAction::SetToPublic,
            Some(_) => CommentAction::Other,
        }
    }
}

/// Reads a webhook body; `Ok(None)` for events other than `comment.update`.
pub fn parse(body: &Value) -> Result<Option<Notice>, Vec<Problem>> {
    let mut problems = Vec::new();
    let event = body["event"].as_str().unwrap_or_default();
    if event.is_empty() {
        problems.push(Problem::new("event", "is missing"));
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    if event != "comment.update" {
        return Ok(None);
    }
    let account = body["user_openid"].as_str().unwrap_or_default().to_owned();
    if account.is_empty() {
        problems.push(Problem::new("user_openid", "is missing"));
    }
    // `content` is JSON in a string; its numbers exceed 2^53 and are read as integers.
    let content: Value = match &body["content"] {
        Value::String(s) => match crate::json::parse(s.as_bytes()) {
            Ok(v) => v,
            Err(e) => {
                problems.push(Problem::new("content", format!("is not JSON: {e}")));
                Value::Null
            }
        },
        Value::Object(_) => body["content"].clone(),
        _ => {
            problems.push(Problem::new(
                "content",
                "must be the event as a JSON string",
            ));
            Value::Null
        }
    };
    let comment_id = id_of(&content["comment_id"]);
    let video_id = id_of(&content["video_id"]);
    if !content.is_object() && problems.is_empty() {
        problems.push(Problem::new("content", "must hold a JSON object"));
    } else if content.is_object() {
        if comment_id.is_none() {
            problems.push(Problem::new("content.comment_id", "is missing"));
        }
        if video_id.is_none() {
            problems.push(Problem::new("content.video_id", "is missing"));
        }
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    Ok(Some(Notice {
        account,
        comment_id: comment_id.unwrap_or_default(),
        video_id: video_id.unwrap_or_default(),
        parent_comment_id: id_of(&content["parent_comment_id"]).filter(|p| p != "0"),
        action: CommentAction::read(content["comment_action"].as_str()),
    }))
}

/// One page of a video's comments through `comment/list` (those named in `ids`, or all of
/// them from `cursor`): the comments, and the next cursor when there are more.
pub async fn list_comments(
    p: &Platforms,
    token: &str,
    business: &str,
    video: &str,
    ids: &[&str],
    cursor: u64,
) -> Result<(Vec<Value>, Option<u64>), Outcome> {
    let mut query = vec![
        ("business_id", business.to_owned()),
        ("video_id", video.to_owned()),
        ("cursor", cursor.to_string()),
        ("max_count", "30".to_owned()),
    ];
    if !ids.is_empty() {
        query.push(("comment_ids", format!("[{}]", ids.join(","))));
    }
    let data = envelope_get(p, token, "comment/list/", &query).await?;
    let comments = data["comments"].as_array().cloned().unwrap_or_default();
    let next = (data["has_more"].as_bool() == Some(true))
        .then(|| data["cursor"].as_u64())
        .flatten();
    Ok((comments, next))
}

/// A TikTok comment as an ingest event of the account `account` (`own`: the id it writes under).
pub fn event(comment: &Value, account: &str, own: Option<&str>) -> Option<Event> {
    let id = id_of(&comment["comment_id"])?;
    let video = id_of(&comment["video_id"])?;
    let author = id_of(&comment["user_id"]).or_else(|| id_of(&comment["unique_identifier"]))?;
    let ours = comment["owner"].as_bool() == Some(true)
        || author == account
        || own == Some(author.as_str());
    let created = comment["create_time"]
        .as_i64()
        .and_then(|t| chrono::DateTime::from_timestamp(t, 0))
        .unwrap_or_else(crate::clock::now);
    let named = |field: &str| {
        comment[field]
            .as_str()
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
    };
    Some(Event::Message(MessageEvent {
        platform: Platform::Tiktok,
        channel: account.to_owned(),
        kind: Kind::Comment,
        parent_external_id: id_of(&comment["parent_comment_id"]).filter(|p| p != "0" && *p != id),
        external_id: id,
        video: Some(VideoRef::id(video)),
        author: AuthorRef {
            external_id: author,
            username: named("username"),
            display_name: named("display_name"),
        },
        recipient: None,
        direction: Some(Direction::ours(ours)),
        text: comment["text"].as_str().unwrap_or_default().to_owned(),
        created_at: created,
    }))
}

/// A GET of the API for Business: the answer's data, or what its code means.
async fn envelope_get(
    p: &Platforms,
    token: &str,
    path: &str,
    query: &[(&str, String)],
) -> Result<Value, Outcome> {
    let request = p
        .http
        .get(format!("{}/business/{path}", p.tiktok))
        .header("Access-Token", token)
        .query(query);
    let answer = call(request).await?;
    envelope(&answer).cloned()
}

/// One page of the account's videos with their figures, as statistics snapshots (TikTok's
/// figures lag a day or two; each snapshot is kept as captured), and the next cursor.
pub async fn video_stats(
    p: &Platforms,
    token: &str,
    business: &str,
    account: &str,
    cursor: u64,
) -> Result<(Vec<Event>, Option<u64>), Outcome> {
    let fields = r#"["item_id","create_time","caption","video_views","likes","comments","shares","favorites","reach"]"#;
    let data = envelope_get(
        p,
        token,
        "video/list/",
        &[
            ("business_id", business.to_owned()),
            ("fields", fields.to_owned()),
            ("cursor", cursor.to_string()),
            ("max_count", "20".to_owned()),
        ],
    )
    .await?;
    let now = crate::clock::now();
    let events = data["videos"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|v| {
            let title = v["caption"].as_str().filter(|c| !c.is_empty());
            let video = VideoRef {
                title: title.map(|c| c.chars().take(200).collect()),
                published_at: v["create_time"]
                    .as_i64()
                    .and_then(|t| chrono::DateTime::from_timestamp(t, 0)),
                ..VideoRef::id(id_of(&v["item_id"])?)
            };
            let n = |k: &str| v[k].as_i64().unwrap_or(0);
            Some(Event::VideoStats(VideoStatsEvent {
                platform: Platform::Tiktok,
                channel: account.to_owned(),
                video,
                views: n("video_views"),
                likes: n("likes"),
                comments: n("comments"),
                shares: n("shares"),
                saves: Some(n("favorites")),
                captured_at: now,
            }))
        })
        .collect();
    let next = (data["has_more"].as_bool() == Some(true))
        .then(|| data["cursor"].as_u64())
        .flatten();
    Ok((events, next))
}

/// The business account's profile (`fields`: a JSON list of names), which TikTok shows only
/// to that account's own token.
pub async fn account(
    p: &Platforms,
    token: &str,
    business: &str,
    fields: &str,
) -> Result<Value, Outcome> {
    let query = [
        ("business_id", business.to_owned()),
        ("fields", fields.to_owned()),
    ];
    envelope_get(p, token, "get/", &query)
        .await
        .map_err(Outcome::for_read)
}

/// The account's follower count as a snapshot.
pub async fn channel_stats(
    p: &Platforms,
    token: &str,
    business: &str,
    account: &str,
) -> Result<Option<Event>, Outcome> {
    let data = self::account(p, token, business, r#"["followers_count","videos_count"]"#).await?;
    Ok(data["followers_count"].as_i64().map(|followers| {
        let now = crate::clock::now();
        Event::ChannelStats(ChannelStatsEvent {
            posts: data["videos_count"].as_i64(),
            ..ChannelStatsEvent::followers(Platform::Tiktok, account, followers, now)
        })
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_webhook_content_is_parsed_twice_and_big_ids_stay_exact() {
        let body = json!({"client_key": "ck", "event": "comment.update", "create_time": 1_764_000_000,
            "user_openid": "act.example",
            "content": "{\"comment_id\":7385350567722402578,\"video_id\":7377694258502880513,\"parent_comment_id\":0,\"comment_type\":\"comment\",\"comment_action\":\"insert\",\"timestamp\":1764000000123,\"unique_identifier\":\"fan\"}"});
        let n = parse(&body).unwrap().unwrap();
        assert_eq!(n.comment_id, "7385350567722402578");
        assert_eq!(n.video_id, "7377694258502880513");
        assert_eq!(n.parent_comment_id, None);
        assert_eq!(n.action, CommentAction::Insert);
        assert_eq!(parse(&json!({"event": "video.publish"})).unwrap(), None);
        let bad =
            parse(&json!({"event": "comment.update", "user_openid": "a", "content": "{not json"}))
                .unwrap_err();
        assert_eq!(bad[0].field, "content");
        // JSON, but not an object: said, not read as a comment without ids.
        let bad = parse(&json!({"event": "comment.update", "user_openid": "a", "content": "123"}))
            .unwrap_err();
        assert_eq!(bad[0].field, "content");
    }
}
