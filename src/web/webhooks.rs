//! Platform webhooks: public routes whose signature is their authentication, checked on the
//! raw body before anything is parsed or stored. A refused webhook stores nothing.

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};
use tracing::instrument;

use crate::connectors::intake::Intake;
use crate::connectors::signature::{SignatureError, same_secret, verify_meta, verify_tiktok};
use crate::error::AppError;
use crate::state::AppState;

/// The longest handshake challenge echoed back.
const MAX_CHALLENGE: usize = 256;

#[derive(Deserialize)]
pub struct Handshake {
    #[serde(rename = "hub.mode")]
    mode: Option<String>,
    #[serde(rename = "hub.verify_token")]
    token: Option<String>,
    #[serde(rename = "hub.challenge")]
    challenge: Option<String>,
}

fn not_configured(platform: &str, setting: &str) -> AppError {
    AppError::Forbidden(format!(
        "{platform} webhooks are not set up on this server: set {setting}"
    ))
}

/// `GET /webhooks/meta`: Meta's verification handshake.
pub async fn meta_verify(
    State(state): State<AppState>,
    Query(q): Query<Handshake>,
) -> Result<Response, AppError> {
    let expected = state
        .config
        .platforms
        .meta_verify_token
        .as_ref()
        .ok_or_else(|| not_configured("Meta", "UNIBOX_META_VERIFY_TOKEN"))?;
    let token = q.token.unwrap_or_default();
    if q.mode.as_deref() != Some("subscribe") || !same_secret(&token, expected.expose()) {
        return Err(AppError::Forbidden(
            "the verify token does not match this server's".into(),
        ));
    }
    let challenge = q.challenge.unwrap_or_default();
    if challenge.is_empty() || challenge.len() > MAX_CHALLENGE {
        return Err(AppError::BadRequest(format!(
            "hub.challenge must be 1 to {MAX_CHALLENGE} characters"
        )));
    }
    Ok((
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        challenge,
    )
        .into_response())
}

/// The raw body a signature is checked on, or why it could not be read.
fn raw_body(body: Result<Bytes, BytesRejection>) -> Result<Bytes, AppError> {
    body.map_err(|r| match r.status() {
        StatusCode::PAYLOAD_TOO_LARGE => AppError::TooLarge("the body is too large".into()),
        _ => AppError::BadRequest(format!("cannot read the body: {r}")),
    })
}

/// `POST /webhooks/meta`: comments and DMs from Instagram and Facebook Pages.
#[instrument(skip_all)]
pub async fn meta_receive(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<(StatusCode, Json<Value>), AppError> {
    let secret = state
        .config
        .platforms
        .meta_app_secret
        .as_ref()
        .ok_or_else(|| not_configured("Meta", "UNIBOX_META_APP_SECRET"))?;
    let body = raw_body(body)?;
    let signature = headers
        .get("x-hub-signature-256")
        .and_then(|v| v.to_str().ok());
    verify_meta(secret.expose(), signature, &body).map_err(|e| match e {
        SignatureError::Missing => AppError::Unauthorized(
            "X-Hub-Signature-256 is missing: webhooks must be signed with the app secret".into(),
        ),
        other => AppError::Forbidden(format!("X-Hub-Signature-256: {other}")),
    })?;
    let payload = json_body(&body)?;
    let taken = intake(&state).meta(&payload, crate::clock::now()).await?;
    Ok((
        StatusCode::OK,
        Json(
            json!({"created": taken.created, "duplicates": taken.duplicates,
                    "not_connected": taken.not_connected, "ignored": taken.ignored}),
        ),
    ))
}

/// What the webhooks take their events in with.
fn intake(state: &AppState) -> Intake<'_> {
    Intake {
        db: &state.db,
        ingest: &state.workers.ingest,
        routes: &state.workers.routes,
        heard: &state.workers.heard,
        metrics: &state.metrics,
    }
}

fn json_body(body: &[u8]) -> Result<Value, AppError> {
    crate::json::parse(body)
        .map_err(|e| AppError::BadRequest(format!("the body is not valid JSON: {e}")))
}

/// `POST /webhooks/tiktok`: TikTok's `comment.update`, whose comment is fetched and stored in
/// every workspace that connected the account. When TikTok cannot be reached the answer is 503
/// and nothing is stored: TikTok delivers again (for up to 72 hours), and redeliveries are
/// duplicates.
#[instrument(skip_all)]
pub async fn tiktok_receive(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<(StatusCode, Json<Value>), AppError> {
    let secret = state
        .config
        .platforms
        .tiktok_client_secret
        .as_ref()
        .ok_or_else(|| not_configured("TikTok", "UNIBOX_TIKTOK_CLIENT_SECRET"))?;
    let body = raw_body(body)?;
    let signature = headers
        .get("tiktok-signature")
        .and_then(|v| v.to_str().ok());
    let now = crate::clock::now();
    verify_tiktok(secret.expose(), signature, &body, now.timestamp()).map_err(|e| match e {
        SignatureError::Missing => AppError::Unauthorized(
            "TikTok-Signature is missing: webhooks must be signed with the client secret".into(),
        ),
        other => AppError::Forbidden(format!("TikTok-Signature: {other}")),
    })?;
    let payload = json_body(&body)?;
    let (platforms, limits) = (&state.workers.platforms, &*state.workers.limits);
    let taken = intake(&state)
        .tiktok(&payload, platforms, limits, now)
        .await?;
    let answer = if taken.ignored > 0 {
        json!({"created": 0, "duplicates": 0, "ignored": taken.ignored})
    } else {
        json!({"created": taken.created, "duplicates": taken.duplicates,
               "not_connected": taken.not_connected})
    };
    Ok((StatusCode::OK, Json(answer)))
}
