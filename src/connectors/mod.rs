//! Platform connectors: the platforms' own webhook formats turned into ingest events (`meta`:
//! Instagram and Facebook Pages; `tiktok`), with their signatures checked on the raw body, and
//! taken in per workspace (`intake`); and the platforms' APIs called for the outbox (`calls`,
//! `send`, one sender per platform).

pub mod calls;
pub mod channels;
pub mod health;
pub mod identity;
pub mod intake;
pub mod meta;
pub mod meta_send;
pub mod meta_stats;
pub mod profiles;
pub mod routing;
pub mod send;
pub mod signature;
pub mod tiktok;
pub mod tiktok_fetch;
pub mod tiktok_send;
pub mod verification;
pub mod verification_view;
pub mod youtube;
pub mod youtube_send;
