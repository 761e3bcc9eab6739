//! Statistics: each connected account's video figures and follower count, as snapshots.

use std::time::Instant;

use super::{Polled, Poller, settle, store};
use crate::connectors::calls::Outcome;
use crate::connectors::calls::ReadBudget;
use crate::connectors::channels::{Connected, connected};
use crate::connectors::{meta_stats, tiktok, youtube};
use crate::domain::Platform;
use crate::outbox::quota;
use crate::storage::Sql;

/// Videos whose figures are read per round and channel (Instagram: a call each).
const RECENT: i64 = 50;

/// One round over every connected channel.
pub async fn poll(p: &Poller) {
    for platform in [
        Platform::Tiktok,
        Platform::Youtube,
        Platform::Instagram,
        Platform::Facebook,
    ] {
        let Ok(channels) = connected(&p.db, platform, None).await else {
            return;
        };
        for channel in &channels {
            if p.stopping() {
                return;
            }
            let polled = match platform {
                Platform::Tiktok => tiktok_stats(p, channel).await,
                Platform::Youtube => youtube_stats(p, channel).await,
                _ => meta_stats_of(p, channel, platform).await,
            };
            settle(p, channel, platform, polled).await;
        }
    }
}

async fn recent_videos(p: &Poller, channel: &Connected) -> Result<Vec<String>, Outcome> {
    let month_ago = crate::clock::now() - chrono::Duration::days(30);
    let mut sql = Sql::new("SELECT external_id FROM videos WHERE channel_id = ");
    sql.bind(channel.id)
        .push(" AND (published_at IS NULL OR published_at >= ")
        .bind(month_ago)
        .push(") ORDER BY id DESC LIMIT ")
        .bind(RECENT);
    let rows: Vec<(String,)> =
        p.db.fetch_all(sql)
            .await
            .map_err(|e| Outcome::retry(format!("database: {e}")))?;
    Ok(rows.into_iter().map(|(v,)| v).collect())
}

async fn tiktok_stats(p: &Poller, channel: &Connected) -> Polled {
    let token = channel.credential("access_token").unwrap_or_default();
    let business = channel
        .credential("business_id")
        .unwrap_or(&channel.platform_id);
    let mut events = Vec::new();
    let mut cursor = 0;
    for _ in 0..5 {
        if p.limits
            .take_read(
                channel.id,
                Platform::Tiktok,
                "video/list",
                0,
                Instant::now(),
            )
            .is_err()
        {
            break;
        }
        let (page, next) =
            tiktok::video_stats(&p.platforms, token, business, &channel.platform_id, cursor)
                .await?;
        events.extend(page);
        match next {
            Some(n) => cursor = n,
            None => break,
        }
    }
    if p.limits
        .take_read(channel.id, Platform::Tiktok, "get", 0, Instant::now())
        .is_ok()
    {
        events.extend(
            tiktok::channel_stats(&p.platforms, token, business, &channel.platform_id).await?,
        );
    }
    store(p, channel.workspace_id, events).await
}

async fn youtube_stats(p: &Poller, channel: &Connected) -> Polled {
    let token = channel.credential("access_token").unwrap_or_default();
    let videos = recent_videos(p, channel).await?;
    let mut events = Vec::new();
    let spend = |units| quota::spend(&p.db, units, crate::clock::now());
    let no_quota = || {
        Outcome::limited(
            None,
            "YouTube's daily quota is spent; statistics wait for the reset",
        )
    };
    if !videos.is_empty() {
        if !spend(1).await.map_err(|e| Outcome::retry(e.to_string()))? {
            return Err(no_quota());
        }
        events.extend(
            youtube::video_stats(&p.platforms, token, &channel.platform_id, &videos).await?,
        );
    }
    if !spend(1).await.map_err(|e| Outcome::retry(e.to_string()))? {
        return Err(no_quota());
    }
    events.extend(youtube::channel_stats(&p.platforms, token, &channel.platform_id).await?);
    store(p, channel.workspace_id, events).await
}

async fn meta_stats_of(p: &Poller, channel: &Connected, platform: Platform) -> Polled {
    let token = channel.credential("access_token").unwrap_or_default();
    let mut events = Vec::new();
    if platform == Platform::Instagram {
        for media in recent_videos(p, channel).await? {
            events.extend(
                meta_stats::media_stats(&p.platforms, token, &channel.platform_id, &media).await?,
            );
        }
    }
    events.extend(
        meta_stats::channel_stats(&p.platforms, token, platform, &channel.platform_id).await?,
    );
    store(p, channel.workspace_id, events).await
}
