//! The JSON API for reading and acting on threads (`/api/v1/threads…`).

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::{Value, json};
use tracing::instrument;

use super::ApiJson;
use crate::accounts::audit::Who;
use crate::accounts::members;
use crate::auth::Caller;
use crate::domain::Status;
use crate::error::{ApiResult, AppError};
use crate::ids::{MessageId, ThreadId, UserId};
use crate::inbox::actions::{self, label_name, queue_reply, reply_target, reply_text};
use crate::inbox::filter::{FilterParams, StatusFilter, ThreadFilter};
use crate::inbox::read::{self, get_message, get_thread, label_names, list_messages};
use crate::state::AppState;

const MAX_BULK: usize = 1000;

#[instrument(skip_all)]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    Query(params): Query<FilterParams>,
) -> ApiResult<Json<Value>> {
    let filter = ThreadFilter::parse(&params, StatusFilter::All, caller.user_id())?;
    let page = read::list_threads(&state.db, caller.workspace, &filter).await?;
    Ok(Json(json!({
        "threads": page.threads,
        "next_cursor": page.next.map(|c| c.encode()),
        "search_capped": page.search_capped,
    })))
}

#[derive(Deserialize)]
pub struct MessageQuery {
    cursor: Option<String>,
    limit: Option<i64>,
}

#[instrument(skip_all, fields(thread = %id))]
pub async fn show(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<ThreadId>,
    Query(q): Query<MessageQuery>,
) -> ApiResult<Json<Value>> {
    let thread = get_thread(&state.db, caller.workspace, id)
        .await?
        .ok_or(AppError::NotFound("thread"))?;
    let after = match q.cursor.as_deref().filter(|c| !c.is_empty()) {
        None => None,
        Some(c) => Some(
            c.parse::<i64>()
                .map_err(|_| AppError::field("cursor", "is not a cursor this server issued"))?,
        ),
    };
    let limit = q.limit.unwrap_or(200);
    if !(1..=1000).contains(&limit) {
        return Err(AppError::field(
            "limit",
            "must be a whole number from 1 to 1000",
        ));
    }
    let page = list_messages(&state.db, id, after, limit).await?;
    Ok(Json(json!({
        "thread": thread,
        "messages": page.messages,
        "next_cursor": page.next.map(|id| id.to_string()),
    })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ThreadChange {
    status: Option<String>,
    unread: Option<bool>,
    #[serde(default)]
    add_labels: Vec<String>,
    #[serde(default)]
    remove_labels: Vec<String>,
    /// A member's user id, or `null` to unassign; absent leaves it as it is.
    #[serde(default, deserialize_with = "present")]
    assignee: Option<Option<UserId>>,
}

/// Tells `"assignee": null` (unassign) apart from no `assignee` at all.
fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Option<UserId>>, D::Error> {
    Option::<UserId>::deserialize(d).map(Some)
}

#[instrument(skip_all, fields(thread = %id))]
pub async fn update(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<ThreadId>,
    ApiJson(change): ApiJson<ThreadChange>,
) -> ApiResult<Json<Value>> {
    let status = change.status.as_deref().map(parse_status).transpose()?;
    let add: Vec<String> = change
        .add_labels
        .iter()
        .map(|l| label_name(l))
        .collect::<Result<_, _>>()?;
    let remove: Vec<String> = change
        .remove_labels
        .iter()
        .map(|l| label_name(l))
        .collect::<Result<_, _>>()?;
    let now = crate::clock::now();
    // All of it or none of it: one transaction, committed after the last change.
    let mut tx = state.db.begin().await?;
    actions::require_thread(&mut tx, caller.workspace, id).await?;
    if let Some(status) = status {
        actions::set_status(&mut tx, caller.workspace, &[id], status, now).await?;
    }
    if let Some(unread) = change.unread {
        actions::set_unread(&mut tx, caller.workspace, id, unread, now).await?;
    }
    for label in &add {
        actions::add_label(&mut tx, caller.workspace, id, label, now).await?;
    }
    for label in &remove {
        actions::remove_label(&mut tx, caller.workspace, id, label).await?;
    }
    if let Some(assignee) = change.assignee {
        actions::assign(&mut tx, caller.workspace, id, assignee, now).await?;
    }
    tx.commit().await?;
    let thread = get_thread(&state.db, caller.workspace, id)
        .await?
        .ok_or(AppError::NotFound("thread"))?;
    Ok(Json(json!({ "thread": thread })))
}

fn parse_status(s: &str) -> Result<Status, AppError> {
    s.parse().map_err(|e: String| AppError::field("status", e))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BulkChange {
    ids: Vec<ThreadId>,
    status: String,
}

/// `PATCH /api/v1/threads`: one status for many threads (e.g. mark done).
#[instrument(skip_all)]
pub async fn bulk_update(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(change): ApiJson<BulkChange>,
) -> ApiResult<Json<Value>> {
    let status = parse_status(&change.status)?;
    if change.ids.is_empty() || change.ids.len() > MAX_BULK {
        return Err(AppError::field(
            "ids",
            format!("must list 1 to {MAX_BULK} thread ids"),
        ));
    }
    let mut tx = state.db.begin().await?;
    let updated = actions::set_status(
        &mut tx,
        caller.workspace,
        &change.ids,
        status,
        crate::clock::now(),
    )
    .await?;
    tx.commit().await?;
    Ok(Json(json!({ "updated": updated })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewReply {
    text: String,
    in_reply_to: Option<MessageId>,
}

/// `POST /api/v1/threads/{id}/messages`: a reply, queued for sending.
#[instrument(skip_all, fields(thread = %id))]
pub async fn reply(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<ThreadId>,
    ApiJson(reply): ApiJson<NewReply>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let target = reply_target(&state.db, caller.workspace, id, reply.in_reply_to).await?;
    let text = reply_text(&reply.text, target.platform, target.kind)?;
    let mut tx = state.db.begin().await?;
    let message = queue_reply(
        &mut tx,
        caller.workspace,
        &target,
        &text,
        &Who::from(&caller),
        crate::clock::now(),
    )
    .await?;
    tx.commit().await?;
    state.workers.wake_outbox();
    let stored = get_message(&state.db, id, message)
        .await?
        .ok_or(AppError::NotFound("message"))?;
    Ok((StatusCode::CREATED, Json(json!({ "message": stored }))))
}

pub async fn labels(State(state): State<AppState>, caller: Caller) -> ApiResult<Json<Value>> {
    Ok(Json(
        json!({ "labels": label_names(&state.db, caller.workspace).await? }),
    ))
}

/// `GET /api/v1/members`: who can be assigned threads.
pub async fn members(State(state): State<AppState>, caller: Caller) -> ApiResult<Json<Value>> {
    Ok(Json(
        json!({ "members": members::list(&state.db, caller.workspace).await? }),
    ))
}
