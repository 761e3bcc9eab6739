//! `/engagement`: per channel, the account ER over the last posts with its benchmark band
//! drawn, the fake-follower warning if any, how replied videos compare, and a table of recent
//! videos sortable by ER, organic ER, coverage, response time and impact.

use askama::Template;
use axum::extract::{Query, State};
use serde::Deserialize;

use super::chart::scale;
use crate::auth::{Caller, Visitor};
use crate::engagement::compare::Comparison;
use crate::engagement::read::{self, ChannelFigures, POSTS_MAX, POSTS_MIN, VideoLine};
use crate::inbox::read::{ChannelRow, channels};
use crate::state::AppState;
use crate::web::{Chrome, Page, PageResult, view};

/// The band scale runs from 0 to this many percent.
const SCALE_MAX: f64 = 25.0;
const SCALE_WIDTH: f64 = 600.0;

#[derive(Deserialize, Default)]
pub struct EngagementQuery {
    channel: Option<i64>,
    posts: Option<usize>,
    sort: Option<String>,
}

#[derive(Template)]
#[template(path = "engagement.html")]
pub struct EngagementTemplate {
    chrome: Chrome,
    channels: Vec<ChannelRow>,
    current: Option<i64>,
    posts: usize,
    sort: String,
    figures: Option<ChannelFigures>,
}

impl EngagementTemplate {
    fn post_choices(&self) -> Vec<usize> {
        (POSTS_MIN..=POSTS_MAX)
            .step_by(6)
            .chain([POSTS_MAX])
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect()
    }
    fn pct(&self, v: &Option<f64>) -> String {
        view::percent(*v)
    }
    fn thousands(&self, n: &i64) -> String {
        view::thousands(*n)
    }
    fn pct_of(&self, v: &f64) -> String {
        view::percent(Some(*v))
    }
    fn is_current(&self, id: &i64) -> bool {
        self.current == Some(*id)
    }
    fn share(&self, v: &Option<f64>) -> String {
        view::share(*v)
    }
    fn wait(&self, v: &Option<f64>) -> String {
        view::wait(*v)
    }
    fn signed(&self, v: &Option<f64>) -> String {
        v.map_or_else(|| "—".to_owned(), |v| format!("{v:+.2} pt/day"))
    }
    fn x(&self, v: &f64) -> f64 {
        scale(*v, SCALE_MAX, SCALE_WIDTH)
    }
    fn very_good_x(&self) -> f64 {
        scale(
            crate::engagement::formulas::VERY_GOOD,
            SCALE_MAX,
            SCALE_WIDTH,
        )
    }
    fn scale_ticks(&self) -> Vec<(f64, String)> {
        (0..=5)
            .map(|i| {
                let v = SCALE_MAX * i as f64 / 5.0;
                (scale(v, SCALE_MAX, SCALE_WIDTH), format!("{v:.0} %"))
            })
            .collect()
    }
    /// The comparison in words, with its numbers and the word "association".
    fn comparison_words(&self, c: &Comparison, first: &str, second: &str) -> String {
        if !c.enough_data {
            return format!(
                "Not enough data: {} {first} and {} {second} videos old enough to compare (at least {} of each).",
                c.replied.videos,
                c.unreplied.videos,
                crate::engagement::compare::MIN_VIDEOS
            );
        }
        match (c.difference, c.interval) {
            (Some(d), Some([lo, hi])) => format!(
                "{first} videos ({}) had a median organic ER {:.2} points {} than {second} videos ({}); 95 % interval {lo:+.2} to {hi:+.2}. This is an association across videos, not proof that replying caused it.",
                c.replied.videos,
                d.abs(),
                if d >= 0.0 { "higher" } else { "lower" },
                c.unreplied.videos
            ),
            _ => "Not enough data.".into(),
        }
    }
}

fn sort_videos(videos: &mut [VideoLine], by: &str) {
    let key = |v: &VideoLine| -> Option<f64> {
        match by {
            "organic_er" => v.organic_er,
            "coverage" => v.coverage,
            "response" => v.first_response_p50_s.map(|s| -s),
            "impact" => v.impact_per_day,
            "views" => v.views.map(|n| n as f64),
            _ => v.er,
        }
    };
    // Highest first (fastest response first); figures that are undefined go last.
    videos.sort_by(|a, b| match (key(a), key(b)) {
        (Some(x), Some(y)) => y.total_cmp(&x),
        (Some(_), None) => std::cmp::Ordering::Less,
        (None, Some(_)) => std::cmp::Ordering::Greater,
        (None, None) => std::cmp::Ordering::Equal,
    });
}

pub async fn show(
    State(state): State<AppState>,
    caller: Caller,
    visitor: Visitor,
    Query(q): Query<EngagementQuery>,
) -> PageResult<Page<EngagementTemplate>> {
    let channels = channels(&state.db, caller.workspace).await?;
    let current = q.channel.or_else(|| channels.first().map(|c| c.id));
    let posts = q.posts.unwrap_or(POSTS_MIN).clamp(POSTS_MIN, POSTS_MAX);
    let sort = match q.sort.as_deref() {
        Some(s @ ("organic_er" | "coverage" | "response" | "impact" | "views")) => s.to_owned(),
        _ => "er".to_owned(),
    };
    let mut figures = match current {
        Some(id) => {
            read::channel(&state.db, caller.workspace, id, posts, crate::clock::now()).await?
        }
        None => None,
    };
    if let Some(f) = figures.as_mut() {
        sort_videos(&mut f.videos, &sort);
    }
    Ok(Page(EngagementTemplate {
        chrome: Chrome::load(&state.db, &visitor).await?,
        channels,
        current,
        posts,
        sort,
        figures,
    }))
}
