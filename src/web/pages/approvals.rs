//! `/approvals`: the replies rules suggested, waiting for a person. Each can be edited, then
//! approved (queued like any reply) or rejected; `j`/`k` move, `a` approves, `r` rejects and
//! `e` edits. The thread page posts here too.

use askama::Template;
use axum::Form;
use axum::extract::{Path, State};
use axum::response::Response;
use serde::Deserialize;

use crate::accounts::audit::Who;
use crate::auth::{Caller, Visitor};
use crate::automation::suggestions::{self, Suggestion};
use crate::domain::Kind;
use crate::ids::MessageId;
use crate::state::AppState;
use crate::web::{Chrome, Page, PageResult, see_other};

const SHOWN: i64 = 100;

#[derive(Template)]
#[template(path = "approvals.html")]
pub struct ApprovalsTemplate {
    chrome: Chrome,
    items: Vec<Suggestion>,
}

pub async fn show(
    State(state): State<AppState>,
    caller: Caller,
    visitor: Visitor,
) -> PageResult<Page<ApprovalsTemplate>> {
    Ok(Page(ApprovalsTemplate {
        chrome: Chrome::load(&state.db, &visitor).await?,
        items: suggestions::waiting(&state.db, caller.workspace, SHOWN).await?,
    }))
}

#[derive(Deserialize)]
pub struct Decision {
    #[serde(default)]
    text: Option<String>,
    /// Where to go next: this page, or the thread the suggestion is in.
    #[serde(default)]
    back: Option<String>,
}

fn back_to(decision: &Decision) -> String {
    match decision.back.as_deref() {
        // Only our own pages: never an address someone slipped into the form.
        Some(path) if path.starts_with("/threads/") && !path.contains("//") => path.to_owned(),
        _ => "/approvals".into(),
    }
}

pub async fn approve(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    Form(decision): Form<Decision>,
) -> PageResult<Response> {
    let mut tx = state.db.begin().await?;
    let edited = decision.text.as_deref().map(|t| t.replace("\r\n", "\n"));
    suggestions::approve(
        &mut tx,
        caller.workspace,
        MessageId(id),
        edited.as_deref(),
        &Who::from(&caller),
        crate::clock::now(),
    )
    .await?;
    tx.commit().await?;
    state.workers.wake_outbox();
    Ok(see_other(&back_to(&decision)))
}

pub async fn reject(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    Form(decision): Form<Decision>,
) -> PageResult<Response> {
    let mut tx = state.db.begin().await?;
    suggestions::reject(
        &mut tx,
        caller.workspace,
        MessageId(id),
        &Who::from(&caller),
        crate::clock::now(),
    )
    .await?;
    tx.commit().await?;
    Ok(see_other(&back_to(&decision)))
}
