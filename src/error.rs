//! The one error type at the HTTP edge. Client mistakes become 4xx with a message that says
//! what to fix; anything unexpected becomes a 500 with a generic body, detail logged.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

pub use crate::problem::Problem;
use crate::storage::{Fault, fault};

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("{0}")]
    BadRequest(String),
    #[error("{message}")]
    Invalid {
        message: String,
        problems: Vec<Problem>,
    },
    /// No valid credentials: the caller should sign in or send a token.
    #[error("{0}")]
    Unauthorized(String),
    /// Signed in, but not allowed to do this.
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    TooManyRequests(String),
    #[error("{0} not found")]
    NotFound(&'static str),
    /// The thing is past the point where this can be done to it.
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    TooLarge(String),
    /// A platform this request needed could not be reached: nothing was stored; send it again.
    #[error("{0}")]
    Upstream(String),
    #[error("database error")]
    Database(#[from] sqlx::Error),
    #[error("internal error")]
    Internal(#[from] anyhow::Error),
}

impl AppError {
    pub fn invalid(problems: Vec<Problem>) -> Self {
        let message = crate::problem::summary(&problems);
        AppError::Invalid { message, problems }
    }

    pub fn field(field: &str, message: impl Into<String>) -> Self {
        AppError::invalid(vec![Problem::new(field, message)])
    }

    pub fn status(&self) -> StatusCode {
        match self {
            AppError::BadRequest(_) => StatusCode::BAD_REQUEST,
            AppError::Invalid { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            AppError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            AppError::Forbidden(_) => StatusCode::FORBIDDEN,
            AppError::TooManyRequests(_) => StatusCode::TOO_MANY_REQUESTS,
            AppError::NotFound(_) => StatusCode::NOT_FOUND,
            AppError::Conflict(_) => StatusCode::CONFLICT,
            AppError::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            AppError::Upstream(_) => StatusCode::SERVICE_UNAVAILABLE,
            AppError::Database(e) if crate::storage::is_unique_violation(e) => StatusCode::CONFLICT,
            AppError::Database(e) if crate::storage::is_invalid_text(e) => StatusCode::BAD_REQUEST,
            AppError::Database(e) => match fault(e) {
                Some(Fault::Full) => StatusCode::INSUFFICIENT_STORAGE,
                Some(Fault::Unavailable) => StatusCode::SERVICE_UNAVAILABLE,
                None => StatusCode::INTERNAL_SERVER_ERROR,
            },
            AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The message a client may see. Internal detail stays in the log.
    pub fn public_message(&self) -> String {
        match self {
            AppError::Database(e) if crate::storage::is_unique_violation(e) => {
                "this item already exists".to_owned()
            }
            AppError::Database(e) if crate::storage::is_invalid_text(e) => {
                "the request holds text that cannot be stored (a NUL character or invalid UTF-8)"
                    .to_owned()
            }
            AppError::Database(e) => match fault(e) {
                Some(Fault::Full) => "the database disk is full: nothing was stored; free disk \
                                      space on the database's server, then send it again"
                    .to_owned(),
                Some(Fault::Unavailable) => "the database is unavailable: the request was not \
                                             completed; send it again shortly"
                    .to_owned(),
                None => "internal error; the server log has the details".to_owned(),
            },
            AppError::Internal(_) => "internal error; the server log has the details".to_owned(),
            other => other.to_string(),
        }
    }

    pub fn problems(&self) -> &[Problem] {
        match self {
            AppError::Invalid { problems, .. } => problems,
            _ => &[],
        }
    }

    /// Logs server-side failures once, inside the request's span.
    pub fn log(&self) {
        match self {
            AppError::Database(e) if fault(e).is_some() => {
                tracing::warn!(error = %e, "database unavailable or full");
            }
            AppError::Database(e)
                if !crate::storage::is_unique_violation(e)
                    && !crate::storage::is_invalid_text(e) =>
            {
                tracing::error!(error = %e, "database error");
            }
            AppError::Internal(e) => tracing::error!(error = format!("{e:#}"), "internal error"),
            _ => {}
        }
    }
}

/// Every error answer of the API: what went wrong, and each field to fix.
#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct ErrorBody<'a> {
    error: String,
    #[serde(skip_serializing_if = "<[Problem]>::is_empty")]
    #[schema(value_type = Option<Vec<Problem>>)]
    problems: &'a [Problem],
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        self.log();
        let body = ErrorBody {
            error: self.public_message(),
            problems: self.problems(),
        };
        let mut response = (self.status(), Json(body)).into_response();
        if matches!(self, AppError::Unauthorized(_)) {
            response.headers_mut().insert(
                axum::http::header::WWW_AUTHENTICATE,
                axum::http::HeaderValue::from_static("Bearer realm=\"unibox\""),
            );
        }
        if self.status() == StatusCode::SERVICE_UNAVAILABLE {
            response.headers_mut().insert(
                axum::http::header::RETRY_AFTER,
                axum::http::HeaderValue::from_static("5"),
            );
        }
        response
    }
}

pub type ApiResult<T> = Result<T, AppError>;

impl From<crate::inbox::InboxError> for AppError {
    fn from(e: crate::inbox::InboxError) -> Self {
        use crate::inbox::InboxError as E;
        match e {
            E::NotFound(what) => AppError::NotFound(what),
            E::Invalid(problems) => AppError::invalid(problems),
            E::Database(e) => AppError::Database(e),
        }
    }
}

impl From<crate::automation::AutomationError> for AppError {
    fn from(e: crate::automation::AutomationError) -> Self {
        use crate::automation::AutomationError as E;
        match e {
            E::NotFound(what) => AppError::NotFound(what),
            E::Conflict(why) => AppError::Conflict(why),
            E::Invalid(problems) => AppError::invalid(problems),
            E::Uncompilable(why) => AppError::field("rule", why),
            E::CompileFailed(_) | E::StaleRules => AppError::Internal(anyhow::Error::new(e)),
            E::Database(e) => AppError::Database(e),
        }
    }
}

impl From<crate::outbox::OutboxError> for AppError {
    fn from(e: crate::outbox::OutboxError) -> Self {
        use crate::outbox::OutboxError as E;
        match e {
            E::NotFound => AppError::NotFound("outbox row"),
            E::Conflict(why) => AppError::Conflict(why),
            E::Database(e) => AppError::Database(e),
        }
    }
}

impl From<crate::ingest::IngestError> for AppError {
    fn from(e: crate::ingest::IngestError) -> Self {
        use crate::ingest::IngestError as E;
        match e {
            E::Malformed(message) => AppError::BadRequest(message),
            E::TooMany(message) => AppError::TooLarge(message),
            E::Invalid(problems) => AppError::invalid(problems),
            E::Rules(e) => e.into(),
            E::Database(e) => AppError::Database(e),
        }
    }
}

impl From<crate::accounts::AccountError> for AppError {
    fn from(e: crate::accounts::AccountError) -> Self {
        use crate::accounts::AccountError as E;
        match e {
            E::NotFound(what) => AppError::NotFound(what),
            E::Refused(problems) => AppError::invalid(problems),
            E::Database(e) => AppError::Database(e),
        }
    }
}

impl From<crate::connectors::channels::ChannelError> for AppError {
    fn from(e: crate::connectors::channels::ChannelError) -> Self {
        use crate::connectors::channels::ChannelError as E;
        match e {
            E::Incomplete(missing) => AppError::invalid(
                missing
                    .into_iter()
                    .map(|field| Problem::new(field, "is required to connect a channel"))
                    .collect(),
            ),
            E::Database(e) => AppError::Database(e),
        }
    }
}

impl From<crate::connectors::intake::IntakeError> for AppError {
    fn from(e: crate::connectors::intake::IntakeError) -> Self {
        use crate::connectors::intake::IntakeError as E;
        match e {
            E::Invalid(problems) => AppError::invalid(problems),
            E::Store(e) => e.into(),
            E::Upstream(why) => AppError::Upstream(why),
            E::Database(e) => AppError::Database(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::automation::AutomationError;
    use crate::connectors::channels::ChannelError;

    #[test]
    fn feature_errors_answer_their_own_status() {
        let incomplete: AppError = ChannelError::Incomplete(vec!["handle"]).into();
        assert_eq!(incomplete.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(incomplete.problems()[0].field, "handle");
        let uncompilable: AppError = AutomationError::Uncompilable("too large".into()).into();
        assert_eq!(uncompilable.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert!(uncompilable.problems()[0].message.contains("too large"));
        let stale: AppError = crate::ingest::IngestError::from(AutomationError::StaleRules).into();
        assert_eq!(stale.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert!(
            !stale.public_message().contains("stale"),
            "detail stays in the log"
        );
        let lost: AppError =
            crate::ingest::IngestError::from(AutomationError::Database(sqlx::Error::PoolClosed))
                .into();
        assert!(
            matches!(lost, AppError::Database(_)),
            "a database error stays one"
        );
    }
}
