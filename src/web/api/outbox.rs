//! `/api/v1/outbox`: what was sent or waits to be, by state; retrying and cancelling rows.

use crate::ids::OutboxId;
use axum::Json;
use axum::extract::{Path, Query, State};
use serde::Deserialize;
use serde_json::{Value, json};
use tracing::instrument;

use crate::accounts::audit::Who;
use crate::auth::Caller;
use crate::domain::Delivery;
use crate::error::{ApiResult, AppError};
use crate::outbox::{manage, read};
use crate::state::AppState;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Listing {
    state: Option<String>,
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

pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    Query(q): Query<Listing>,
) -> ApiResult<Json<Value>> {
    let filter = state_filter(q.state.as_deref())?;
    let (items, next) = read::list(&state.db, caller.workspace, filter, q.cursor).await?;
    Ok(Json(json!({ "items": items, "next_cursor": next })))
}

#[instrument(skip_all, fields(row = %id))]
pub async fn retry(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<OutboxId>,
) -> ApiResult<Json<Value>> {
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
    Ok(Json(json!({ "id": id, "state": "queued" })))
}

#[instrument(skip_all, fields(row = %id))]
pub async fn cancel(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<OutboxId>,
) -> ApiResult<Json<Value>> {
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
    Ok(Json(json!({ "id": id, "state": "cancelled" })))
}
