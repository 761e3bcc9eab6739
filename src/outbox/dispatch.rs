//! The dispatcher: leases due rows, calls the platforms (at most `concurrency` calls at once,
//! within each account's budgets), and records each outcome. A row whose earlier attempt may
//! have taken effect is first looked up on the platform, so it is never done twice.

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use serde_json::{Map, Value};
use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore, mpsc, watch};
use tokio::task::JoinSet;

use super::claim::{Lease, claim, next_due};
use super::courier::Courier;
use super::limits::Limits;
use super::quota;
use super::recorder::{Finished, Recorder, record_outcomes};
use super::settle::Policy;
use crate::config::OutboxConfig;
use crate::connectors::calls::{Job, Outcome, Platforms, Refusal};
use crate::connectors::{send, youtube_send};
use crate::conversations::Leased;
use crate::domain::Platform;
use crate::storage::{Db, Sql};

/// How long the dispatcher sleeps when nothing wakes it.
const IDLE: Duration = Duration::from_millis(500);

/// Everything the dispatcher and its calls share.
pub struct Dispatcher {
    pub db: Db,
    pub platforms: Arc<Platforms>,
    pub limits: Arc<Limits>,
    pub policy: Policy,
    pub lease: Duration,
    /// Rung when a row may have become due (a reply queued, a row retried).
    pub wake: Arc<Notify>,
    /// Open pages hear where replies are.
    pub live: Arc<crate::live::Live>,
    /// Calls at once at most: a claim takes what is free, a reply leased as it was queued
    /// reserved its slot first.
    slots: Arc<Semaphore>,
    /// Rows leased as they were queued, and what hands them over.
    handed: std::sync::Mutex<Option<mpsc::UnboundedReceiver<Leased>>>,
    pub courier: Arc<Courier>,
}

impl Dispatcher {
    pub fn new(
        db: Db,
        platforms: Arc<Platforms>,
        config: &OutboxConfig,
        limits: Arc<Limits>,
        wake: Arc<Notify>,
        live: Arc<crate::live::Live>,
    ) -> Self {
        let lease = Duration::from_secs(config.outbox_lease_seconds.max(1));
        let slots = Arc::new(Semaphore::new(config.outbox_concurrency.max(1)));
        let (to, handed) = mpsc::unbounded_channel();
        let courier = Courier::new(slots.clone(), limits.clone(), lease, to);
        Dispatcher {
            db,
            platforms,
            limits,
            policy: Policy {
                retry_base: Duration::from_millis(config.outbox_retry_base_ms),
                max_attempts: config.outbox_max_attempts.max(1),
            },
            lease,
            wake,
            live,
            slots,
            handed: std::sync::Mutex::new(Some(handed)),
            courier: Arc::new(courier),
        }
    }
}

/// Runs until `stop` turns true, then lets the calls in flight finish and records them.
pub async fn work(d: Arc<Dispatcher>, mut stop: watch::Receiver<bool>) {
    let slots = d.slots.clone();
    let (finished, outcomes) = mpsc::unbounded_channel();
    let recorder = Recorder {
        db: d.db.clone(),
        policy: d.policy,
        wake: d.wake.clone(),
        live: d.live.clone(),
    };
    let recorder = tokio::spawn(record_outcomes(Arc::new(recorder), outcomes));
    let handed = d
        .handed
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .take()
        .map(|rows| tokio::spawn(take_handed(d.clone(), rows, finished.clone(), stop.clone())));
    let mut running = JoinSet::new();
    loop {
        let free = slots.available_permits();
        let mut claimed = 0;
        if free > 0 {
            let now = crate::clock::now();
            let until = now + chrono::Duration::from_std(d.lease).unwrap_or_default();
            let held = d.limits.held(Instant::now());
            match claim(&d.db, now, until, free, &held).await {
                Ok(rows) => {
                    claimed = rows.len();
                    for lease in rows {
                        let permit = slots.clone().acquire_owned().await.expect("never closed");
                        call(&mut running, &d, lease, permit, &finished);
                    }
                }
                Err(e) => tracing::warn!(error = %e, "claiming outbox rows failed; will retry"),
            }
        }
        while running.try_join_next().is_some() {}
        if free == 0 || (claimed > 0 && claimed == free) {
            // Every slot is taken, and more may be due: claim again as soon as one is free. (A
            // call ending otherwise makes nothing due: a retry rings `wake` when recorded.)
            tokio::select! {
                _ = slots.clone().acquire_owned() => {}
                _ = stop.changed() => break,
            }
            continue;
        }
        let mut sleep = match next_due(&d.db).await {
            Ok(Some(at)) => (at - Utc::now())
                .to_std()
                .unwrap_or_default()
                .clamp(Duration::from_millis(5), IDLE),
            _ => IDLE,
        };
        if claimed == 0 && free > 0 {
            // What is due may be held back (a budget, a breaker): wait for the first release.
            if let Some(release) = d.limits.next_release(Instant::now()) {
                sleep = sleep.max(release.min(IDLE));
            }
        }
        tokio::select! {
            _ = d.wake.notified() => {}
            _ = tokio::time::sleep(sleep) => {}
            _ = stop.changed() => break,
        }
        if *stop.borrow() {
            break;
        }
    }
    while running.join_next().await.is_some() {}
    if let Some(handed) = handed {
        let _ = handed.await;
    }
    drop(finished);
    let _ = recorder.await;
}

/// Starts the call for `lease` in its slot; its outcome goes to `finished`.
fn call(
    running: &mut JoinSet<()>,
    d: &Arc<Dispatcher>,
    mut lease: Lease,
    slot: OwnedSemaphorePermit,
    finished: &mpsc::UnboundedSender<Finished>,
) {
    let (d, finished) = (d.clone(), finished.clone());
    running.spawn(async move {
        let outcome = deliver(&d, &mut lease).await;
        // The call is over: its slot goes to the next one while the outcome waits to be
        // recorded (the row stays `sending` under its lease until then).
        drop(slot);
        let _ = finished.send(Finished { lease, outcome });
    });
}

/// Calls for the rows leased as they were queued, as they are handed over, until `stop`;
/// then for those handed over already.
async fn take_handed(
    d: Arc<Dispatcher>,
    mut handed: mpsc::UnboundedReceiver<Leased>,
    finished: mpsc::UnboundedSender<Finished>,
    mut stop: watch::Receiver<bool>,
) {
    let mut running = JoinSet::new();
    loop {
        let row = tokio::select! {
            row = handed.recv() => row,
            _ = stop.wait_for(|s| *s) => None,
        };
        let Some(row) = row else { break };
        let (lease, slot) = lease_of(row);
        call(&mut running, &d, lease, slot, &finished);
        while running.try_join_next().is_some() {}
    }
    d.courier.close();
    while let Ok(row) = handed.try_recv() {
        let (lease, slot) = lease_of(row);
        call(&mut running, &d, lease, slot, &finished);
    }
    while running.join_next().await.is_some() {}
}

/// A row leased as it was queued, as a claim would have returned it.
fn lease_of(row: Leased) -> (Lease, OwnedSemaphorePermit) {
    let lease = Lease {
        id: row.id,
        workspace_id: row.workspace_id,
        channel_id: row.sender.id,
        message_id: row.message_id,
        action: row.action,
        target: row.target,
        video: row.video,
        text: row.text,
        attempts: 1,
        in_doubt: false,
        expires_at: row.expires_at,
        // Queued in the transaction that just committed.
        queued_at: crate::clock::now(),
        platform: row.sender.platform,
        account: row.sender.account,
        own_author_id: row.sender.own_author_id,
        credentials: row.sender.credentials,
        lease_until: Some(row.lease_until),
    };
    (lease, row.slot)
}

/// Calls the platform for `lease` (within its budgets) and says what came of it.
async fn deliver(d: &Dispatcher, lease: &mut Lease) -> Outcome {
    let now = crate::clock::now();
    let outcome = if lease.expires_at.is_some_and(|t| t <= now) && !lease.in_doubt {
        Outcome::refused(
            Refusal::Window,
            "the platform's window closed before it could be sent",
        )
    } else {
        // A call may not outlive its lease: past it, another dispatcher may take the row over.
        let left = lease
            .lease_until
            .and_then(|until| (until - now).to_std().ok())
            .unwrap_or(d.lease);
        let deadline = d.lease.min(left).mul_f64(0.75);
        match tokio::time::timeout(deadline, attempt(d, lease)).await {
            Ok(outcome) => outcome,
            Err(_) => Outcome::Unknown {
                reason: "the platform took longer than the row's lease".into(),
            },
        }
    };
    d.limits.observe(
        lease.channel_id,
        lease.platform,
        lease.action,
        &outcome,
        Instant::now(),
    );
    outcome
}

/// Makes the call; clears `lease.in_doubt` once the platform showed an earlier attempt did
/// not go through.
async fn attempt(d: &Dispatcher, lease: &mut Lease) -> Outcome {
    let credentials: Map<String, Value> =
        serde_json::from_str(&lease.credentials).unwrap_or_default();
    let job = Job {
        platform: lease.platform,
        deed: lease.action,
        target: &lease.target,
        video: lease.video.as_deref(),
        text: lease.text.as_deref(),
        account: &lease.account,
        own_author_id: lease.own_author_id.as_deref(),
        credentials: &credentials,
    };
    if let Err(wait) = d.limits.take(
        lease.channel_id,
        lease.platform,
        lease.action,
        Instant::now(),
    ) {
        // Not a call: the budget is spent for now. Counted like the platform's own 429.
        return Outcome::limited(
            Some(wait),
            "this account's budget for this is spent for now",
        );
    }
    if lease.in_doubt {
        if let Some(o) = pay(d, lease, youtube_send::cost(lease.action, true)).await {
            return o;
        }
        match send::find(&d.platforms, &job, lease.queued_at).await {
            Ok(candidates) => match unclaimed(d, lease, candidates).await {
                Ok(Some(id)) => {
                    return Outcome::Done {
                        platform_id: Some(id),
                    };
                }
                Ok(None) => lease.in_doubt = false,
                Err(e) => {
                    return Outcome::Unknown {
                        reason: format!("could not compare with what was sent: {e}"),
                    };
                }
            },
            // What would refuse the send refuses the look too: the token, a deleted comment.
            Err(
                o @ Outcome::Refused {
                    why: Refusal::Token | Refusal::Gone,
                    ..
                },
            ) => return o,
            // Not looked at (a 429, a refused connection): still in doubt, tried later.
            Err(o @ Outcome::Retry { .. }) => return o,
            Err(o) => {
                return Outcome::Unknown {
                    reason: format!(
                        "could not check whether an earlier attempt went through: {}",
                        o.reason().unwrap_or_default()
                    ),
                };
            }
        }
    }
    if let Some(o) = pay(d, lease, youtube_send::cost(lease.action, false)).await {
        return o;
    }
    send::send(&d.platforms, &job).await
}

/// The first of `candidates` (what the platform shows of ours that looks like this row's
/// action) that no other row of the channel made: an identical reply sent earlier is not
/// taken for this one.
async fn unclaimed(
    d: &Dispatcher,
    lease: &Lease,
    candidates: Vec<String>,
) -> Result<Option<String>, sqlx::Error> {
    if candidates.is_empty() {
        return Ok(None);
    }
    let mut sql =
        Sql::new("SELECT platform_reply_id FROM outbox WHERE state = 'sent' AND channel_id = ");
    sql.bind(lease.channel_id)
        .push(" AND id <> ")
        .bind(lease.id)
        .push(" AND platform_reply_id IN ");
    sql.bind_list(candidates.iter().map(String::as_str));
    let taken: Vec<(String,)> = d.db.fetch_all(sql).await?;
    Ok(candidates
        .into_iter()
        .find(|c| !taken.iter().any(|(t,)| t == c)))
}

/// Pays YouTube's units for a call before it is made; an outcome when it cannot be made.
async fn pay(d: &Dispatcher, lease: &Lease, units: i64) -> Option<Outcome> {
    if lease.platform != Platform::Youtube {
        return None;
    }
    let now = crate::clock::now();
    match quota::spend(&d.db, units, now).await {
        Ok(true) => None,
        Ok(false) => Some(Outcome::limited(
            Some(youtube_send::until_quota_reset(now)),
            format!(
                "YouTube's daily quota of {} units is spent; it resets at midnight Pacific time",
                quota::DAILY_UNITS
            ),
        )),
        Err(e) => Some(Outcome::retry(format!(
            "could not count YouTube's quota units: {e}"
        ))),
    }
}
