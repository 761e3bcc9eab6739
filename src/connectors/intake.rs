//! A webhook's events taken in: split among the workspaces that connected their account,
//! stored workspace by workspace, and the accounts' health recorded. Meta and TikTok share it.

use crate::ids::WorkspaceId;
use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::calls::ReadBudget;
use super::channels::{self, Connected};
use super::health::{self, Heard};
use super::meta::translate;
use super::routing::Routes;
use super::tiktok;
use super::tiktok_fetch::{Unfetched, fetch_comment, not_taken};
use crate::domain::Platform;
use crate::ingest::{Event, IngestError, IngestQueue};
use crate::ops::metrics::Metrics;
use crate::problem::Problem;
use crate::storage::Db;

/// What taking a webhook in needs.
pub struct Intake<'a> {
    pub db: &'a Db,
    pub ingest: &'a IngestQueue,
    pub routes: &'a Routes,
    pub heard: &'a Heard,
    pub metrics: &'a Metrics,
}

/// What a webhook came to.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Taken {
    pub created: usize,
    pub duplicates: usize,
    /// Events for accounts no workspace connected: acknowledged, not stored.
    pub not_connected: usize,
    /// Items that are no messages (reactions, edits, deletions…): acknowledged, left alone.
    pub ignored: usize,
}

#[derive(Debug, thiserror::Error)]
pub enum IntakeError {
    /// The body is not what the platform sends.
    #[error("{}", crate::problem::summary(.0))]
    Invalid(Vec<Problem>),
    /// Some workspace's share was not stored (every workspace was tried): the platform's
    /// redelivery finds the others' stored.
    #[error(transparent)]
    Store(#[from] IngestError),
    /// The platform could not be asked for what the webhook names; nothing was stored.
    #[error("{0}")]
    Upstream(String),
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

impl From<Unfetched> for IntakeError {
    fn from(e: Unfetched) -> Self {
        match e {
            Unfetched::Upstream(why) => IntakeError::Upstream(why),
            Unfetched::Database(e) => IntakeError::Database(e),
        }
    }
}

/// Each workspace's events, and the accounts they came from.
#[derive(Default)]
struct Split {
    per_workspace: BTreeMap<WorkspaceId, Vec<Event>>,
    heard: Vec<(Platform, Vec<String>)>,
}

impl Intake<'_> {
    /// A Meta webhook (Instagram, Facebook Pages), already checked against its signature.
    pub async fn meta(&self, payload: &Value, now: DateTime<Utc>) -> Result<Taken, IntakeError> {
        let translated = translate(payload).map_err(IntakeError::Invalid)?;
        let mut by_platform: BTreeMap<&str, Vec<&super::meta::Delivery>> = BTreeMap::new();
        for d in &translated.deliveries {
            by_platform.entry(d.platform.as_str()).or_default().push(d);
        }
        let mut split = Split::default();
        let mut taken = Taken {
            ignored: translated.ignored,
            ..Taken::default()
        };
        for deliveries in by_platform.values() {
            let platform = deliveries[0].platform;
            let accounts: Vec<&str> = deliveries.iter().map(|d| d.account.as_str()).collect();
            let connected = self
                .routes
                .workspaces_for(self.db, platform, &accounts)
                .await?;
            for d in deliveries {
                match connected.get(&d.account) {
                    Some(workspaces) => {
                        for w in workspaces {
                            split.add(*w, d.event.clone());
                        }
                    }
                    None => taken.not_connected += 1,
                }
            }
            let accounts = accounts.into_iter().map(str::to_owned).collect();
            split.heard.push((platform, accounts));
        }
        if taken.not_connected > 0 {
            tracing::info!(
                events = taken.not_connected,
                "Meta webhook for an account no workspace connected"
            );
        }
        self.store(split, &mut taken, now).await?;
        Ok(taken)
    }

    /// A TikTok webhook, already checked against its signature. It carries no text: the
    /// comment is fetched through `comment/list` first, and stored in each workspace that
    /// connected the account. Everything is fetched before anything is stored.
    pub async fn tiktok(
        &self,
        payload: &Value,
        platforms: &super::calls::Platforms,
        budget: &dyn ReadBudget,
        now: DateTime<Utc>,
    ) -> Result<Taken, IntakeError> {
        let ignored = Taken {
            ignored: 1,
            ..Taken::default()
        };
        let Some(notice) = tiktok::parse(payload).map_err(IntakeError::Invalid)? else {
            return Ok(ignored);
        };
        if notice.action != tiktok::CommentAction::Insert {
            // Deletions and visibility changes are acknowledged; the inbox keeps what it stored.
            return Ok(ignored);
        }
        let connected =
            channels::connected(self.db, Platform::Tiktok, Some(&notice.account)).await?;
        let comments = match fetch_comment(self.db, platforms, budget, &connected, &notice).await {
            Ok(comments) => comments,
            Err(e) => {
                not_taken(self.db, &connected, &e, now).await;
                return Err(e.into());
            }
        };
        let mut split = Split::default();
        for channel in &connected {
            let own = channel.own_author_id.as_deref();
            for c in &comments {
                split.extend(channel, tiktok::event(c, &notice.account, own));
            }
        }
        split
            .heard
            .push((Platform::Tiktok, vec![notice.account.clone()]));
        let mut taken = Taken {
            not_connected: usize::from(connected.is_empty()),
            ..Taken::default()
        };
        self.store(split, &mut taken, now).await?;
        Ok(taken)
    }

    /// Stores every workspace's share, trying each even when one is refused (the delivery is
    /// then refused whole), and records that the accounts were heard from.
    async fn store(
        &self,
        split: Split,
        taken: &mut Taken,
        now: DateTime<Utc>,
    ) -> Result<(), IntakeError> {
        let mut refused = None;
        for (workspace, events) in split.per_workspace {
            let report = match self.ingest.ingest(workspace, events, now).await {
                Ok(report) => report,
                Err(e) => {
                    tracing::warn!(%workspace, error = %e, "a workspace's share of a webhook was not stored");
                    refused.get_or_insert(e);
                    continue;
                }
            };
            self.metrics
                .count_ingested(report.created as u64, report.duplicates as u64);
            taken.created += report.created;
            taken.duplicates += report.duplicates;
        }
        if let Some(e) = refused {
            return Err(e.into());
        }
        for (platform, accounts) in &split.heard {
            let accounts: Vec<&str> = accounts.iter().map(String::as_str).collect();
            health::events_received(self.db, self.heard, *platform, &accounts, now).await?;
        }
        Ok(())
    }
}

impl Split {
    fn add(&mut self, workspace: WorkspaceId, event: Event) {
        self.per_workspace.entry(workspace).or_default().push(event);
    }

    /// `event` for `channel`'s workspace, if there is one (a comment gone before it was
    /// fetched is none).
    fn extend(&mut self, channel: &Connected, event: Option<Event>) {
        if let Some(event) = event {
            self.add(channel.workspace_id, event);
        }
    }
}
