//! A local stand-in for the platforms' APIs: Meta's Graph API (Instagram and Facebook),
//! TikTok's API for Business and YouTube's Data API, on their own paths with their payloads,
//! ids (TikTok's above 2^53), errors, rate limits and quota answers. Tests, benchmarks and the
//! demo point unibox's API base URLs at it (`unibox simulate`); it can be told to fail (error
//! rates, 429 with `Retry-After`, timeouts, slow answers, answers dropped after the write took
//! effect), and it records every write that took effect and every `Retry-After` broken.
//!
//! Base URLs: `{root}/meta/v21.0`, `{root}/tiktok/open_api/v1.3`, `{root}/youtube/v3`.
//! Its own controls live under `{root}/_sim/`.

mod control;
mod meta;
mod tiktok;
pub mod world;
mod youtube;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};

use world::Fate;
pub use world::{Faults, Item, Person, World, Write};

/// The simulator's routes, on `world`.
pub fn router(world: Arc<World>) -> Router {
    Router::new()
        .merge(meta::routes())
        .merge(tiktok::routes())
        .merge(youtube::routes())
        .merge(control::routes())
        .with_state(world)
}

/// Serves the simulator on `listen` until the process ends.
pub async fn serve(listen: SocketAddr) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(listen).await?;
    let root = format!("http://{}", listener.local_addr()?);
    println!("platform simulator on {root}");
    println!("  UNIBOX_META_GRAPH_URL={root}/meta/v21.0");
    println!("  UNIBOX_TIKTOK_API_URL={root}/tiktok/open_api/v1.3");
    println!("  UNIBOX_YOUTUBE_API_URL={root}/youtube/v3");
    axum::serve(listener, router(Arc::default())).await?;
    Ok(())
}

/// Starts a simulator on a free loopback port (tests and the demo); returns its root URL.
pub async fn spawn(world: Arc<World>) -> std::io::Result<String> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let root = format!("http://{}", listener.local_addr()?);
    tokio::spawn(async move {
        let _ = axum::serve(listener, router(world)).await;
    });
    Ok(root)
}

/// The access token a request carries, in `Authorization: Bearer` or TikTok's `Access-Token`.
fn token(headers: &HeaderMap) -> Option<String> {
    if let Some(t) = headers.get("access-token").and_then(|v| v.to_str().ok()) {
        return Some(t.to_owned());
    }
    headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::to_owned)
}

/// Runs `act` (the request's effect and answer) under the fate drawn for it, once the
/// request's token was taken (`token`: the token, or the platform's refusal).
async fn faulty(
    world: &World,
    token: Result<String, Response>,
    endpoint: &str,
    act: impl FnOnce(&World, &str) -> Response,
) -> Response {
    let token = match token {
        Ok(t) => t,
        Err(refused) => return refused,
    };
    let faults = world.faults();
    if faults.slow_ms > 0 {
        tokio::time::sleep(Duration::from_millis(faults.slow_ms)).await;
    }
    let hang = Duration::from_millis(if faults.hang_ms > 0 {
        faults.hang_ms
    } else {
        30_000
    });
    match world.fate(&token, endpoint) {
        Fate::Normal => act(world, &token),
        Fate::Error => (StatusCode::INTERNAL_SERVER_ERROR, "simulated failure").into_response(),
        Fate::RateLimited(seconds) => (
            StatusCode::TOO_MANY_REQUESTS,
            [(axum::http::header::RETRY_AFTER, seconds.to_string())],
            "simulated rate limit",
        )
            .into_response(),
        Fate::Timeout => {
            tokio::time::sleep(hang).await;
            StatusCode::GATEWAY_TIMEOUT.into_response()
        }
        Fate::Drop => {
            let _answer_never_arrives = act(world, &token);
            tokio::time::sleep(hang).await;
            StatusCode::GATEWAY_TIMEOUT.into_response()
        }
    }
}
