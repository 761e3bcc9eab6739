//! Background work has one home: everything that runs beside the requests is started here
//! and stopped here, together, on shutdown. Today that is SQLite's ingest writer and the worker
//! that acts on rule runs as they fall due; the outbox dispatcher and the platform pollers join
//! them.

use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::ingest::IngestQueue;
use crate::storage::Db;

pub struct Workers {
    pub ingest: IngestQueue,
    stop: watch::Sender<bool>,
    tasks: std::sync::Mutex<Vec<(&'static str, JoinHandle<()>)>>,
}

impl Workers {
    /// Starts every worker (needs a Tokio runtime).
    pub fn start(db: &Db) -> Workers {
        let (stop, stopping) = watch::channel(false);
        let mut tasks = Vec::new();
        let (ingest, writer) = IngestQueue::new(db.clone(), stopping.clone());
        if let Some(writer) = writer {
            tasks.push(("ingest writer", tokio::spawn(writer)));
        }
        tasks.push((
            "rule actions",
            tokio::spawn(crate::automation::due::work(db.clone(), stopping.clone())),
        ));
        Workers {
            ingest,
            stop,
            tasks: std::sync::Mutex::new(tasks),
        }
    }

    /// Asks every worker to stop and waits for each to finish what it holds, up to `grace`.
    pub async fn shutdown(&self, grace: Duration) {
        let _ = self.stop.send(true);
        let tasks = std::mem::take(&mut *self.tasks.lock().unwrap_or_else(|e| e.into_inner()));
        for (name, task) in tasks {
            match tokio::time::timeout(grace, task).await {
                Ok(Ok(())) => tracing::debug!(worker = name, "stopped"),
                Ok(Err(e)) => tracing::error!(worker = name, error = %e, "worker failed"),
                Err(_) => tracing::warn!(worker = name, "did not stop within the grace period"),
            }
        }
    }
}
