//! Why a batch was refused, apart from HTTP (`error.rs` gives each its status code).

use crate::automation::AutomationError;
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
    /// Valid, but the workspace's rules could not decide it: nothing was stored.
    #[error(transparent)]
    Rules(AutomationError),
    /// Valid, but the database did not take it: nothing was stored.
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

impl From<AutomationError> for IngestError {
    fn from(e: AutomationError) -> Self {
        match e {
            AutomationError::Database(e) => IngestError::Database(e),
            other => IngestError::Rules(other),
        }
    }
}
