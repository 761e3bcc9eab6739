//! `/tokens` (admins): the workspace's API tokens; a new one is shown once.

use crate::ids::TokenId;
use askama::Template;
use axum::Form;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use crate::accounts::audit::Who;
use crate::auth::tokens::{self, TokenRow};
use crate::auth::{Caller, Visitor};
use crate::domain::Scope;
use crate::error::AppError;
use crate::state::AppState;
use crate::web::view::full_time;
use crate::web::{Chrome, Page, PageResult, no_store, see_other};

pub struct TokenItem {
    id: TokenId,
    name: String,
    scope: String,
    prefix: String,
    created_by: String,
    created: String,
    last_used: String,
    revoked: Option<String>,
}

impl From<TokenRow> for TokenItem {
    fn from(t: TokenRow) -> Self {
        TokenItem {
            id: t.id,
            name: t.name,
            scope: t.scope,
            prefix: t.prefix,
            created_by: t.created_by.unwrap_or_else(|| "command line".into()),
            created: full_time(t.created_at),
            last_used: t.last_used_at.map_or_else(|| "never".into(), full_time),
            revoked: t.revoked_at.map(full_time),
        }
    }
}

#[derive(Template)]
#[template(path = "tokens.html")]
pub struct TokensTemplate {
    chrome: Chrome,
    tokens: Vec<TokenItem>,
    /// A token just created: its name and secret, shown this once.
    created: Option<(String, String)>,
}

async fn render(
    state: &AppState,
    caller: &Caller,
    visitor: &Visitor,
    created: Option<(String, String)>,
) -> PageResult<Page<TokensTemplate>> {
    let rows = tokens::list(&state.db, caller.workspace).await?;
    Ok(Page(TokensTemplate {
        chrome: Chrome::load(&state.db, visitor).await?,
        tokens: rows.into_iter().map(TokenItem::from).collect(),
        created,
    }))
}

pub async fn show(
    State(state): State<AppState>,
    caller: Caller,
    visitor: Visitor,
) -> PageResult<Page<TokensTemplate>> {
    render(&state, &caller, &visitor, None).await
}

#[derive(Deserialize)]
pub struct NewTokenForm {
    name: String,
    scope: String,
}

pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    visitor: Visitor,
    Form(form): Form<NewTokenForm>,
) -> PageResult<Response> {
    if let Some(why) = tokens::name_problem(&form.name) {
        return Err(AppError::field("name", why).into());
    }
    let scope: Scope = form
        .scope
        .parse()
        .map_err(|e| AppError::field("scope", e))?;
    let who = Who::from(&caller);
    let now = crate::clock::now();
    let (_, secret) =
        tokens::create(&state.db, caller.workspace, &form.name, scope, &who, now).await?;
    let created = Some((form.name.trim().to_owned(), secret));
    // A secret may be on this page, shown this once.
    Ok(no_store(
        render(&state, &caller, &visitor, created)
            .await?
            .into_response(),
    ))
}

pub async fn revoke(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<TokenId>,
) -> PageResult<Response> {
    let who = Who::from(&caller);
    tokens::revoke(&state.db, caller.workspace, id, &who, crate::clock::now())
        .await?
        .ok_or(AppError::NotFound("token"))?;
    Ok(see_other("/tokens"))
}
