//! Meta's Graph API as far as unibox uses it: replies (Instagram `/replies`, Facebook
//! `/comments`), private replies and DMs (`/messages`), likes, hiding, deleting, and the
//! listings reconciliation reads. Errors come as `{"error": {"message", "type", "code",
//! "error_subcode", "fbtrace_id"}}` with Meta's codes.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{Form, Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use serde_json::{Value, json};

use super::world::World;
use super::{faulty, token};

pub fn routes() -> Router<Arc<World>> {
    Router::new()
        .route(
            "/meta/{version}/{id}/{edge}",
            post(write_edge).get(read_edge),
        )
        .route(
            "/meta/{version}/{id}",
            post(moderate).delete(remove).get(node),
        )
}

fn error(status: StatusCode, code: i64, sub: Option<i64>, message: &str) -> Response {
    let mut e = json!({"message": message, "type": "OAuthException", "code": code, "fbtrace_id": "SIMULATED"});
    if let Some(sub) = sub {
        e["error_subcode"] = json!(sub);
    }
    (status, Json(json!({"error": e}))).into_response()
}

/// The token, or Meta's answer to a missing or revoked one.
// The refusal is the answer itself, returned once per request: its size does not matter.
#[allow(clippy::result_large_err)]
fn authorised(world: &World, headers: &HeaderMap) -> Result<String, Response> {
    match token(headers) {
        None => Err(error(
            StatusCode::BAD_REQUEST,
            2500,
            None,
            "An active access token must be used to query information about the current user.",
        )),
        Some(t) if world.is_revoked(&t) => Err(error(
            StatusCode::UNAUTHORIZED,
            190,
            Some(460),
            "Error validating access token: The session has been invalidated.",
        )),
        Some(t) => Ok(t),
    }
}

fn platform_of(edge: &str, world: &World, id: &str) -> &'static str {
    match world.get(id).map(|i| i.platform) {
        Some(p) => p,
        None if edge == "comments" => "facebook",
        None => "instagram",
    }
}

/// A comment that is gone (deleted) answers like Meta does for a missing object.
fn gone(world: &World, id: &str) -> bool {
    world.get(id).is_some_and(|i| i.deleted)
}

fn missing(id: &str) -> Response {
    error(
        StatusCode::BAD_REQUEST,
        100,
        Some(33),
        &format!(
            "Unsupported post request. Object with ID '{id}' does not exist, cannot be loaded due to missing permissions, or does not support this operation"
        ),
    )
}

async fn write_edge(
    State(world): State<Arc<World>>,
    Path((_, id, edge)): Path<(String, String, String)>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let endpoint = format!("meta/{edge}");
    faulty(
        &world,
        authorised(&world, &headers),
        &endpoint,
        move |w, token| {
            if w.is_flagged(token) {
                return error(
                    StatusCode::BAD_REQUEST,
                    368,
                    Some(1390008),
                    "The action attempted has been deemed abusive or is otherwise disallowed",
                );
            }
            match edge.as_str() {
                "replies" | "comments" => {
                    let form: HashMap<String, String> =
                        serde_urlencoded::from_bytes(&body).unwrap_or_default();
                    let Some(text) = form.get("message").filter(|t| !t.is_empty()) else {
                        return error(
                            StatusCode::BAD_REQUEST,
                            100,
                            None,
                            "(#100) The parameter message is required",
                        );
                    };
                    if gone(w, &id) {
                        return missing(&id);
                    }
                    let platform = platform_of(&edge, w, &id);
                    let made = w.take_effect(platform, "reply", token, &id, Some(text), None);
                    Json(json!({"id": made})).into_response()
                }
                "messages" => {
                    let Ok(v) = serde_json::from_slice::<Value>(&body) else {
                        return error(StatusCode::BAD_REQUEST, 100, None, "(#100) Invalid JSON");
                    };
                    let text = v["message"]["text"].as_str().unwrap_or_default();
                    if text.is_empty() {
                        return error(
                            StatusCode::BAD_REQUEST,
                            100,
                            None,
                            "(#100) The parameter message is required",
                        );
                    }
                    if let Some(comment) = v["recipient"]["comment_id"].as_str() {
                        if gone(w, comment) {
                            return missing(comment);
                        }
                        let answered = w.children(comment).into_iter().any(|i| {
                            i.by_token.as_deref() == Some(token) && i.id.starts_with("m_")
                        });
                        if answered {
                            return error(
                                StatusCode::BAD_REQUEST,
                                10900,
                                None,
                                "Activity already replied to",
                            );
                        }
                        let made = w.take_effect(
                            "instagram",
                            "private_reply",
                            token,
                            comment,
                            Some(text),
                            None,
                        );
                        return Json(json!({"recipient_id": id, "message_id": made}))
                            .into_response();
                    }
                    let Some(person) = v["recipient"]["id"].as_str() else {
                        return error(
                            StatusCode::BAD_REQUEST,
                            100,
                            None,
                            "(#100) recipient is required",
                        );
                    };
                    let made = w.take_effect("instagram", "dm", token, person, Some(text), None);
                    Json(json!({"recipient_id": person, "message_id": made})).into_response()
                }
                "likes" => {
                    if gone(w, &id) {
                        return missing(&id);
                    }
                    w.update(&id, |i| i.liked = true);
                    w.take_effect("facebook", "like", token, &id, None, None);
                    Json(json!({"success": true})).into_response()
                }
                _ => error(StatusCode::BAD_REQUEST, 100, None, "(#100) Unknown edge"),
            }
        },
    )
    .await
}

/// A time as the Graph API writes it: `2026-11-24T10:00:00+0000`.
fn graph_time(unix_seconds: i64) -> String {
    chrono::DateTime::from_timestamp(unix_seconds, 0)
        .unwrap_or_default()
        .format("%Y-%m-%dT%H:%M:%S+0000")
        .to_string()
}

async fn read_edge(
    State(world): State<Arc<World>>,
    Path((_, id, edge)): Path<(String, String, String)>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    faulty(&world, authorised(&world, &headers), &format!("meta/list_{edge}"), move |w, _| match edge.as_str() {
        "replies" | "comments" => {
            if gone(w, &id) {
                return missing(&id);
            }
            // Instagram names a comment's time `timestamp`, Facebook `created_time`.
            let (text_field, time_field) =
                if edge == "replies" { ("text", "timestamp") } else { ("message", "created_time") };
            let data: Vec<Value> = w
                .children(&id)
                .into_iter()
                .filter(|i| !i.id.starts_with("m_"))
                .map(|i| json!({"id": i.id, text_field: i.text, "from": {"id": i.author_id}, time_field: graph_time(i.created)}))
                .collect();
            Json(json!({"data": data})).into_response()
        }
        "insights" => match w.video("instagram", &id) {
            None => missing(&id),
            Some(v) => {
                let metric = |name: &str, value: i64| json!({"name": name, "period": "lifetime", "values": [{"value": value}]});
                Json(json!({"data": [metric("views", v.views), metric("likes", v.likes), metric("comments", v.comments),
                                     metric("shares", v.shares), metric("saved", v.saves)]}))
                .into_response()
            }
        },
        "conversations" => {
            let person = query.get("user_id").cloned().unwrap_or_default();
            let messages: Vec<Value> = w
                .children(&person)
                .into_iter()
                .map(|i| json!({"id": i.id, "message": i.text, "from": {"id": i.author_id}, "created_time": graph_time(i.created)}))
                .collect();
            Json(json!({"data": [{"id": format!("t_{person}"), "messages": {"data": messages}}]})).into_response()
        }
        _ => error(StatusCode::BAD_REQUEST, 100, None, "(#100) Unknown edge"),
    })
    .await
}

async fn moderate(
    State(world): State<Arc<World>>,
    Path((_, id)): Path<(String, String)>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    faulty(
        &world,
        authorised(&world, &headers),
        "meta/hide",
        move |w, token| {
            let Some(hide) = form
                .get("hide")
                .or(form.get("is_hidden"))
                .map(|v| v == "true")
            else {
                return error(
                    StatusCode::BAD_REQUEST,
                    100,
                    None,
                    "(#100) Nothing to change",
                );
            };
            if gone(w, &id) {
                return missing(&id);
            }
            w.update(&id, |i| i.hidden = hide);
            let platform = platform_of(
                if form.contains_key("hide") {
                    "replies"
                } else {
                    "comments"
                },
                w,
                &id,
            );
            w.take_effect(
                platform,
                if hide { "hide" } else { "unhide" },
                token,
                &id,
                None,
                None,
            );
            Json(json!({"success": true})).into_response()
        },
    )
    .await
}

async fn remove(
    State(world): State<Arc<World>>,
    Path((_, id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    faulty(
        &world,
        authorised(&world, &headers),
        "meta/delete",
        move |w, token| {
            if gone(w, &id) {
                return missing(&id);
            }
            w.update(&id, |i| i.deleted = true);
            let platform = platform_of("replies", w, &id);
            w.take_effect(platform, "delete", token, &id, None, None);
            Json(json!({"success": true})).into_response()
        },
    )
    .await
}

/// A node read: `/me`, the account the token belongs to (Meta's answer to a token it does
/// not know: code 190); an account or Page with `?fields=followers_count`; or a person's
/// profile (Instagram's `name,username`, Messenger's `first_name,last_name,name`), for those
/// the world knows, else Meta's code 100 for an object it cannot load.
async fn node(
    State(world): State<Arc<World>>,
    Path((_, id)): Path<(String, String)>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    let fields = query.get("fields").cloned().unwrap_or_default();
    let person = world
        .person(&id)
        .filter(|_| !fields.contains("followers_count"));
    let endpoint = match (&person, id.as_str()) {
        (_, "me") => "meta/me",
        (Some(_), _) => "meta/profile",
        _ => "meta/node",
    };
    faulty(
        &world,
        authorised(&world, &headers),
        endpoint,
        move |w, token| {
            if id == "me" {
                return match w.owner(token) {
                    Some(account) => Json(json!({"id": account})).into_response(),
                    None => error(
                        StatusCode::BAD_REQUEST,
                        190,
                        None,
                        "Invalid OAuth access token - Cannot parse access token",
                    ),
                };
            }
            match person {
                Some(p) => Json(profile(&p, &fields)).into_response(),
                None if fields.contains("followers_count") || fields.is_empty() => {
                    Json(json!({"id": id, "followers_count": w.followers(&id)})).into_response()
                }
                None => error(
                    StatusCode::BAD_REQUEST,
                    100,
                    Some(33),
                    &format!(
                        "Unsupported get request. Object with ID '{id}' does not exist, cannot be \
                         loaded due to missing permissions, or does not support this operation"
                    ),
                ),
            }
        },
    )
    .await
}

/// The fields of `person` asked for in `fields`, as Meta names them; a person who set no
/// name has none of the name fields.
fn profile(person: &super::Person, fields: &str) -> Value {
    let mut answer = json!({"id": person.id});
    let name = person.name.as_deref();
    let mut parts = name.unwrap_or_default().splitn(2, ' ');
    let (first, last) = (parts.next(), parts.next());
    for field in fields.split(',').map(str::trim) {
        let value = match field {
            "name" => name,
            "username" => person.username.as_deref(),
            "first_name" => first.filter(|f| !f.is_empty()),
            "last_name" => last,
            _ => None,
        };
        if let Some(v) = value {
            answer[field] = json!(v);
        }
    }
    answer
}
