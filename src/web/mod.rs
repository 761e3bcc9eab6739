//! The HTTP edge: the guard every route passes, the JSON API and the server-rendered pages
//! (askama), their forms, the static files they use, and the defences all routes share.
//! Features never see a request; this is where requests become feature calls.

pub mod api;
mod assets;
pub mod chrome;
pub mod cookies;
pub mod csrf;
mod extract;
pub mod guard;
pub mod hardening;
pub mod live;
pub mod ops;
pub mod pages;
pub mod view;
pub mod webhooks;

use askama::Template;
use axum::extract::State;
use axum::http::{StatusCode, Uri};
use axum::response::{Html, IntoResponse, Response};

pub use assets::{asset, favicon};
pub use chrome::Chrome;

use crate::error::{AppError, Problem};

/// Renders an askama template as a page; a rendering failure is a logged 500.
pub struct Page<T: Template>(pub T);

impl<T: Template> IntoResponse for Page<T> {
    fn into_response(self) -> Response {
        match self.0.render() {
            Ok(html) => Html(html).into_response(),
            Err(e) => {
                PageError(AppError::Internal(anyhow::anyhow!("template: {e}"))).into_response()
            }
        }
    }
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorTemplate {
    chrome: Chrome,
    title: String,
    message: String,
    problems: Vec<Problem>,
}

/// An [`AppError`] shown as a page instead of JSON.
pub struct PageError(pub AppError);

impl<E: Into<AppError>> From<E> for PageError {
    fn from(e: E) -> Self {
        PageError(e.into())
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        error_page(self.0, Chrome::anonymous())
    }
}

/// An error as a page, with the header `chrome` gives (a signed-in user keeps their menu).
pub fn error_page(err: AppError, chrome: Chrome) -> Response {
    err.log();
    let status = err.status();
    let page = ErrorTemplate {
        chrome,
        title: status.canonical_reason().unwrap_or("Error").to_owned(),
        message: err.public_message(),
        problems: err.problems().to_vec(),
    };
    match page.render() {
        Ok(html) => (status, Html(html)).into_response(),
        Err(_) => (status, err.public_message()).into_response(),
    }
}

pub type PageResult<T> = Result<T, PageError>;

/// Unknown paths: JSON under `/api/`, like the rest of the API; a page everywhere else.
/// A signed-in browser keeps its menu on the error page (this route has no guard to load it).
pub async fn not_found(
    State(state): State<crate::state::AppState>,
    headers: axum::http::HeaderMap,
    uri: Uri,
) -> Response {
    tracing::debug!(path = %uri.path(), "no such route");
    if uri.path().starts_with("/api/") {
        return AppError::NotFound("API endpoint").into_response();
    }
    let chrome = match cookies::get(&headers, cookies::SESSION) {
        Some(secret) => {
            match crate::auth::sessions::find(&state.db, secret, crate::clock::now()).await {
                Ok(Some(session)) => Chrome::of_session(&session, csrf::token_for(secret)),
                _ => Chrome::anonymous(),
            }
        }
        None => Chrome::anonymous(),
    };
    error_page(AppError::NotFound("page"), chrome)
}

/// `303 See Other` back to a page after a form post (so reloading does not post again).
pub fn see_other(location: &str) -> Response {
    (StatusCode::SEE_OTHER, [("location", location.to_owned())]).into_response()
}

/// Marks a page that shows a secret once: no cache, of the browser or between, may keep it.
pub fn no_store(mut response: Response) -> Response {
    response.headers_mut().insert(
        axum::http::header::CACHE_CONTROL,
        axum::http::HeaderValue::from_static("no-store"),
    );
    response
}

/// Only our own relative paths are followed after a form, never another site. Browsers drop
/// tabs and newlines from addresses (`/\t/evil.example` becomes `//evil.example`), so any
/// control character or space refuses the path too.
pub fn safe_return_path(path: Option<&str>) -> &str {
    match path {
        Some(p)
            if p.starts_with('/')
                && !p.starts_with("//")
                && !p.contains('\\')
                && !p.chars().any(|c| c.is_control() || c.is_whitespace()) =>
        {
            p
        }
        _ => "/",
    }
}

#[cfg(test)]
mod tests {
    use super::safe_return_path;

    #[test]
    fn only_own_paths_are_followed() {
        assert_eq!(safe_return_path(Some("/threads/5?x=1")), "/threads/5?x=1");
        for hostile in [
            "//evil.example",
            "/\\evil.example",
            "/\t/evil.example",
            "/\n/evil.example",
            "/ /evil.example",
            "https://evil.example",
            "evil",
        ] {
            assert_eq!(safe_return_path(Some(hostile)), "/", "{hostile:?}");
        }
        assert_eq!(safe_return_path(None), "/");
    }
}
