//! Checking a browser request's CSRF token (see [`crate::auth::csrf`] for the token itself).

use axum::body::{Body, to_bytes};
use axum::http::{Method, Request};

pub use crate::auth::csrf::token_for;
use crate::auth::csrf::{FIELD, HEADER};
use crate::auth::secret::same;

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
