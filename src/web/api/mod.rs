//! The JSON API's handlers: each parses its request, calls a feature, and answers JSON.

pub mod automation;
pub mod channels;
pub mod engagement;
pub mod events;
mod json;
pub mod openapi;
pub mod outbox;
pub mod rules;
pub mod threads;

pub use json::ApiJson;
