use std::sync::Arc;

use crate::config::Config;
use crate::ops::metrics::Metrics;
use crate::storage::Db;
use crate::workers::Workers;

/// Shared by every handler.
#[derive(Clone)]
pub struct AppState {
    pub db: Db,
    pub config: Arc<Config>,
    pub metrics: Arc<Metrics>,
    /// Background work, such as the queue that writes ingested batches.
    pub workers: Arc<Workers>,
    /// The one-time link that creates the first account (open only while none exists).
    pub setup: Arc<crate::auth::setup::SetupLink>,
    /// What changed, for open pages (on every instance).
    pub live: Arc<crate::live::Live>,
    /// The open `/live` streams, within their limits.
    pub streams: Arc<crate::live::streams::Streams>,
}

impl AppState {
    /// Needs a Tokio runtime: it starts the background workers.
    pub fn new(db: Db, config: Config) -> Self {
        let live = crate::live::Live::new(db.clone());
        let workers = Arc::new(Workers::start(&db, &config, &live));
        let streams = crate::live::streams::Streams::new(
            config.server.live_streams_per_session,
            config.server.live_streams_max,
        );
        AppState {
            streams,
            db,
            config: Arc::new(config),
            metrics: Arc::default(),
            workers,
            setup: Arc::default(),
            live,
        }
    }
}
