//! `/api/v1/channels`: connecting accounts with their credentials (admins). Credentials are
//! write-only: the answers say which are set, never what they are. Saved credentials are
//! first shown to the platform, which says whose they are (`verification`).

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::Serialize;
use serde_json::Value;
use tracing::instrument;

use super::ApiJson;
use crate::accounts::audit::Who;
use crate::auth::Caller;
use crate::connectors::channels::{self, ChannelView, read_change};
use crate::connectors::verification;
use crate::error::{ApiResult, AppError};
use crate::ids::WorkspaceId;
use crate::problem::Problem;
use crate::state::AppState;

/// Asks the platform whose token a change saves, before anything is written; a token that
/// answers for another account, or that the platform refuses, is a 422 and nothing is saved.
pub(crate) async fn ask(
    state: &AppState,
    workspace: WorkspaceId,
    id: Option<i64>,
    change: &channels::Change,
) -> Result<Option<verification::Asked>, AppError> {
    let asked =
        verification::ask_about_change(&state.db, &state.workers.platforms, workspace, id, change)
            .await?;
    if let Some(why) = asked.as_ref().and_then(verification::Asked::refusal) {
        return Err(AppError::Invalid {
            message: format!("the access token {why}; nothing was saved"),
            problems: vec![Problem::new("credentials.access_token", why)],
        });
    }
    Ok(asked)
}

/// The workspace's channels; credentials show only whether they are set.
#[utoipa::path(
    get,
    path = "/api/v1/channels",
    operation_id = "list_channels",
    tag = "channels",
    security(("token" = ["admin"])),
    responses((status = 200, description = "The workspace's channels", body = Channels)),
)]
pub async fn list(State(state): State<AppState>, caller: Caller) -> ApiResult<Json<Channels>> {
    let channels = channels::list(&state.db, caller.workspace).await?;
    Ok(Json(Channels { channels }))
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Channels {
    channels: Vec<ChannelView>,
}

/// One channel; credentials show only whether they are set.
#[utoipa::path(
    get,
    path = "/api/v1/channels/{id}",
    operation_id = "show_channel",
    tag = "channels",
    security(("token" = ["admin"])),
    params(("id" = i64, Path, description = "The channel's id")),
    responses((status = 200, description = "The channel", body = ChannelView)),
)]
pub async fn show(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> ApiResult<Json<ChannelView>> {
    let one = channels::get(&state.db, caller.workspace, id)
        .await?
        .ok_or(AppError::NotFound("channel"))?;
    Ok(Json(one))
}

/// Connects an account, or adds credentials to a channel first seen through ingest. The
/// platform is asked whose token it is first; a token it refuses saves nothing.
#[utoipa::path(
    post,
    path = "/api/v1/channels",
    tag = "channels",
    security(("token" = ["admin"])),
    request_body(content = Object, description = "`{\"platform\", \"handle\", \"platform_id\", \"display_name\", \"own_author_id\", \
        \"credentials\": {…}}`; credentials are write-only, and `null` removes one.",
        example = json!({"platform": "instagram", "handle": "acme.ig", "platform_id": "17841400000000007",
            "display_name": "ACME", "own_author_id": "17841400000000007",
            "credentials": {"access_token": "EAAGm0PX4ZCpsBAKZCZBf8secretvalue123456WXYZ", "business_id": "42"}})),
    responses((status = 201, description = "The channel", body = ChannelView)),
)]
#[instrument(skip_all)]
pub async fn connect(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<Value>,
) -> ApiResult<(StatusCode, Json<ChannelView>)> {
    let change = read_change(&body, true).map_err(AppError::invalid)?;
    let asked = ask(&state, caller.workspace, None, &change).await?;
    let mut tx = state.db.begin().await?;
    let now = crate::clock::now();
    let id =
        channels::connect(&mut tx, caller.workspace, &change, &Who::from(&caller), now).await?;
    if let Some(asked) = &asked {
        verification::record(&mut tx, id, &asked.checked, asked.token.as_deref(), now).await?;
    }
    tx.commit().await?;
    // The channel's own author id decides which messages are ours: read it again.
    state.live.channels_changed();
    let one = channels::get(&state.db, caller.workspace, id)
        .await?
        .ok_or(AppError::NotFound("channel"))?;
    Ok((StatusCode::CREATED, Json(one)))
}

/// Changes a channel's names or credentials; absent fields stay as they are.
#[utoipa::path(
    patch,
    path = "/api/v1/channels/{id}",
    tag = "channels",
    security(("token" = ["admin"])),
    params(("id" = i64, Path, description = "The channel's id")),
    request_body(content = Object, description = "`{\"platform\", \"handle\", \"platform_id\", \"display_name\", \"own_author_id\", \
        \"credentials\": {…}}`; credentials are write-only, and `null` removes one.",
        example = json!({"display_name": "ACME"})),
    responses((status = 200, description = "The channel", body = ChannelView)),
)]
#[instrument(skip_all, fields(channel = id))]
pub async fn change(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    ApiJson(body): ApiJson<Value>,
) -> ApiResult<Json<ChannelView>> {
    let change = read_change(&body, false).map_err(AppError::invalid)?;
    let asked = ask(&state, caller.workspace, Some(id), &change).await?;
    let mut tx = state.db.begin().await?;
    let now = crate::clock::now();
    if !channels::update(
        &mut tx,
        caller.workspace,
        id,
        &change,
        &Who::from(&caller),
        now,
    )
    .await?
    {
        return Err(AppError::NotFound("channel"));
    }
    if let Some(asked) = &asked {
        verification::record(&mut tx, id, &asked.checked, asked.token.as_deref(), now).await?;
    }
    tx.commit().await?;
    state.live.channels_changed();
    show(State(state), caller, Path(id)).await
}

/// Removes a channel that holds no messages.
#[utoipa::path(
    delete,
    path = "/api/v1/channels/{id}",
    tag = "channels",
    security(("token" = ["admin"])),
    params(("id" = i64, Path, description = "The channel's id")),
    responses(
        (status = 204, description = "The channel is gone"),
        (status = 409, description = "The channel holds messages and is kept", body = crate::error::ErrorBody),
    ),
)]
#[instrument(skip_all, fields(channel = id))]
pub async fn remove(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> ApiResult<StatusCode> {
    let mut tx = state.db.begin().await?;
    let now = crate::clock::now();
    match channels::remove(&mut tx, caller.workspace, id, &Who::from(&caller), now).await? {
        None => Err(AppError::NotFound("channel")),
        Some(Err(n)) => Err(AppError::Conflict(format!(
            "the channel holds {n} messages; it is kept so that nothing is lost"
        ))),
        Some(Ok(())) => {
            tx.commit().await?;
            state.live.channels_changed();
            Ok(StatusCode::NO_CONTENT)
        }
    }
}
