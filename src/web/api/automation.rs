//! Automation at work: suggestions waiting for a person (`/api/v1/suggestions`, approve and
//! reject on `/api/v1/messages/{id}`), the workspace's pause switch (`/api/v1/automation`),
//! and a rule's backtest over stored messages.

use axum::Json;
use axum::extract::{Path, Query, State};
use serde::{Deserialize, Serialize};
use tracing::instrument;

use super::ApiJson;
use crate::accounts::audit::Who;
use crate::auth::Caller;
use crate::automation::{backtest, pause, suggestions};
use crate::error::{ApiResult, AppError};
use crate::ids::MessageId;
use crate::state::AppState;

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct Listing {
    /// At most this many suggestions, 1 to 200 (default 50).
    limit: Option<i64>,
}

/// Replies that rules suggested, waiting for a person, oldest first.
#[utoipa::path(
    get,
    path = "/api/v1/suggestions",
    tag = "automation",
    security(("token" = ["read"])),
    params(Listing),
    responses((status = 200, description = "The suggestions, oldest first", body = Waiting)),
)]
pub async fn waiting(
    State(state): State<AppState>,
    caller: Caller,
    Query(q): Query<Listing>,
) -> ApiResult<Json<Waiting>> {
    let limit = q.limit.unwrap_or(50);
    if !(1..=200).contains(&limit) {
        return Err(AppError::field("limit", "must be from 1 to 200"));
    }
    let suggestions = suggestions::waiting(&state.db, caller.workspace, limit).await?;
    Ok(Json(Waiting { suggestions }))
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Waiting {
    suggestions: Vec<suggestions::Suggestion>,
}

/// What became of a suggested message.
#[derive(Serialize, utoipa::ToSchema)]
pub struct Decided {
    id: i64,
    state: crate::domain::State,
}

/// An optional edit of the suggested reply, checked like any reply.
#[derive(Deserialize, Default, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Approval {
    text: Option<String>,
}

/// `POST /api/v1/messages/{id}/approve`, optionally with `{"text"}` to send an edited reply.
#[utoipa::path(
    post,
    path = "/api/v1/messages/{id}/approve",
    tag = "automation",
    security(("token" = ["write"])),
    params(("id" = i64, Path, description = "The suggested message's id")),
    request_body(content = Option<Approval>, example = json!({"text": "Hoi! Hij kost €19 <3"})),
    responses(
        (status = 200, description = "Queued; the rule's other actions are done", body = Decided),
        (status = 409, description = "The suggestion was already decided", body = crate::error::ErrorBody),
    ),
)]
#[instrument(skip_all, fields(message = id))]
pub async fn approve(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    body: Option<ApiJson<Approval>>,
) -> ApiResult<Json<Decided>> {
    let edit = body.map(|ApiJson(b)| b).unwrap_or_default();
    let mut tx = state.db.begin().await?;
    let now = crate::clock::now();
    let who = Who::from(&caller);
    suggestions::approve(
        &mut tx,
        caller.workspace,
        MessageId(id),
        edit.text.as_deref(),
        &who,
        now,
    )
    .await?;
    tx.commit().await?;
    state.workers.wake_outbox();
    Ok(Json(Decided {
        id,
        state: crate::domain::State::Queued,
    }))
}

/// Rejects a suggestion: it stays in its thread as `rejected`, and nothing is sent.
#[utoipa::path(
    post,
    path = "/api/v1/messages/{id}/reject",
    tag = "automation",
    security(("token" = ["write"])),
    params(("id" = i64, Path, description = "The suggested message's id")),
    responses(
        (status = 200, description = "Rejected", body = Decided),
        (status = 409, description = "The suggestion was already decided", body = crate::error::ErrorBody),
    ),
)]
#[instrument(skip_all, fields(message = id))]
pub async fn reject(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> ApiResult<Json<Decided>> {
    let mut tx = state.db.begin().await?;
    let now = crate::clock::now();
    suggestions::reject(
        &mut tx,
        caller.workspace,
        MessageId(id),
        &Who::from(&caller),
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(Json(Decided {
        id,
        state: crate::domain::State::Rejected,
    }))
}

/// The workspace's pause switch and time zone.
#[utoipa::path(
    get,
    path = "/api/v1/automation",
    tag = "automation",
    security(("token" = ["read"])),
    responses((status = 200, description = "The switch and the time zone", body = pause::Settings)),
)]
pub async fn standing(
    State(state): State<AppState>,
    caller: Caller,
) -> ApiResult<Json<pause::Settings>> {
    let settings = pause::settings(&state.db, caller.workspace).await?;
    Ok(Json(settings))
}

/// Pauses or resumes every rule at once, or sets the time zone greetings follow.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Switch {
    paused: Option<bool>,
    /// An IANA time zone such as `Europe/Amsterdam`.
    time_zone: Option<String>,
}

/// `PUT /api/v1/automation` with `{"paused": true}` (stops every rule at once) and/or
/// `{"time_zone": "Europe/Amsterdam"}` (greetings follow its time of day).
#[utoipa::path(
    put,
    path = "/api/v1/automation",
    tag = "automation",
    security(("token" = ["admin"])),
    request_body(content = Switch, example = json!({"time_zone": "Europe/Amsterdam"})),
    responses((status = 200, description = "The switch and the time zone", body = pause::Settings)),
)]
#[instrument(skip_all)]
pub async fn switch(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(switch): ApiJson<Switch>,
) -> ApiResult<Json<pause::Settings>> {
    if switch.paused.is_none() && switch.time_zone.is_none() {
        return Err(AppError::field(
            "body",
            "give \"paused\", \"time_zone\" or both",
        ));
    }
    let zone = match switch.time_zone.as_deref() {
        Some(name) => Some(pause::read_zone(name).map_err(|e| AppError::field("time_zone", e))?),
        None => None,
    };
    let mut tx = state.db.begin().await?;
    let now = crate::clock::now();
    let who = Who::from(&caller);
    if let Some(paused) = switch.paused {
        pause::set_paused(&mut tx, caller.workspace, paused, &who, now).await?;
    }
    if let Some(zone) = zone {
        pause::set_time_zone(&mut tx, caller.workspace, zone, &who, now).await?;
    }
    tx.commit().await?;
    standing(State(state), caller).await
}

/// How far back a backtest replays the stored messages.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Period {
    /// 1 to 365 days (default 30).
    days: Option<i64>,
}

/// `POST /api/v1/rules/{id}/backtest` with `{"days": 30}`.
#[utoipa::path(
    post,
    path = "/api/v1/rules/{id}/backtest",
    tag = "rules",
    security(("token" = ["admin"])),
    params(("id" = i64, Path, description = "The rule's id")),
    request_body(content = Option<Period>, example = json!({"days": 30})),
    responses((status = 200, body = backtest::Backtest,
        description = "The rule replayed over the stored messages of those days; nothing is stored")),
)]
#[instrument(skip_all, fields(rule = id))]
pub async fn run_backtest(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    body: Option<ApiJson<Period>>,
) -> ApiResult<Json<backtest::Backtest>> {
    let days = body.and_then(|ApiJson(p)| p.days).unwrap_or(30);
    let now = crate::clock::now();
    let (_, result) = backtest::backtest_rule(&state.db, caller.workspace, id, days, now).await?;
    Ok(Json(result))
}
