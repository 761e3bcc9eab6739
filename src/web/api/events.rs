//! `POST /api/v1/events`: the generic ingest API.

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::StatusCode;
use tracing::instrument;

use crate::error::AppError;
use crate::ingest::{IngestReport, parse_events};
use crate::state::AppState;

#[instrument(skip_all)]
pub async fn post_events(
    State(state): State<AppState>,
    caller: crate::auth::Caller,
    body: Result<Bytes, BytesRejection>,
) -> Result<(StatusCode, Json<IngestReport>), AppError> {
    let body = body.map_err(|rejection| match rejection.status() {
        StatusCode::PAYLOAD_TOO_LARGE => AppError::TooLarge(format!(
            "the body is larger than {} bytes; send smaller batches",
            state.config.server.max_body_bytes
        )),
        _ => AppError::BadRequest(format!("cannot read the body: {rejection}")),
    })?;
    let now = crate::clock::now();
    let batch = parse_events(&body, state.config.ingest.max_batch_events, now)?;
    let results = state
        .workers
        .ingest
        .store(caller.workspace, batch, now)
        .await?;
    let report = IngestReport::new(results);
    state
        .metrics
        .count_ingested(report.created as u64, report.duplicates as u64);
    let status = if report.created > 0 {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(report)))
}
