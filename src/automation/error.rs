//! What can go wrong acting on suggestions and settings, apart from HTTP.

use crate::problem::Problem;

#[derive(Debug, thiserror::Error)]
pub enum AutomationError {
    #[error("{0} not found")]
    NotFound(&'static str),
    /// The thing exists but is past the point where this can be done to it.
    #[error("{0}")]
    Conflict(String),
    #[error("{}", crate::problem::summary(.0))]
    Invalid(Vec<Problem>),
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}
