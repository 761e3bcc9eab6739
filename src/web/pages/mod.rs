//! The pages' handlers, one file per page with its askama template struct and its forms.

pub mod account;
pub mod approvals;
pub mod audit;
pub mod channels;
pub mod chart;
pub mod engagement;
pub mod inbox;
pub mod login;
pub mod members;
pub mod outbox;
pub mod rule_editor;
pub mod rule_form;
pub mod rules;
pub mod setup;
pub mod thread;
pub mod tokens;
pub mod video;
