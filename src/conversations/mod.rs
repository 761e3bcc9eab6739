//! Conversations: the one place messages are written and thread summaries kept true.
//!
//! Every message — inbound from ingest and the connectors, manual replies, rule replies,
//! echoes of our own sends — is stored through [`insert_messages`], and every thread it
//! touches is brought up to date through [`summary`], inside the caller's transaction
//! (`&mut Tx`), so that a message and whatever it sets off are committed together or not at all.

pub mod delivery;
mod new_message;
mod outbound;
mod outbound_in_one;
pub mod summary;

pub use delivery::{Handover, Leased, SendNow, Sender, enqueue_moderation, enqueue_replies};
pub use new_message::{Automated, NewMessage, insert_messages};
pub use outbound::{
    Outbound, Threads, record_outbound, record_outbound_leasing, record_outbound_many,
};
pub use summary::{
    Growth, grow_threads, lock_threads, mark_new_inbound, merge_thread, refresh_threads, snippet,
};
