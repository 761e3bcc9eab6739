//! `/videos/{id}`: one video's ER and organic ER over time as a chart with our replies marked
//! on the time axis, what the replies did within this video, and its latest comments.

use crate::ids::VideoId;
use askama::Template;
use axum::extract::{Path, State};

use super::chart::{Chart, Series, line_chart};
use crate::auth::{Caller, Visitor};
use crate::domain::Direction;
use crate::engagement::read::{self, CommentLine, VideoFigures};
use crate::error::AppError;
use crate::state::AppState;
use crate::web::{Chrome, Page, PageResult, view};

const COMMENTS: i64 = 30;

#[derive(Template)]
#[template(path = "video.html")]
pub struct VideoTemplate {
    chrome: Chrome,
    f: VideoFigures,
    chart: Chart,
    comments: Vec<CommentLine>,
    /// Only http(s) addresses become links.
    url: Option<String>,
    /// How ER moved from the first snapshot to the first reply, and since, in words.
    before: String,
    after: String,
}

/// How ER moved between two snapshots: from what to what, over how long, and a rate a day
/// where the snapshots are at least a day apart; `empty` when the window has no two snapshots.
fn moved(
    from: Option<&read::Point>,
    to: Option<&read::Point>,
    per_day: Option<f64>,
    empty: &str,
) -> String {
    let (Some(a), Some(b)) = (from, to) else {
        return empty.to_owned();
    };
    if b.captured_at <= a.captured_at {
        return empty.to_owned();
    }
    let span = view::span(b.captured_at - a.captured_at);
    let (Some(x), Some(y)) = (a.er, b.er) else {
        return format!("ER is undefined (no views) at one end of these {span}");
    };
    let rate = match per_day {
        Some(r) => view::points_a_day(Some(r)),
        None => "under a day of snapshots, too short for a rate a day".to_owned(),
    };
    format!(
        "ER went from {} to {} over {span} ({} percentage points; {rate})",
        view::percent(Some(x)),
        view::percent(Some(y)),
        view::signed(y - x),
    )
}

impl VideoTemplate {
    fn pct(&self, v: &Option<f64>) -> String {
        view::percent(*v)
    }
    fn share(&self, v: &Option<f64>) -> String {
        view::share(*v)
    }
    fn wait(&self, v: &Option<f64>) -> String {
        view::wait(*v)
    }
    fn ours(&self, d: &Direction) -> bool {
        *d == Direction::Outbound
    }
}

pub async fn show(
    State(state): State<AppState>,
    caller: Caller,
    visitor: Visitor,
    Path(id): Path<VideoId>,
) -> PageResult<Page<VideoTemplate>> {
    let f = read::video(&state.db, caller.workspace, id)
        .await?
        .ok_or(AppError::NotFound("video"))?;
    let series = |name, class, pick: fn(&read::Point) -> Option<f64>| Series {
        name,
        class,
        points: f
            .series
            .iter()
            .filter_map(|p| pick(p).map(|v| (p.captured_at, v)))
            .collect(),
    };
    let chart = line_chart(
        &[
            series("ER", "er", |p| p.er),
            series("Organic ER (without our replies)", "organic", |p| {
                p.organic_er
            }),
        ],
        &f.our_replies_at,
    );
    let comments = read::recent_comments(&state.db, caller.workspace, id, COMMENTS).await?;
    let url = f.video.url.clone().filter(|u| crate::ingest::is_web_url(u));
    let at_first = f.impact.at_first_reply.as_ref();
    // Each window needs a snapshot at each end; the one at the first reply starts "since".
    let (before, after) = match at_first {
        None => (
            "no snapshot was captured before the first reply, so there is no change to show".into(),
            "no snapshot from before the first reply to measure the change from".into(),
        ),
        Some(_) => (
            moved(
                f.series.first(),
                at_first,
                f.impact.er_per_day_before,
                "only one snapshot was captured before the first reply, so there is no change to show",
            ),
            moved(
                at_first,
                f.impact.now.as_ref(),
                f.impact.er_per_day_after,
                "no snapshot has been captured since the first reply yet",
            ),
        ),
    };
    Ok(Page(VideoTemplate {
        chrome: Chrome::load(&state.db, &visitor).await?,
        f,
        chart,
        comments,
        url,
        before,
        after,
    }))
}
