//! Reply rules: when a comment or DM matches (keywords, expressions, language, shape, who and
//! where), what to do: rules read and checked in full (`definition`, `condition`, `action`,
//! `template`), stored with their audit trail (`store`), and one matcher that decides which fire
//! for a message (`matcher`). Acting on the decisions is `automation`'s.

pub mod action;
pub mod condition;
pub mod definition;
pub mod languages;
pub mod limits;
pub mod matcher;
pub mod names;
pub mod schedule;
pub mod store;
pub mod syntax;
pub mod template;
pub mod text;
pub mod trial;

pub use condition::{Condition, Test, read_conditions};
pub use matcher::{Matcher, Message, RuleSpec};

#[cfg(test)]
mod tests;
