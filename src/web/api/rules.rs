//! `/api/v1/rules`: reply rules, read by anyone in the workspace, changed by admins.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::{Value, json};
use tracing::instrument;

use super::ApiJson;
use crate::accounts::audit::Who;
use crate::auth::Caller;
use crate::automation::stats;
use crate::automation::verdicts::{Pasted, try_with_verdicts};
use crate::domain::{Kind, Platform};
use crate::error::{ApiResult, AppError, Problem};
use crate::ids::{UserId, WorkspaceId};
use crate::rules::action::Action;
use crate::rules::definition::{Draft, read_rule};
use crate::rules::trial::Sample;
use crate::rules::{limits, store};
use crate::state::AppState;
use crate::storage::Tx;

/// The workspace's rules by position, each with what it did.
#[utoipa::path(
    get,
    path = "/api/v1/rules",
    operation_id = "list_rules",
    tag = "rules",
    security(("token" = ["read"])),
    responses((status = 200, description = "`{\"rules\": [rule]}`", body = Object)),
)]
pub async fn list(State(state): State<AppState>, caller: Caller) -> ApiResult<Json<Value>> {
    let rules = store::list(&state.db, caller.workspace).await?;
    let ids: Vec<i64> = rules.iter().map(|r| r.id).collect();
    let mut stats = stats::by_rule(&state.db, caller.workspace, &ids).await?;
    let rules: Vec<Value> = rules
        .iter()
        .map(|rule| with_stats(rule.to_json(), stats.remove(&rule.id)))
        .collect();
    Ok(Json(json!({ "rules": rules })))
}

/// A rule as the API shows it, with what it did.
fn with_stats(mut rule: Value, stats: Option<stats::RuleStats>) -> Value {
    rule["stats"] = json!(stats.unwrap_or_default());
    rule
}

/// One rule with what it did.
#[utoipa::path(
    get,
    path = "/api/v1/rules/{id}",
    operation_id = "show_rule",
    tag = "rules",
    security(("token" = ["read"])),
    params(("id" = i64, Path, description = "The rule's id")),
    responses((status = 200, description = "The rule, with `stats`", body = Object)),
)]
pub async fn show(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> ApiResult<Json<Value>> {
    stored(&state, caller.workspace, id).await.map(Json)
}

/// A new rule, checked in full before it is stored.
#[utoipa::path(
    post,
    path = "/api/v1/rules",
    tag = "rules",
    security(("token" = ["admin"])),
    request_body(content = Object, description = "A rule: `name`, `mode` (`auto`, `suggest` or `dry_run`), `conditions` (all must \
        hold), `actions` (at least one), and optionally `enabled`, `position`, `applies_to`, \
        `scope`, `delay_seconds`, `continue` and `safeguards`; the README describes each.",
        example = json!({
        "name": "Price", "mode": "suggest", "delay_seconds": 0,
        "conditions": [{"type": "keywords", "any": ["prijs", "price"]}],
        "actions": [
            {"type": "reply", "variants": ["Hoi {{ author.first_name | default('daar') }}, €19!",
                                           "Dank je {{ author.username }}: €19 in de shop."]},
            {"type": "label", "label": "price"}]
    })),
    responses((status = 201, description = "The stored rule", body = Object)),
)]
#[instrument(skip_all)]
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<Value>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let draft = read_rule(&body).map_err(AppError::invalid)?;
    limits::check_workspace(&state.db, caller.workspace, None, &draft)
        .await?
        .map_err(AppError::invalid)?;
    let mut tx = state.db.begin().await?;
    members_only(&mut tx, caller.workspace, &draft).await?;
    let now = crate::clock::now();
    let id = store::create(&mut tx, caller.workspace, &draft, &Who::from(&caller), now).await?;
    tx.commit().await?;
    Ok((
        StatusCode::CREATED,
        Json(stored(&state, caller.workspace, id).await?),
    ))
}

/// Replaces a rule whole.
#[utoipa::path(
    put,
    path = "/api/v1/rules/{id}",
    tag = "rules",
    security(("token" = ["admin"])),
    params(("id" = i64, Path, description = "The rule's id")),
    request_body(content = Object, description = "A rule: `name`, `mode` (`auto`, `suggest` or `dry_run`), `conditions` (all must \
        hold), `actions` (at least one), and optionally `enabled`, `position`, `applies_to`, \
        `scope`, `delay_seconds`, `continue` and `safeguards`; the README describes each.",
        example = json!({"name": "guarded", "mode": "auto",
            "conditions": [{"type": "keywords", "any": ["price"]}],
            "actions": [{"type": "label", "label": "price"}]})),
    responses((status = 200, description = "The stored rule", body = Object)),
)]
#[instrument(skip_all, fields(rule = id))]
pub async fn replace(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    ApiJson(body): ApiJson<Value>,
) -> ApiResult<Json<Value>> {
    let draft = read_rule(&body).map_err(AppError::invalid)?;
    limits::check_workspace(&state.db, caller.workspace, Some(id), &draft)
        .await?
        .map_err(AppError::invalid)?;
    let mut tx = state.db.begin().await?;
    members_only(&mut tx, caller.workspace, &draft).await?;
    let now = crate::clock::now();
    if !store::replace(
        &mut tx,
        caller.workspace,
        id,
        &draft,
        &Who::from(&caller),
        now,
    )
    .await?
    {
        return Err(AppError::NotFound("rule"));
    }
    tx.commit().await?;
    stored(&state, caller.workspace, id).await.map(Json)
}

/// Switches a rule on or off, or moves it; at least one of the two.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Adjustment {
    enabled: Option<bool>,
    /// The lowest position fires first.
    position: Option<i64>,
}

/// `PATCH`: switch a rule on or off, or move it.
#[utoipa::path(
    patch,
    path = "/api/v1/rules/{id}",
    tag = "rules",
    security(("token" = ["admin"])),
    params(("id" = i64, Path, description = "The rule's id")),
    request_body(content = Adjustment, example = json!({"enabled": false})),
    responses((status = 200, description = "The stored rule", body = Object)),
)]
#[instrument(skip_all, fields(rule = id))]
pub async fn adjust(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    ApiJson(change): ApiJson<Adjustment>,
) -> ApiResult<Json<Value>> {
    if change.enabled.is_none() && change.position.is_none() {
        return Err(AppError::field(
            "body",
            "give \"enabled\", \"position\" or both",
        ));
    }
    let max = crate::rules::definition::MAX_POSITION;
    if change.position.is_some_and(|p| !(0..=max).contains(&p)) {
        return Err(AppError::field(
            "position",
            format!("must be a whole number from 0 to {max}"),
        ));
    }
    let mut tx = state.db.begin().await?;
    let now = crate::clock::now();
    let who = Who::from(&caller);
    if !store::adjust(
        &mut tx,
        caller.workspace,
        id,
        change.enabled,
        change.position,
        &who,
        now,
    )
    .await?
    {
        return Err(AppError::NotFound("rule"));
    }
    tx.commit().await?;
    stored(&state, caller.workspace, id).await.map(Json)
}

#[utoipa::path(
    delete,
    path = "/api/v1/rules/{id}",
    tag = "rules",
    security(("token" = ["admin"])),
    params(("id" = i64, Path, description = "The rule's id")),
    responses((status = 204, description = "The rule is gone")),
)]
#[instrument(skip_all, fields(rule = id))]
pub async fn delete(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> ApiResult<StatusCode> {
    let who = Who::from(&caller);
    if !store::delete_rule(&state.db, caller.workspace, id, &who).await? {
        return Err(AppError::NotFound("rule"));
    }
    Ok(StatusCode::NO_CONTENT)
}

async fn stored(state: &AppState, workspace: WorkspaceId, id: i64) -> Result<Value, AppError> {
    let rule = store::get(&state.db, workspace, id)
        .await?
        .ok_or(AppError::NotFound("rule"))?;
    let mut stats = stats::by_rule(&state.db, workspace, &[id]).await?;
    Ok(with_stats(rule.to_json(), stats.remove(&id)))
}

/// An `assign` action must name a member of this workspace.
pub(crate) async fn members_only(
    tx: &mut Tx,
    workspace: WorkspaceId,
    draft: &Draft,
) -> Result<(), AppError> {
    let assigned: Vec<(usize, UserId)> = draft
        .actions
        .iter()
        .enumerate()
        .filter_map(|(i, a)| match a {
            Action::Assign { user_id } => Some((i, *user_id)),
            _ => None,
        })
        .collect();
    let users: Vec<UserId> = assigned.iter().map(|(_, u)| *u).collect();
    let missing = store::not_members(tx, workspace, &users).await?;
    let problems: Vec<Problem> = assigned
        .iter()
        .filter(|(_, u)| missing.contains(u))
        .map(|(i, _)| {
            Problem::new(
                format!("actions[{i}].user_id"),
                "is not a member of this workspace",
            )
        })
        .collect();
    if problems.is_empty() {
        Ok(())
    } else {
        Err(AppError::invalid(problems))
    }
}

/// A message to try the rules on, as if it came in now.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Trial {
    /// `tiktok`, `instagram`, `facebook`, `youtube` or `custom`.
    platform: String,
    /// The channel by its handle or platform id.
    channel: String,
    /// `comment` or `dm`.
    kind: String,
    text: String,
    #[serde(default)]
    author: TrialAuthor,
    #[serde(default)]
    is_reply: bool,
    #[serde(default)]
    first_message: bool,
    #[serde(default)]
    video: TrialVideo,
}

#[derive(Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TrialAuthor {
    /// The author's platform id: with it, cool-downs and caps are checked too.
    external_id: Option<String>,
    username: Option<String>,
    display_name: Option<String>,
}

/// The video commented on; with `external_id`, once-per-video is checked too.
#[derive(Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TrialVideo {
    external_id: Option<String>,
    title: Option<String>,
    url: Option<String>,
}

/// `POST /api/v1/rules/test`: which rule would fire for this message and what it would say.
/// Nothing is stored.
#[utoipa::path(
    post,
    path = "/api/v1/rules/test",
    tag = "rules",
    security(("token" = ["admin"])),
    request_body(content = Trial, example = json!({"platform": "tiktok", "channel": "acme_official",
        "kind": "comment", "text": "price?"})),
    responses((status = 200, body = Object, description = "`{\"fired\": [{\"rule_id\", \"name\", \"mode\", \"actions\", \
        \"would_act\", \"safeguards\"}], \"stored\": false, \"notes\": [string]}`")),
)]
#[instrument(skip_all)]
pub async fn test(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(trial): ApiJson<Trial>,
) -> ApiResult<Json<Value>> {
    let platform: Platform = trial
        .platform
        .parse()
        .map_err(|e: String| AppError::field("platform", e))?;
    let kind: Kind = trial
        .kind
        .parse()
        .map_err(|e: String| AppError::field("kind", e))?;
    if trial.text.trim().is_empty() || trial.text.len() > MAX_TRIAL_BYTES {
        return Err(AppError::field(
            "text",
            format!("must be 1 to {MAX_TRIAL_BYTES} bytes of text"),
        ));
    }
    let channel = store::channel_id(&state.db, caller.workspace, platform, &trial.channel).await?;
    let rules = store::list(&state.db, caller.workspace).await?;
    let sample = Sample {
        platform,
        channel,
        channel_handle: &trial.channel,
        kind,
        text: &trial.text,
        username: trial.author.username.as_deref(),
        display_name: trial.author.display_name.as_deref(),
        is_reply: trial.is_reply,
        first_message: trial.first_message,
        video_title: trial.video.title.as_deref(),
        video_url: trial.video.url.as_deref(),
        at: crate::clock::now(),
    };
    let pasted = Pasted {
        channel,
        author: trial
            .author
            .external_id
            .as_deref()
            .or(trial.author.username.as_deref()),
        video: trial.video.external_id.as_deref(),
        kind,
    };
    let tried = try_with_verdicts(&state.db, caller.workspace, &rules, &sample, &pasted).await?;
    let fired: Vec<Value> = tried
        .into_iter()
        .map(|(f, v)| {
            let mut shown = json!(f);
            shown["would_act"] = json!(!v.iter().any(|x| x.stops));
            shown["safeguards"] = json!(v);
            shown
        })
        .collect();
    let notes: Vec<String> = crate::rules::trial::language_note(&rules, &trial.text)
        .into_iter()
        .collect();
    Ok(Json(
        json!({ "fired": fired, "stored": false, "notes": notes }),
    ))
}

const MAX_TRIAL_BYTES: usize = 8_000;
