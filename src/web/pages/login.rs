//! `/login` and `/logout`: signing in with email and password, and out again.

use askama::Template;
use axum::Form;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use crate::accounts::users;
use crate::auth::secret::{digest, random_hex, same};
use crate::auth::{Visitor, csrf, password, sessions, throttle};
use crate::config::Secret;
use crate::state::AppState;
use crate::web::cookies;
use crate::web::guard::ClientAddress;
use crate::web::{Chrome, Page, PageResult, safe_return_path, see_other};

/// The sign-in cookie outlives a form left open over lunch, not much more.
const SIGN_IN_SECONDS: i64 = 12 * 3600;

#[derive(Template)]
#[template(path = "login.html")]
pub struct LoginTemplate {
    chrome: Chrome,
    csrf: String,
    email: String,
    next: String,
    error: Option<String>,
    notice: Option<&'static str>,
}

#[derive(Deserialize)]
pub struct LoginQuery {
    next: Option<String>,
    signed_out: Option<String>,
}

/// The sign-in cookie's secret if the browser sent a well-formed one.
fn sign_in_secret(headers: &HeaderMap) -> Option<&str> {
    cookies::get(headers, cookies::SIGN_IN)
        .filter(|s| s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// Renders the form with `status`, setting a fresh sign-in cookie unless the browser has one.
fn login_form(
    state: &AppState,
    headers: &HeaderMap,
    status: StatusCode,
    email: String,
    next: &str,
    error: Option<String>,
    notice: Option<&'static str>,
) -> Response {
    let (secret, fresh) = match sign_in_secret(headers) {
        Some(s) => (s.to_owned(), false),
        None => (random_hex(32), true),
    };
    let page = LoginTemplate {
        chrome: Chrome::anonymous(),
        csrf: csrf::token_for(&secret),
        email,
        next: safe_return_path(Some(next)).to_owned(),
        error,
        notice,
    };
    let mut response = (status, Page(page)).into_response();
    if fresh {
        let secure = cookies::secure(&state.config, headers);
        let cookie = cookies::set(cookies::SIGN_IN, &secret, "/login", SIGN_IN_SECONDS, secure);
        response.headers_mut().append(header::SET_COOKIE, cookie);
    }
    response
}

pub async fn form(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<LoginQuery>,
) -> PageResult<Response> {
    let next = q.next.as_deref().unwrap_or("/");
    if let Some(id) = cookies::get(&headers, cookies::SESSION)
        && sessions::find(&state.db, id, crate::clock::now())
            .await?
            .is_some()
    {
        return Ok(see_other(safe_return_path(Some(next))));
    }
    let notice = q.signed_out.is_some().then_some("You are signed out.");
    Ok(login_form(
        &state,
        &headers,
        StatusCode::OK,
        String::new(),
        next,
        None,
        notice,
    ))
}

#[derive(Deserialize)]
pub struct LoginForm {
    email: String,
    password: Secret,
    csrf_token: String,
    #[serde(default)]
    next: String,
}

pub async fn sign_in(
    State(state): State<AppState>,
    ClientAddress(address): ClientAddress,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> PageResult<Response> {
    let again = |status, error: String| {
        login_form(
            &state,
            &headers,
            status,
            form.email.clone(),
            &form.next,
            Some(error),
            None,
        )
    };
    let csrf_ok = sign_in_secret(&headers)
        .is_some_and(|secret| same(&form.csrf_token, &csrf::token_for(secret)));
    if !csrf_ok {
        return Ok(again(
            StatusCode::FORBIDDEN,
            "This sign-in form expired or did not come from this unibox. Please sign in again."
                .into(),
        ));
    }
    let now = crate::clock::now();
    // Unknown and malformed emails are counted too (capped, so the table stays small).
    let email = users::normalize_email(&form.email)
        .unwrap_or_else(|_| form.email.trim().to_lowercase().chars().take(254).collect());
    let attempt = match throttle::begin(&state.db, &email, &address, now).await? {
        Ok(attempt) => attempt,
        Err(wait) => {
            tracing::warn!(%address, "sign-in refused: too many failures");
            return Ok(again(StatusCode::TOO_MANY_REQUESTS, wait));
        }
    };
    let user = users::by_email(&state.db, &email).await?;
    // Without such a user this still spends one verification against a decoy hash, so the
    // answer's timing does not tell which emails have accounts.
    let hash = user.as_ref().map(|u| u.password_hash.clone());
    let verified = password::verify(&form.password, hash).await;
    let Some(user) = user.filter(|_| verified) else {
        tracing::info!(%address, "failed sign-in");
        return Ok(again(
            StatusCode::UNAUTHORIZED,
            "The email or the password is wrong.".into(),
        ));
    };
    attempt.succeeded(&state.db).await?;
    // A fresh session id at every sign-in: an id planted before cannot be ridden.
    if let Some(old) = cookies::get(&headers, cookies::SESSION) {
        sessions::end(&state.db, &digest(old)).await?;
    }
    let id = sessions::start(&state.db, user.id, now).await?;
    tracing::info!(user = %user.id, "signed in");
    let secure = cookies::secure(&state.config, &headers);
    let mut response = see_other(safe_return_path(Some(&form.next)));
    let lifetime = sessions::LIFETIME.num_seconds();
    let h = response.headers_mut();
    h.append(
        header::SET_COOKIE,
        cookies::set(cookies::SESSION, &id, "/", lifetime, secure),
    );
    h.append(
        header::SET_COOKIE,
        cookies::clear(cookies::SIGN_IN, "/login", secure),
    );
    Ok(response)
}

pub async fn sign_out(
    State(state): State<AppState>,
    visitor: Visitor,
    headers: HeaderMap,
) -> PageResult<Response> {
    sessions::end(&state.db, &visitor.session.key).await?;
    let secure = cookies::secure(&state.config, &headers);
    let mut response = see_other("/login?signed_out=1");
    response.headers_mut().append(
        header::SET_COOKIE,
        cookies::clear(cookies::SESSION, "/", secure),
    );
    Ok(response)
}
