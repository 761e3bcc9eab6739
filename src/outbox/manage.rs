//! What a person does with a row: send it again now, or cancel it.

use chrono::{DateTime, Utc};

use crate::accounts::audit::{self, Entry, Who};
use crate::domain::Delivery;
use crate::ids::{OutboxId, WorkspaceId};
use crate::storage::{Sql, Tx};

#[derive(Debug, thiserror::Error)]
pub enum OutboxError {
    #[error("no such outbox row")]
    NotFound,
    #[error("{0}")]
    Conflict(String),
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

async fn state_of(
    tx: &mut Tx,
    workspace: WorkspaceId,
    id: OutboxId,
) -> Result<(Delivery, bool), OutboxError> {
    let mut sql = Sql::new("SELECT state, in_doubt FROM outbox WHERE workspace_id = ");
    sql.bind(workspace).push(" AND id = ").bind(id);
    tx.fetch_optional::<(Delivery, bool)>(sql)
        .await?
        .ok_or(OutboxError::NotFound)
}

/// Queues row `id` again now, with a fresh count of attempts: a dead, failed or expired row
/// (an expired one is tried; the platform may still refuse it). A row in doubt is still
/// looked up on the platform first.
pub async fn retry(
    tx: &mut Tx,
    workspace: WorkspaceId,
    id: OutboxId,
    who: &Who,
    now: DateTime<Utc>,
) -> Result<(), OutboxError> {
    let (state, _) = state_of(tx, workspace, id).await?;
    if state == Delivery::Expired {
        return Err(OutboxError::Conflict(format!(
            "row {id} expired: the platform's window closed, so no attempt can succeed; write a new reply once the person writes again"
        )));
    }
    if !state.may_retry() {
        return Err(OutboxError::Conflict(format!(
            "row {id} is {state}: only dead, failed or cancelled rows can be retried"
        )));
    }
    let mut sql = Sql::new(
        "UPDATE outbox SET state = 'queued', attempts = 0, lease_until = NULL, next_attempt_at = ",
    );
    sql.bind(now)
        .push(", updated_at = ")
        .bind(now)
        .push(" WHERE state IN ('dead', 'failed', 'cancelled') AND id = ")
        .bind(id);
    if tx.execute(sql).await? == 0 {
        return Err(OutboxError::Conflict(format!(
            "row {id} was taken for sending meanwhile"
        )));
    }
    message_back(tx, id, "queued", None).await?;
    audit::record(
        tx,
        workspace,
        who,
        Entry::about(
            "outbox row retried",
            "outbox row",
            id.0,
            &state.to_string(),
            String::new(),
        ),
        now,
    )
    .await?;
    Ok(())
}

/// Cancels row `id` if it has not gone out: queued, failed (between retries) or dead. A row
/// being sent right now cannot be called back.
pub async fn cancel(
    tx: &mut Tx,
    workspace: WorkspaceId,
    id: OutboxId,
    who: &Who,
    now: DateTime<Utc>,
) -> Result<(), OutboxError> {
    let (state, in_doubt) = state_of(tx, workspace, id).await?;
    if !state.may_cancel() {
        return Err(OutboxError::Conflict(format!(
            "row {id} is {state}: only queued, failed or dead rows can be cancelled"
        )));
    }
    let mut sql =
        Sql::new("UPDATE outbox SET state = 'cancelled', lease_until = NULL, updated_at = ");
    sql.bind(now)
        .push(" WHERE state IN ('queued', 'failed', 'dead') AND id = ")
        .bind(id);
    if tx.execute(sql).await? == 0 {
        return Err(OutboxError::Conflict(format!(
            "row {id} was taken for sending meanwhile"
        )));
    }
    let note = if in_doubt {
        "cancelled; an earlier attempt may still have reached the platform"
    } else {
        "cancelled"
    };
    message_back(tx, id, "failed", Some(note)).await?;
    audit::record(
        tx,
        workspace,
        who,
        Entry::about(
            "outbox row cancelled",
            "outbox row",
            id.0,
            &state.to_string(),
            String::new(),
        ),
        now,
    )
    .await?;
    Ok(())
}

async fn message_back(
    tx: &mut Tx,
    id: OutboxId,
    state: &str,
    error: Option<&str>,
) -> Result<(), sqlx::Error> {
    let mut sql = Sql::new("UPDATE messages SET state = ");
    sql.bind(state)
        .push(", error = ")
        .bind(error)
        .push(
            " WHERE direction = 'outbound' AND state IN ('queued', 'sending', 'failed') \
             AND id = (SELECT message_id FROM outbox WHERE action IN ('reply', 'private_reply', 'dm') AND id = ",
        )
        .bind(id)
        .push(")");
    tx.execute(sql).await.map(|_| ())
}
