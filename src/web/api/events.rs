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

/// Stores messages and statistics from any source; an event already stored is a duplicate.
#[utoipa::path(
    post,
    path = "/api/v1/events",
    tag = "ingest",
    security(("token" = ["write"])),
    request_body(
        content = serde_json::Value,
        description = "One event or an array of them. `type` is `message`, `video_stats` or \
            `channel_stats`; a message names its `platform`, `channel`, `kind` (`comment` or \
            `dm`), `external_id`, `author`, `text` and `created_at`, and a comment its `video`.",
        example = json!([{
            "type": "message", "platform": "tiktok", "channel": "acme_official", "kind": "comment",
            "external_id": "7385350567722402578",
            "video": {"external_id": "7377694258502880513", "title": "Unboxing",
                      "url": "https://www.tiktok.com/@acme/video/7377694258502880513"},
            "author": {"external_id": "author-c1", "username": "user_c1", "display_name": "User c1"},
            "text": "Where can I buy this?",
            "created_at": "2026-11-24T10:00:00Z"
        }]),
    ),
    responses(
        (status = 201, description = "At least one event was new", body = IngestReport),
        (status = 200, description = "Every event was already stored", body = IngestReport),
        (status = 413, description = "The batch is too large", body = crate::error::ErrorBody),
        (status = 422, description = "An event is wrong; nothing was stored", body = crate::error::ErrorBody),
    ),
)]
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
