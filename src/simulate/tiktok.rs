//! TikTok's API for Business as far as unibox uses it: replies (150 characters), likes,
//! hiding, deleting, and the reply listing reconciliation reads. Every answer is an envelope
//! `{"code", "message", "request_id", "data"}`; ids are integers above 2^53.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{Value, json};

use super::world::World;
use super::{faulty, token};

const PREFIX: &str = "/tiktok/open_api/v1.3/business";

pub fn routes() -> Router<Arc<World>> {
    Router::new()
        .route(
            &format!("{PREFIX}/comment/reply/create/"),
            post(|s, h, b| write(s, h, b, "reply")),
        )
        .route(
            &format!("{PREFIX}/comment/like/"),
            post(|s, h, b| write(s, h, b, "like")),
        )
        .route(
            &format!("{PREFIX}/comment/hide/"),
            post(|s, h, b| write(s, h, b, "hide")),
        )
        .route(
            &format!("{PREFIX}/comment/delete/"),
            post(|s, h, b| write(s, h, b, "delete")),
        )
        .route(&format!("{PREFIX}/comment/reply/list/"), get(list_replies))
        .route(&format!("{PREFIX}/comment/list/"), get(list_comments))
        .route(&format!("{PREFIX}/video/list/"), get(list_videos))
        .route(&format!("{PREFIX}/get/"), get(account))
}

fn envelope(code: i64, message: &str, data: Value) -> Response {
    Json(json!({"code": code, "message": message, "request_id": "SIMULATED", "data": data}))
        .into_response()
}

/// The token, or TikTok's answer to a missing or revoked one.
// The refusal is the answer itself, returned once per request: its size does not matter.
#[allow(clippy::result_large_err)]
fn authorised(world: &World, headers: &HeaderMap, endpoint: &str) -> Result<String, Response> {
    match token(headers) {
        None => Err(envelope(
            40104,
            "Access token is null, please check.",
            json!({}),
        )),
        Some(t) if world.is_revoked(&t) => Err(envelope(
            40105,
            "Access token is incorrect or has been revoked.",
            json!({}),
        )),
        Some(t) if !world.tiktok_budget(&t, endpoint) => Err(envelope(
            40100,
            "Too many requests. Please retry in some time.",
            json!({}),
        )),
        Some(t) => Ok(t),
    }
}

/// A number as TikTok sends ids: a JSON integer (above 2^53), read here without a float.
fn big(id: &str) -> Value {
    id.parse::<u64>()
        .map(Value::from)
        .unwrap_or_else(|_| json!(id))
}

fn id_field(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) if n.is_u64() => Some(n.to_string()),
        _ => None,
    }
}

async fn write(
    State(world): State<Arc<World>>,
    headers: HeaderMap,
    body: axum::body::Bytes,
    action: &'static str,
) -> Response {
    faulty(
        &world,
        authorised(&world, &headers, action),
        &format!("tiktok/{action}"),
        move |w, token| {
            let Ok(v) = serde_json::from_slice::<Value>(&body) else {
                return envelope(40002, "Invalid JSON", json!({}));
            };
            let Some(comment) = id_field(&v["comment_id"]) else {
                return envelope(40002, "comment_id is required", json!({}));
            };
            if w.get(&comment).is_some_and(|c| c.deleted) {
                return envelope(
                    40006,
                    "The comment does not exist or has been deleted.",
                    json!({}),
                );
            }
            if w.is_flagged(token) {
                return envelope(
                    40010,
                    "Your account is restricted from commenting: too many similar comments (spam).",
                    json!({}),
                );
            }
            let action = match (action, v["action"].as_str()) {
                ("hide", Some("UNHIDE")) => "unhide",
                (a, _) => a,
            };
            let text = v["text"].as_str();
            if action == "reply" {
                let Some(text) = text.filter(|t| !t.trim().is_empty()) else {
                    return envelope(40002, "text is required", json!({}));
                };
                if text.chars().count() > 150 {
                    return envelope(40002, "text exceeds 150 characters", json!({}));
                }
            }
            let video = id_field(&v["video_id"]);
            let made = w.take_effect("tiktok", action, token, &comment, text, video.as_deref());
            match action {
                "hide" | "unhide" => {
                    w.update(&comment, |c| c.hidden = action == "hide");
                }
                "like" => {
                    w.update(&comment, |c| c.liked = true);
                }
                "delete" => {
                    w.update(&comment, |c| c.deleted = true);
                }
                _ => {}
            }
            let data = if action == "reply" {
                json!({"comment_id": big(&made), "video_id": v["video_id"], "text": text})
            } else {
                json!({})
            };
            envelope(0, "OK", data)
        },
    )
    .await
}

async fn list_replies(
    State(world): State<Arc<World>>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    faulty(&world, authorised(&world, &headers, "reply_list"), "tiktok/reply_list", move |w, token| {
        let comment = q.get("comment_id").cloned().unwrap_or_default();
        paged(&q, 30, &w.children(&comment), "comments", |c| {
            json!({"comment_id": big(&c.id), "video_id": c.video.as_deref().map(big), "user_id": c.author_id,
                   "text": c.text, "owner": c.by_token.as_deref() == Some(token),
                   "create_time": c.created, "status": if c.hidden { "HIDDEN" } else { "PUBLIC" },
                   "parent_comment_id": big(&comment)})
        })
    })
    .await
}

/// One page of `all` by TikTok's `cursor` and `max_count` (20 unless asked, at most `most`),
/// under `key`, with the next cursor.
fn paged<T>(
    q: &HashMap<String, String>,
    most: usize,
    all: &[T],
    key: &str,
    show: impl Fn(&T) -> Value,
) -> Response {
    let cursor: usize = q.get("cursor").and_then(|c| c.parse().ok()).unwrap_or(0);
    let max: usize = q
        .get("max_count")
        .and_then(|c| c.parse().ok())
        .unwrap_or(20)
        .clamp(1, most);
    let page: Vec<Value> = all.iter().skip(cursor).take(max).map(show).collect();
    let next = cursor + page.len();
    envelope(
        0,
        "OK",
        json!({key: page, "cursor": next, "has_more": next < all.len()}),
    )
}

/// A comment as `comment/list` shows it.
fn shown(world: &World, c: &super::world::Item, token: &str) -> Value {
    let person = world.person(&c.author_id).unwrap_or_default();
    let username = person
        .username
        .unwrap_or_else(|| format!("user_{}", c.author_id));
    let display_name = person
        .name
        .unwrap_or_else(|| format!("User {}", c.author_id));
    json!({"comment_id": big(&c.id), "video_id": c.video.as_deref().map(big), "user_id": c.author_id,
           "unique_identifier": username, "create_time": c.created, "text": c.text, "likes": 0,
           "replies": world.children(&c.id).len(), "owner": c.by_token.as_deref() == Some(token),
           "liked": c.liked, "pinned": false, "status": if c.hidden { "HIDDEN" } else { "PUBLIC" },
           "username": username, "display_name": display_name,
           "profile_image": "", "parent_comment_id": c.parent.as_deref().map_or(json!(0), big)})
}

async fn list_comments(
    State(world): State<Arc<World>>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    faulty(
        &world,
        authorised(&world, &headers, "comment_list"),
        "tiktok/comment_list",
        move |w, token| {
            let Some(video) = q.get("video_id").filter(|v| !v.is_empty()) else {
                return envelope(40002, "video_id is required", json!({}));
            };
            // `comment_ids` is a JSON array of integers.
            let wanted: Option<Vec<String>> = match q.get("comment_ids") {
                None => None,
                Some(raw) => match serde_json::from_str::<Vec<Value>>(raw) {
                    Ok(ids) => Some(ids.iter().filter_map(id_field).collect()),
                    Err(_) => {
                        return envelope(40002, "comment_ids must be a JSON array", json!({}));
                    }
                },
            };
            let all: Vec<_> = w
                .on_video("tiktok", video)
                .into_iter()
                .filter(|c| wanted.as_ref().is_none_or(|ids| ids.contains(&c.id)))
                .collect();
            paged(&q, 30, &all, "comments", |c| shown(w, c, token))
        },
    )
    .await
}

/// The account's videos with their figures, newest first.
async fn list_videos(
    State(world): State<Arc<World>>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    faulty(&world, authorised(&world, &headers, "video_list"), "tiktok/video_list", move |w, _| {
        let business = q.get("business_id").cloned().unwrap_or_default();
        paged(&q, 20, &w.videos_of("tiktok", &business), "videos", |v| {
            json!({"item_id": big(&v.id), "create_time": v.created, "caption": v.title,
                   "video_views": v.views, "likes": v.likes, "comments": v.comments, "shares": v.shares,
                   "favorites": v.saves, "reach": v.views})
        })
    })
    .await
}

/// The account's profile and figures, shown only to the account's own token.
async fn account(
    State(world): State<Arc<World>>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    faulty(
        &world,
        authorised(&world, &headers, "get"),
        "tiktok/get",
        move |w, token| {
            let business = q.get("business_id").cloned().unwrap_or_default();
            if w.owner(token).as_deref() != Some(business.as_str()) {
                return envelope(
                    40001,
                    "No permission to operate this business account: the access token does not belong to it.",
                    json!({}),
                );
            }
            envelope(
                0,
                "OK",
                json!({"username": format!("user{business}"), "display_name": format!("Account {business}"),
                       "followers_count": w.followers(&business),
                       "videos_count": w.videos_of("tiktok", &business).len()}),
            )
        },
    )
    .await
}
