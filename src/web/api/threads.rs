//! The JSON API for reading and acting on threads (`/api/v1/threads…`).

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
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
use crate::inbox::model::{MessageView, ThreadView};
use crate::inbox::read::{self, get_message, get_thread, label_names, list_messages};
use crate::state::AppState;

const MAX_BULK: usize = 1000;

/// Threads, newest activity first, filtered as the inbox filters them.
#[utoipa::path(
    get,
    path = "/api/v1/threads",
    operation_id = "list_threads",
    tag = "threads",
    security(("token" = ["read"])),
    params(FilterParams),
    responses((status = 200, description = "A page of threads", body = ThreadList)),
)]
#[instrument(skip_all)]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    Query(params): Query<FilterParams>,
) -> ApiResult<Json<ThreadList>> {
    let filter = ThreadFilter::parse(&params, StatusFilter::All, caller.user_id())?;
    let page = read::list_threads(&state.db, caller.workspace, &filter).await?;
    Ok(Json(ThreadList {
        threads: page.threads,
        next_cursor: page.next.map(|c| c.encode()),
        search_capped: page.search_capped,
    }))
}

/// A page of threads, newest activity first.
#[derive(Serialize, utoipa::ToSchema)]
pub struct ThreadList {
    threads: Vec<ThreadView>,
    /// The `cursor` of the next page; `null` on the last.
    next_cursor: Option<String>,
    /// On SQLite, words found in more than 10,000 messages are searched among the newest 10,000.
    search_capped: bool,
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct MessageQuery {
    /// The `next_cursor` of the previous page.
    cursor: Option<String>,
    /// Messages per page, 1 to 1000 (default 200).
    limit: Option<i64>,
}

/// One thread and its messages, oldest first.
#[utoipa::path(
    get,
    path = "/api/v1/threads/{id}",
    operation_id = "show_thread",
    tag = "threads",
    security(("token" = ["read"])),
    params(("id" = i64, Path, description = "The thread's id"), MessageQuery),
    responses((status = 200, description = "The thread and a page of its messages", body = ThreadMessages)),
)]
#[instrument(skip_all, fields(thread = %id))]
pub async fn show(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<ThreadId>,
    Query(q): Query<MessageQuery>,
) -> ApiResult<Json<ThreadMessages>> {
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
    Ok(Json(ThreadMessages {
        thread,
        messages: page.messages,
        next_cursor: page.next.map(|id| id.to_string()),
    }))
}

/// A thread and a page of its messages, oldest first.
#[derive(Serialize, utoipa::ToSchema)]
pub struct ThreadMessages {
    thread: ThreadView,
    messages: Vec<MessageView>,
    /// The `cursor` of the next page; `null` on the last.
    next_cursor: Option<String>,
}

/// Changes to one thread, all made or none; absent fields stay as they are.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ThreadChange {
    /// `open` or `done`.
    status: Option<String>,
    unread: Option<bool>,
    #[serde(default)]
    add_labels: Vec<String>,
    #[serde(default)]
    remove_labels: Vec<String>,
    /// A member's user id, or `null` to unassign; absent leaves it as it is.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<i64>)]
    assignee: Option<Option<UserId>>,
}

/// Tells `"assignee": null` (unassign) apart from no `assignee` at all.
fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Option<UserId>>, D::Error> {
    Option::<UserId>::deserialize(d).map(Some)
}

#[utoipa::path(
    patch,
    path = "/api/v1/threads/{id}",
    tag = "threads",
    security(("token" = ["write"])),
    params(("id" = i64, Path, description = "The thread's id")),
    request_body(content = ThreadChange,
        example = json!({"status": "done", "add_labels": ["price"]})),
    responses((status = 200, description = "The thread as it now is", body = OneThread)),
)]
#[instrument(skip_all, fields(thread = %id))]
pub async fn update(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<ThreadId>,
    ApiJson(change): ApiJson<ThreadChange>,
) -> ApiResult<Json<OneThread>> {
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
    Ok(Json(OneThread { thread }))
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct OneThread {
    thread: ThreadView,
}

fn parse_status(s: &str) -> Result<Status, AppError> {
    s.parse().map_err(|e: String| AppError::field("status", e))
}

/// One status for many threads.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BulkChange {
    /// 1 to 1000 thread ids; ids of other workspaces change nothing.
    #[schema(value_type = Vec<i64>)]
    ids: Vec<ThreadId>,
    /// `open` or `done`.
    status: String,
}

/// `PATCH /api/v1/threads`: one status for many threads (e.g. mark done).
#[utoipa::path(
    patch,
    path = "/api/v1/threads",
    tag = "threads",
    security(("token" = ["write"])),
    request_body(content = BulkChange, example = json!({"ids": [1], "status": "done"})),
    responses((status = 200, description = "How many threads changed", body = Updated)),
)]
#[instrument(skip_all)]
pub async fn bulk_update(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(change): ApiJson<BulkChange>,
) -> ApiResult<Json<Updated>> {
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
    Ok(Json(Updated { updated }))
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Updated {
    /// Threads of this workspace whose status changed.
    updated: u64,
}

/// A reply; by default to the thread's top-level comment.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewReply {
    text: String,
    /// The id of the thread's message from the platform that this answers.
    #[schema(value_type = Option<i64>)]
    in_reply_to: Option<MessageId>,
}

/// `POST /api/v1/threads/{id}/messages`: a reply, queued for sending.
#[utoipa::path(
    post,
    path = "/api/v1/threads/{id}/messages",
    tag = "threads",
    security(("token" = ["write"])),
    params(("id" = i64, Path, description = "The thread's id")),
    request_body(content = NewReply, example = json!({"text": "Thanks! It is €19 in the shop."})),
    responses((status = 201, description = "The reply, stored `queued`", body = OneMessage)),
)]
#[instrument(skip_all, fields(thread = %id))]
pub async fn reply(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<ThreadId>,
    ApiJson(reply): ApiJson<NewReply>,
) -> ApiResult<(StatusCode, Json<OneMessage>)> {
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
    Ok((StatusCode::CREATED, Json(OneMessage { message: stored })))
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct OneMessage {
    message: MessageView,
}

/// The label names in use.
#[utoipa::path(
    get,
    path = "/api/v1/labels",
    tag = "threads",
    security(("token" = ["read"])),
    responses((status = 200, description = "The label names, by name", body = Labels)),
)]
pub async fn labels(State(state): State<AppState>, caller: Caller) -> ApiResult<Json<Labels>> {
    let labels = label_names(&state.db, caller.workspace).await?;
    Ok(Json(Labels { labels }))
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Labels {
    labels: Vec<String>,
}

/// `GET /api/v1/members`: who can be assigned threads.
#[utoipa::path(
    get,
    path = "/api/v1/members",
    tag = "threads",
    security(("token" = ["read"])),
    responses((status = 200, description = "The workspace's members, by email", body = Members)),
)]
pub async fn members(State(state): State<AppState>, caller: Caller) -> ApiResult<Json<Members>> {
    let members = members::list(&state.db, caller.workspace).await?;
    Ok(Json(Members { members }))
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Members {
    members: Vec<members::Member>,
}
