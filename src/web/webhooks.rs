//! Platform webhooks: public routes whose signature is their authentication, checked on the
//! raw body before anything is parsed or stored. A refused webhook stores nothing.

use crate::ids::WorkspaceId;
use std::collections::BTreeMap;

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};
use tracing::instrument;

use crate::connectors::meta::translate;
use crate::connectors::signature::{SignatureError, same_secret, verify_meta, verify_tiktok};
use crate::connectors::{channels, tiktok};
use crate::domain::Platform;
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
    let payload = crate::json::parse(&body)
        .map_err(|e| AppError::BadRequest(format!("the body is not valid JSON: {e}")))?;
    let translated = translate(&payload).map_err(AppError::invalid)?;

    // Per workspace that connected the account, its events; events of accounts no workspace
    // connected are acknowledged and counted, not stored.
    let mut per_workspace: BTreeMap<WorkspaceId, Vec<Value>> = BTreeMap::new();
    let mut unconnected = 0;
    let mut by_platform: BTreeMap<&str, Vec<&crate::connectors::meta::Delivery>> = BTreeMap::new();
    for d in &translated.deliveries {
        by_platform.entry(d.platform.as_str()).or_default().push(d);
    }
    let mut heard = Vec::new();
    for deliveries in by_platform.values() {
        let accounts: Vec<&str> = deliveries.iter().map(|d| d.account.as_str()).collect();
        let connected = state
            .workers
            .routes
            .workspaces_for(&state.db, deliveries[0].platform, &accounts)
            .await?;
        heard.push((deliveries[0].platform, accounts));
        for d in deliveries {
            match connected.get(&d.account) {
                Some(workspaces) => {
                    for w in workspaces {
                        per_workspace.entry(*w).or_default().push(d.event.clone());
                    }
                }
                None => unconnected += 1,
            }
        }
    }
    let now = crate::clock::now();
    // Every workspace's batch is tried: one refused does not keep the others from being
    // stored. The delivery is then refused whole, and the platform's redelivery finds the
    // stored ones stored.
    let (mut created, mut duplicates) = (0, 0);
    let mut refused = None;
    for (workspace, events) in per_workspace {
        let report = match state
            .workers
            .ingest
            .store_values(workspace, &events, now)
            .await
        {
            Ok(report) => report,
            Err(e) => {
                tracing::warn!(%workspace, error = %e, "a workspace's share of a Meta webhook was not stored");
                refused.get_or_insert(e);
                continue;
            }
        };
        state
            .metrics
            .count_ingested(report.created as u64, report.duplicates as u64);
        created += report.created;
        duplicates += report.duplicates;
    }
    if let Some(e) = refused {
        return Err(e.into());
    }
    for (platform, accounts) in heard {
        crate::connectors::health::events_received(
            &state.db,
            &state.workers.heard,
            platform,
            &accounts,
            now,
        )
        .await?;
    }
    if unconnected > 0 {
        tracing::info!(
            events = unconnected,
            "Meta webhook for an account no workspace connected"
        );
    }
    Ok((
        StatusCode::OK,
        Json(json!({"created": created, "duplicates": duplicates,
                    "not_connected": unconnected, "ignored": translated.ignored})),
    ))
}

/// `POST /webhooks/tiktok`: TikTok's `comment.update`. The webhook carries no text: each
/// connected channel of the account fetches the comment through `comment/list` with its token,
/// and stores it. When TikTok cannot be reached the answer is 503 and nothing is stored:
/// TikTok delivers again (for up to 72 hours), and redeliveries are duplicates.
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
    let payload = crate::json::parse(&body)
        .map_err(|e| AppError::BadRequest(format!("the body is not valid JSON: {e}")))?;
    let Some(notice) = tiktok::parse(&payload).map_err(AppError::invalid)? else {
        return Ok((
            StatusCode::OK,
            Json(json!({"created": 0, "duplicates": 0, "ignored": 1})),
        ));
    };
    if notice.action != "insert" {
        // Deletions and visibility changes are acknowledged; the inbox keeps what it stored.
        return Ok((
            StatusCode::OK,
            Json(json!({"created": 0, "duplicates": 0, "ignored": 1})),
        ));
    }
    let connected = channels::connected(&state.db, Platform::Tiktok, Some(&notice.account)).await?;
    let comments = match fetch_tiktok_comment(&state, &connected, &notice).await {
        Ok(comments) => comments,
        Err(e) => {
            not_taken(&state, &connected, &e, now).await;
            return Err(e);
        }
    };
    // Everything is fetched before anything is stored: a 503 means nothing was.
    let (mut created, mut duplicates) = (0, 0);
    for channel in &connected {
        let events: Vec<Value> = comments
            .iter()
            .filter_map(|c| tiktok::event(c, &notice.account, channel.own_author_id.as_deref()))
            .collect();
        if events.is_empty() {
            continue; // Gone before we asked: nothing to store.
        }
        let report = state
            .workers
            .ingest
            .store_values(channel.workspace_id, &events, now)
            .await?;
        state
            .metrics
            .count_ingested(report.created as u64, report.duplicates as u64);
        created += report.created;
        duplicates += report.duplicates;
    }
    crate::connectors::health::events_received(
        &state.db,
        &state.workers.heard,
        Platform::Tiktok,
        &[&notice.account],
        now,
    )
    .await?;
    Ok((
        StatusCode::OK,
        Json(
            json!({"created": created, "duplicates": duplicates, "not_connected": usize::from(connected.is_empty())}),
        ),
    ))
}

/// A notice that could not be taken is the channels' health: `/channels` shows why, beside the
/// log (TikTok delivers it again).
async fn not_taken(
    state: &AppState,
    connected: &[channels::Connected],
    error: &AppError,
    now: chrono::DateTime<chrono::Utc>,
) {
    let reason = format!("webhook not taken: {}", error.public_message());
    tracing::warn!(%reason, "a TikTok webhook answered 503");
    let recorded = async {
        let mut tx = state.db.begin().await?;
        for channel in connected {
            crate::connectors::health::failed(&mut tx, channel.id, &reason, now).await?;
        }
        tx.commit().await
    };
    if let Err(e) = recorded.await {
        tracing::warn!(error = %e, "cannot record a webhook's failure");
    }
}

/// The comment a TikTok notice is about, fetched once through `comment/list` with the first
/// connected channel whose token TikTok takes (a refused token is recorded on its channel and
/// the next is tried). Nothing connected: nothing to fetch.
async fn fetch_tiktok_comment(
    state: &AppState,
    connected: &[channels::Connected],
    notice: &tiktok::Notice,
) -> Result<Vec<Value>, AppError> {
    use crate::connectors::calls::{Outcome, Refusal, id_of};
    let mut refused = None;
    for channel in connected {
        let Some(token) = channel.credential("access_token") else {
            continue;
        };
        let now = std::time::Instant::now();
        if let Err(wait) =
            state
                .workers
                .limits
                .take_read(channel.id, Platform::Tiktok, "comment/list", 0, now)
        {
            return Err(AppError::Upstream(format!(
                "TikTok's budget for comment/list is spent for {} s; nothing was stored (TikTok delivers again)",
                wait.as_secs().max(1)
            )));
        }
        let business = channel.credential("business_id").unwrap_or(&notice.account);
        let fetched = tiktok::list_comments(
            &state.workers.platforms,
            token,
            business,
            &notice.video_id,
            &[&notice.comment_id],
            0,
        )
        .await;
        match fetched {
            Ok((comments, _)) => {
                return Ok(comments
                    .into_iter()
                    .filter(|c| id_of(&c["comment_id"]).as_deref() == Some(&notice.comment_id))
                    .collect());
            }
            Err(Outcome::Refused {
                why: Refusal::Token,
                reason,
            }) => {
                let mut tx = state.db.begin().await?;
                crate::connectors::health::token_refused(&mut tx, channel.id, &reason).await?;
                tx.commit().await?;
                refused = Some(reason);
            }
            Err(o) => {
                state
                    .workers
                    .limits
                    .observe_read(channel.id, "comment/list", &o, now);
                return Err(AppError::Upstream(format!(
                    "could not fetch the comment from TikTok ({}); nothing was stored",
                    o.reason().unwrap_or_default()
                )));
            }
        }
    }
    match refused {
        Some(reason) => Err(AppError::Upstream(format!(
            "TikTok refused every connected channel's token ({reason}); nothing was stored"
        ))),
        None => Ok(Vec::new()),
    }
}
