//! Reply rules: when a comment or DM matches (keywords, expressions, language, shape, who and
//! where), what to do. This part reads conditions and decides which rules fire for a message;
//! storing rules, their actions and safeguards build on it.

pub mod condition;
pub mod matcher;
pub mod text;

pub use condition::{Condition, Test, read_conditions};
pub use matcher::{Matcher, Message, RuleSpec};

#[cfg(test)]
mod tests;
