//! Server-rendered pages (askama), their forms, and the static files they use.

mod assets;
mod inbox_page;
mod thread_page;
pub mod view;

use askama::Template;
use axum::Router;
use axum::http::{StatusCode, Uri};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};

use crate::error::{AppError, Problem};
use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(inbox_page::inbox))
        .route("/threads/bulk", post(inbox_page::bulk_status))
        .route("/threads/{id}", get(thread_page::thread))
        .route("/threads/{id}/status", post(thread_page::set_status))
        .route("/threads/{id}/unread", post(thread_page::mark_unread))
        .route("/threads/{id}/labels", post(thread_page::add_label))
        .route(
            "/threads/{id}/labels/remove",
            post(thread_page::remove_label),
        )
        .route("/threads/{id}/reply", post(thread_page::reply))
        .route("/static/{file}", get(assets::asset))
        .fallback(page_not_found)
}

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
        let err = self.0;
        err.log();
        let status = err.status();
        let page = ErrorTemplate {
            title: status.canonical_reason().unwrap_or("Error").to_owned(),
            message: err.public_message(),
            problems: err.problems().to_vec(),
        };
        match page.render() {
            Ok(html) => (status, Html(html)).into_response(),
            Err(_) => (status, err.public_message()).into_response(),
        }
    }
}

pub type PageResult<T> = Result<T, PageError>;

async fn page_not_found(uri: Uri) -> PageError {
    tracing::debug!(path = %uri.path(), "no such page");
    PageError(AppError::NotFound("page"))
}

/// Unknown API paths answer in JSON, like the rest of the API.
pub async fn api_not_found() -> AppError {
    AppError::NotFound("API endpoint")
}

/// `303 See Other` back to a page after a form post (so reloading does not post again).
pub fn see_other(location: &str) -> Response {
    (StatusCode::SEE_OTHER, [("location", location.to_owned())]).into_response()
}

/// Only our own relative paths are followed after a form, never another site.
pub fn safe_return_path(path: Option<&str>) -> &str {
    match path {
        Some(p) if p.starts_with('/') && !p.starts_with("//") && !p.contains('\\') => p,
        _ => "/",
    }
}
