//! Live pages: what changed in which workspace, told to every open inbox and thread page
//! (server-sent events, `web/live.rs`). On SQLite the one instance tells its own pages; on
//! PostgreSQL a change is sent with `NOTIFY` and every instance, this one included, hears it
//! with `LISTEN` and tells its pages, so a comment stored by one instance shows on pages
//! another serves. A changed channel is told the same way, at once, to every instance's
//! memory of channels ([`ChannelsEpoch`]).

pub mod streams;

use std::collections::HashSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{broadcast, watch};

use crate::ids::WorkspaceId;
use crate::storage::Db;

const CHANNEL: &str = "unibox_live";

/// Changes within this long of each other are told once: a burst of webhooks costs pages one
/// refresh (and PostgreSQL one `NOTIFY`) per workspace and kind, not one per webhook.
const GATHER: Duration = Duration::from_millis(150);

/// The payload that says a channel changed.
const CHANNELS: &str = "channels";

/// A count that moves whenever a channel is connected, changed, removed or first seen, on
/// this instance or (on PostgreSQL, as soon as it is heard) another, and whenever changes
/// may have gone unheard (the listener reconnected). What an instance remembers of channels
/// (which workspaces connected an account, a channel's id and own author id) is kept with the
/// count it was read at, and read again once the count moved.
#[derive(Clone, Default)]
pub struct ChannelsEpoch(Arc<AtomicU64>);

impl ChannelsEpoch {
    pub fn get(&self) -> u64 {
        self.0.load(Ordering::SeqCst)
    }

    fn advance(&self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

/// What changed: new messages (and with them suggestions), or where replies are on their way.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Change {
    Messages,
    Delivery,
}

impl Change {
    pub fn as_str(self) -> &'static str {
        match self {
            Change::Messages => "messages",
            Change::Delivery => "delivery",
        }
    }

    fn parse(s: &str) -> Option<Change> {
        match s {
            "messages" => Some(Change::Messages),
            "delivery" => Some(Change::Delivery),
            _ => None,
        }
    }
}

pub struct Live {
    db: Db,
    pages: broadcast::Sender<(WorkspaceId, Change)>,
    /// Changes waiting to be told.
    pending: Mutex<HashSet<(WorkspaceId, Change)>>,
    /// Turns true when the server shuts down: open streams end, so shutting down does not
    /// wait for pages that would listen forever.
    closing: watch::Sender<bool>,
    channels: ChannelsEpoch,
}

impl Live {
    pub fn new(db: Db) -> Arc<Live> {
        let (pages, _) = broadcast::channel(256);
        Arc::new(Live {
            db,
            pages,
            pending: Mutex::default(),
            closing: watch::channel(false).0,
            channels: ChannelsEpoch::default(),
        })
    }

    /// The count that moves when any instance changes a channel.
    pub fn channels_epoch(&self) -> ChannelsEpoch {
        self.channels.clone()
    }

    /// A channel was connected, changed, removed or first seen (its transaction committed):
    /// this instance forgets what it read of channels now, and every other one as soon as it
    /// hears. Never waits.
    pub fn channels_changed(&self) {
        self.channels.advance();
        let db = self.db.clone();
        tokio::spawn(async move {
            if let Err(e) = db.notify(CHANNEL, CHANNELS).await {
                tracing::warn!(error = %e, "cannot tell other instances that a channel changed");
            }
        });
    }

    /// Changes of every workspace, as they come (a page keeps those of its own), and the
    /// signal that the server is closing.
    pub fn subscribe(
        &self,
    ) -> (
        broadcast::Receiver<(WorkspaceId, Change)>,
        watch::Receiver<bool>,
    ) {
        (self.pages.subscribe(), self.closing.subscribe())
    }

    /// Ends every open stream (the server is shutting down).
    pub fn close(&self) {
        let _ = self.closing.send(true);
    }

    /// Tells every open page of `workspace` (on every instance), shortly, that `change`
    /// happened; never waits. A page that misses it still refreshes on its own timer.
    pub fn changed(self: &Arc<Self>, workspace: WorkspaceId, change: Change) {
        let fresh = self
            .pending
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert((workspace, change));
        if !fresh {
            return;
        }
        let live = self.clone();
        tokio::spawn(async move {
            tokio::time::sleep(GATHER).await;
            live.pending
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .remove(&(workspace, change));
            live.tell(workspace, change).await;
        });
    }

    async fn tell(&self, workspace: WorkspaceId, change: Change) {
        let payload = format!("{workspace}:{}", change.as_str());
        match self.db.notify(CHANNEL, &payload).await {
            Ok(true) => {}
            Ok(false) => {
                let _ = self.pages.send((workspace, change));
            }
            Err(e) => {
                tracing::debug!(error = %e, "cannot notify other instances; telling this one's pages");
                let _ = self.pages.send((workspace, change));
            }
        }
    }

    /// PostgreSQL: hears every instance's changes until `stop`, and tells this instance's pages.
    pub async fn listen(self: Arc<Self>, mut stop: watch::Receiver<bool>) {
        let mut wait = Duration::from_millis(200);
        loop {
            let listener = match self.db.listen(CHANNEL).await {
                None => return,
                Some(Ok(listener)) => listener,
                Some(Err(e)) => {
                    tracing::warn!(error = %e, "cannot listen for other instances' changes; trying again");
                    tokio::select! {
                        () = tokio::time::sleep(wait) => {}
                        _ = stop.wait_for(|s| *s) => return,
                    }
                    wait = (wait * 2).min(Duration::from_secs(10));
                    continue;
                }
            };
            let mut listener = listener;
            // Whatever was sent while no one listened is unheard: channels are read again.
            self.channels.advance();
            loop {
                let heard = tokio::select! {
                    heard = listener.recv() => heard,
                    _ = stop.wait_for(|s| *s) => return,
                };
                match heard {
                    Ok(n) if n.payload() == CHANNELS => {
                        wait = Duration::from_millis(200);
                        self.channels.advance();
                    }
                    Ok(n) => {
                        wait = Duration::from_millis(200);
                        if let Some((workspace, change)) =
                            n.payload().split_once(':').and_then(|(w, c)| {
                                Some((WorkspaceId(w.parse().ok()?), Change::parse(c)?))
                            })
                        {
                            let _ = self.pages.send((workspace, change));
                        }
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "lost the connection that hears other instances; reconnecting");
                        tokio::select! {
                            () = tokio::time::sleep(wait) => {}
                            _ = stop.wait_for(|s| *s) => return,
                        }
                        wait = (wait * 2).min(Duration::from_secs(10));
                        break;
                    }
                }
            }
        }
    }
}
