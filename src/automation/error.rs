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
    /// A rule that cannot be compiled into a matcher, though it was checked when saved (its
    /// conditions together grew past what a matcher takes): the rule needs changing.
    #[error("the rule cannot be compiled: {0}")]
    Uncompilable(String),
    /// Compiling the workspace's rules stopped before it finished (the task failed).
    #[error("compiling the workspace's rules failed: {0}")]
    CompileFailed(String),
    /// The rules read in a decision's own transaction were already out of date.
    #[error("the rules read in this transaction went stale")]
    StaleRules,
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}
