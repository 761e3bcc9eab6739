//! `/rules/new` and `/rules/{id}/edit`: the rule editor. The form is turned into the rule's
//! JSON (`rule_form`) and checked exactly as the API checks it; a refusal shows the form again,
//! as it was filled in, with every problem named.

use askama::Template;
use axum::Form;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use super::rule_form::{ACTIONS, CONDITIONS, PLATFORMS, RuleForm};
use crate::accounts::audit::Who;
use crate::auth::{Caller, Visitor};
use crate::error::{AppError, Problem};
use crate::rules::definition::read_rule;
use crate::rules::{limits, store};
use crate::state::AppState;
use crate::web::api::rules::members_only;
use crate::web::{Chrome, Page, PageResult, see_other};

#[derive(Template)]
#[template(path = "rule_editor.html")]
pub struct EditorTemplate {
    chrome: Chrome,
    /// `None` for a new rule.
    id: Option<i64>,
    form: RuleForm,
    problems: Vec<Problem>,
    warnings: Vec<String>,
}

impl EditorTemplate {
    fn conditions(&self) -> &'static [(&'static str, &'static str, bool)] {
        &CONDITIONS
    }
    fn actions(&self) -> &'static [(&'static str, &'static str)] {
        &ACTIONS
    }
    fn platforms(&self) -> &'static [&'static str] {
        &PLATFORMS
    }
    fn action(&self) -> String {
        match self.id {
            Some(id) => format!("/rules/{id}/edit"),
            None => "/rules/new".into(),
        }
    }
    fn has_platform(&self, p: &&str) -> bool {
        self.form.platforms.iter().any(|x| x == p)
    }
}

async fn editor(
    state: &AppState,
    visitor: &Visitor,
    id: Option<i64>,
    form: RuleForm,
    problems: Vec<Problem>,
    warnings: Vec<String>,
) -> PageResult<Page<EditorTemplate>> {
    Ok(Page(EditorTemplate {
        chrome: Chrome::load(&state.db, visitor).await?,
        id,
        form,
        problems,
        warnings,
    }))
}

pub async fn new(State(state): State<AppState>, visitor: Visitor) -> PageResult<Response> {
    let page = editor(&state, &visitor, None, RuleForm::default(), vec![], vec![]).await?;
    Ok(page.into_response())
}

pub async fn edit(
    State(state): State<AppState>,
    caller: Caller,
    visitor: Visitor,
    Path(id): Path<i64>,
) -> PageResult<Response> {
    let rule = store::get(&state.db, caller.workspace, id)
        .await?
        .ok_or(AppError::NotFound("rule"))?
        .to_json();
    let warnings = rule["warnings"]
        .as_array()
        .map(|w| {
            w.iter()
                .filter_map(|x| x.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    let form = RuleForm::from_rule(&rule);
    Ok(editor(&state, &visitor, Some(id), form, vec![], warnings)
        .await?
        .into_response())
}

pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    visitor: Visitor,
    Form(pairs): Form<Vec<(String, String)>>,
) -> PageResult<Response> {
    save(&state, &caller, &visitor, None, &pairs).await
}

pub async fn update(
    State(state): State<AppState>,
    caller: Caller,
    visitor: Visitor,
    Path(id): Path<i64>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> PageResult<Response> {
    save(&state, &caller, &visitor, Some(id), &pairs).await
}

async fn save(
    state: &AppState,
    caller: &Caller,
    visitor: &Visitor,
    id: Option<i64>,
    pairs: &[(String, String)],
) -> PageResult<Response> {
    let form = RuleForm::from_pairs(pairs);
    let checked = form.to_rule().and_then(|json| read_rule(&json));
    let draft = match checked {
        Ok(draft) => draft,
        Err(problems) => return refused(state, visitor, id, form, problems).await,
    };
    if let Err(problems) = limits::check_workspace(&state.db, caller.workspace, id, &draft).await? {
        return refused(state, visitor, id, form, problems).await;
    }
    let mut tx = state.db.begin().await?;
    if let Err(AppError::Invalid { problems, .. }) =
        members_only(&mut tx, caller.workspace, &draft).await
    {
        return refused(state, visitor, id, form, problems).await;
    }
    let who = Who::from(caller);
    let now = crate::clock::now();
    match id {
        None => {
            store::create(&mut tx, caller.workspace, &draft, &who, now).await?;
        }
        Some(id) => {
            if !store::replace(&mut tx, caller.workspace, id, &draft, &who, now).await? {
                return Err(AppError::NotFound("rule").into());
            }
        }
    }
    tx.commit().await?;
    Ok(see_other("/rules"))
}

async fn refused(
    state: &AppState,
    visitor: &Visitor,
    id: Option<i64>,
    form: RuleForm,
    problems: Vec<Problem>,
) -> PageResult<Response> {
    let page = editor(state, visitor, id, form.padded(), problems, vec![]).await?;
    Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
}
