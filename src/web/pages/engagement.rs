//! `/engagement`: per channel, the account ER over the last posts with its benchmark band
//! drawn, the fake-follower warning if any, how replied videos compare, and a table of recent
//! videos sortable by ER, organic ER, coverage, response time and impact.

use crate::ids::ChannelId;
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use serde::Deserialize;

use super::chart::scale;
use crate::auth::{Caller, Visitor};
use crate::engagement::compare::{Comparison, MIN_VIDEOS, Verdict};
use crate::engagement::read::{self, ChannelFigures, POSTS_MAX, POSTS_MIN, VideoLine};
use crate::inbox::read::{ChannelRow, channels};
use crate::state::AppState;
use crate::web::{Chrome, Page, PageResult, view};

/// The band scale runs from 0 to this many percent.
const SCALE_MAX: f64 = 25.0;
const SCALE_WIDTH: f64 = 600.0;

#[derive(Deserialize, Default)]
pub struct EngagementQuery {
    channel: Option<ChannelId>,
    posts: Option<usize>,
    sort: Option<String>,
}

#[derive(Template)]
#[template(path = "engagement.html")]
pub struct EngagementTemplate {
    chrome: Chrome,
    channels: Vec<ChannelRow>,
    current: Option<ChannelId>,
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
    fn is_current(&self, id: &ChannelId) -> bool {
        self.current == Some(*id)
    }
    /// What the comparisons lose when videos came without `published_at`: their age then
    /// counts from when unibox first saw them. `None` when every video has it.
    fn undated(&self, f: &ChannelFigures) -> Option<String> {
        let n = f.videos.iter().filter(|v| v.published_at.is_none()).count();
        let of = f.videos.len();
        (n > 0).then(|| {
            let (have, its) = if n == 1 { ("has", "Its") } else { ("have", "Their") };
            format!(
                "{n} of these {of} videos {have} no publication time (video.published_at). {its} age \
                 counts from when unibox first saw {}, so a video stored long after it went online \
                 is compared at the wrong age and may count among the recent posts.",
                if n == 1 { "it" } else { "them" }
            )
        })
    }
    fn share(&self, v: &Option<f64>) -> String {
        view::share(*v)
    }
    fn wait(&self, v: &Option<f64>) -> String {
        view::wait(*v)
    }
    fn signed(&self, v: &Option<f64>) -> String {
        v.map_or_else(|| "—".to_owned(), |v| format!("{} pp/day", view::signed(v)))
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
    /// The comparison's answer in one plain sentence, chosen from its interval and sizes.
    fn answer(&self, c: &Comparison, first: &str, second: &str) -> String {
        match c.verdict {
            Verdict::NotEnoughData {
                first: n,
                second: m,
                need,
            } => format!(
                "Not enough data yet: {n} {} and {m} {second} videos, need {need} of each.",
                first.to_lowercase()
            ),
            Verdict::NoClearDifference => "No difference we can tell yet.".to_owned(),
            Verdict::FirstBetter => format!("{first} videos did better, clearly."),
            Verdict::FirstWorse => format!("{first} videos did worse, clearly."),
        }
    }
    /// The numbers behind the answer: medians, difference, interval, and the word "association".
    fn details(&self, c: &Comparison, first: &str, second: &str) -> String {
        let caveat = "This is an association across videos, not proof that replying caused it.";
        match (
            c.replied.median_er,
            c.unreplied.median_er,
            c.difference,
            c.interval,
        ) {
            (Some(a), Some(b), Some(d), Some([lo, hi])) if c.enough_data => format!(
                "Median organic ER: {first} videos ({}) {}, {second} videos ({}) {}, {} points {}. \
                 The true difference is likely between {} and {} points (95 % interval). {caveat}",
                c.replied.videos,
                view::percent(Some(a)),
                c.unreplied.videos,
                view::percent(Some(b)),
                view::signed(d.abs()).trim_start_matches('+'),
                if view::signed(d) == "0.00" {
                    "apart"
                } else if d > 0.0 {
                    "higher"
                } else {
                    "lower"
                },
                view::signed(lo),
                view::signed(hi),
            ),
            _ => format!(
                "Videos are compared once each group has {MIN_VIDEOS}; even then it is an association, not proof that replying caused anything."
            ),
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

/// `GET /engagement/channels/{id}/videos.csv`: the page's table as CSV for a signed-in
/// browser (the same file as the API's, which wants a token).
pub async fn videos_csv(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<ChannelId>,
) -> PageResult<Response> {
    Ok(crate::web::api::engagement::videos_csv_of(&state, &caller, id).await?)
}
