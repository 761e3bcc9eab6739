//! Why a change to members or workspaces was refused, apart from HTTP.

use crate::problem::Problem;

#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    /// No such member (or user) here.
    #[error("{0} not found")]
    NotFound(&'static str),
    /// The change would break a rule (the last owner leaving, a taken name); each problem
    /// names its field.
    #[error("{}", crate::problem::summary(.0))]
    Refused(Vec<Problem>),
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

impl AccountError {
    pub fn field(field: &str, message: impl Into<String>) -> Self {
        AccountError::Refused(vec![Problem::new(field, message)])
    }
}
