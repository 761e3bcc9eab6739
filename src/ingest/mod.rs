//! Ingest: messages and statistics from any source, validated and stored all or nothing
//! (`POST /api/v1/events` is its HTTP face, in `web::api::events`).

mod backlog;
mod batch;
mod cache;
mod error;
mod event;
mod fields;
mod messages;
mod outcome;
mod queue;
mod refs;
mod resolved;
mod stats;
mod store;
mod threading;
mod threads;
mod validate;

pub use batch::Batch;
pub use error::IngestError;
pub use event::{AuthorRef, ChannelStatsEvent, Event, MessageEvent, VideoRef, VideoStatsEvent};
pub use fields::is_web_url;
pub use outcome::{IngestReport, Outcome, OutcomeStatus};
pub use queue::IngestQueue;
pub use validate::parse_events;
