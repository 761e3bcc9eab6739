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
    /// Ids of stored channels, videos and contacts, so ingest can skip looking them up.
    pub refs: Arc<crate::ingest::RefCache>,
    /// Until accounts arrive everything lives in the default workspace.
    pub workspace: i64,
}

impl AppState {
    pub fn new(db: Db, config: Config) -> Self {
        AppState { db, config: Arc::new(config), metrics: Arc::default(), refs: Arc::default(), workspace: 1 }
    }
}
