//! What a batch's references resolve to: the keys of platform objects, channels, and each
//! message event with the ids its row needs.

use super::event::MessageEvent;
use crate::domain::Direction;

/// (channel id, external id): how every platform object is identified.
pub type Key = (i64, String);

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ChannelRef {
    pub id: i64,
    pub own_author_id: Option<String>,
}

/// One message event with everything resolved that its row needs.
pub struct Incoming<'a> {
    pub index: usize,
    pub event: &'a MessageEvent,
    pub channel_id: i64,
    pub direction: Direction,
    pub video_id: Option<i64>,
    pub author_id: i64,
    /// The other party of a DM conversation (the author, or the recipient of our own DM).
    pub contact_id: i64,
    pub contact_ext: &'a str,
}

impl Incoming<'_> {
    pub fn key(&self) -> Key {
        (self.channel_id, self.event.external_id.clone())
    }
}
