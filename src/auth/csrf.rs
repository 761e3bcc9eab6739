//! CSRF protection, one mechanism everywhere: every state-changing browser request carries
//! a token derived from a secret the browser holds only as an `HttpOnly` cookie (the session
//! id, or before sign-in the sign-in cookie). Another site can make the browser send the
//! cookie but cannot read it, so it cannot produce the token. Forms send it as the
//! `csrf_token` field, htmx requests as the `X-CSRF-Token` header.

use super::secret::digest;

pub const FIELD: &str = "csrf_token";
pub const HEADER: &str = "x-csrf-token";

/// The token pages embed for the holder of cookie secret `secret`.
pub fn token_for(secret: &str) -> String {
    digest(&format!("unibox-csrf:{secret}"))
}
