//! The outbox: every action that must reach a platform is a durable row (written with the
//! message it delivers, by `conversations::delivery`), and a dispatcher sends each exactly
//! once — leased briefly (`claim`), or leased as it was queued and handed over (`courier`),
//! within each account's budgets (`limits`, TikTok's reads counted per minute in `window`,
//! YouTube's units in `quota`), looked up on the
//! platform first when an earlier attempt may have gone through, and its outcome recorded
//! with retries, backoff and `Retry-After` (`settle`; calls that went through, many rows per
//! statement, in `sent`). People see the rows and retry or cancel them (`read`, `manage`).

pub mod claim;
pub mod courier;
pub mod dispatch;
pub mod limits;
pub mod manage;
pub mod quota;
pub mod read;
pub mod recorder;
pub mod sent;
pub mod settle;
pub mod window;

pub use courier::Courier;
pub use dispatch::Dispatcher;
pub use limits::Limits;
pub use manage::OutboxError;
