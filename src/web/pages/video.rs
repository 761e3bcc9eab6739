//! `/videos/{id}`: one video's ER and organic ER over time as a chart with our replies marked
//! on the time axis, what the replies did within this video, and its latest comments.

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
}

impl VideoTemplate {
    fn pct(&self, v: &Option<f64>) -> String {
        view::percent(*v)
    }
    fn signed(&self, v: &Option<f64>) -> String {
        v.map_or_else(|| "—".to_owned(), |v| format!("{v:+.2} points a day"))
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
    Path(id): Path<i64>,
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
    Ok(Page(VideoTemplate {
        chrome: Chrome::load(&state.db, &visitor).await?,
        f,
        chart,
        comments,
        url,
    }))
}
