//! YouTube's Data API as far as unibox uses it: replies (`comments.insert`, 50 units) and the
//! replies listing (`comments.list`, 1 unit), with the daily quota of 10,000 units and
//! Google's error shape `{"error": {"code", "message", "errors": [{"reason", "domain"}]}}`.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{Value, json};

use super::world::World;
use super::{faulty, token};

pub fn routes() -> Router<Arc<World>> {
    Router::new()
        .route("/youtube/v3/comments", get(list).post(insert))
        .route("/youtube/v3/commentThreads", get(threads))
        .route("/youtube/v3/videos", get(videos))
        .route("/youtube/v3/channels", get(channels))
}

fn error(status: StatusCode, reason: &str, message: &str) -> Response {
    let body = json!({"error": {"code": status.as_u16(), "message": message,
                                "errors": [{"reason": reason, "domain": "youtube.comment", "message": message}]}});
    (status, Json(body)).into_response()
}

/// The token, with its quota paid, or YouTube's answer.
// The refusal is the answer itself, returned once per request: its size does not matter.
#[allow(clippy::result_large_err)]
fn authorised(world: &World, headers: &HeaderMap, units: i64) -> Result<String, Response> {
    match token(headers) {
        None => Err(error(
            StatusCode::UNAUTHORIZED,
            "authError",
            "Login Required.",
        )),
        Some(t) if world.is_revoked(&t) => Err(error(
            StatusCode::UNAUTHORIZED,
            "authError",
            "Invalid Credentials",
        )),
        Some(t) if !world.youtube_units(&t, units) => Err(error(
            StatusCode::FORBIDDEN,
            "quotaExceeded",
            "The request cannot be completed because you have exceeded your quota.",
        )),
        Some(t) => Ok(t),
    }
}

async fn insert(
    State(world): State<Arc<World>>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    faulty(
        &world,
        authorised(&world, &headers, 50),
        "youtube/comments.insert",
        move |w, token| {
            let Ok(v) = serde_json::from_slice::<Value>(&body) else {
                return error(StatusCode::BAD_REQUEST, "parseError", "Parse Error");
            };
            let parent = v["snippet"]["parentId"].as_str().unwrap_or_default();
            let text = v["snippet"]["textOriginal"].as_str().unwrap_or_default();
            if parent.is_empty() {
                return error(
                    StatusCode::BAD_REQUEST,
                    "invalidCommentMetadata",
                    "The request metadata is invalid.",
                );
            }
            if w.get(parent).is_some_and(|c| c.deleted) {
                return error(
                    StatusCode::NOT_FOUND,
                    "commentNotFound",
                    "The specified comment could not be found.",
                );
            }
            if text.chars().count() > 10_000 {
                return error(
                    StatusCode::BAD_REQUEST,
                    "commentTextTooLong",
                    "The comment is too long.",
                );
            }
            if w.is_flagged(token) {
                return error(
                    StatusCode::FORBIDDEN,
                    "forbidden",
                    "The comment was rejected as spam.",
                );
            }
            let made = w.take_effect("youtube", "reply", token, parent, Some(text), None);
            Json(json!({"kind": "youtube#comment", "id": made,
                    "snippet": {"parentId": parent, "textOriginal": text, "textDisplay": text,
                                "authorChannelId": {"value": w.account(token)}}}))
            .into_response()
        },
    )
    .await
}

async fn list(
    State(world): State<Arc<World>>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    faulty(&world, authorised(&world, &headers, 1), "youtube/comments.list", move |w, _| {
        let parent = q.get("parentId").cloned().unwrap_or_default();
        if w.get(&parent).is_some_and(|c| c.deleted) {
            return error(StatusCode::NOT_FOUND, "commentNotFound", "The specified comment could not be found.");
        }
        let items: Vec<Value> = w
            .children(&parent)
            .into_iter()
            .map(|c| json!({"kind": "youtube#comment", "id": c.id,
                            "snippet": {"parentId": parent, "textOriginal": c.text, "textDisplay": c.text,
                                        "authorChannelId": {"value": c.author_id},
                                        "publishedAt": chrono::DateTime::from_timestamp(c.created, 0)
                                            .unwrap_or_default().to_rfc3339()}}))
            .collect();
        Json(json!({"kind": "youtube#commentListResponse", "items": items})).into_response()
    })
    .await
}

fn comment(w: &World, c: &super::world::Item, video: &str, parent: Option<&str>) -> Value {
    // YouTube shows a person's @handle; one who set none has a generated one.
    let shown = w
        .person(&c.author_id)
        .and_then(|p| p.username)
        .unwrap_or_else(|| c.author_id.clone());
    let published = chrono::DateTime::from_timestamp(c.created, 0)
        .unwrap_or_default()
        .to_rfc3339();
    let mut snippet = json!({"videoId": video, "textOriginal": c.text, "textDisplay": c.text,
        "authorDisplayName": format!("@{shown}"), "authorChannelId": {"value": c.author_id},
        "publishedAt": published, "updatedAt": published, "canRate": true});
    if let Some(parent) = parent {
        snippet["parentId"] = json!(parent);
    }
    json!({"kind": "youtube#comment", "id": c.id, "snippet": snippet})
}

/// `commentThreads.list` for a channel's videos, newest first, 1 unit; `pageToken` is an offset.
async fn threads(
    State(world): State<Arc<World>>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    faulty(&world, authorised(&world, &headers, 1), "youtube/commentThreads.list", move |w, _| {
        let Some(channel) = q.get("allThreadsRelatedToChannelId").or(q.get("channelId")) else {
            return error(StatusCode::BAD_REQUEST, "missingRequiredParameter", "No filter selected.");
        };
        let max: usize = q.get("maxResults").and_then(|m| m.parse().ok()).unwrap_or(20).clamp(1, 100);
        let offset: usize = match q.get("pageToken") {
            None => 0,
            Some(t) => match t.strip_prefix("p").and_then(|n| n.parse().ok()) {
                Some(n) => n,
                None => return error(StatusCode::BAD_REQUEST, "invalidPageToken", "The page token is invalid."),
            },
        };
        let videos: Vec<String> = w.videos_of("youtube", channel).into_iter().map(|v| v.id).collect();
        let mut tops: Vec<super::world::Item> = videos
            .iter()
            .flat_map(|v| w.on_video("youtube", v))
            .filter(|c| c.parent.is_none())
            .collect();
        tops.sort_by_key(|c| std::cmp::Reverse(c.created));
        let items: Vec<Value> = tops
            .iter()
            .skip(offset)
            .take(max)
            .map(|top| {
                let video = top.video.clone().unwrap_or_default();
                let replies: Vec<Value> = w.children(&top.id).iter().take(5).map(|r| comment(w, r, &video, Some(&top.id))).collect();
                json!({"kind": "youtube#commentThread", "id": top.id,
                       "snippet": {"channelId": channel, "videoId": video, "topLevelComment": comment(w, top, &video, None),
                                   "canReply": true, "totalReplyCount": replies.len(), "isPublic": true},
                       "replies": {"comments": replies}})
            })
            .collect();
        let mut body = json!({"kind": "youtube#commentThreadListResponse", "items": items,
                              "pageInfo": {"totalResults": tops.len(), "resultsPerPage": max}});
        if offset + max < tops.len() {
            body["nextPageToken"] = json!(format!("p{}", offset + max));
        }
        Json(body).into_response()
    })
    .await
}

/// `videos.list?part=statistics`, 1 unit; counts are strings, as YouTube sends them.
async fn videos(
    State(world): State<Arc<World>>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    faulty(
        &world,
        authorised(&world, &headers, 1),
        "youtube/videos.list",
        move |w, _| {
            let ids = q.get("id").cloned().unwrap_or_default();
            let items: Vec<Value> = ids
                .split(',')
                .filter_map(|id| w.video("youtube", id))
                .map(|v| {
                    json!({"kind": "youtube#video", "id": v.id, "statistics": {
                "viewCount": v.views.to_string(), "likeCount": v.likes.to_string(),
                "favoriteCount": "0", "commentCount": v.comments.to_string()}})
                })
                .collect();
            Json(json!({"kind": "youtube#videoListResponse", "items": items})).into_response()
        },
    )
    .await
}

/// `channels.list?part=statistics`, 1 unit; with `mine=true`, the token's own channel (none
/// for a token the platform does not know: 401, as Google answers a made-up one).
async fn channels(
    State(world): State<Arc<World>>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    faulty(&world, authorised(&world, &headers, 1), "youtube/channels.list", move |w, token| {
        if q.get("mine").map(String::as_str) == Some("true") {
            let Some(id) = w.owner(token) else {
                return error(StatusCode::UNAUTHORIZED, "authError", "Invalid Credentials");
            };
            return Json(json!({"kind": "youtube#channelListResponse", "items": [{"kind": "youtube#channel", "id": id,
                "snippet": {"title": format!("Channel {id}")}}]}))
            .into_response();
        }
        let id = q.get("id").cloned().unwrap_or_default();
        let videos = w.videos_of("youtube", &id).len();
        Json(json!({"kind": "youtube#channelListResponse", "items": [{"kind": "youtube#channel", "id": id,
            "statistics": {"subscriberCount": w.followers(&id).to_string(), "videoCount": videos.to_string(),
                           "viewCount": "0", "hiddenSubscriberCount": false}}]}))
        .into_response()
    })
    .await
}
