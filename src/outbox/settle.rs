//! Recording what came of a call, in one short transaction: the row, the message it
//! delivers, the channel's health, and — when a platform flags spam — the rule that sent it.

use std::time::Duration;

use chrono::{DateTime, Utc};

use super::claim::Lease;
use super::sent::{Sent, record_sent, still_ours};
use crate::connectors::calls::{LONGEST_HOLD, Outcome, Refusal};
use crate::connectors::health;
use crate::domain::Delivery;
use crate::storage::{Sql, Tx};

/// How the dispatcher retries.
#[derive(Debug, Clone, Copy)]
pub struct Policy {
    pub retry_base: Duration,
    pub max_attempts: u32,
}

/// How a message's error begins while its row waits to be tried again (the thread page keeps
/// following such a message).
pub const RETRYING: &str = "will retry: ";

const LONGEST_WAIT: Duration = Duration::from_secs(3600);

impl Policy {
    /// The wait before attempt `attempts + 1`: doubling from the base, with jitter (between
    /// three quarters and five quarters of it), never less than the platform asked for.
    pub fn wait(&self, attempts: i64, asked: Option<Duration>) -> Duration {
        let doubling = 1u32 << attempts.clamp(1, 20).saturating_sub(1);
        let plain = self.retry_base.saturating_mul(doubling).min(LONGEST_WAIT);
        let jitter = 0.75 + crate::random::between(0, 1000) as f64 / 2000.0;
        let asked = asked.unwrap_or_default().min(LONGEST_HOLD);
        plain.mul_f64(jitter).max(asked)
    }
}

/// What became of the row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Settled {
    Sent,
    /// Tried again at the time given.
    Retry(DateTime<Utc>),
    /// Given up, expired or refused for good.
    Ended(Delivery),
    /// Waiting for the channel's credentials to be replaced.
    Waiting,
    /// Not recorded: the lease ran out first, and the row is another attempt's now (which
    /// looks it up on the platform before sending).
    Superseded,
}

/// Records what came of `batch`'s calls in the caller's transaction: those that went through
/// together ([`record_sent`]), the others one by one.
pub async fn settle_all(
    tx: &mut Tx,
    batch: &[(&Lease, &Outcome)],
    policy: &Policy,
    now: DateTime<Utc>,
) -> Result<Vec<Settled>, sqlx::Error> {
    let mut settled = vec![Settled::Superseded; batch.len()];
    let (mut done, mut sent) = (Vec::new(), Vec::new());
    for (i, (lease, outcome)) in batch.iter().enumerate() {
        if let Outcome::Done { platform_id } = outcome {
            done.push(i);
            sent.push(Sent {
                lease,
                platform_id: platform_id.as_deref(),
            });
        }
    }
    for (&i, ours) in done.iter().zip(record_sent(tx, &sent, now).await?) {
        settled[i] = if ours {
            Settled::Sent
        } else {
            Settled::Superseded
        };
    }
    for (i, (lease, outcome)) in batch.iter().enumerate() {
        if !matches!(outcome, Outcome::Done { .. }) {
            settled[i] = settle_other(tx, lease, outcome, policy, now).await?;
        }
    }
    Ok(settled)
}

/// Records an outcome other than "done" for `lease`.
async fn settle_other(
    tx: &mut Tx,
    lease: &Lease,
    outcome: &Outcome,
    policy: &Policy,
    now: DateTime<Utc>,
) -> Result<Settled, sqlx::Error> {
    if still_ours(tx, &[lease]).await?.is_empty() {
        return Ok(Settled::Superseded);
    }
    let settled = match outcome {
        Outcome::Done { .. } => unreachable!("settle_all records calls that went through"),
        Outcome::Retry {
            after,
            reason,
            limited,
        } => {
            // A "too many requests" is the platform's budget, not this row's failure.
            // It did nothing; an earlier attempt not looked up yet is still in doubt.
            let attempts = lease.attempts - i64::from(*limited);
            again(
                tx,
                lease,
                attempts,
                *after,
                lease.in_doubt,
                reason,
                policy,
                now,
            )
            .await?
        }
        Outcome::Unknown { reason } => {
            again(tx, lease, lease.attempts, None, true, reason, policy, now).await?
        }
        Outcome::Refused {
            why: Refusal::Token,
            reason,
        } => {
            wait_for_token(tx, lease, reason, now).await?;
            Settled::Waiting
        }
        Outcome::Refused { why, reason } => {
            let state = if *why == Refusal::Window {
                Delivery::Expired
            } else {
                Delivery::Dead
            };
            end(tx, lease, state, reason, now).await?;
            if *why == Refusal::Spam {
                pause_rule(tx, lease, reason, now).await?;
            }
            Settled::Ended(state)
        }
    };
    if let Some(reason) = outcome.reason() {
        health::failed(tx, lease.channel_id, reason, now).await?;
    }
    Ok(settled)
}

#[allow(clippy::too_many_arguments)]
async fn again(
    tx: &mut Tx,
    lease: &Lease,
    attempts: i64,
    asked: Option<Duration>,
    in_doubt: bool,
    reason: &str,
    policy: &Policy,
    now: DateTime<Utc>,
) -> Result<Settled, sqlx::Error> {
    if attempts >= i64::from(policy.max_attempts) {
        let why = if in_doubt {
            format!(
                "gave up after {attempts} attempts; the last one's outcome is unknown, so check the platform before sending it again: {reason}"
            )
        } else {
            format!("gave up after {attempts} attempts: {reason}")
        };
        end(tx, lease, Delivery::Dead, &why, now).await?;
        return Ok(Settled::Ended(Delivery::Dead));
    }
    let wait = policy.wait(attempts, asked);
    let at = later(now, wait);
    // A row that may have gone out is kept for its look-up, window or not.
    if !in_doubt && lease.expires_at.is_some_and(|closes| closes <= at) {
        let why = format!("the platform's window closes before the next attempt: {reason}");
        end(tx, lease, Delivery::Expired, &why, now).await?;
        return Ok(Settled::Ended(Delivery::Expired));
    }
    let mut sql = Sql::new("UPDATE outbox SET state = 'failed', lease_until = NULL, attempts = ");
    sql.bind(attempts)
        .push(", in_doubt = ")
        .bind(in_doubt)
        .push(", next_attempt_at = ")
        .bind(at)
        .push(", last_error = ")
        .bind(reason)
        .push(", updated_at = ")
        .bind(now)
        .push(" WHERE id = ")
        .bind(lease.id);
    tx.execute(sql).await?;
    message_state(tx, lease, "failed", Some(&format!("{RETRYING}{reason}"))).await?;
    Ok(Settled::Retry(at))
}

/// `now + wait`, for waits that may come from a platform: never past [`LONGEST_HOLD`], never
/// an overflow.
pub fn later(now: DateTime<Utc>, wait: Duration) -> DateTime<Utc> {
    let wait = chrono::Duration::from_std(wait.min(LONGEST_HOLD)).unwrap_or_default();
    now.checked_add_signed(wait).unwrap_or(now)
}

async fn wait_for_token(
    tx: &mut Tx,
    lease: &Lease,
    reason: &str,
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    // The call was refused before anything happened: this attempt does not count.
    let mut sql = Sql::new(
        "UPDATE outbox SET state = 'queued', lease_until = NULL, attempts = attempts - 1, in_doubt = ",
    );
    sql.bind(lease.in_doubt)
        .push(", last_error = ")
        .bind(format!("waiting for the channel's credentials: {reason}"))
        .push(", updated_at = ")
        .bind(now)
        .push(" WHERE id = ")
        .bind(lease.id);
    tx.execute(sql).await?;
    message_state(
        tx,
        lease,
        "queued",
        Some("waiting for the channel's credentials"),
    )
    .await?;
    health::token_refused(tx, lease.channel_id, reason).await?;
    Ok(())
}

/// Ends row `lease` in `state` (dead, expired) with `reason`.
pub async fn end(
    tx: &mut Tx,
    lease: &Lease,
    state: Delivery,
    reason: &str,
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    let mut sql = Sql::new("UPDATE outbox SET state = ");
    sql.bind(state)
        .push(", lease_until = NULL, last_error = ")
        .bind(reason)
        .push(", updated_at = ")
        .bind(now)
        .push(" WHERE id = ")
        .bind(lease.id);
    tx.execute(sql).await?;
    message_state(tx, lease, "failed", Some(reason)).await
}

async fn message_state(
    tx: &mut Tx,
    lease: &Lease,
    state: &str,
    error: Option<&str>,
) -> Result<(), sqlx::Error> {
    if !lease.action.makes_message() {
        return Ok(());
    }
    let mut sql = Sql::new("UPDATE messages SET state = ");
    sql.bind(state)
        .push(", error = ")
        .bind(error)
        .push(" WHERE state IN ('queued', 'sending', 'failed') AND id = ")
        .bind(lease.message_id);
    tx.execute(sql).await.map(|_| ())
}

/// A platform's spam or abuse warning pauses the rule whose message drew it.
async fn pause_rule(
    tx: &mut Tx,
    lease: &Lease,
    reason: &str,
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    let mut sql = Sql::new("SELECT rule_id FROM messages WHERE source = 'rule' AND id = ");
    sql.bind(lease.message_id);
    if let Some((Some(rule),)) = tx.fetch_optional::<(Option<i64>,)>(sql).await? {
        let why = format!("the platform warned about a reply it sent: {reason}");
        if crate::rules::store::pause_for_platform(tx, lease.workspace_id, rule, &why, now).await? {
            tracing::warn!(
                rule,
                workspace = %lease.workspace_id,
                "a platform's warning paused a rule"
            );
        }
    }
    Ok(())
}
