//! unibox: one inbox for every comment and DM across TikTok, Instagram, Facebook and YouTube.

pub mod accounts;
pub mod auth;
pub mod automation;
pub mod cli;
pub mod clock;
pub mod config;
pub mod connectors;
pub mod conversations;
pub mod demo;
pub mod domain;
pub mod engagement;
pub mod error;
pub mod ids;
pub mod inbox;
pub mod ingest;
pub mod json;
pub mod live;
pub mod ops;
pub mod outbox;
pub mod polling;
pub mod problem;
pub mod random;
pub mod routes;
pub mod rules;
pub mod simulate;
pub mod state;
pub mod storage;
pub mod web;
pub mod workers;

use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::extract::MatchedPath;
use axum::http::Request;
use axum::middleware;
use tokio::net::TcpListener;
use tower_http::timeout::RequestBodyTimeoutLayer;
use tower_http::trace::TraceLayer;

pub use config::Config;
pub use state::AppState;

/// Every route of the product, each behind the guard with the access the route table gives.
pub fn app(state: AppState) -> Router {
    let mut router = Router::new();
    for route in routes::table() {
        let guard = web::guard::Guard {
            state: state.clone(),
            access: route.access,
        };
        let handler = route
            .handler
            .route_layer(middleware::from_fn_with_state(guard, web::guard::guard));
        router = router.route(route.path, handler);
    }
    router
        .fallback(web::not_found)
        .layer(middleware::from_fn_with_state(
            state.clone(),
            web::hardening::refuse_invalid_text,
        ))
        .layer(DefaultBodyLimit::max(state.config.server.max_body_bytes))
        .layer(RequestBodyTimeoutLayer::new(Duration::from_secs(
            state.config.server.client_timeout_seconds.max(1),
        )))
        .layer(middleware::from_fn(web::hardening::security_headers))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            web::ops::track,
        ))
        .layer(
            TraceLayer::new_for_http().make_span_with(|request: &Request<_>| {
                let route = request
                    .extensions()
                    .get::<MatchedPath>()
                    .map(MatchedPath::as_str)
                    .unwrap_or("unmatched");
                tracing::info_span!("request", method = %request.method(), route = %route)
            }),
        )
        .with_state(state)
}

/// Serves `app` on `listener` until `shutdown` resolves, then lets in-flight requests finish
/// (up to the configured grace period).
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let grace = Duration::from_secs(state.config.server.shutdown_grace_seconds);
    let client_timeout = Duration::from_secs(state.config.server.client_timeout_seconds.max(1));
    let workers = state.workers.clone();
    let live = state.live.clone();
    let shutdown = async move {
        shutdown.await;
        live.close();
    };
    let served = ops::server::run(listener, app(state), client_timeout, grace, shutdown).await;
    workers.shutdown(grace).await;
    served
}
