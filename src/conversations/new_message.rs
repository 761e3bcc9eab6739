//! Inserting messages, many per statement.

use chrono::{DateTime, Utc};

use crate::domain::{Direction, Kind, Source, State};
use crate::ids::{ChannelId, MessageId, ThreadId, WorkspaceId};
use crate::storage::{Backend, Sql, Tx, table_chunks};

/// One message row to store.
pub struct NewMessage<'a> {
    pub workspace: WorkspaceId,
    pub channel: ChannelId,
    pub thread: ThreadId,
    pub kind: Kind,
    /// The platform's id; `None` until an outbound message reaches the platform.
    pub external_id: Option<&'a str>,
    pub parent_external_id: Option<&'a str>,
    pub video: Option<i64>,
    pub author: Option<i64>,
    /// The author's names as search matches them.
    pub author_name: String,
    pub direction: Direction,
    pub source: Source,
    pub state: State,
    pub text: &'a str,
    pub created_at: DateTime<Utc>,
    pub received_at: DateTime<Utc>,
    pub sent_at: Option<DateTime<Utc>>,
    /// Set for a rule's reply: which rule, decision and variant wrote it.
    pub automated: Option<Automated>,
}

/// Where an automated message came from.
#[derive(Debug, Clone, Copy)]
pub struct Automated {
    pub rule: i64,
    pub run: i64,
    pub variant: i64,
}

/// Inserts `rows` (on PostgreSQL up to `MAX_ROWS` per statement); returns each row's new id, or
/// `None` where a concurrent writer stored the same message (channel and external id) first. On SQLite the caller must have checked,
/// inside this transaction, that none of them is stored (SQLite has one writer, so nothing
/// can come between); the ids are then taken without a round trip per row.
pub async fn insert_messages(
    tx: &mut Tx,
    rows: &[NewMessage<'_>],
) -> Result<Vec<Option<MessageId>>, sqlx::Error> {
    let mut ids = Vec::with_capacity(rows.len());
    for chunk in table_chunks(tx.backend(), rows) {
        ids.extend(insert_chunk(tx, chunk).await?);
    }
    Ok(ids)
}

async fn insert_chunk(
    tx: &mut Tx,
    chunk: &[NewMessage<'_>],
) -> Result<Vec<Option<MessageId>>, sqlx::Error> {
    let mut sql = Sql::new("");
    push_insert(&mut sql, tx.backend(), chunk);
    if tx.backend() == Backend::Sqlite {
        let ids = tx.insert_ids(sql, chunk.len()).await?;
        return Ok(ids.into_iter().map(|id| Some(MessageId(id))).collect());
    }
    // PostgreSQL takes concurrent writers: one may have stored some of these since the
    // caller looked. Rows come back in no promised order, so they are matched by key; a row
    // without an external id cannot conflict and is matched by its position among those.
    sql.push(
        " ON CONFLICT (channel_id, external_id) DO NOTHING RETURNING id, channel_id, external_id",
    );
    let returned: Vec<(i64, i64, Option<String>)> = tx.fetch_all(sql).await?;
    let mut by_key = std::collections::HashMap::with_capacity(returned.len());
    let mut unkeyed = Vec::new();
    for (id, channel, external) in returned {
        match external {
            Some(ext) => {
                by_key.insert((channel, ext), MessageId(id));
            }
            None => unkeyed.push(MessageId(id)),
        }
    }
    unkeyed.sort();
    let mut unkeyed = unkeyed.into_iter();
    Ok(chunk
        .iter()
        .map(|m| match m.external_id {
            Some(ext) => by_key.get(&(m.channel.0, ext.to_owned())).copied(),
            None => unkeyed.next(),
        })
        .collect())
}

/// The columns a message row is inserted with, in the order both inserts bind them.
const COLUMNS: &str = "INSERT INTO messages (workspace_id, channel_id, thread_id, kind, external_id, \
     parent_external_id, video_id, author_id, author_name, direction, source, state, text, created_at, \
     received_at, sent_at, rule_id, rule_run_id, rule_variant) ";

/// Appends the `INSERT INTO messages …` of `rows` (no conflict clause, no `RETURNING`); on
/// PostgreSQL the rows are read from arrays (`Sql::bind_table`), inserted and given their ids
/// in order.
pub(super) fn push_insert(sql: &mut Sql, backend: Backend, rows: &[NewMessage<'_>]) {
    sql.push(COLUMNS);
    sql.bind_table(backend, rows, |r, m| {
        r.bind(m.workspace)
            .bind(m.channel)
            .bind(m.thread)
            .bind(m.kind.as_str());
        r.bind(m.external_id)
            .bind(m.parent_external_id)
            .bind(m.video);
        r.bind(m.author)
            .bind(m.author_name.clone())
            .bind(m.direction.as_str());
        r.bind(m.source.as_str())
            .bind(m.state.as_str())
            .bind(m.text);
        r.bind(m.created_at).bind(m.received_at).bind(m.sent_at);
        r.bind(m.automated.map(|a| a.rule))
            .bind(m.automated.map(|a| a.run))
            .bind(m.automated.map(|a| a.variant));
    });
}
