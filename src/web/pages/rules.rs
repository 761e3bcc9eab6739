//! `/rules`: the workspace's reply rules in the order they are tried, each with what it did,
//! its switch, its place and a backtest; the workspace's pause switch; and a box to try the
//! rules on a pasted message before trusting them. Rules are written in the editor
//! (`rule_editor`).

use askama::Template;
use axum::Form;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::Value;

use crate::accounts::audit::Who;
use crate::auth::{Caller, Visitor};
use crate::automation::backtest::{self, Backtest};
use crate::automation::pause;
use crate::automation::stats::{self, RuleStats};
use crate::automation::verdicts::{Pasted, try_with_verdicts};
use crate::domain::{Kind, Platform};
use crate::error::AppError;
use crate::rules::store::{self, StoredRule};
use crate::rules::trial::{Fired, Sample};
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
    paused_reason: Option<String>,
    /// What it did, in a line: "matched 12 · acted 9 · stopped: cooldown 3".
    record: String,
}

/// What a rule did, in words.
fn record(stats: Option<&RuleStats>) -> String {
    let Some(s) = stats.filter(|s| s.matched > 0) else {
        return "has not fired yet".into();
    };
    let mut parts = vec![
        format!("matched {}", s.matched),
        format!("acted {}", s.acted),
    ];
    for (n, what) in [
        (s.waiting, "waiting"),
        (s.dry_run, "dry run"),
        (s.rejected, "rejected"),
    ] {
        if n > 0 {
            parts.push(format!("{what} {n}"));
        }
    }
    let held: Vec<String> = s
        .suppressed
        .iter()
        .chain(&s.skipped)
        .map(|(why, n)| format!("{} {n}", why.replace('_', " ")))
        .collect();
    if !held.is_empty() {
        parts.push(format!("held back: {}", held.join(", ")));
    }
    if let Some(last) = s.last_fired {
        parts.push(format!("last {}", last.format("%Y-%m-%d %H:%M UTC")));
    }
    parts.join(" · ")
}

impl RuleItem {
    fn new(rule: &StoredRule, stats: Option<&RuleStats>) -> Self {
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
            paused_reason: rule.paused_reason.clone(),
            record: record(stats),
        }
    }
}

/// A fired rule as the test box shows it.
pub struct TrialItem {
    name: String,
    mode: String,
    /// Each reply as rendered, and why it would not be sent, if it would not.
    replies: Vec<(String, Option<String>)>,
    other_actions: String,
    /// Each safeguard's verdict: (name, what it says, whether it stops the rule).
    safeguards: Vec<(String, String, bool)>,
}

impl From<Fired> for TrialItem {
    fn from(f: Fired) -> Self {
        let mut replies = Vec::new();
        let mut others = Vec::new();
        for action in &f.actions {
            match action["rendered"].as_array() {
                Some(rendered) => replies.extend(rendered.iter().map(|r| {
                    let text = r["text"].as_str().map_or_else(
                        || format!("(cannot render: {})", r["error"].as_str().unwrap_or("")),
                        str::to_owned,
                    );
                    (text, r["warning"].as_str().map(str::to_owned))
                })),
                None => others.push(action["type"].as_str().unwrap_or("?").replace('_', " ")),
            }
        }
        TrialItem {
            name: f.name,
            mode: f.mode.replace('_', " "),
            replies,
            other_actions: others.join(", "),
            safeguards: Vec::new(),
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
    paused: bool,
    time_zone: String,
    backtest: Option<BacktestView>,
}

/// A backtest's result as the page shows it.
pub struct BacktestView {
    rule: String,
    result: Backtest,
}

impl BacktestView {
    fn stopped(&self) -> String {
        let parts: Vec<String> = self
            .result
            .stopped
            .iter()
            .map(|(why, n)| format!("{} {n}", why.replace('_', " ")))
            .collect();
        if parts.is_empty() {
            "nothing".into()
        } else {
            parts.join(", ")
        }
    }

    /// (message, verdict, reply) per example.
    fn examples(&self) -> Vec<(String, String, String)> {
        self.result
            .examples
            .iter()
            .map(|e| {
                let text = |v: &Value| v.as_str().unwrap_or_default().to_owned();
                let reply = match &e["reply"] {
                    Value::String(r) => r.clone(),
                    Value::Object(o) => format!("(not sent: {})", text(&o["not_sent"].clone())),
                    _ => String::new(),
                };
                (text(&e["text"]), text(&e["verdict"]), reply)
            })
            .collect()
    }
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
    render_with(state, caller, visitor, sample, tried, trial_error, None).await
}

async fn render_with(
    state: &AppState,
    caller: &Caller,
    visitor: &Visitor,
    sample: TrialForm,
    tried: Option<Vec<TrialItem>>,
    trial_error: Option<String>,
    backtest: Option<BacktestView>,
) -> PageResult<Page<RulesTemplate>> {
    let rules = store::list(&state.db, caller.workspace).await?;
    let ids: Vec<i64> = rules.iter().map(|r| r.id).collect();
    let stats = stats::by_rule(&state.db, caller.workspace, &ids).await?;
    let settings = pause::settings(&state.db, caller.workspace).await?;
    Ok(Page(RulesTemplate {
        chrome: Chrome::load(&state.db, visitor).await?,
        rules: rules
            .iter()
            .map(|r| RuleItem::new(r, stats.get(&r.id)))
            .collect(),
        sample,
        tried,
        trial_error,
        paused: settings.paused,
        time_zone: settings.time_zone,
        backtest,
    }))
}

fn blank_sample() -> TrialForm {
    TrialForm {
        platform: "tiktok".into(),
        kind: "comment".into(),
        ..TrialForm::default()
    }
}

pub async fn show(
    State(state): State<AppState>,
    caller: Caller,
    visitor: Visitor,
) -> PageResult<Page<RulesTemplate>> {
    render(&state, &caller, &visitor, blank_sample(), None, None).await
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
        at: crate::clock::now(),
    };
    let pasted = Pasted {
        channel,
        author: Some(form.username.trim()),
        video: None,
        kind,
    };
    let tried = try_with_verdicts(&state.db, caller.workspace, &rules, &sample, &pasted).await?;
    // A text too short to tell its language is said beside what fired, not missed silently.
    let note = crate::rules::trial::language_note(&rules, &form.text);
    let tried = tried
        .into_iter()
        .map(|(f, v)| TrialItem {
            safeguards: v
                .into_iter()
                .map(|x| (x.safeguard.replace('_', " "), x.says, x.stops))
                .collect(),
            ..TrialItem::from(f)
        })
        .collect();
    Ok(render(&state, &caller, &visitor, form, Some(tried), note)
        .await?
        .into_response())
}

/// A form's "true" or "false".
fn flag(field: &str, value: &str) -> Result<bool, AppError> {
    match value {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err(AppError::field(field, "must be true or false")),
    }
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
    let enabled = flag("enabled", &form.enabled)?;
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

#[derive(Deserialize)]
pub struct PauseForm {
    paused: String,
}

/// The workspace's switch: pause every rule at once, or resume.
pub async fn automation(
    State(state): State<AppState>,
    caller: Caller,
    Form(form): Form<PauseForm>,
) -> PageResult<Response> {
    let paused = flag("paused", &form.paused)?;
    let mut tx = state.db.begin().await?;
    pause::set_paused(
        &mut tx,
        caller.workspace,
        paused,
        &Who::from(&caller),
        crate::clock::now(),
    )
    .await?;
    tx.commit().await?;
    Ok(see_other("/rules"))
}

#[derive(Deserialize)]
pub struct MoveForm {
    direction: String,
}

/// Swaps a rule with its neighbour above or below.
pub async fn move_rule(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    Form(form): Form<MoveForm>,
) -> PageResult<Response> {
    let up = match form.direction.as_str() {
        "up" => true,
        "down" => false,
        _ => return Err(AppError::field("direction", "must be up or down").into()),
    };
    let mut tx = state.db.begin().await?;
    let rules = store::list_in(&mut tx, caller.workspace).await?;
    let at = rules
        .iter()
        .position(|r| r.id == id)
        .ok_or(AppError::NotFound("rule"))?;
    let other = if up { at.checked_sub(1) } else { Some(at + 1) };
    if let Some(other) = other.and_then(|o| rules.get(o)) {
        let (mine, theirs) = (rules[at].position, other.position);
        // Equal positions (rules saved with the same number) still swap: by one step.
        let (mine, theirs) = if mine == theirs {
            if up {
                (theirs - 1, mine)
            } else {
                (theirs + 1, mine)
            }
        } else {
            (theirs, mine)
        };
        let who = Who::from(&caller);
        let now = crate::clock::now();
        store::adjust(
            &mut tx,
            caller.workspace,
            id,
            None,
            Some(mine.max(0)),
            &who,
            now,
        )
        .await?;
        store::adjust(
            &mut tx,
            caller.workspace,
            other.id,
            None,
            Some(theirs),
            &who,
            now,
        )
        .await?;
    }
    tx.commit().await?;
    Ok(see_other("/rules"))
}

#[derive(Deserialize)]
pub struct BacktestForm {
    days: String,
}

/// Tries one rule on the stored messages of the last N days and shows what it would do.
pub async fn run_backtest(
    State(state): State<AppState>,
    caller: Caller,
    visitor: Visitor,
    Path(id): Path<i64>,
    Form(form): Form<BacktestForm>,
) -> PageResult<Response> {
    // Not a number: refused as out of range, with the same words.
    let days = form.days.trim().parse::<i64>().unwrap_or(0);
    let now = crate::clock::now();
    let (rule, result) =
        backtest::backtest_rule(&state.db, caller.workspace, id, days, now).await?;
    let view = BacktestView {
        rule: rule.name.clone(),
        result,
    };
    Ok(render_with(
        &state,
        &caller,
        &visitor,
        blank_sample(),
        None,
        None,
        Some(view),
    )
    .await?
    .into_response())
}

#[derive(Deserialize)]
pub struct ZoneForm {
    time_zone: String,
}

/// The workspace's time zone, which greetings follow.
pub async fn time_zone(
    State(state): State<AppState>,
    caller: Caller,
    Form(form): Form<ZoneForm>,
) -> PageResult<Response> {
    let zone = pause::read_zone(&form.time_zone).map_err(|e| AppError::field("time_zone", e))?;
    let mut tx = state.db.begin().await?;
    pause::set_time_zone(
        &mut tx,
        caller.workspace,
        zone,
        &Who::from(&caller),
        crate::clock::now(),
    )
    .await?;
    tx.commit().await?;
    Ok(see_other("/rules"))
}
