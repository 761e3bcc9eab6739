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
    Router::new().route("/youtube/v3/comments", get(list).post(insert))
}

fn error(status: StatusCode, reason: &str, message: &str) -> Response {
    let body = json!({"error": {"code": status.as_u16(), "message": message,
                                "errors": [{"reason": reason, "domain": "youtube.comment", "message": message}]}});
    (status, Json(body)).into_response()
}

/// The token, with its quota paid, or YouTube's answer.
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
    let token = match authorised(&world, &headers, 50) {
        Ok(t) => t,
        Err(r) => return r,
    };
    let w = world.clone();
    faulty(&world, token, "youtube/comments.insert", move |token| {
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
    })
    .await
}

async fn list(
    State(world): State<Arc<World>>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let token = match authorised(&world, &headers, 1) {
        Ok(t) => t,
        Err(r) => return r,
    };
    let w = world.clone();
    faulty(&world, token, "youtube/comments.list", move |_| {
        let parent = q.get("parentId").cloned().unwrap_or_default();
        if w.get(&parent).is_some_and(|c| c.deleted) {
            return error(StatusCode::NOT_FOUND, "commentNotFound", "The specified comment could not be found.");
        }
        let items: Vec<Value> = w
            .children(&parent)
            .into_iter()
            .map(|c| json!({"kind": "youtube#comment", "id": c.id,
                            "snippet": {"parentId": parent, "textOriginal": c.text, "textDisplay": c.text,
                                        "authorChannelId": {"value": c.author_id}}}))
            .collect();
        Json(json!({"kind": "youtube#commentListResponse", "items": items})).into_response()
    })
    .await
}
