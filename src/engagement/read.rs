//! Reading the figures: per video (its snapshots as an ER series, its replies, its before and
//! after) and per channel (account ER over the last posts, band, warning, the recent videos,
//! and the comparisons). Bounded reads: a video's latest snapshots, a channel's most recent
//! videos.

use std::collections::HashMap;

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;

use super::compare::{Comparison, compare};
use super::formulas::{
    Band, FakeFollowerWarning, band, er, er_change_per_day, fake_follower_warning, organic_er,
    rating,
};
use crate::domain::{Direction, Platform, Source, State};
use crate::ids::{ChannelId, ThreadId, VideoId, WorkspaceId};
use crate::storage::{Db, Sql, sized_chunks};

/// Snapshots of one video shown at most.
pub const MAX_SERIES: i64 = 1_000;
/// A channel's most recent videos read for its figures.
pub const MAX_VIDEOS: i64 = 200;
/// Videos are compared at this age, so that old and new videos are not set side by side.
pub const COMPARE_AT_DAYS: i64 = 7;
pub const POSTS_MIN: usize = 12;
pub const POSTS_MAX: usize = 30;

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Point {
    pub captured_at: DateTime<Utc>,
    pub views: i64,
    pub likes: i64,
    pub comments: i64,
    pub shares: i64,
    pub saves: Option<i64>,
    pub er: Option<f64>,
    pub organic_er: Option<f64>,
    /// Our replies among `comments` at that time.
    pub own_replies: i64,
}

#[derive(Debug, Clone, Default, Serialize, utoipa::ToSchema)]
pub struct Replies {
    pub incoming: usize,
    pub answered: usize,
    pub automated: usize,
    pub manual: usize,
    pub coverage: Option<f64>,
    pub first_response_p50_s: Option<f64>,
    pub first_response_p90_s: Option<f64>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Impact {
    pub first_reply_at: Option<DateTime<Utc>>,
    pub at_first_reply: Option<Point>,
    pub now: Option<Point>,
    /// ER percentage points a day, from the first snapshot to the first reply, and since;
    /// each only over at least a day of snapshots (`formulas::MIN_RATE_SPAN`).
    pub er_per_day_before: Option<f64>,
    pub er_per_day_after: Option<f64>,
    pub kind: &'static str,
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct VideoRow {
    pub id: VideoId,
    pub channel_id: ChannelId,
    pub external_id: String,
    pub title: Option<String>,
    pub url: Option<String>,
    pub published_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

impl VideoRow {
    fn born(&self) -> DateTime<Utc> {
        self.published_at.unwrap_or(self.created_at)
    }
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct VideoFigures {
    pub video: VideoRow,
    pub latest: Option<Point>,
    pub series: Vec<Point>,
    pub replies: Replies,
    pub impact: Impact,
    /// When each of our replies went out (the chart marks them).
    pub our_replies_at: Vec<DateTime<Utc>>,
}

#[derive(sqlx::FromRow)]
struct Snap {
    video_id: VideoId,
    captured_at: DateTime<Utc>,
    views: i64,
    likes: i64,
    comments: i64,
    shares: i64,
    saves: Option<i64>,
}

/// A comment on a video: ours or someone else's.
#[derive(sqlx::FromRow)]
struct Said {
    video_id: VideoId,
    thread_id: ThreadId,
    direction: Direction,
    source: Source,
    state: State,
    at: DateTime<Utc>,
}

impl Said {
    /// One of our replies that is on the platform (sent by unibox, or seen there): what the
    /// platform's comment count includes.
    fn ours(&self) -> bool {
        self.direction == Direction::Outbound && self.state == State::Sent
    }

    /// One of our replies, sent or on its way: it answers the comment before it.
    fn answers(&self) -> bool {
        self.direction == Direction::Outbound
            && !matches!(
                self.state,
                State::Suggested | State::DryRun | State::Rejected | State::Failed
            )
    }
}

const VIDEO_COLUMNS: &str =
    "SELECT id, channel_id, external_id, title, url, published_at, created_at FROM videos";

async fn snapshots(
    db: &Db,
    videos: &[VideoId],
    limit: Option<i64>,
) -> Result<Vec<Snap>, sqlx::Error> {
    let mut out = Vec::new();
    for chunk in sized_chunks(videos) {
        let mut sql = Sql::new(
            "SELECT video_id, captured_at, views, likes, comments, shares, saves FROM video_stats WHERE video_id IN ",
        );
        sql.bind_list(chunk.iter().copied());
        match limit {
            // One video: its latest snapshots.
            Some(n) => {
                sql.push(" ORDER BY captured_at DESC LIMIT ").bind(n);
            }
            None => {
                sql.push(" ORDER BY video_id, captured_at");
            }
        }
        out.extend(db.fetch_all::<Snap>(sql).await?);
    }
    out.sort_by_key(|s| (s.video_id, s.captured_at));
    Ok(out)
}

async fn comments(db: &Db, videos: &[VideoId]) -> Result<Vec<Said>, sqlx::Error> {
    let mut out = Vec::new();
    for chunk in sized_chunks(videos) {
        let mut sql = Sql::new(
            "SELECT t.video_id, m.thread_id, m.direction, m.source, m.state, \
             COALESCE(m.sent_at, m.created_at) AS at FROM messages m \
             JOIN threads t ON t.id = m.thread_id WHERE m.kind = 'comment' AND t.video_id IN ",
        );
        sql.bind_list(chunk.iter().copied());
        out.extend(db.fetch_all::<Said>(sql).await?);
    }
    out.sort_by_key(|s| (s.video_id, s.at));
    Ok(out)
}

fn point(s: &Snap, ours: &[DateTime<Utc>]) -> Point {
    let own = ours.partition_point(|t| *t <= s.captured_at) as i64;
    Point {
        captured_at: s.captured_at,
        views: s.views,
        likes: s.likes,
        comments: s.comments,
        shares: s.shares,
        saves: s.saves,
        er: er(s.views, s.likes, s.comments, s.shares),
        organic_er: organic_er(s.views, s.likes, s.comments, s.shares, own),
        own_replies: own,
    }
}

fn percentile(sorted: &[f64], p: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let at = ((sorted.len() - 1) as f64 * p).round() as usize;
    Some(sorted[at])
}

/// Coverage and response times: an incoming comment is answered by the first of our replies in
/// its thread after it.
fn replies(said: &[&Said]) -> Replies {
    let mut by_thread: HashMap<ThreadId, Vec<&Said>> = HashMap::new();
    for s in said {
        by_thread.entry(s.thread_id).or_default().push(s);
    }
    let mut r = Replies::default();
    let mut waits = Vec::new();
    for thread in by_thread.values() {
        for (i, s) in thread.iter().enumerate() {
            if s.direction != Direction::Inbound {
                continue;
            }
            r.incoming += 1;
            if let Some(answer) = thread[i + 1..].iter().find(|x| x.answers()) {
                r.answered += 1;
                if answer.source == Source::Rule {
                    r.automated += 1;
                } else {
                    r.manual += 1;
                }
                waits.push((answer.at - s.at).num_milliseconds() as f64 / 1000.0);
            }
        }
    }
    r.coverage = (r.incoming > 0).then(|| r.answered as f64 / r.incoming as f64);
    waits.sort_by(f64::total_cmp);
    r.first_response_p50_s = percentile(&waits, 0.5);
    r.first_response_p90_s = percentile(&waits, 0.9);
    r
}

fn impact(points: &[Point], first_reply: Option<DateTime<Utc>>) -> Impact {
    let at_first = first_reply.and_then(|t| points.iter().rev().find(|p| p.captured_at <= t));
    let first = points.first();
    let now = points.last();
    let per_day = |a: Option<&Point>, b: Option<&Point>| -> Option<f64> {
        let (a, b) = (a?, b?);
        er_change_per_day((a.captured_at, a.er), (b.captured_at, b.er))
    };
    Impact {
        first_reply_at: first_reply,
        at_first_reply: at_first.cloned(),
        now: now.cloned(),
        er_per_day_before: per_day(first, at_first),
        er_per_day_after: per_day(at_first, now),
        kind: "within this video: before and after its first reply",
    }
}

/// One video's figures, or `None` if it is not the workspace's.
pub async fn video(
    db: &Db,
    workspace: WorkspaceId,
    id: VideoId,
) -> Result<Option<VideoFigures>, sqlx::Error> {
    let mut sql = Sql::new(VIDEO_COLUMNS);
    sql.push(" WHERE workspace_id = ")
        .bind(workspace)
        .push(" AND id = ")
        .bind(id);
    let Some(video) = db.fetch_optional::<VideoRow>(sql).await? else {
        return Ok(None);
    };
    let snaps = snapshots(db, &[id], Some(MAX_SERIES)).await?;
    let said = comments(db, &[id]).await?;
    let ours: Vec<DateTime<Utc>> = said.iter().filter(|s| s.ours()).map(|s| s.at).collect();
    let series: Vec<Point> = snaps.iter().map(|s| point(s, &ours)).collect();
    let all: Vec<&Said> = said.iter().collect();
    Ok(Some(VideoFigures {
        latest: series.last().cloned(),
        replies: replies(&all),
        impact: impact(&series, ours.first().copied()),
        series,
        video,
        our_replies_at: ours,
    }))
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct VideoLine {
    pub id: VideoId,
    pub external_id: String,
    pub title: Option<String>,
    pub published_at: Option<DateTime<Utc>>,
    pub captured_at: Option<DateTime<Utc>>,
    pub views: Option<i64>,
    pub saves: Option<i64>,
    pub er: Option<f64>,
    pub organic_er: Option<f64>,
    pub coverage: Option<f64>,
    pub first_response_p50_s: Option<f64>,
    /// ER change a day since the first reply, against before it.
    pub impact_per_day: Option<f64>,
    pub replied: bool,
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
#[schema(as = EngagementChannel)]
pub struct ChannelRow {
    pub id: ChannelId,
    pub platform: Platform,
    pub handle: String,
    pub display_name: Option<String>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ChannelFigures {
    pub channel: ChannelRow,
    pub followers: Option<i64>,
    pub followers_captured_at: Option<DateTime<Utc>>,
    pub band: Option<Band>,
    pub account_er: Option<f64>,
    pub posts_counted: usize,
    /// Account ER over the posts before those: the trend.
    pub previous_account_er: Option<f64>,
    pub rating: Option<&'static str>,
    pub fake_follower_warning: Option<FakeFollowerWarning>,
    pub videos: Vec<VideoLine>,
    /// Replied against unreplied videos, by organic ER at the same age.
    pub comparison: Comparison,
    /// Videos with at least half their comments answered against the rest.
    pub coverage_comparison: Comparison,
    pub compared_at_days: i64,
}

/// A channel's figures over its last `posts` posts, or `None` if it is not the workspace's.
pub async fn channel(
    db: &Db,
    workspace: WorkspaceId,
    id: ChannelId,
    posts: usize,
    now: DateTime<Utc>,
) -> Result<Option<ChannelFigures>, sqlx::Error> {
    let mut sql =
        Sql::new("SELECT id, platform, handle, display_name FROM channels WHERE workspace_id = ");
    sql.bind(workspace).push(" AND id = ").bind(id);
    let Some(channel) = db.fetch_optional::<ChannelRow>(sql).await? else {
        return Ok(None);
    };
    let mut sql = Sql::new("SELECT followers, captured_at FROM channel_stats WHERE channel_id = ");
    sql.bind(id).push(" ORDER BY captured_at DESC LIMIT 1");
    let followers: Option<(i64, DateTime<Utc>)> = db.fetch_optional(sql).await?;
    let mut sql = Sql::new(VIDEO_COLUMNS);
    sql.push(" WHERE channel_id = ")
        .bind(id)
        .push(" ORDER BY COALESCE(published_at, created_at) DESC, id DESC LIMIT ")
        .bind(MAX_VIDEOS);
    let videos: Vec<VideoRow> = db.fetch_all(sql).await?;
    let ids: Vec<VideoId> = videos.iter().map(|v| v.id).collect();
    let snaps = snapshots(db, &ids, None).await?;
    let said = comments(db, &ids).await?;
    let mut snaps_of: HashMap<VideoId, Vec<&Snap>> = HashMap::new();
    for s in &snaps {
        snaps_of.entry(s.video_id).or_default().push(s);
    }
    let mut said_of: HashMap<VideoId, Vec<&Said>> = HashMap::new();
    for s in &said {
        said_of.entry(s.video_id).or_default().push(s);
    }

    let mut lines = Vec::new();
    let (mut replied_at_age, mut unreplied_at_age) = (Vec::new(), Vec::new());
    let (mut high, mut low) = (Vec::new(), Vec::new());
    for v in &videos {
        let said = said_of.remove(&v.id).unwrap_or_default();
        let ours: Vec<DateTime<Utc>> = said.iter().filter(|s| s.ours()).map(|s| s.at).collect();
        let points: Vec<Point> = snaps_of
            .get(&v.id)
            .map(|s| s.iter().map(|s| point(s, &ours)).collect())
            .unwrap_or_default();
        let r = replies(&said);
        let im = impact(&points, ours.first().copied());
        let latest = points.last();
        // The same age for every video compared.
        let age = v.born() + Duration::days(COMPARE_AT_DAYS);
        if age <= now
            && let Some(at_age) = points
                .iter()
                .rev()
                .find(|p| p.captured_at <= age && p.captured_at >= age - Duration::days(3))
                .and_then(|p| p.organic_er)
        {
            if ours.first().is_some_and(|t| *t <= age) {
                replied_at_age.push(at_age);
            } else {
                unreplied_at_age.push(at_age);
            }
            match r.coverage {
                Some(c) if c >= 0.5 => high.push(at_age),
                Some(_) => low.push(at_age),
                None => {}
            }
        }
        lines.push(VideoLine {
            id: v.id,
            external_id: v.external_id.clone(),
            title: v.title.clone(),
            published_at: v.published_at,
            captured_at: latest.map(|p| p.captured_at),
            views: latest.map(|p| p.views),
            saves: latest.and_then(|p| p.saves),
            er: latest.and_then(|p| p.er),
            organic_er: latest.and_then(|p| p.organic_er),
            coverage: r.coverage,
            first_response_p50_s: r.first_response_p50_s,
            impact_per_day: im
                .er_per_day_after
                .zip(im.er_per_day_before)
                .map(|(a, b)| a - b),
            replied: !ours.is_empty(),
        });
    }
    let posts = posts.clamp(POSTS_MIN, POSTS_MAX);
    let defined: Vec<f64> = lines.iter().filter_map(|l| l.er).collect();
    let mean = |v: &[f64]| (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64);
    let counted = &defined[..defined.len().min(posts)];
    let account_er = mean(counted);
    let previous = defined
        .get(posts..(2 * posts).min(defined.len()))
        .and_then(mean);
    let followers_n = followers.map(|(n, _)| n);
    let band = followers_n.and_then(band);
    let seed = id.0 as u64;
    Ok(Some(ChannelFigures {
        channel,
        followers: followers_n,
        followers_captured_at: followers.map(|(_, at)| at),
        band,
        rating: account_er.map(|e| rating(e, band.as_ref())),
        fake_follower_warning: followers_n
            .zip(account_er)
            .and_then(|(f, e)| fake_follower_warning(f, e)),
        account_er,
        posts_counted: counted.len(),
        previous_account_er: previous,
        videos: lines,
        comparison: compare(&replied_at_age, &unreplied_at_age, seed),
        coverage_comparison: compare(&high, &low, seed ^ 0x5eed),
        compared_at_days: COMPARE_AT_DAYS,
    }))
}

/// A comment as the video page lists it.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct CommentLine {
    pub thread_id: i64,
    pub direction: Direction,
    pub author: Option<String>,
    pub text: String,
    pub created_at: DateTime<Utc>,
}

/// The video's latest comments, ours included.
pub async fn recent_comments(
    db: &Db,
    workspace: WorkspaceId,
    video: VideoId,
    limit: i64,
) -> Result<Vec<CommentLine>, sqlx::Error> {
    let mut sql = Sql::new(
        "SELECT m.thread_id, m.direction, COALESCE(a.display_name, a.username) AS author, m.text, m.created_at \
         FROM messages m JOIN threads t ON t.id = m.thread_id LEFT JOIN contacts a ON a.id = m.author_id \
         WHERE m.kind = 'comment' AND m.state NOT IN ('suggested', 'dry_run', 'rejected') AND t.workspace_id = ",
    );
    sql.bind(workspace)
        .push(" AND t.video_id = ")
        .bind(video)
        .push(" ORDER BY m.created_at DESC, m.id DESC LIMIT ")
        .bind(limit);
    db.fetch_all(sql).await
}
