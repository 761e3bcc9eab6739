//! Reading the outbox: rows by state, newest first, in pages; counts by state.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::domain::{Deed, Delivery, Platform};
use crate::ids::{OutboxId, WorkspaceId};
use crate::storage::{Db, Sql};

/// Rows per page.
pub const PAGE: i64 = 50;

/// One row as the API and the page show it.
#[derive(Debug, Serialize, sqlx::FromRow, utoipa::ToSchema)]
#[schema(as = OutboxItem)]
pub struct Item {
    pub id: OutboxId,
    pub message_id: i64,
    pub thread_id: i64,
    pub channel: String,
    pub platform: Platform,
    pub action: Deed,
    pub state: Delivery,
    pub attempts: i64,
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
    pub platform_reply_id: Option<String>,
    pub text: Option<String>,
    pub created_at: DateTime<Utc>,
    pub sent_at: Option<DateTime<Utc>>,
}

/// A page of rows in `state` (any state when `None`), older than row `before`.
pub async fn list(
    db: &Db,
    workspace: WorkspaceId,
    state: Option<Delivery>,
    before: Option<i64>,
) -> Result<(Vec<Item>, Option<i64>), sqlx::Error> {
    let mut sql = Sql::new(
        "SELECT o.id, o.message_id, o.thread_id, c.handle AS channel, c.platform, o.action, o.state, \
         o.attempts, CASE WHEN o.state IN ('queued', 'failed') THEN o.next_attempt_at END AS next_attempt_at, \
         o.last_error, o.platform_reply_id, o.text, o.created_at, o.sent_at \
         FROM outbox o JOIN channels c ON c.id = o.channel_id WHERE o.workspace_id = ",
    );
    sql.bind(workspace);
    if let Some(state) = state {
        sql.push(" AND o.state = ").bind(state);
    }
    if let Some(before) = before {
        sql.push(" AND o.id < ").bind(before);
    }
    sql.push(" ORDER BY o.id DESC LIMIT ").bind(PAGE + 1);
    let mut items: Vec<Item> = db.fetch_all(sql).await?;
    let more = items.len() as i64 > PAGE;
    items.truncate(PAGE as usize);
    let next = more.then(|| items.last().map(|i| i.id.0)).flatten();
    Ok((items, next))
}

/// How many rows are in each state.
pub async fn counts(
    db: &Db,
    workspace: WorkspaceId,
) -> Result<HashMap<Delivery, i64>, sqlx::Error> {
    let mut sql = Sql::new("SELECT state, COUNT(*) FROM outbox WHERE workspace_id = ");
    sql.bind(workspace).push(" GROUP BY state");
    let rows: Vec<(Delivery, i64)> = db.fetch_all(sql).await?;
    Ok(rows.into_iter().collect())
}
