//! CSRF protection, one mechanism everywhere: every state-changing browser request carries
//! a token derived from a secret the browser holds only as an `HttpOnly` cookie (the session
//! id, or before sign-in the sign-in cookie). Another site can make the browser send the
//! cookie but cannot read it, so it cannot produce the token. Forms send it as the
//! `csrf_token` field, htmx requests as the `X-CSRF-Token` header.

use axum::body::{Body, to_bytes};
use axum::http::{Method, Request};

use super::secret::{digest, same};

pub const FIELD: &str = "csrf_token";
pub const HEADER: &str = "x-csrf-token";

/// The token pages embed for the holder of cookie secret `secret`.
pub fn token_for(secret: &str) -> String {
    digest(&format!("unibox-csrf:{secret}"))
}

pub fn is_safe(method: &Method) -> bool {
    matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// Checks the request's token against `secret`. Form bodies are read to find the field and
/// handed back intact. `Err(None)`: no or wrong token; `Err(Some(_))`: unreadable body.
pub async fn check(
    request: Request<Body>,
    secret: &str,
    max_body: usize,
) -> Result<Request<Body>, Option<String>> {
    let expected = token_for(secret);
    if let Some(sent) = request.headers().get(HEADER).and_then(|v| v.to_str().ok()) {
        return if same(sent, &expected) {
            Ok(request)
        } else {
            Err(None)
        };
    }
    let (parts, body) = request.into_parts();
    let bytes = to_bytes(body, max_body)
        .await
        .map_err(|_| Some(format!("the form is larger than {max_body} bytes")))?;
    let fields: Vec<(String, String)> = serde_urlencoded::from_bytes(&bytes).unwrap_or_default();
    let sent = fields
        .iter()
        .find(|(k, _)| k == FIELD)
        .map(|(_, v)| v.as_str());
    match sent {
        Some(sent) if same(sent, &expected) => Ok(Request::from_parts(parts, Body::from(bytes))),
        _ => Err(None),
    }
}
