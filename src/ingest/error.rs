//! Why a batch was refused, apart from HTTP (`error.rs` gives each its status code).

use crate::problem::Problem;

#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    /// Not a batch at all: not JSON, not an event or a list of them, empty.
    #[error("{0}")]
    Malformed(String),
    /// More events than one request may carry.
    #[error("{0}")]
    TooMany(String),
    /// Events with problems, each named by event index and field; nothing was stored.
    #[error("{}", crate::problem::summary(.0))]
    Invalid(Vec<Problem>),
    /// Valid, but the database did not take it: nothing was stored.
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}
