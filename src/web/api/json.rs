//! The JSON body extractor of the API: strict (see [`crate::json`]), then typed; a client that
//! sends bad JSON learns what is wrong in the same shape as every other error.

use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;
use serde::de::DeserializeOwned;

use crate::error::{AppError, Problem};
use crate::json::parse;

/// A JSON body extractor: strict, then typed.
pub struct ApiJson<T>(pub T);

impl<S, T> FromRequest<S> for ApiJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = AppError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let is_json = req
            .headers()
            .get(axum::http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .is_some_and(|v| {
                let v = v.trim();
                v.eq_ignore_ascii_case("application/json") || v.ends_with("+json")
            });
        if !is_json {
            return Err(AppError::BadRequest(
                "Expected request with `Content-Type: application/json`".into(),
            ));
        }
        let body = match axum::body::Bytes::from_request(req, state).await {
            Ok(body) => body,
            Err(rejection) if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                return Err(AppError::TooLarge("the body is too large".into()));
            }
            Err(rejection) => return Err(AppError::BadRequest(rejection.body_text())),
        };
        let value = parse(&body)
            .map_err(|e| AppError::BadRequest(format!("the body is not valid JSON: {e}")))?;
        T::deserialize(value).map(ApiJson).map_err(|e| {
            let detail = e.to_string();
            AppError::Invalid {
                message: format!("the body does not match this endpoint: {detail}"),
                problems: vec![Problem::new("body", detail)],
            }
        })
    }
}

/// An optional JSON body: a request without one (no content, no content type) gets `None`;
/// one with a body is read as [`ApiJson`] reads it.
impl<S, T> axum::extract::OptionalFromRequest<S> for ApiJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = AppError;

    async fn from_request(req: Request, state: &S) -> Result<Option<Self>, Self::Rejection> {
        use axum::http::header::{CONTENT_LENGTH, CONTENT_TYPE, TRANSFER_ENCODING};
        let headers = req.headers();
        let empty = headers.get(CONTENT_LENGTH).is_some_and(|v| v == "0")
            || (headers.get(CONTENT_TYPE).is_none()
                && headers.get(CONTENT_LENGTH).is_none()
                && headers.get(TRANSFER_ENCODING).is_none());
        if empty {
            return Ok(None);
        }
        <Self as FromRequest<S>>::from_request(req, state)
            .await
            .map(Some)
    }
}
