//! The comment a TikTok webhook names, fetched through `comment/list` within the account's
//! read budget; a webhook that could not be taken shows on its channels' health.

use std::time::Instant;

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::calls::{Outcome, Platforms, ReadBudget, Refusal, id_of};
use super::channels::Connected;
use super::health;
use super::tiktok::{Notice, list_comments};
use crate::domain::Platform;
use crate::storage::Db;

/// Why a comment could not be fetched: nothing was stored.
#[derive(Debug, thiserror::Error)]
pub enum Unfetched {
    #[error("{0}")]
    Upstream(String),
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

/// The comment `notice` is about, fetched once with the first connected channel whose token
/// TikTok takes (a refused token is recorded on its channel and the next is tried). Nothing
/// connected: nothing to fetch.
pub async fn fetch_comment(
    db: &Db,
    platforms: &Platforms,
    budget: &dyn ReadBudget,
    connected: &[Connected],
    notice: &Notice,
) -> Result<Vec<Value>, Unfetched> {
    let mut refused = None;
    for channel in connected {
        let Some(token) = channel.credential("access_token") else {
            continue;
        };
        let now = Instant::now();
        if let Err(wait) = budget.take_read(channel.id, Platform::Tiktok, "comment/list", 0, now) {
            return Err(Unfetched::Upstream(format!(
                "TikTok's budget for comment/list is spent for {} s; nothing was stored (TikTok delivers again)",
                wait.as_secs().max(1)
            )));
        }
        let business = channel.credential("business_id").unwrap_or(&notice.account);
        let ids = [notice.comment_id.as_str()];
        let fetched = list_comments(platforms, token, business, &notice.video_id, &ids, 0).await;
        match fetched {
            Ok((comments, _)) => {
                return Ok(comments
                    .into_iter()
                    .filter(|c| id_of(&c["comment_id"]).as_deref() == Some(&notice.comment_id))
                    .collect());
            }
            Err(Outcome::Refused {
                why: Refusal::Token,
                reason,
            }) => {
                let mut tx = db.begin().await?;
                health::token_refused(&mut tx, channel.id, &reason).await?;
                tx.commit().await?;
                refused = Some(reason);
            }
            Err(o) => {
                budget.observe_read(channel.id, "comment/list", &o, now);
                return Err(Unfetched::Upstream(format!(
                    "could not fetch the comment from TikTok ({}); nothing was stored",
                    o.reason().unwrap_or_default()
                )));
            }
        }
    }
    match refused {
        Some(reason) => Err(Unfetched::Upstream(format!(
            "TikTok refused every connected channel's token ({reason}); nothing was stored"
        ))),
        None => Ok(Vec::new()),
    }
}

/// A notice that could not be taken is the channels' health: `/channels` shows why, beside
/// the log (TikTok delivers it again).
pub async fn not_taken(db: &Db, connected: &[Connected], error: &Unfetched, now: DateTime<Utc>) {
    let why = match error {
        Unfetched::Upstream(why) => why.as_str(),
        Unfetched::Database(_) => "the database could not be reached",
    };
    let reason = format!("webhook not taken: {why}");
    tracing::warn!(%reason, "a TikTok webhook was not taken");
    let recorded = async {
        let mut tx = db.begin().await?;
        for channel in connected {
            health::failed(&mut tx, channel.id, &reason, now).await?;
        }
        tx.commit().await
    };
    if let Err(e) = recorded.await {
        tracing::warn!(error = %e, "cannot record a webhook's failure");
    }
}
