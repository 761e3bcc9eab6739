//! The open `/live` streams, counted per session and per server so that no one can hold
//! every descriptor, and ended when their session ends (sign-out, a password change, expiry)
//! or looks at another workspace. One sweep asks the database about every open stream's
//! session every few seconds, so it holds on every instance behind a load balancer.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::watch;

use crate::ids::WorkspaceId;
use crate::storage::Db;

/// How often open streams' sessions are checked.
const SWEEP_EVERY: Duration = Duration::from_secs(3);

/// Who a stream is for: a session (by its key) looking at one workspace.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Owner {
    session: String,
    workspace: WorkspaceId,
}

struct Open {
    id: u64,
    owner: Owner,
    end: watch::Sender<bool>,
}

#[derive(Default)]
struct State {
    open: Vec<Open>,
    next: u64,
    sweeping: bool,
}

/// The registry of open streams.
pub struct Streams {
    per_session: usize,
    total: usize,
    state: Mutex<State>,
}

/// Why a stream was not opened.
#[derive(Debug, PartialEq, Eq)]
pub enum Refused {
    Session(usize),
    Server(usize),
}

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Refused::Session(n) => write!(
                f,
                "this session has {n} live streams open already: close other unibox tabs (pages still refresh on their own)"
            ),
            Refused::Server(n) => write!(
                f,
                "the server has {n} live streams open, its most: pages refresh on their own meanwhile"
            ),
        }
    }
}

/// An open stream: ends (`ended`) when its session does; leaves the count when dropped.
pub struct Ticket {
    id: u64,
    streams: Arc<Streams>,
    pub ended: watch::Receiver<bool>,
}

impl Drop for Ticket {
    fn drop(&mut self) {
        self.streams.lock().open.retain(|o| o.id != self.id);
    }
}

impl Streams {
    pub fn new(per_session: usize, total: usize) -> Arc<Streams> {
        Arc::new(Streams {
            per_session: per_session.max(1),
            total: total.max(1),
            state: Mutex::default(),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Opens a stream for `session` in `workspace`, within the limits; starts the sweep over
    /// `db` when none runs.
    pub fn open(
        self: &Arc<Self>,
        db: &Db,
        session: &str,
        workspace: WorkspaceId,
    ) -> Result<Ticket, Refused> {
        let owner = Owner {
            session: session.to_owned(),
            workspace,
        };
        let mut state = self.lock();
        if state.open.len() >= self.total {
            return Err(Refused::Server(self.total));
        }
        let mine = state
            .open
            .iter()
            .filter(|o| o.owner.session == session)
            .count();
        if mine >= self.per_session {
            return Err(Refused::Session(self.per_session));
        }
        let (end, ended) = watch::channel(false);
        state.next += 1;
        let id = state.next;
        state.open.push(Open { id, owner, end });
        if !state.sweeping {
            state.sweeping = true;
            tokio::spawn(sweep(self.clone(), db.clone()));
        }
        Ok(Ticket {
            id,
            streams: self.clone(),
            ended,
        })
    }

    /// How many streams are open.
    pub fn count(&self) -> usize {
        self.lock().open.len()
    }
}

/// Ends the streams whose session ended or moved to another workspace, every few seconds,
/// while any is open.
async fn sweep(streams: Arc<Streams>, db: Db) {
    loop {
        tokio::time::sleep(SWEEP_EVERY).await;
        let owners: Vec<Owner> = {
            let mut state = streams.lock();
            if state.open.is_empty() {
                state.sweeping = false;
                return;
            }
            state.open.iter().map(|o| o.owner.clone()).collect()
        };
        let keys: Vec<&str> = owners.iter().map(|o| o.session.as_str()).collect();
        let now = crate::clock::now();
        let current: HashMap<String, Option<WorkspaceId>> =
            match crate::auth::sessions::workspaces_of(&db, &keys, now).await {
                Ok(found) => found,
                Err(e) => {
                    tracing::warn!(error = %e, "could not check the live streams' sessions");
                    continue;
                }
            };
        let state = streams.lock();
        for open in &state.open {
            let still = current.get(&open.owner.session) == Some(&Some(open.owner.workspace));
            if !still {
                let _ = open.end.send(true);
            }
        }
    }
}
