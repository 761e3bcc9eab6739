//! `/channels` (admins): the connected accounts, a form to connect one with its access token
//! (never shown back), and what to paste into Meta's webhook settings.

use askama::Template;
use axum::Form;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;

use crate::accounts::audit::Who;
use crate::auth::{Caller, Visitor};
use crate::connectors::channels::{self, ChannelView, read_change};
use crate::error::AppError;
use crate::state::AppState;
use crate::web::{Chrome, Page, PageResult, see_other};

#[derive(Template)]
#[template(path = "channels.html")]
pub struct ChannelsTemplate {
    chrome: Chrome,
    channels: Vec<ChannelView>,
    callback: String,
    verify_token: Option<String>,
    app_secret_set: bool,
    problems: Vec<crate::problem::Problem>,
}

impl ChannelsTemplate {
    fn credential_names(&self, c: &ChannelView) -> String {
        if c.credentials.is_empty() {
            "none".into()
        } else {
            c.credentials
                .iter()
                .map(|(k, v)| format!("{k} ({})", v.as_str().unwrap_or("set")))
                .collect::<Vec<_>>()
                .join(", ")
        }
    }
}

/// The address Meta must call, as this request reached us.
fn callback(state: &AppState, headers: &HeaderMap) -> String {
    let host = headers
        .get("host")
        .and_then(|h| h.to_str().ok())
        .filter(|h| {
            h.chars()
                .all(|c| c.is_ascii_alphanumeric() || ".-:[]".contains(c))
        })
        .unwrap_or("your-unibox-host");
    let https = crate::web::cookies::secure(&state.config, headers);
    format!(
        "{}://{host}/webhooks/meta",
        if https { "https" } else { "http" }
    )
}

async fn render(
    state: &AppState,
    caller: &Caller,
    visitor: &Visitor,
    headers: &HeaderMap,
    problems: Vec<crate::problem::Problem>,
) -> PageResult<Page<ChannelsTemplate>> {
    let platforms = &state.config.platforms;
    Ok(Page(ChannelsTemplate {
        chrome: Chrome::load(&state.db, visitor).await?,
        channels: channels::list(&state.db, caller.workspace).await?,
        callback: callback(state, headers),
        verify_token: platforms
            .meta_verify_token
            .as_ref()
            .map(|t| t.expose().to_owned()),
        app_secret_set: platforms.meta_app_secret.is_some(),
        problems,
    }))
}

pub async fn show(
    State(state): State<AppState>,
    caller: Caller,
    visitor: Visitor,
    headers: HeaderMap,
) -> PageResult<Page<ChannelsTemplate>> {
    render(&state, &caller, &visitor, &headers, Vec::new()).await
}

#[derive(Deserialize)]
pub struct ConnectForm {
    platform: String,
    handle: String,
    platform_id: String,
    #[serde(default)]
    own_author_id: String,
    #[serde(default)]
    access_token: String,
}

pub async fn connect(
    State(state): State<AppState>,
    caller: Caller,
    visitor: Visitor,
    headers: HeaderMap,
    Form(form): Form<ConnectForm>,
) -> PageResult<Response> {
    let mut body = json!({"platform": form.platform.trim(), "handle": form.handle,
        "platform_id": form.platform_id});
    if !form.own_author_id.trim().is_empty() {
        body["own_author_id"] = json!(form.own_author_id);
    }
    if !form.access_token.is_empty() {
        body["credentials"] = json!({"access_token": form.access_token});
    }
    let change = match read_change(&body, true) {
        Ok(change) => change,
        Err(problems) => {
            let page = render(&state, &caller, &visitor, &headers, problems).await?;
            return Ok((axum::http::StatusCode::UNPROCESSABLE_ENTITY, page).into_response());
        }
    };
    let mut tx = state.db.begin().await?;
    channels::connect(
        &mut tx,
        caller.workspace,
        &change,
        &Who::from(&caller),
        crate::clock::now(),
    )
    .await
    .map_err(AppError::from)?;
    tx.commit().await?;
    state.workers.ingest.forget_channels();
    Ok(see_other("/channels"))
}
