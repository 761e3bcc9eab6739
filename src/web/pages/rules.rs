//! `/rules`: the workspace's reply rules in the order they are tried, each with its switch,
//! and a box to try them on a pasted message before trusting them. (Rules are written through
//! the API for now; the form editor comes next.)

use askama::Template;
use axum::Form;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::Value;

use crate::accounts::audit::Who;
use crate::auth::{Caller, Visitor};
use crate::domain::{Kind, Platform};
use crate::error::AppError;
use crate::rules::store::{self, StoredRule};
use crate::rules::trial::{Fired, Sample, try_rules};
use crate::state::AppState;
use crate::web::{Chrome, Page, PageResult, see_other};

pub struct RuleItem {
    id: i64,
    name: String,
    position: i64,
    enabled: bool,
    mode: String,
    when: String,
    then: String,
    warnings: Vec<String>,
}

impl From<&StoredRule> for RuleItem {
    fn from(rule: &StoredRule) -> Self {
        let json = rule.to_json();
        let list = |v: &Value, f: &dyn Fn(&Value) -> String| -> String {
            v.as_array()
                .map(|a| a.iter().map(f).collect::<Vec<_>>().join(" · "))
                .unwrap_or_default()
        };
        let when = list(&json["conditions"], &|c| {
            let kind = c["type"].as_str().unwrap_or("?").replace('_', " ");
            let detail = match c["type"].as_str() {
                Some("keywords") => {
                    let word = |w: &Value| w.as_str().unwrap_or("").to_owned();
                    let (any, all) = (list(&c["any"], &word), list(&c["all"], &word));
                    match (any.is_empty(), all.is_empty()) {
                        (_, true) => any,
                        (true, false) => format!("all of {all}"),
                        (false, false) => format!("{any}, and all of {all}"),
                    }
                }
                Some("phrase") => c["text"].as_str().unwrap_or("").to_owned(),
                Some("regex") => c["pattern"].as_str().unwrap_or("").to_owned(),
                _ => String::new(),
            };
            let not = if c["negate"] == true { "not " } else { "" };
            if detail.is_empty() {
                format!("{not}{kind}")
            } else {
                format!("{not}{kind}: {detail}")
            }
        });
        let then = list(&json["actions"], &|a| {
            a["type"].as_str().unwrap_or("?").replace('_', " ")
        });
        RuleItem {
            id: rule.id,
            name: rule.name.clone(),
            position: rule.position,
            enabled: rule.enabled,
            mode: json["mode"].as_str().unwrap_or("").replace('_', " "),
            when: if when.is_empty() {
                "every message".into()
            } else {
                when
            },
            then,
            warnings: json["warnings"]
                .as_array()
                .map(|w| {
                    w.iter()
                        .filter_map(|x| x.as_str().map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default(),
        }
    }
}

/// A fired rule as the test box shows it.
pub struct TrialItem {
    name: String,
    mode: String,
    replies: Vec<String>,
    other_actions: String,
}

impl From<Fired> for TrialItem {
    fn from(f: Fired) -> Self {
        let mut replies = Vec::new();
        let mut others = Vec::new();
        for action in &f.actions {
            match action["rendered"].as_array() {
                Some(rendered) => replies.extend(rendered.iter().map(|r| {
                    r["text"].as_str().map_or_else(
                        || format!("(cannot render: {})", r["error"].as_str().unwrap_or("")),
                        str::to_owned,
                    )
                })),
                None => others.push(action["type"].as_str().unwrap_or("?").replace('_', " ")),
            }
        }
        TrialItem {
            name: f.name,
            mode: f.mode.replace('_', " "),
            replies,
            other_actions: others.join(", "),
        }
    }
}

#[derive(Template)]
#[template(path = "rules.html")]
pub struct RulesTemplate {
    chrome: Chrome,
    rules: Vec<RuleItem>,
    /// The test box as last filled in, and what it found.
    sample: TrialForm,
    tried: Option<Vec<TrialItem>>,
    trial_error: Option<String>,
}

#[derive(Default, Deserialize)]
pub struct TrialForm {
    #[serde(default)]
    platform: String,
    #[serde(default)]
    channel: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    text: String,
    #[serde(default)]
    username: String,
}

async fn render(
    state: &AppState,
    caller: &Caller,
    visitor: &Visitor,
    sample: TrialForm,
    tried: Option<Vec<TrialItem>>,
    trial_error: Option<String>,
) -> PageResult<Page<RulesTemplate>> {
    let rules = store::list(&state.db, caller.workspace).await?;
    Ok(Page(RulesTemplate {
        chrome: Chrome::load(&state.db, visitor).await?,
        rules: rules.iter().map(RuleItem::from).collect(),
        sample,
        tried,
        trial_error,
    }))
}

pub async fn show(
    State(state): State<AppState>,
    caller: Caller,
    visitor: Visitor,
) -> PageResult<Page<RulesTemplate>> {
    let sample = TrialForm {
        platform: "tiktok".into(),
        kind: "comment".into(),
        ..TrialForm::default()
    };
    render(&state, &caller, &visitor, sample, None, None).await
}

/// The test box: which rule fires for the pasted message. Nothing is stored.
pub async fn try_message(
    State(state): State<AppState>,
    caller: Caller,
    visitor: Visitor,
    Form(form): Form<TrialForm>,
) -> PageResult<Response> {
    let checked = (|| -> Result<(Platform, Kind), String> {
        let platform = form.platform.parse().map_err(|e| format!("platform {e}"))?;
        let kind = form.kind.parse().map_err(|e| format!("kind {e}"))?;
        if form.text.trim().is_empty() {
            return Err("paste a comment or DM to try".into());
        }
        Ok((platform, kind))
    })();
    let (platform, kind) = match checked {
        Ok(ok) => ok,
        Err(reason) => {
            let page = render(&state, &caller, &visitor, form, None, Some(reason)).await?;
            return Ok((axum::http::StatusCode::UNPROCESSABLE_ENTITY, page).into_response());
        }
    };
    let channel =
        store::channel_id(&state.db, caller.workspace, platform, form.channel.trim()).await?;
    let rules = store::list(&state.db, caller.workspace).await?;
    let sample = Sample {
        platform,
        channel,
        channel_handle: form.channel.trim(),
        kind,
        text: &form.text,
        username: Some(form.username.trim()).filter(|u| !u.is_empty()),
        display_name: None,
        is_reply: false,
        first_message: false,
        video_title: None,
        video_url: None,
    };
    let fired = try_rules(&rules, &sample).map_err(|e| AppError::Internal(anyhow::anyhow!(e)))?;
    let tried = fired.into_iter().map(TrialItem::from).collect();
    Ok(render(&state, &caller, &visitor, form, Some(tried), None)
        .await?
        .into_response())
}

#[derive(Deserialize)]
pub struct SwitchForm {
    enabled: String,
}

pub async fn switch(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    Form(form): Form<SwitchForm>,
) -> PageResult<Response> {
    let enabled = match form.enabled.as_str() {
        "true" => true,
        "false" => false,
        _ => return Err(AppError::field("enabled", "must be true or false").into()),
    };
    let mut tx = state.db.begin().await?;
    let who = Who::from(&caller);
    if !store::adjust(
        &mut tx,
        caller.workspace,
        id,
        Some(enabled),
        None,
        &who,
        crate::clock::now(),
    )
    .await?
    {
        return Err(AppError::NotFound("rule").into());
    }
    tx.commit().await?;
    Ok(see_other("/rules"))
}

pub async fn delete(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> PageResult<Response> {
    let who = Who::from(&caller);
    if !store::delete_rule(&state.db, caller.workspace, id, &who).await? {
        return Err(AppError::NotFound("rule").into());
    }
    Ok(see_other("/rules"))
}
