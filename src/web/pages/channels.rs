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
use std::collections::HashMap;

use chrono::{DateTime, Utc};

use crate::connectors::channels::{self, ChannelView, read_change};
use crate::connectors::health::{self, Health};
use crate::domain::Platform;
use crate::error::AppError;
use crate::outbox::quota;
use crate::state::AppState;
use crate::web::view::ago;
use crate::web::{Chrome, Page, PageResult, see_other};

#[derive(Template)]
#[template(path = "channels.html")]
pub struct ChannelsTemplate {
    chrome: Chrome,
    channels: Vec<ChannelView>,
    health: HashMap<i64, Health>,
    /// Per channel: its budgets as this instance counts them, its breaker, YouTube's units.
    budgets: HashMap<i64, Vec<String>>,
    now: DateTime<Utc>,
    callback: String,
    verify_token: Option<String>,
    app_secret_set: bool,
    problems: Vec<crate::problem::Problem>,
}

impl ChannelsTemplate {
    fn health_of(&self, c: &ChannelView) -> Option<&Health> {
        self.health.get(&c.id)
    }

    fn budget_lines(&self, c: &ChannelView) -> Vec<String> {
        self.budgets.get(&c.id).cloned().unwrap_or_default()
    }

    fn ago(&self, t: &DateTime<Utc>) -> String {
        ago(self.now, *t)
    }

    fn when(&self, t: &Option<DateTime<Utc>>) -> String {
        t.map_or_else(|| "never".to_owned(), |t| ago(self.now, t))
    }

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

fn per(seconds: u64) -> &'static str {
    match seconds {
        1 => "second",
        60 => "minute",
        3600 => "hour",
        _ => "period",
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
    let now = crate::clock::now();
    let list = channels::list(&state.db, caller.workspace).await?;
    let mut budgets = HashMap::new();
    let instant = std::time::Instant::now();
    for c in &list {
        let limits = &state.workers.limits;
        let mut lines: Vec<String> = limits
            .budgets(c.id, c.platform, instant)
            .iter()
            .map(|b| {
                format!(
                    "{}: {} of {} left per {}",
                    b.action,
                    b.left,
                    b.capacity,
                    per(b.per_seconds)
                )
            })
            .collect();
        if c.platform == Platform::Youtube {
            let used = quota::spent_today(&state.db, now).await?;
            lines.push(format!(
                "YouTube quota (the app's, for every channel): {} of {} units left today",
                quota::DAILY_UNITS - used,
                quota::DAILY_UNITS
            ));
        }
        if let Some(open) = limits.breaker_open(c.id, instant) {
            lines.push(format!(
                "paused for {} s: the platform keeps failing",
                open.as_secs().max(1)
            ));
        }
        budgets.insert(c.id, lines);
    }
    Ok(Page(ChannelsTemplate {
        chrome: Chrome::load(&state.db, visitor).await?,
        channels: list,
        health: health::of_workspace(&state.db, caller.workspace).await?,
        budgets,
        now,
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
    let asked = match crate::web::api::channels::ask(&state, caller.workspace, None, &change).await
    {
        Ok(asked) => asked,
        Err(AppError::Invalid { problems, .. }) => {
            let page = render(&state, &caller, &visitor, &headers, problems).await?;
            return Ok((axum::http::StatusCode::UNPROCESSABLE_ENTITY, page).into_response());
        }
        Err(e) => return Err(e.into()),
    };
    let mut tx = state.db.begin().await?;
    let now = crate::clock::now();
    let id = channels::connect(&mut tx, caller.workspace, &change, &Who::from(&caller), now)
        .await
        .map_err(AppError::from)?;
    if let Some(asked) = &asked {
        crate::connectors::verification::record(
            &mut tx,
            id,
            &asked.checked,
            asked.token.as_deref(),
            now,
        )
        .await?;
    }
    tx.commit().await?;
    state.live.channels_changed();
    Ok(see_other("/channels"))
}
