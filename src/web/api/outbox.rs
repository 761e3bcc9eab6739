//! `/api/v1/outbox`: what was sent or waits to be, by state; retrying and cancelling rows.

use crate::ids::OutboxId;
use axum::Json;
use axum::extract::{Path, Query, State};
use serde::{Deserialize, Serialize};
use tracing::instrument;

use crate::accounts::audit::Who;
use crate::auth::Caller;
use crate::domain::Delivery;
use crate::error::{ApiResult, AppError};
use crate::outbox::{manage, read};
use crate::state::AppState;

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct Listing {
    /// `queued`, `sending`, `sent`, `failed`, `dead`, `cancelled` or `expired`.
    state: Option<String>,
    /// The `next_cursor` of the previous page.
    cursor: Option<i64>,
}

/// Reads `?state=` into a delivery state, or says which words it takes.
pub fn state_filter(raw: Option<&str>) -> Result<Option<Delivery>, AppError> {
    match raw.filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(word) => word
            .parse()
            .map(Some)
            .map_err(|e: String| AppError::field("state", e)),
    }
}

/// What was sent or waits to be, newest first.
#[utoipa::path(
    get,
    path = "/api/v1/outbox",
    operation_id = "list_outbox",
    tag = "outbox",
    security(("token" = ["read"])),
    params(Listing),
    responses((status = 200, description = "A page of rows", body = OutboxPage)),
)]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    Query(q): Query<Listing>,
) -> ApiResult<Json<OutboxPage>> {
    let filter = state_filter(q.state.as_deref())?;
    let (items, next_cursor) = read::list(&state.db, caller.workspace, filter, q.cursor).await?;
    Ok(Json(OutboxPage { items, next_cursor }))
}

/// A page of outbox rows, newest first.
#[derive(Serialize, utoipa::ToSchema)]
pub struct OutboxPage {
    items: Vec<read::Item>,
    /// The `cursor` of the next page; `null` on the last.
    next_cursor: Option<i64>,
}

/// Where an outbox row stands after a person's retry or cancel.
#[derive(Serialize, utoipa::ToSchema)]
pub struct RowState {
    id: OutboxId,
    state: Delivery,
}

/// Queues a failed, dead or expired row again, with a fresh count of attempts.
#[utoipa::path(
    post,
    path = "/api/v1/outbox/{id}/retry",
    tag = "outbox",
    security(("token" = ["write"])),
    params(("id" = i64, Path, description = "The outbox row's id")),
    responses(
        (status = 200, description = "Queued", body = RowState),
        (status = 409, description = "The row is in no state to retry", body = crate::error::ErrorBody),
    ),
)]
#[instrument(skip_all, fields(row = %id))]
pub async fn retry(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<OutboxId>,
) -> ApiResult<Json<RowState>> {
    let mut tx = state.db.begin().await?;
    manage::retry(
        &mut tx,
        caller.workspace,
        id,
        &Who::from(&caller),
        crate::clock::now(),
    )
    .await?;
    tx.commit().await?;
    state.workers.wake_outbox();
    Ok(Json(RowState {
        id,
        state: Delivery::Queued,
    }))
}

/// Cancels a row that has not gone out: queued, failed (between retries) or dead.
#[utoipa::path(
    post,
    path = "/api/v1/outbox/{id}/cancel",
    tag = "outbox",
    security(("token" = ["write"])),
    params(("id" = i64, Path, description = "The outbox row's id")),
    responses(
        (status = 200, description = "Cancelled", body = RowState),
        (status = 409, description = "The row is in no state to cancel", body = crate::error::ErrorBody),
    ),
)]
#[instrument(skip_all, fields(row = %id))]
pub async fn cancel(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<OutboxId>,
) -> ApiResult<Json<RowState>> {
    let mut tx = state.db.begin().await?;
    manage::cancel(
        &mut tx,
        caller.workspace,
        id,
        &Who::from(&caller),
        crate::clock::now(),
    )
    .await?;
    tx.commit().await?;
    Ok(Json(RowState {
        id,
        state: Delivery::Cancelled,
    }))
}
