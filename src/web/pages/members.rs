//! `/members` (owners): who belongs to the workspace, with which role.

use crate::ids::UserId;
use askama::Template;
use axum::Form;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use crate::accounts::audit::Who;
use crate::accounts::members::{self, Member};
use crate::accounts::users;
use crate::auth::secret::random_hex;
use crate::auth::{Caller, Visitor, password};
use crate::config::Secret;
use crate::domain::Role;
use crate::error::AppError;
use crate::state::AppState;
use crate::web::{Chrome, Page, PageResult, no_store, see_other};

#[derive(Template)]
#[template(path = "members.html")]
pub struct MembersTemplate {
    chrome: Chrome,
    members: Vec<Member>,
    roles: Vec<(&'static str, &'static str)>,
    me: UserId,
    /// After adding someone new: their email and first password, shown this once.
    created: Option<(String, String)>,
}

async fn render(
    state: &AppState,
    caller: &Caller,
    visitor: &Visitor,
    created: Option<(String, String)>,
) -> PageResult<Page<MembersTemplate>> {
    Ok(Page(MembersTemplate {
        chrome: Chrome::load(&state.db, visitor).await?,
        members: members::list(&state.db, caller.workspace).await?,
        roles: Role::ALL
            .iter()
            .rev()
            .map(|r| (r.as_str(), r.describe()))
            .collect(),
        me: visitor.session.user_id,
        created,
    }))
}

pub async fn show(
    State(state): State<AppState>,
    caller: Caller,
    visitor: Visitor,
) -> PageResult<Page<MembersTemplate>> {
    render(&state, &caller, &visitor, None).await
}

fn parse_role(role: &str) -> Result<Role, AppError> {
    role.parse().map_err(|e| AppError::field("role", e))
}

#[derive(Deserialize)]
pub struct AddForm {
    email: String,
    role: String,
}

/// Adds an existing user, or creates the account with a random first password shown once
/// (to hand over privately; they change it on their account page).
pub async fn add(
    State(state): State<AppState>,
    caller: Caller,
    visitor: Visitor,
    Form(form): Form<AddForm>,
) -> PageResult<Response> {
    let email = users::normalize_email(&form.email).map_err(|why| AppError::field("email", why))?;
    let role = parse_role(&form.role)?;
    let now = crate::clock::now();
    let who = Who::from(&caller);
    let mut created = None;
    match users::by_email(&state.db, &email).await? {
        Some(user) => {
            members::add(
                &state.db,
                caller.workspace,
                user.id,
                &email,
                role,
                &who,
                now,
            )
            .await?;
        }
        None => {
            let first = Secret::new(random_hex(10));
            let hash = password::hash(&first).await?;
            // The account and its membership, together or not at all.
            let mut tx = state.db.begin().await?;
            let id = users::add_in(&mut tx, &email, &hash, false, now).await?;
            members::add_in(&mut tx, caller.workspace, id, &email, role, &who, now).await?;
            tx.commit().await?;
            created = Some((email.clone(), first.expose().to_owned()));
        }
    }
    // A secret may be on this page, shown this once.
    Ok(no_store(
        render(&state, &caller, &visitor, created)
            .await?
            .into_response(),
    ))
}

#[derive(Deserialize)]
pub struct RoleForm {
    role: String,
}

pub async fn set_role(
    State(state): State<AppState>,
    caller: Caller,
    Path(user): Path<UserId>,
    Form(form): Form<RoleForm>,
) -> PageResult<Response> {
    let role = parse_role(&form.role)?;
    let who = Who::from(&caller);
    members::set_role(
        &state.db,
        caller.workspace,
        user,
        role,
        &who,
        crate::clock::now(),
    )
    .await?;
    Ok(see_other("/members"))
}

pub async fn remove(
    State(state): State<AppState>,
    caller: Caller,
    Path(user): Path<UserId>,
) -> PageResult<Response> {
    let who = Who::from(&caller);
    members::remove(&state.db, caller.workspace, user, &who, crate::clock::now()).await?;
    Ok(see_other("/members"))
}
