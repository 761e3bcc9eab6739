//! `/setup`: the first account, made in the browser with the one-time link `unibox serve`
//! prints while no account exists (see `auth::setup`).

use askama::Template;
use axum::Form;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use crate::accounts::{first, users};
use crate::auth::{password, sessions};
use crate::config::Secret;
use crate::state::AppState;
use crate::web::cookies;
use crate::web::{Chrome, Page, PageResult, see_other};

#[derive(Template)]
#[template(path = "setup.html")]
pub struct SetupTemplate {
    chrome: Chrome,
    /// `None`: the form is not offered, only `error` (a used, wrong or closed link).
    token: Option<String>,
    email: String,
    error: Option<String>,
}

#[derive(Deserialize)]
pub struct SetupQuery {
    #[serde(default)]
    token: String,
}

const SET_UP: &str = "This unibox has an account already, so the setup link no longer works. \
                      Sign in, or ask the server's administrator for an account.";
const WRONG: &str = "This setup link is not valid. Use the link `unibox serve` printed when it \
                     started (each start prints a new one while no account exists).";

fn page(status: StatusCode, token: Option<String>, email: String, error: Option<&str>) -> Response {
    let page = SetupTemplate {
        chrome: Chrome::anonymous(),
        token,
        email,
        error: error.map(str::to_owned),
    };
    (status, Page(page)).into_response()
}

/// The page that refuses `token`: gone once an account exists, forbidden when it is not the
/// open link's.
async fn refusal(state: &AppState, token: &str) -> Result<Option<Response>, sqlx::Error> {
    if users::count(&state.db).await? > 0 {
        state.setup.close();
        return Ok(Some(page(
            StatusCode::GONE,
            None,
            String::new(),
            Some(SET_UP),
        )));
    }
    if !state.setup.admits(token) {
        return Ok(Some(page(
            StatusCode::FORBIDDEN,
            None,
            String::new(),
            Some(WRONG),
        )));
    }
    Ok(None)
}

pub async fn form(
    State(state): State<AppState>,
    Query(q): Query<SetupQuery>,
) -> PageResult<Response> {
    if let Some(refusal) = refusal(&state, &q.token).await? {
        return Ok(refusal);
    }
    Ok(page(StatusCode::OK, Some(q.token), String::new(), None))
}

#[derive(Deserialize)]
pub struct SetupForm {
    token: String,
    email: String,
    password: Secret,
    confirm: Secret,
}

pub async fn create(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(form): Form<SetupForm>,
) -> PageResult<Response> {
    if let Some(refusal) = refusal(&state, &form.token).await? {
        return Ok(refusal);
    }
    let again = |why: String| {
        page(
            StatusCode::UNPROCESSABLE_ENTITY,
            Some(form.token.clone()),
            form.email.clone(),
            Some(&why),
        )
    };
    let email = match users::normalize_email(&form.email) {
        Ok(email) => email,
        Err(why) => return Ok(again(format!("The email {why}."))),
    };
    if let Some(why) = password::weakness(form.password.expose()) {
        return Ok(again(format!("The password {why}.")));
    }
    if form.password != form.confirm {
        return Ok(again("The password and its confirmation differ.".into()));
    }
    // Taken before the slow hash, so that two requests cannot both get this far.
    if !state.setup.take(&form.token) {
        return Ok(page(
            StatusCode::FORBIDDEN,
            None,
            String::new(),
            Some(WRONG),
        ));
    }
    let now = crate::clock::now();
    let made = match password::hash(&form.password).await {
        Ok(hash) => first::add_first_admin(&state.db, &email, &hash, now)
            .await
            .map_err(crate::error::AppError::from),
        Err(e) => Err(crate::error::AppError::from(e)),
    };
    let id = match made {
        Ok(Some(id)) => id,
        Ok(None) => return Ok(page(StatusCode::GONE, None, String::new(), Some(SET_UP))),
        Err(e) => {
            // Nothing was stored: the link keeps working for another try.
            state.setup.give_back(form.token);
            return Err(e.into());
        }
    };
    tracing::info!(user = %id, "first account created through the setup link");
    let session = sessions::start(&state.db, id, now).await?;
    let secure = cookies::secure(&state.config, &headers);
    let mut response = see_other("/");
    response.headers_mut().append(
        header::SET_COOKIE,
        cookies::set(
            cookies::SESSION,
            &session,
            "/",
            sessions::LIFETIME.num_seconds(),
            secure,
        ),
    );
    Ok(response)
}
