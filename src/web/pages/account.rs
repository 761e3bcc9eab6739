//! `/account`: one's own password and workspaces; server administrators create workspaces.

use askama::Template;
use axum::Form;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use crate::accounts::audit::Who;
use crate::accounts::{members, users, workspaces};
use crate::auth::{Visitor, password, sessions, throttle};
use crate::config::Secret;
use crate::domain::Role;
use crate::error::AppError;
use crate::ids::WorkspaceId;
use crate::state::AppState;
use crate::web::guard::ClientAddress;
use crate::web::{Chrome, Page, PageResult, see_other};

#[derive(Template)]
#[template(path = "account.html")]
pub struct AccountTemplate {
    chrome: Chrome,
    notice: Option<&'static str>,
    error: Option<String>,
    min_chars: usize,
}

#[derive(Deserialize)]
pub struct AccountQuery {
    changed: Option<String>,
}

async fn render(
    state: &AppState,
    visitor: &Visitor,
    status: StatusCode,
    notice: Option<&'static str>,
    error: Option<String>,
) -> PageResult<Response> {
    let page = AccountTemplate {
        chrome: Chrome::load(&state.db, visitor).await?,
        notice,
        error,
        min_chars: password::MIN_CHARS,
    };
    Ok((status, Page(page)).into_response())
}

pub async fn show(
    State(state): State<AppState>,
    visitor: Visitor,
    Query(q): Query<AccountQuery>,
) -> PageResult<Response> {
    let notice = q
        .changed
        .is_some()
        .then_some("Password changed. Your other sessions were signed out.");
    render(&state, &visitor, StatusCode::OK, notice, None).await
}

#[derive(Deserialize)]
pub struct PasswordForm {
    current: Secret,
    new: Secret,
    confirm: Secret,
}

pub async fn change_password(
    State(state): State<AppState>,
    visitor: Visitor,
    ClientAddress(address): ClientAddress,
    Form(form): Form<PasswordForm>,
) -> PageResult<Response> {
    let session = &visitor.session;
    let now = crate::clock::now();
    let refuse = |status, message: String| render(&state, &visitor, status, None, Some(message));
    // Guessing the current password through a borrowed session is throttled like sign-in.
    let attempt = match throttle::begin(&state.db, &session.email, &address, now).await? {
        Ok(attempt) => attempt,
        Err(wait) => return refuse(StatusCode::TOO_MANY_REQUESTS, wait).await,
    };
    let user = users::by_id(&state.db, session.user_id)
        .await?
        .ok_or(AppError::NotFound("user"))?;
    if !password::verify(&form.current, Some(user.password_hash)).await {
        return refuse(
            StatusCode::UNPROCESSABLE_ENTITY,
            "The current password is wrong.".into(),
        )
        .await;
    }
    attempt.succeeded(&state.db).await?;
    if let Some(why) = password::weakness(form.new.expose()) {
        return refuse(
            StatusCode::UNPROCESSABLE_ENTITY,
            format!("The new password {why}."),
        )
        .await;
    }
    if form.new != form.confirm {
        return refuse(
            StatusCode::UNPROCESSABLE_ENTITY,
            "The new password and its confirmation differ.".into(),
        )
        .await;
    }
    let hash = password::hash(&form.new).await?;
    users::set_password(&state.db, user.id, &hash, now).await?;
    sessions::end_others(&state.db, user.id, &session.key).await?;
    tracing::info!(user = %user.id, "password changed");
    Ok(see_other("/account?changed=1"))
}

#[derive(Deserialize)]
pub struct SwitchForm {
    workspace_id: WorkspaceId,
}

pub async fn switch_workspace(
    State(state): State<AppState>,
    visitor: Visitor,
    Form(form): Form<SwitchForm>,
) -> PageResult<Response> {
    if !sessions::switch(&state.db, &visitor.session, form.workspace_id).await? {
        return Err(AppError::NotFound("workspace").into());
    }
    Ok(see_other("/"))
}

#[derive(Deserialize)]
pub struct NewWorkspaceForm {
    name: String,
    slug: String,
}

pub async fn create_workspace(
    State(state): State<AppState>,
    visitor: Visitor,
    Form(form): Form<NewWorkspaceForm>,
) -> PageResult<Response> {
    let mut problems = Vec::new();
    if let Some(why) = workspaces::name_problem(&form.name) {
        problems.push(crate::error::Problem::new("name", why));
    }
    let slug = form.slug.trim().to_lowercase();
    if let Some(why) = workspaces::slug_problem(&slug) {
        problems.push(crate::error::Problem::new("slug", why));
    }
    if !problems.is_empty() {
        return Err(AppError::invalid(problems).into());
    }
    let now = crate::clock::now();
    let session = &visitor.session;
    let who = Who {
        user_id: Some(session.user_id),
        label: session.email.clone(),
    };
    // The workspace and its owner, together or not at all.
    let mut tx = state.db.begin().await?;
    let id = workspaces::create_in(&mut tx, &slug, &form.name, now)
        .await
        .map_err(|e| workspaces::slug_taken(&slug, e))?;
    members::add_in(
        &mut tx,
        id,
        session.user_id,
        &session.email,
        Role::Owner,
        &who,
        now,
    )
    .await?;
    tx.commit().await?;
    sessions::switch(&state.db, session, id).await?;
    Ok(see_other("/"))
}
