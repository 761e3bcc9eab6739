//! Acting on runs that fall due: a worker claims them in a transaction (on PostgreSQL with
//! `SKIP LOCKED`, so instances share the work), checks that acting still makes sense (not
//! paused, the rule still on, the message still in its window, no person answered meanwhile),
//! and does what the run says — replies become queued messages, labels and assignment happen
//! here — in the same transaction that marks the run done. Exactly once, whatever crashes.

use chrono::{DateTime, Utc};
use std::sync::Arc;

use tokio::sync::{Notify, watch};

use super::act::{Answering, apply};
use super::hourly;
use super::runs::{Planned, read_planned, settle};
use super::safeguards::in_window;
use crate::conversations::{Outbound, Threads, record_outbound_many};
use crate::domain::{Kind, Platform, RunOutcome};
use crate::ids::{ChannelId, MessageId, ThreadId, WorkspaceId};
use crate::storage::{Backend, Db, Sql, Tx};

/// How often the worker looks for due runs.
pub const TICK: std::time::Duration = std::time::Duration::from_millis(250);
/// Most runs acted on in one transaction.
const CLAIM: i64 = 100;

/// Runs until `stop` turns true, at each tick (a rule without delay acts when its message is
/// stored, not here). Rings `queued` after queuing replies.
pub async fn work(db: Db, queued: Arc<Notify>, mut stop: watch::Receiver<bool>) {
    loop {
        match act_due(&db, crate::clock::now()).await {
            Ok(n) if n > 0 => {
                tracing::debug!(runs = n, "acted on due rule runs");
                queued.notify_one();
                // There may be more than one claim's worth.
                if n as i64 == CLAIM {
                    continue;
                }
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "acting on due rule runs failed; will retry"),
        }
        tokio::select! {
            _ = tokio::time::sleep(TICK) => {}
            _ = stop.changed() => return,
        }
        if *stop.borrow() {
            return;
        }
    }
}

#[derive(sqlx::FromRow)]
struct DueRun {
    id: i64,
    workspace_id: WorkspaceId,
    rule_id: i64,
    message_id: i64,
    thread_id: i64,
    channel_id: i64,
    actions: String,
    decided_at: DateTime<Utc>,
    kind: Kind,
    platform: Platform,
    external_id: Option<String>,
    parent_external_id: Option<String>,
    created_at: DateTime<Utc>,
    paused: bool,
    rule_enabled: Option<bool>,
}

/// Acts on the runs due by `now`; returns how many were settled.
pub async fn act_due(db: &Db, now: DateTime<Utc>) -> Result<usize, sqlx::Error> {
    // Asked on the read side first: an idle server does not take the writer four times a
    // second for nothing.
    let mut any = Sql::new("SELECT id FROM rule_runs WHERE outcome = 'due' AND due_at <= ");
    any.bind(now).push(" LIMIT 1");
    if db.fetch_optional::<(i64,)>(any).await?.is_none() {
        return Ok(0);
    }
    let mut tx = db.begin().await?;
    let mut sql = Sql::new(
        "SELECT r.id, r.workspace_id, r.rule_id, r.message_id, r.thread_id, r.channel_id, r.actions, \
         r.decided_at, m.kind, c.platform, m.external_id, m.parent_external_id, m.created_at, \
         w.automation_paused AS paused, ru.enabled AS rule_enabled \
         FROM rule_runs r JOIN messages m ON m.id = r.message_id \
         JOIN channels c ON c.id = r.channel_id \
         JOIN workspaces w ON w.id = r.workspace_id LEFT JOIN rules ru ON ru.id = r.rule_id \
         WHERE r.outcome = 'due' AND r.due_at <= ",
    );
    sql.bind(now).push(" ORDER BY r.due_at, r.id LIMIT ");
    sql.bind(CLAIM);
    if tx.backend() == Backend::Postgres {
        sql.push(" FOR UPDATE OF r SKIP LOCKED");
    }
    let due: Vec<DueRun> = tx.fetch_all(sql).await?;
    let planned: Vec<Vec<Planned>> = due.iter().map(|r| read_planned(&r.actions)).collect();
    // Replies are written together at the end: each thread's summary is brought up to date once.
    let mut replies = Vec::new();
    let mut skipped = Vec::new();
    for (run, planned) in due.iter().zip(&planned) {
        if act(&mut tx, run, planned, &mut replies, now).await? == Acted::Skipped {
            skipped.push((run.channel_id, run.decided_at));
        }
    }
    record_outbound_many(&mut tx, &replies, Threads::Lock, now).await?;
    // Last, as deciding takes them: thread rows before the hourly count's.
    hourly::withdraw(&mut tx, skipped).await?;
    tx.commit().await?;
    Ok(due.len())
}

#[derive(PartialEq)]
enum Acted {
    Done,
    /// It no longer counts towards the hourly cap.
    Skipped,
}

async fn act<'a>(
    tx: &mut Tx,
    run: &'a DueRun,
    planned: &'a [Planned],
    replies: &mut Vec<Outbound<'a>>,
    now: DateTime<Utc>,
) -> Result<Acted, sqlx::Error> {
    let skip = if run.paused {
        Some("paused")
    } else if run.rule_enabled != Some(true) {
        Some("rule_off")
    } else if !in_window(run.kind, run.created_at, now) {
        Some("too_old")
    } else if person_answered(tx, run).await? {
        Some("answered_by_person")
    } else {
        None
    };
    if let Some(reason) = skip {
        settle(
            tx,
            run.id,
            RunOutcome::Skipped,
            Some(reason.to_owned()),
            now,
        )
        .await?;
        return Ok(Acted::Skipped);
    }
    let thread = ThreadId(run.thread_id);
    let workspace = run.workspace_id;
    let to = Answering {
        message: MessageId(run.message_id),
        platform: run.platform,
        channel: ChannelId(run.channel_id),
        thread,
        kind: run.kind,
        external_id: run.external_id.as_deref().unwrap_or_default(),
        parent_external_id: run.parent_external_id.as_deref(),
    };
    let notes = apply(
        tx,
        workspace,
        run.rule_id,
        run.id,
        &to,
        planned,
        Some(replies),
        now,
    )
    .await?;
    let reason = (!notes.is_empty()).then(|| notes.join("; "));
    settle(tx, run.id, RunOutcome::Done, reason, now).await?;
    Ok(Acted::Done)
}

/// Whether a person replied in the thread after the message the run answers, here or on the
/// platform.
async fn person_answered(tx: &mut Tx, run: &DueRun) -> Result<bool, sqlx::Error> {
    let mut sql = Sql::new("SELECT 1 FROM messages WHERE thread_id = ");
    sql.bind(run.thread_id)
        // Typed in unibox, or in the platform's own app (stored from the platform as ours).
        .push(" AND direction = 'outbound' AND source IN ('manual', 'platform') AND id > ")
        .bind(MessageId(run.message_id))
        .push(" LIMIT 1");
    Ok(tx.fetch_optional::<(i32,)>(sql).await?.is_some())
}
