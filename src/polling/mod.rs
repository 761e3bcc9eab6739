//! Polling the platforms: what webhooks do not bring. YouTube's comments (it has no comment
//! webhooks), TikTok's comments on recent videos (a fallback beside its webhook, and the
//! catch-up after downtime), and every platform's statistics — video figures and follower
//! counts as snapshots with their capture time, never corrected in place (the platforms
//! revise figures a day or two late; each snapshot stays as it was captured).
//!
//! Polls resume where they stopped (`cursors`), pay YouTube's units before each call, take
//! TikTok's per-minute budget from the same counters the outbox uses (back-fills give way to
//! replies), and a refused token or an outage shows on the channel's health.

pub mod cursors;
mod names;
mod stats;

pub use names::name_contacts;

pub use stats::poll as poll_stats;
mod tiktok;
mod youtube;

use crate::ids::WorkspaceId;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

use crate::connectors::calls::{Outcome, Platforms, Refusal};
use crate::connectors::channels::{Connected, connected};
use crate::connectors::health;
use crate::domain::Platform;
use crate::ingest::{Batch, Event, IngestQueue};
use crate::outbox::Limits;
use crate::storage::Db;

/// What the pollers share.
pub struct Poller {
    pub db: Db,
    pub platforms: Arc<Platforms>,
    pub ingest: Arc<IngestQueue>,
    pub limits: Arc<Limits>,
    pub heard: Arc<health::Heard>,
    /// How often comments are polled; `None`: never.
    pub comments_every: Option<Duration>,
    /// How often statistics are polled; `None`: never.
    pub stats_every: Option<Duration>,
    /// How often DM senders known only by id are looked up; `None`: never.
    pub names_every: Option<Duration>,
    /// Turns true on shutdown: a round stops between channels (no calls, no units spent,
    /// for what could no longer be stored).
    pub stopping: watch::Receiver<bool>,
}

impl Poller {
    fn stopping(&self) -> bool {
        *self.stopping.borrow()
    }
}

/// Runs until `stop` turns true.
pub async fn work(p: Arc<Poller>, mut stop: watch::Receiver<bool>) {
    if p.comments_every.is_none() && p.stats_every.is_none() && p.names_every.is_none() {
        return;
    }
    // A little after start, so a restart does not meet a burst of other work.
    let start = tokio::time::Instant::now() + Duration::from_secs(2);
    let (mut comments_at, mut stats_at, mut names_at) = (start, start, start);
    loop {
        let sleep_until = comments_at.min(stats_at).min(names_at);
        tokio::select! {
            _ = tokio::time::sleep_until(sleep_until) => {}
            _ = stop.changed() => return,
        }
        if *stop.borrow() {
            return;
        }
        let now = tokio::time::Instant::now();
        if let Some(every) = p.comments_every
            && now >= comments_at
        {
            poll_comments(&p).await;
            comments_at = now + every;
        } else if p.comments_every.is_none() {
            comments_at = now + Duration::from_secs(86_400);
        }
        if let Some(every) = p.stats_every
            && now >= stats_at
        {
            stats::poll(&p).await;
            stats_at = now + every;
        } else if p.stats_every.is_none() {
            stats_at = now + Duration::from_secs(86_400);
        }
        match p.names_every {
            Some(every) if now >= names_at => {
                name_contacts(&p).await;
                names_at = now + every;
            }
            None => names_at = now + Duration::from_secs(86_400),
            _ => {}
        }
    }
}

/// One round of comment polls over every connected YouTube and TikTok channel.
pub async fn poll_comments(p: &Poller) {
    for platform in [Platform::Youtube, Platform::Tiktok] {
        let channels = match connected(&p.db, platform, None).await {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!(error = %e, "cannot read the channels to poll");
                return;
            }
        };
        for channel in &channels {
            if p.stopping() {
                return;
            }
            let polled = match platform {
                Platform::Youtube => youtube::comments(p, channel).await,
                _ => tiktok::comments(p, channel).await,
            };
            settle(p, channel, platform, polled).await;
        }
    }
}

/// What a poll came to: the events it stored, or why it stopped.
pub(crate) type Polled = Result<usize, Outcome>;

async fn settle(p: &Poller, channel: &Connected, platform: Platform, polled: Polled) {
    let now = crate::clock::now();
    match polled {
        Ok(n) => {
            if n > 0 {
                tracing::debug!(channel = channel.id, events = n, "polled");
            }
            if let Err(e) = health::events_received(
                &p.db,
                &p.heard,
                platform,
                &[channel.platform_id.as_str()],
                now,
            )
            .await
            {
                tracing::warn!(error = %e, "cannot record a poll");
            }
        }
        Err(outcome) => {
            let Some(reason) = outcome.reason().map(str::to_owned) else {
                return;
            };
            let token = matches!(
                outcome,
                Outcome::Refused {
                    why: Refusal::Token,
                    ..
                }
            );
            tracing::info!(channel = channel.id, %reason, "a poll stopped");
            let recorded = async {
                let mut tx = p.db.begin().await?;
                health::failed(&mut tx, channel.id, &format!("polling: {reason}"), now).await?;
                if token {
                    health::token_refused(&mut tx, channel.id, &reason).await?;
                }
                tx.commit().await
            };
            if let Err(e) = recorded.await {
                tracing::warn!(error = %e, "cannot record a poll's failure");
            }
        }
    }
}

/// Stores `events` in `workspace`; how many were new. An item the platform sent that unibox
/// refuses (a NUL in its text, say) is left out: it must not hold back the rest, nor stop the
/// poll at that page every round.
pub(crate) async fn store(
    p: &Poller,
    workspace: WorkspaceId,
    events: Vec<Event>,
) -> Result<usize, Outcome> {
    let now = crate::clock::now();
    let (batch, refused) = Batch::sift(events, now);
    if !refused.is_empty() {
        tracing::info!(
            problems = refused.len(),
            "polled items were refused; storing the rest"
        );
    }
    if batch.is_empty() {
        return Ok(0);
    }
    let stored = p.ingest.store(workspace, batch, now).await;
    stored
        .map(|outcomes| crate::ingest::IngestReport::new(outcomes).created)
        .map_err(|e| Outcome::retry(format!("could not store what was polled: {e}")))
}
