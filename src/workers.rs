//! Background work has one home: everything that runs beside the requests is started here
//! and stopped here, together, on shutdown: the ingest writer, the worker that acts on rule
//! runs as they fall due, the outbox dispatcher, the platform polls, the asks about channels'
//! unverified tokens and the listener for other instances' changes. A rule without delay
//! hands its replies to the dispatcher leased (`outbox::Courier`, which ingest knows as a
//! `conversations::Handover`); a stored batch that left
//! something for the dispatcher's claim, and each batch of due runs acted on, wakes it, so a
//! reply goes out within milliseconds instead of at the next tick.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{Notify, watch};
use tokio::task::JoinHandle;

use crate::config::Config;
use crate::connectors::calls::Platforms;
use crate::ingest::IngestQueue;
use crate::outbox::{Dispatcher, Limits};
use crate::polling::Poller;
use crate::storage::Db;

pub struct Workers {
    pub ingest: Arc<IngestQueue>,
    /// Each account's sending budgets as this instance counts them (for the channels page).
    pub limits: Arc<Limits>,
    /// When each account's last event was written (at most every few seconds).
    pub heard: Arc<crate::connectors::health::Heard>,
    /// Which workspaces each account's webhooks go to, as recently read.
    pub routes: Arc<crate::connectors::routing::Routes>,
    /// The client for the platforms' APIs (the outbox, webhooks that fetch, pollers).
    pub platforms: Arc<Platforms>,
    outbox: Arc<Notify>,
    stop: watch::Sender<bool>,
    tasks: std::sync::Mutex<Vec<(&'static str, JoinHandle<()>)>>,
}

impl Workers {
    /// Starts every worker (needs a Tokio runtime).
    pub fn start(db: &Db, config: &Config, live: &Arc<crate::live::Live>) -> Workers {
        let (stop, stopping) = watch::channel(false);
        let mut tasks = Vec::new();
        let outbox = Arc::new(Notify::new());
        let timeout = Duration::from_millis(config.outbox.platform_timeout_ms.max(1));
        let platforms = Arc::new(Platforms::new(&config.platforms, timeout));
        let limits = Arc::new(Limits::default());
        let dispatcher = Dispatcher::new(
            db.clone(),
            platforms.clone(),
            &config.outbox,
            limits.clone(),
            outbox.clone(),
            live.clone(),
        );
        // A rule without delay queues its replies in the batch's own transaction, leased to
        // the dispatcher where it has a free slot; the others wait for its claim.
        let wake = vec![outbox.clone()];
        let courier: Arc<dyn crate::conversations::Handover> = dispatcher.courier.clone();
        let (ingest, writer) = IngestQueue::new(
            db.clone(),
            Some(courier),
            stopping.clone(),
            wake,
            live.clone(),
            config.ingest.ingest_writers,
        );
        let ingest = Arc::new(ingest);
        tasks.push(("ingest writer", tokio::spawn(writer)));
        let due = crate::automation::due::work(db.clone(), outbox.clone(), stopping.clone());
        tasks.push(("rule actions", tokio::spawn(due)));
        let dispatch = crate::outbox::dispatch::work(Arc::new(dispatcher), stopping.clone());
        tasks.push(("outbox dispatcher", tokio::spawn(dispatch)));
        let heard = Arc::new(crate::connectors::health::Heard::default());
        let every = |seconds: u64| (seconds > 0).then(|| Duration::from_secs(seconds));
        let poller = Poller {
            db: db.clone(),
            platforms: platforms.clone(),
            ingest: ingest.clone(),
            limits: limits.clone(),
            heard: heard.clone(),
            comments_every: every(config.polling.poll_comments_seconds),
            stats_every: every(config.polling.poll_stats_seconds),
            names_every: every(config.polling.contact_names_seconds),
            stopping: stopping.clone(),
        };
        let polls = crate::polling::work(Arc::new(poller), stopping.clone());
        tasks.push(("platform polls", tokio::spawn(polls)));
        if let Some(every) = every(config.polling.verify_channels_seconds) {
            let verify = crate::connectors::verification::work(
                db.clone(),
                platforms.clone(),
                live.clone(),
                every,
                stopping.clone(),
            );
            tasks.push(("channel verification", tokio::spawn(verify)));
        }
        let hear = live.clone().listen(stopping);
        tasks.push(("other instances' changes", tokio::spawn(hear)));
        Workers {
            ingest,
            limits,
            heard,
            routes: Arc::new(crate::connectors::routing::Routes::new(
                live.channels_epoch(),
            )),
            platforms,
            outbox,
            stop,
            tasks: std::sync::Mutex::new(tasks),
        }
    }

    /// Something was queued for a platform: the dispatcher looks now.
    pub fn wake_outbox(&self) {
        self.outbox.notify_one();
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
