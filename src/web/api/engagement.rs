//! `/api/v1/engagement/…`: a video's ER over time with its replies, a channel's account figures
//! and comparisons, and the channel's per-video table as CSV.

use crate::ids::{ChannelId, VideoId};
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use crate::auth::Caller;
use crate::engagement::read::{self, POSTS_MAX, POSTS_MIN, VideoLine};
use crate::error::{ApiResult, AppError};
use crate::state::AppState;

/// A video's engagement rate over time, with the replies it got.
#[utoipa::path(
    get,
    path = "/api/v1/engagement/videos/{id}",
    tag = "engagement",
    security(("token" = ["read"])),
    params(("id" = i64, Path, description = "The video's id")),
    responses((status = 200, description = "The video's figures; ER values are percentages, \
        `null` without views", body = read::VideoFigures)),
)]
pub async fn video(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<VideoId>,
) -> ApiResult<Json<read::VideoFigures>> {
    let figures = read::video(&state.db, caller.workspace, id)
        .await?
        .ok_or(AppError::NotFound("video"))?;
    Ok(Json(figures))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct Posts {
    /// How many recent posts the comparisons take, 12 to 30 (default 12).
    posts: Option<usize>,
}

fn posts(q: &Posts) -> Result<usize, AppError> {
    match q.posts {
        None => Ok(POSTS_MIN),
        Some(n) if (POSTS_MIN..=POSTS_MAX).contains(&n) => Ok(n),
        Some(_) => Err(AppError::field(
            "posts",
            format!("must be from {POSTS_MIN} to {POSTS_MAX}"),
        )),
    }
}

/// A channel's account figures, its videos and the comparisons between them.
#[utoipa::path(
    get,
    path = "/api/v1/engagement/channels/{id}",
    tag = "engagement",
    security(("token" = ["read"])),
    params(("id" = i64, Path, description = "The channel's id"), Posts),
    responses((status = 200, description = "The channel's figures", body = read::ChannelFigures)),
)]
pub async fn channel(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<ChannelId>,
    Query(q): Query<Posts>,
) -> ApiResult<Json<read::ChannelFigures>> {
    let posts = posts(&q)?;
    let figures = read::channel(&state.db, caller.workspace, id, posts, crate::clock::now())
        .await?
        .ok_or(AppError::NotFound("channel"))?;
    Ok(Json(figures))
}

/// The channel's per-video table as a CSV download.
#[utoipa::path(
    get,
    path = "/api/v1/engagement/channels/{id}/videos.csv",
    tag = "engagement",
    security(("token" = ["read"])),
    params(("id" = i64, Path, description = "The channel's id")),
    responses((status = 200, description = "One line per video", body = String,
        content_type = "text/csv")),
)]
pub async fn videos_csv(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<ChannelId>,
) -> ApiResult<Response> {
    videos_csv_of(&state, &caller, id).await
}

/// The channel's per-video table as a CSV download, for the API and for the page's link.
pub(crate) async fn videos_csv_of(
    state: &AppState,
    caller: &Caller,
    id: ChannelId,
) -> Result<Response, AppError> {
    let figures = read::channel(
        &state.db,
        caller.workspace,
        id,
        POSTS_MIN,
        crate::clock::now(),
    )
    .await?
    .ok_or(AppError::NotFound("channel"))?;
    let mut out = String::from(
        "id,external_id,title,published_at,captured_at,views,saves,er,organic_er,coverage,first_response_p50_s,impact_per_day,replied\r\n",
    );
    for v in &figures.videos {
        out.push_str(&line(v));
    }
    let name = format!("attachment; filename=\"videos-{id}.csv\"");
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (header::CONTENT_DISPOSITION, name),
        ],
        out,
    )
        .into_response())
}

fn line(v: &VideoLine) -> String {
    let num = |x: Option<f64>| x.map(|x| x.to_string()).unwrap_or_default();
    let int = |x: Option<i64>| x.map(|x| x.to_string()).unwrap_or_default();
    let time =
        |x: Option<chrono::DateTime<chrono::Utc>>| x.map(|t| t.to_rfc3339()).unwrap_or_default();
    let cells = [
        v.id.to_string(),
        cell(&v.external_id),
        cell(v.title.as_deref().unwrap_or_default()),
        time(v.published_at),
        time(v.captured_at),
        int(v.views),
        int(v.saves),
        num(v.er),
        num(v.organic_er),
        num(v.coverage),
        num(v.first_response_p50_s),
        num(v.impact_per_day),
        v.replied.to_string(),
    ];
    format!("{}\r\n", cells.join(","))
}

/// A text cell: quoted, and never read as a formula by a spreadsheet (titles are anyone's text).
fn cell(text: &str) -> String {
    let safe = if text.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{text}")
    } else {
        text.to_owned()
    };
    format!("\"{}\"", safe.replace('"', "\"\""))
}

#[cfg(test)]
mod tests {
    use super::cell;

    #[test]
    fn cells_are_quoted_and_never_formulas() {
        assert_eq!(cell("Unboxing \"2\""), "\"Unboxing \"\"2\"\"\"");
        assert_eq!(cell("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
    }
}
