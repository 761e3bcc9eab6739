//! Recording what came of the dispatcher's calls, many at a time. A batch that cannot be
//! recorded is tried again; a row whose recording panics is set apart so that the others are
//! still recorded and the recorder goes on.

use crate::ids::WorkspaceId;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{Notify, mpsc};

use super::claim::Lease;
use super::settle::{Policy, Settled, settle_all};
use crate::connectors::calls::Outcome;
use crate::domain::Delivery;
use crate::live::Live;
use crate::storage::Db;

/// What recording needs: where, how retries are timed, and whom to tell.
pub struct Recorder {
    pub db: Db,
    pub policy: Policy,
    /// Rung when a row will be tried again.
    pub wake: Arc<Notify>,
    pub live: Arc<Live>,
}

/// How long the recorder waits for more calls to end before it records what ended.
const RECORD_GATHER: Duration = Duration::from_millis(10);

/// A call made, waiting to be recorded.
pub struct Finished {
    pub lease: Lease,
    pub outcome: Outcome,
}

/// Records outcomes as they come, many in one transaction (on SQLite the single writer would
/// otherwise take one commit per call). Rows that are never recorded stay `sending` until
/// their lease runs out and are then looked up on the platform, so nothing is done twice.
pub async fn record_outcomes(d: Arc<Recorder>, mut outcomes: mpsc::UnboundedReceiver<Finished>) {
    while let Some(first) = outcomes.recv().await {
        let mut batch = vec![first];
        // Calls that end within a few milliseconds of each other are recorded together.
        let until = tokio::time::Instant::now() + RECORD_GATHER;
        while batch.len() < 256 {
            match tokio::time::timeout_at(until, outcomes.recv()).await {
                Ok(Some(more)) => batch.push(more),
                _ => break,
            }
        }
        let batch = Arc::new(batch);
        match guarded(&d, batch.clone()).await {
            Ok(()) => {}
            Err(Panicked) if batch.len() > 1 => {
                // One row broke the batch: record each alone, so only that row waits.
                tracing::error!(
                    rows = batch.len(),
                    "recording a batch panicked; recording its rows one by one"
                );
                let Ok(rows) = Arc::try_unwrap(batch) else {
                    continue;
                };
                for row in rows {
                    let row = Arc::new(vec![row]);
                    if guarded(&d, row.clone()).await.is_err() {
                        tracing::error!(
                            row = %row[0].lease.id,
                            "recording this row panicked; it is looked up on the platform when its lease runs out"
                        );
                    }
                }
            }
            Err(Panicked) => {
                tracing::error!(
                    row = %batch[0].lease.id,
                    "recording this row panicked; it is looked up on the platform when its lease runs out"
                );
            }
        }
    }
}

struct Panicked;

/// Records `batch` in a task of its own, so that a panic ends that task and not the recorder.
async fn guarded(d: &Arc<Recorder>, batch: Arc<Vec<Finished>>) -> Result<(), Panicked> {
    let d = d.clone();
    match tokio::spawn(async move { record_with_retries(&d, &batch).await }).await {
        Ok(()) => Ok(()),
        Err(e) if e.is_panic() => Err(Panicked),
        Err(_) => Ok(()),
    }
}

async fn record_with_retries(d: &Recorder, batch: &[Finished]) {
    let mut wait = Duration::from_millis(50);
    for _ in 0..5 {
        match record(d, batch).await {
            Ok(settled) => {
                for (f, s) in batch.iter().zip(&settled) {
                    log(&f.lease, &f.outcome, *s);
                }
                if settled.iter().any(|s| matches!(s, Settled::Retry(_))) {
                    d.wake.notify_one();
                }
                let workspaces: std::collections::BTreeSet<WorkspaceId> =
                    batch.iter().map(|f| f.lease.workspace_id).collect();
                for workspace in workspaces {
                    d.live.changed(workspace, crate::live::Change::Delivery);
                }
                return;
            }
            Err(e) => {
                tracing::warn!(rows = batch.len(), error = %e, "recording platform calls failed; trying again");
                tokio::time::sleep(wait).await;
                wait *= 4;
            }
        }
    }
    tracing::error!(
        rows = batch.len(),
        "could not record platform calls; the rows will be reconciled when their leases run out"
    );
}

async fn record(d: &Recorder, batch: &[Finished]) -> Result<Vec<Settled>, sqlx::Error> {
    let now = crate::clock::now();
    // Calls that all went through are recorded by statements complete on their own (one per
    // chunk on PostgreSQL, see `sent`): no transaction around them, and no wait for the disk.
    // A record a database crash loses leaves its row `sending` and in doubt: once its lease
    // runs out, the platform is asked whether the call went through before any new attempt.
    let all_sent = batch
        .iter()
        .all(|f| matches!(f.outcome, Outcome::Done { .. }));
    let mut tx = if all_sent {
        d.db.each_on_its_own().await?
    } else {
        d.db.begin().await?
    };
    let calls: Vec<(&Lease, &Outcome)> = batch.iter().map(|f| (&f.lease, &f.outcome)).collect();
    let settled = settle_all(&mut tx, &calls, &d.policy, now).await?;
    tx.commit().await?;
    Ok(settled)
}

fn log(lease: &Lease, outcome: &Outcome, settled: Settled) {
    match settled {
        Settled::Sent => tracing::debug!(row = %lease.id, action = %lease.action, "sent"),
        Settled::Retry(at) => {
            tracing::info!(row = %lease.id, action = %lease.action, %at, outcome = ?outcome, "will retry")
        }
        Settled::Ended(Delivery::Expired) => {
            tracing::info!(row = %lease.id, outcome = ?outcome, "expired")
        }
        Settled::Ended(_) => {
            tracing::warn!(row = %lease.id, action = %lease.action, outcome = ?outcome, "gave up")
        }
        Settled::Waiting => tracing::warn!(
            row = %lease.id,
            channel = lease.channel_id,
            "the platform refused the channel's token"
        ),
        Settled::Superseded => tracing::warn!(
            row = %lease.id,
            "a call outlived its lease; the row was taken over and is looked up again"
        ),
    }
}
