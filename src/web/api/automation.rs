//! Automation at work: suggestions waiting for a person (`/api/v1/suggestions`, approve and
//! reject on `/api/v1/messages/{id}`), the workspace's pause switch (`/api/v1/automation`),
//! and a rule's backtest over stored messages.

use axum::Json;
use axum::extract::{Path, Query, State};
use serde::Deserialize;
use serde_json::{Value, json};
use tracing::instrument;

use super::ApiJson;
use crate::accounts::audit::Who;
use crate::auth::Caller;
use crate::automation::{backtest, pause, suggestions};
use crate::error::{ApiResult, AppError};
use crate::ids::MessageId;
use crate::state::AppState;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Listing {
    limit: Option<i64>,
}

pub async fn waiting(
    State(state): State<AppState>,
    caller: Caller,
    Query(q): Query<Listing>,
) -> ApiResult<Json<Value>> {
    let limit = q.limit.unwrap_or(50);
    if !(1..=200).contains(&limit) {
        return Err(AppError::field("limit", "must be from 1 to 200"));
    }
    let items = suggestions::waiting(&state.db, caller.workspace, limit).await?;
    Ok(Json(json!({ "suggestions": items })))
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Approval {
    text: Option<String>,
}

/// `POST /api/v1/messages/{id}/approve`, optionally with `{"text"}` to send an edited reply.
#[instrument(skip_all, fields(message = id))]
pub async fn approve(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    body: Option<ApiJson<Approval>>,
) -> ApiResult<Json<Value>> {
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
    Ok(Json(json!({ "id": id, "state": "queued" })))
}

#[instrument(skip_all, fields(message = id))]
pub async fn reject(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> ApiResult<Json<Value>> {
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
    Ok(Json(json!({ "id": id, "state": "rejected" })))
}

pub async fn standing(State(state): State<AppState>, caller: Caller) -> ApiResult<Json<Value>> {
    let settings = pause::settings(&state.db, caller.workspace).await?;
    Ok(Json(json!(settings)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Switch {
    paused: Option<bool>,
    time_zone: Option<String>,
}

/// `PUT /api/v1/automation` with `{"paused": true}` (stops every rule at once) and/or
/// `{"time_zone": "Europe/Amsterdam"}` (greetings follow its time of day).
#[instrument(skip_all)]
pub async fn switch(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(switch): ApiJson<Switch>,
) -> ApiResult<Json<Value>> {
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

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Period {
    days: Option<i64>,
}

/// `POST /api/v1/rules/{id}/backtest` with `{"days": 30}`.
#[instrument(skip_all, fields(rule = id))]
pub async fn run_backtest(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    body: Option<ApiJson<Period>>,
) -> ApiResult<Json<Value>> {
    let days = body.and_then(|ApiJson(p)| p.days).unwrap_or(30);
    let now = crate::clock::now();
    let (_, result) = backtest::backtest_rule(&state.db, caller.workspace, id, days, now).await?;
    Ok(Json(
        serde_json::to_value(result).map_err(anyhow::Error::from)?,
    ))
}
