//! The pages' handlers, one file per page with its askama template struct and its forms.

pub mod account;
pub mod audit;
pub mod inbox;
pub mod login;
pub mod members;
pub mod rules;
pub mod thread;
pub mod tokens;
