//! The unified inbox: threads of comments and DMs from every channel, their states, labels and
//! replies. Pages live in `web`; this module owns the data and the JSON API.

pub mod actions;
pub mod api;
pub mod filter;
pub mod model;
pub mod read;
pub mod refresh;
pub mod search;
