//! Stores statistics snapshots. A snapshot is identified by what it measures and when it was
//! captured, so a resent snapshot is a duplicate.

use chrono::{DateTime, Utc};

use super::event::{ChannelStatsEvent, VideoStatsEvent};
use super::outcome::{Outcome, OutcomeStatus};
use crate::storage::{Sql, Tx};

pub async fn write_video_stats(
    tx: &mut Tx,
    index: usize,
    video_id: i64,
    e: &VideoStatsEvent,
    now: DateTime<Utc>,
) -> Result<Outcome, sqlx::Error> {
    let mut insert = Sql::new(
        "INSERT INTO video_stats (video_id, captured_at, views, likes, comments, shares, saves, received_at) VALUES ",
    );
    insert.bind_rows([e], |r, e| {
        r.bind(video_id)
            .bind(e.captured_at)
            .bind(e.views)
            .bind(e.likes);
        r.bind(e.comments).bind(e.shares).bind(e.saves).bind(now);
    });
    insert.push(" ON CONFLICT (video_id, captured_at) DO NOTHING RETURNING id");
    let mut existing = Sql::new("SELECT id FROM video_stats WHERE video_id = ");
    existing
        .bind(video_id)
        .push(" AND captured_at = ")
        .bind(e.captured_at);
    store(tx, index, "video_stats", insert, existing).await
}

pub async fn write_channel_stats(
    tx: &mut Tx,
    index: usize,
    channel_id: i64,
    e: &ChannelStatsEvent,
    now: DateTime<Utc>,
) -> Result<Outcome, sqlx::Error> {
    let mut insert = Sql::new(
        "INSERT INTO channel_stats (channel_id, captured_at, followers, following, likes, posts, received_at) VALUES ",
    );
    insert.bind_rows([e], |r, e| {
        r.bind(channel_id).bind(e.captured_at).bind(e.followers);
        r.bind(e.following).bind(e.likes).bind(e.posts).bind(now);
    });
    insert.push(" ON CONFLICT (channel_id, captured_at) DO NOTHING RETURNING id");
    let mut existing = Sql::new("SELECT id FROM channel_stats WHERE channel_id = ");
    existing
        .bind(channel_id)
        .push(" AND captured_at = ")
        .bind(e.captured_at);
    store(tx, index, "channel_stats", insert, existing).await
}

async fn store(
    tx: &mut Tx,
    index: usize,
    kind: &'static str,
    insert: Sql,
    existing: Sql,
) -> Result<Outcome, sqlx::Error> {
    if let Some((id,)) = tx.fetch_optional::<(i64,)>(insert).await? {
        return Ok(Outcome::snapshot(index, OutcomeStatus::Created, kind, id));
    }
    let (id,) = tx
        .fetch_optional::<(i64,)>(existing)
        .await?
        .ok_or(sqlx::Error::RowNotFound)?;
    Ok(Outcome::snapshot(index, OutcomeStatus::Duplicate, kind, id))
}
