//! Platform connectors: turning the platforms' own webhook formats into ingest events
//! (`meta`: Instagram and Facebook Pages), with their signatures checked on the raw body.
//! Sending (the outbox) and polling come next.

pub mod channels;
pub mod meta;
pub mod signature;
