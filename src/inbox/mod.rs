//! The unified inbox: threads of comments and DMs from every channel, their states, labels and
//! replies. Its pages and JSON API live in `web`; this module owns the data.

pub mod actions;
mod error;
pub mod filter;
pub mod model;
pub mod read;
pub mod search;
mod threads_sql;
mod walk;

pub use error::InboxError;
