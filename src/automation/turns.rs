//! Deciders taking turns on their channels (PostgreSQL), and the workspace's standing read as
//! a turn begins: a decision may start from the rules this instance compiled last and learn,
//! with the channels' lock, whether they are still the workspace's.

use std::collections::BTreeSet;
use std::sync::Arc;

use super::AutomationError;
use super::book::{RuleBook, RuleBooks, Standing, time_zone};
use crate::conversations::{self, Sender};
use crate::ids::WorkspaceId;
use crate::storage::Tx;

/// The rules a decision goes by: read in this transaction, or assumed (see `decide::decide`).
pub(super) enum Rules {
    Read(Standing),
    Assumed(Arc<RuleBook>),
}

/// How deciders on PostgreSQL lock their channels. `NO KEY UPDATE`, in id order: deciders wait
/// for each other, never for (or against) the key-share locks every insert referencing a
/// channel takes.
pub(super) const TURNS: &str = " ORDER BY c.id FOR NO KEY UPDATE OF c";

/// A channel locked for a decision, with its workspace's standing read in the same statement.
#[derive(sqlx::FromRow)]
struct Locked {
    #[sqlx(flatten)]
    sender: Sender,
    rules_version: i64,
    automation_paused: bool,
    time_zone: String,
}

/// Locks `channels` (PostgreSQL) and reads their senders, and the workspace's standing as it
/// is now: `None` when `book` is no longer its rules (or the channels are gone).
pub(super) async fn lock_channels_reading_rules(
    tx: &mut Tx,
    channels: &BTreeSet<i64>,
    book: Arc<RuleBook>,
) -> Result<Option<(Vec<Sender>, Standing)>, sqlx::Error> {
    let mut sql = conversations::delivery::senders_with(
        ", w.rules_version, w.automation_paused, w.time_zone",
        " JOIN workspaces w ON w.id = c.workspace_id",
    );
    sql.bind_ids(tx.backend(), channels.iter().copied())
        .push(TURNS);
    let locked: Vec<Locked> = tx.fetch_all(sql).await?;
    let Some(first) = locked.first().filter(|l| l.rules_version == book.version) else {
        return Ok(None);
    };
    let standing = Standing {
        paused: first.automation_paused,
        time_zone: time_zone(&first.time_zone),
        book,
    };
    Ok(Some((
        locked.into_iter().map(|l| l.sender).collect(),
        standing,
    )))
}

/// Whether the rules a decision in which no rule fired went by are the workspace's.
pub(super) async fn were_current(
    tx: &mut Tx,
    books: &RuleBooks,
    workspace: WorkspaceId,
    rules: &Rules,
) -> Result<bool, AutomationError> {
    match rules {
        Rules::Read(_) => Ok(true),
        Rules::Assumed(book) => {
            Ok(books.current(tx, workspace).await?.book.version == book.version)
        }
    }
}
