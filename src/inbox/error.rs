//! What can go wrong acting on the inbox, apart from HTTP: `error.rs` turns these into status
//! codes, and a worker can match on them.

use crate::problem::Problem;

#[derive(Debug, thiserror::Error)]
pub enum InboxError {
    /// No such thread (or message) in this workspace.
    #[error("{0} not found")]
    NotFound(&'static str),
    /// The request asks for something invalid; each problem names its field.
    #[error("{}", crate::problem::summary(.0))]
    Invalid(Vec<Problem>),
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

impl InboxError {
    pub fn field(field: &str, message: impl Into<String>) -> Self {
        InboxError::Invalid(vec![Problem::new(field, message)])
    }
}
