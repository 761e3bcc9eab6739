//! The HTTP edge's defences that every route shares: browser security headers, refusing
//! text that cannot be stored (NUL, invalid UTF-8) in query strings and forms before any
//! handler sees it, and a place for browsers to report content-security violations.

use axum::body::{Body, Bytes, to_bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::error::AppError;
use crate::state::AppState;

/// Scripts and styles only from our own files (no inline code, no eval), never framed,
/// forms only to ourselves; violations are reported to [`csp_report`].
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; \
     style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; \
     frame-ancestors 'none'; base-uri 'none'; report-uri /csp-reports";

/// Middleware: the security headers on every answer, and `no-store` on every answer that
/// does not say how it may be cached (pages and API answers are private).
pub async fn security_headers(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    let set = [
        (
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CONTENT_SECURITY_POLICY),
        ),
        (header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY")),
        (
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ),
        (
            header::REFERRER_POLICY,
            HeaderValue::from_static("same-origin"),
        ),
    ];
    for (name, value) in set {
        headers.insert(name, value);
    }
    headers
        .entry(header::CACHE_CONTROL)
        .or_insert(HeaderValue::from_static("no-store"));
    response
}

/// Middleware: refuses a query string or form body whose decoded text holds a NUL character
/// or is not UTF-8, with a 400 that says so. (JSON bodies are checked where they are parsed.)
pub async fn refuse_invalid_text(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    if let Some(problem) = request
        .uri()
        .query()
        .and_then(|q| invalid_text(q.as_bytes()))
    {
        return AppError::BadRequest(format!("the query string {problem}")).into_response();
    }
    let is_form = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    if !is_form || request.method() == Method::GET {
        return next.run(request).await;
    }
    let (parts, body) = request.into_parts();
    let bytes = match to_bytes(body, state.config.server.max_body_bytes).await {
        Ok(bytes) => bytes,
        Err(_) => {
            return AppError::TooLarge(format!(
                "the form is larger than {} bytes",
                state.config.server.max_body_bytes
            ))
            .into_response();
        }
    };
    if let Some(problem) = invalid_text(&bytes) {
        return AppError::BadRequest(format!("the form {problem}")).into_response();
    }
    next.run(Request::from_parts(parts, Body::from(bytes)))
        .await
}

/// What is wrong with URL-encoded `text` once decoded, if anything.
fn invalid_text(text: &[u8]) -> Option<&'static str> {
    let mut decoded = Vec::with_capacity(text.len());
    let mut i = 0;
    while i < text.len() {
        let byte = match text[i] {
            b'%' if i + 2 < text.len() => match hex_pair(text[i + 1], text[i + 2]) {
                Some(b) => {
                    i += 2;
                    b
                }
                None => b'%',
            },
            b => b,
        };
        decoded.push(byte);
        i += 1;
    }
    if decoded.contains(&0) {
        Some("holds a NUL character (%00); remove it")
    } else if std::str::from_utf8(&decoded).is_err() {
        Some("is not valid UTF-8 once decoded")
    } else {
        None
    }
}

fn hex_pair(high: u8, low: u8) -> Option<u8> {
    let digit = |c: u8| (c as char).to_digit(16).map(|d| d as u8);
    Some(digit(high)? << 4 | digit(low)?)
}

/// Most of a violation report that is logged.
const REPORT_LOGGED: usize = 2048;

/// `POST /csp-reports`: a browser reports content the policy blocked. Counted and logged
/// (shortened), so an operator sees a page that breaks under the policy, or an injection try.
pub async fn csp_report(State(state): State<AppState>, body: Bytes) -> Response {
    state.metrics.count_csp_violation();
    let text = String::from_utf8_lossy(&body);
    let shown: String = text.chars().take(REPORT_LOGGED).collect();
    tracing::warn!(report = %shown, "content security policy violation reported");
    axum::http::StatusCode::NO_CONTENT.into_response()
}

#[cfg(test)]
mod tests {
    use super::invalid_text;

    #[test]
    fn nul_and_broken_utf8_are_found_once_decoded() {
        assert_eq!(invalid_text(b"q=caf%C3%A9&label=a+b"), None);
        assert_eq!(invalid_text(b"100%"), None);
        assert!(invalid_text(b"label=a%00b").is_some());
        assert!(invalid_text(b"x=%00").is_some());
        assert!(invalid_text(b"x=%C3").is_some());
        assert!(invalid_text(b"x=%ff%fe").is_some());
    }
}
