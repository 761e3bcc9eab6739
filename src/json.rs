//! A JSON body extractor whose rejections are our [`AppError`]s: a client that sends bad JSON
//! learns what is wrong in the same shape as every other error.

use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;
use serde::de::DeserializeOwned;

use crate::error::{AppError, Problem};

pub struct ApiJson<T>(pub T);

impl<S, T> FromRequest<S> for ApiJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = AppError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(value)) => Ok(ApiJson(value)),
            Err(rejection) => Err(rejection_error(rejection)),
        }
    }
}

fn rejection_error(rejection: JsonRejection) -> AppError {
    match rejection.status() {
        StatusCode::PAYLOAD_TOO_LARGE => AppError::TooLarge("the body is too large".into()),
        StatusCode::UNPROCESSABLE_ENTITY => {
            let detail = rejection.body_text();
            let detail = detail
                .trim_start_matches("Failed to deserialize the JSON body into the target type: ");
            AppError::Invalid {
                message: format!("the body does not match this endpoint: {detail}"),
                problems: vec![Problem::new("body", detail)],
            }
        }
        _ => AppError::BadRequest(rejection.body_text()),
    }
}
