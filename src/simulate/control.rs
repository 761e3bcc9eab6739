//! The simulator's own controls: faults, accounts, comments to act on, and what happened.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::routing::{delete, get, post, put};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};

use super::world::{Faults, Item, World};

pub fn routes() -> Router<Arc<World>> {
    Router::new()
        .route("/_sim/faults", put(set_faults).get(get_faults))
        .route("/_sim/accounts", post(register))
        .route("/_sim/revoke", post(revoke))
        .route("/_sim/flag", post(flag))
        .route("/_sim/comments", post(add_comment))
        .route("/_sim/comments/{id}", delete(delete_comment))
        .route("/_sim/writes", get(writes))
        .route("/_sim/videos", post(set_video))
        .route("/_sim/followers", post(set_followers))
        .route("/_sim/people", post(set_person))
        .route("/_sim/violations", get(violations))
}

async fn set_faults(State(w): State<Arc<World>>, Json(f): Json<Faults>) -> Json<Value> {
    w.set_faults(f);
    Json(json!(w.faults()))
}

async fn get_faults(State(w): State<Arc<World>>) -> Json<Value> {
    Json(json!(w.faults()))
}

#[derive(Deserialize)]
struct Account {
    token: String,
    id: String,
}

async fn register(State(w): State<Arc<World>>, Json(a): Json<Account>) -> Json<Value> {
    w.register(&a.token, &a.id);
    Json(json!({"ok": true}))
}

#[derive(Deserialize)]
struct Token {
    token: String,
}

async fn revoke(State(w): State<Arc<World>>, Json(t): Json<Token>) -> Json<Value> {
    w.revoke(&t.token);
    Json(json!({"ok": true}))
}

async fn flag(State(w): State<Arc<World>>, Json(t): Json<Token>) -> Json<Value> {
    w.flag(&t.token);
    Json(json!({"ok": true}))
}

#[derive(Deserialize)]
struct NewComment {
    platform: String,
    id: Option<String>,
    author_id: String,
    text: String,
    parent: Option<String>,
    video: Option<String>,
}

async fn add_comment(State(w): State<Arc<World>>, Json(c): Json<NewComment>) -> Json<Value> {
    let platform = match c.platform.as_str() {
        "tiktok" => "tiktok",
        "youtube" => "youtube",
        "facebook" => "facebook",
        _ => "instagram",
    };
    let id = c.id.unwrap_or_else(|| w.id(platform));
    w.add(Item {
        id: id.clone(),
        platform,
        by_token: None,
        author_id: c.author_id,
        parent: c.parent,
        video: c.video,
        text: c.text,
        hidden: false,
        liked: false,
        deleted: false,
        created: chrono::Utc::now().timestamp(),
    });
    Json(json!({"id": id}))
}

async fn delete_comment(State(w): State<Arc<World>>, Path(id): Path<String>) -> Json<Value> {
    let found = w.update(&id, |i| i.deleted = true);
    Json(json!({"deleted": found}))
}

async fn writes(State(w): State<Arc<World>>) -> Json<Value> {
    Json(json!({"writes": w.writes(), "requests": w.requests()}))
}

async fn violations(State(w): State<Arc<World>>) -> Json<Value> {
    Json(json!({"violations": w.violations()}))
}

async fn set_video(State(w): State<Arc<World>>, Json(v): Json<super::world::Video>) -> Json<Value> {
    w.set_video(v);
    Json(json!({"ok": true}))
}

#[derive(Deserialize)]
struct Followers {
    account: String,
    count: i64,
}

async fn set_followers(State(w): State<Arc<World>>, Json(f): Json<Followers>) -> Json<Value> {
    w.set_followers(&f.account, f.count);
    Json(json!({"ok": true}))
}

/// Names an author: the handle and name their profile shows.
async fn set_person(
    State(w): State<Arc<World>>,
    Json(p): Json<super::world::Person>,
) -> Json<Value> {
    w.set_person(p);
    Json(json!({"ok": true}))
}
