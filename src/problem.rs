//! What is wrong with a request, field by field: shared by the features that check input and
//! by the API and the pages that show it.

use serde::Serialize;

/// One thing wrong with a request, pointing at the event (in a batch) and the field.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct Problem {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub index: Option<usize>,
    pub field: String,
    pub message: String,
}

impl Problem {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Problem {
            index: None,
            field: field.into(),
            message: message.into(),
        }
    }

    pub fn at(index: usize, field: impl Into<String>, message: impl Into<String>) -> Self {
        Problem {
            index: Some(index),
            field: field.into(),
            message: message.into(),
        }
    }
}

/// The message for a list of problems.
pub fn summary(problems: &[Problem]) -> String {
    match problems.len() {
        1 => "the request has 1 problem".to_owned(),
        n => format!("the request has {n} problems"),
    }
}
