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
    /// Until accounts arrive everything lives in the default workspace.
    pub workspace: i64,
}

impl AppState {
    pub fn new(db: Db, config: Config) -> Self {
        AppState { db, config: Arc::new(config), metrics: Arc::default(), workspace: 1 }
    }
}
