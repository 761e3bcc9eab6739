use std::sync::Arc;

use crate::config::Config;
use crate::ops::metrics::Metrics;
use crate::storage::Db;

/// Shared by every handler.
#[derive(Clone)]
pub struct AppState {
    pub db: Db,
    pub config: Arc<Config>,
    pub metrics: Arc<Metrics>,
    /// Writes ingested batches, several at a time when they queue up.
    pub ingest: crate::ingest::IngestQueue,
}

impl AppState {
    /// Needs a Tokio runtime: it starts the ingest writer task.
    pub fn new(db: Db, config: Config) -> Self {
        let ingest = crate::ingest::IngestQueue::start(db.clone());
        AppState {
            db,
            config: Arc::new(config),
            metrics: Arc::default(),
            ingest,
        }
    }
}
