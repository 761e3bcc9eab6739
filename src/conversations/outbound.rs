//! Messages the account itself sends: manual replies and rule replies.

use chrono::{DateTime, Utc};

use super::new_message::{Automated, NewMessage, insert_messages};
use super::summary::refresh_threads;
use crate::domain::{Direction, Kind, Source, State};
use crate::ids::{ChannelId, MessageId, ThreadId};
use crate::storage::{Sql, Tx};

/// A message to send from the account, waiting for the platform.
pub struct Outbound<'a> {
    pub workspace: i64,
    pub channel: ChannelId,
    pub thread: ThreadId,
    pub kind: Kind,
    /// The comment answered (comment threads): the platform replies under it.
    pub parent_external_id: Option<&'a str>,
    pub text: &'a str,
    pub source: Source,
    pub state: State,
    pub automated: Option<Automated>,
}

/// Stores `message` in its thread and brings the thread up to date. A person answering has
/// read the thread: it is no longer unread (a rule's reply leaves it as it was).
pub async fn record_outbound(
    tx: &mut Tx,
    message: &Outbound<'_>,
    now: DateTime<Utc>,
) -> Result<MessageId, sqlx::Error> {
    let row = NewMessage {
        workspace: message.workspace,
        channel: message.channel,
        thread: message.thread,
        kind: message.kind,
        external_id: None,
        parent_external_id: message.parent_external_id,
        video: None,
        author: None,
        author_name: String::new(),
        direction: Direction::Outbound,
        source: message.source,
        state: message.state,
        text: message.text,
        created_at: now,
        received_at: now,
        sent_at: None,
        automated: message.automated,
    };
    let id = insert_messages(tx, &[row])
        .await?
        .pop()
        .flatten()
        .ok_or(sqlx::Error::RowNotFound)?;
    refresh_threads(tx, &[message.thread], now).await?;
    if message.source != Source::Manual {
        return Ok(id);
    }
    let mut read = Sql::new("UPDATE threads SET unread = FALSE WHERE id = ");
    read.bind(message.thread);
    tx.execute(read).await?;
    Ok(id)
}
