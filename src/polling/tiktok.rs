//! TikTok's comments on recent videos through `comment/list`, beside the webhook: what a missed
//! or late delivery (or downtime) left out. Each call takes from the account's per-minute
//! budget for the endpoint; when it runs dry the round ends, leaving the rest for webhooks.

use std::time::Instant;

use super::{Polled, Poller, store};
use crate::connectors::calls::Outcome;
use crate::connectors::calls::ReadBudget;
use crate::connectors::channels::Connected;
use crate::connectors::tiktok::{event, list_comments};
use crate::domain::Platform;
use crate::storage::Sql;

/// Videos polled per round: those first seen or published in the last week, newest first.
const VIDEOS: i64 = 20;
/// Calls of `comment/list` a minute (of 40) the polls leave to webhooks, each of which
/// fetches its comment: half, so a steady stream of webhooks is never refused for a poll.
const WEBHOOK_RESERVE: usize = 20;
/// Pages (30 comments each) per video and round.
const PAGES: usize = 5;

pub async fn comments(p: &Poller, channel: &Connected) -> Polled {
    let token = channel.credential("access_token").unwrap_or_default();
    let business = channel
        .credential("business_id")
        .unwrap_or(&channel.platform_id);
    let week_ago = crate::clock::now() - chrono::Duration::days(7);
    let mut sql = Sql::new("SELECT external_id FROM videos WHERE channel_id = ");
    sql.bind(channel.id)
        .push(" AND (created_at >= ")
        .bind(week_ago)
        .push(" OR published_at >= ")
        .bind(week_ago)
        .push(") ORDER BY id DESC LIMIT ")
        .bind(VIDEOS);
    let videos: Vec<(String,)> =
        p.db.fetch_all(sql)
            .await
            .map_err(|e| Outcome::retry(format!("database: {e}")))?;
    let mut stored = 0;
    for (video,) in videos {
        let mut cursor = 0;
        for _ in 0..PAGES {
            if p.limits
                .take_read(
                    channel.id,
                    Platform::Tiktok,
                    "comment/list",
                    WEBHOOK_RESERVE,
                    Instant::now(),
                )
                .is_err()
            {
                return Ok(stored);
            }
            let (comments, next) =
                list_comments(&p.platforms, token, business, &video, &[], cursor)
                    .await
                    .inspect_err(|o| {
                        p.limits
                            .observe_read(channel.id, "comment/list", o, Instant::now())
                    })?;
            let events: Vec<_> = comments
                .iter()
                .filter_map(|c| event(c, &channel.platform_id, channel.own_author_id.as_deref()))
                .collect();
            stored += store(p, channel.workspace_id, events).await?;
            match next {
                Some(n) => cursor = n,
                None => break,
            }
        }
    }
    Ok(stored)
}
