//! Group commit: batches that arrive while another is being written are stored together, in
//! one transaction, on both backends. Much of a transaction's cost is fixed (statements, the
//! commit's flush, the shared index pages, and on PostgreSQL the lock each batch takes on its
//! channels for the rules' safeguards), so under load two 1,000-event batches cost far less
//! together than apart, and a webhook per comment does not cost a commit per comment. Each request still gets exactly its own answer; if a combined write fails, every
//! batch is retried on its own, so one batch can never sink another.

use crate::ids::WorkspaceId;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use chrono::{DateTime, Utc};
use tokio::sync::{mpsc, oneshot, watch};

use super::backlog::Backlog;
use super::cache::Memory;
use super::error::IngestError;
use super::event::Event;
use super::outcome::Outcome;
use super::store::store_events;
use crate::conversations::Handover;
use crate::storage::Db;

/// Most events written in one combined transaction.
const MAX_GROUP_EVENTS: usize = 5000;

/// Under load (a batch waiting as soon as the previous write ended), how long a writer waits
/// for more batches to join while another writer is writing. An idle server never waits, nor
/// does a writer alone (SQLite's, or PostgreSQL's first while the others wait for a backlog,
/// `backlog.rs`): while it writes, what arrives queues and joins its next group anyway, so a
/// wait would only leave the one writer idle and add the wait to every comment.
const GATHER: std::time::Duration = std::time::Duration::from_millis(2);

/// How many groups are written at once. SQLite has one writer. PostgreSQL writes a group on one
/// backend process, which keeps one core busy; a second writer uses a second core. Concurrent
/// groups take their locks in key order, and a group that still deadlocks is tried again
/// (see `store::store_events`); writers beyond the first join only while a backlog waits
/// (`backlog.rs`). `chosen` (`UNIBOX_INGEST_WRITERS`) overrides the default on PostgreSQL.
fn writers(db: &Db, chosen: Option<u16>) -> usize {
    match db.backend() {
        crate::storage::Backend::Sqlite => 1,
        crate::storage::Backend::Postgres => chosen.map_or_else(
            || {
                std::thread::available_parallelism()
                    .map_or(1, usize::from)
                    .clamp(2, 4)
            },
            usize::from,
        ),
    }
}

struct Job {
    workspace: WorkspaceId,
    events: Vec<Event>,
    now: DateTime<Utc>,
    reply: oneshot::Sender<Result<Vec<Outcome>, IngestError>>,
}

#[derive(Clone)]
pub struct IngestQueue {
    /// Batches waiting for the writer.
    jobs: mpsc::Sender<Job>,
    /// How many events they hold.
    backlog: Arc<Backlog>,
    /// Open pages hear of new messages.
    live: Arc<crate::live::Live>,
    /// The shared pool, and the rules compiled per workspace: a batch's rules are compiled
    /// before it queues, never by a writer that others' batches wait for.
    db: Db,
    memory: Arc<Memory>,
}

/// The writer: runs until `stop` turns true, then writes what is still queued.
pub type Writer = std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>;

impl IngestQueue {
    /// The queue, and the writer task to run (see `workers`), with `writers` writers on
    /// PostgreSQL (its default when `None`).
    pub fn new(
        db: Db,
        courier: Option<Arc<dyn Handover>>,
        stop: watch::Receiver<bool>,
        stored: Vec<Arc<tokio::sync::Notify>>,
        live: Arc<crate::live::Live>,
        writers: Option<u16>,
    ) -> (Self, Writer) {
        let cache = Arc::new(Memory::new(live.clone()));
        let (jobs, rx) = mpsc::channel(64);
        let count = self::writers(&db, writers);
        if db.backend() == crate::storage::Backend::Sqlite && writers.is_some_and(|w| w > 1) {
            tracing::info!(
                ingest_writers = writers,
                "SQLite stores with one writer; UNIBOX_INGEST_WRITERS applies to PostgreSQL"
            );
        }
        tracing::info!(writers = count, "ingest writers ready");
        let backlog = Arc::new(Backlog::default());
        let shared = Arc::new(Jobs {
            rx: tokio::sync::Mutex::new((rx, None)),
            idle: AtomicUsize::new(0),
            writing: AtomicUsize::new(0),
            backlog: backlog.clone(),
        });
        // Each writer holds up to two connections at once (a bulk batch's names for ids commit
        // on one while the batch's transaction begins on the other); one more each for a retry
        // racing a release. One of each pool per writer opens at start: a small batch takes
        // one of each, and a writer alone takes turns between two (the next group begins while
        // the last one's go back to the pool); the rest open as they are needed.
        let shared_db = db.clone();
        let db = db.with_own_connections(3 * count as u32, count as u32);
        let loops: Vec<_> = (0..count)
            .map(|n| {
                let writer = Writing {
                    db: db.clone(),
                    cache: cache.clone(),
                    courier: courier.clone(),
                    stored: stored.clone(),
                };
                write_jobs(writer, shared.clone(), stop.clone(), n == 0)
            })
            .collect();
        let writer = Box::pin(async move {
            let running: Vec<_> = loops.into_iter().map(tokio::spawn).collect();
            for writer in running {
                if let Err(e) = writer.await {
                    tracing::error!(error = %e, "an ingest writer stopped");
                }
            }
        }) as Writer;
        let queue = IngestQueue {
            jobs,
            backlog,
            live,
            db: shared_db,
            memory: cache,
        };
        (queue, writer)
    }

    /// Stores a checked batch in `workspace`: each event's outcome, in the batch's order.
    pub async fn store(
        &self,
        workspace: WorkspaceId,
        batch: super::Batch,
        now: DateTime<Utc>,
    ) -> Result<Vec<Outcome>, IngestError> {
        let events = batch.0;
        if events.iter().any(|e| matches!(e, Event::Message(_))) {
            self.memory.rules.prepare(&self.db, workspace).await?;
        }
        let (reply, answer) = oneshot::channel();
        let closed = || IngestError::Database(sqlx::Error::PoolClosed);
        let count = events.len();
        self.jobs
            .send(Job {
                workspace,
                events,
                now,
                reply,
            })
            .await
            .map_err(|_| closed())?;
        // Counted once in the queue (a request dropped while waiting for room is not); a
        // writer may take it first, and the count dips below zero for that moment.
        self.backlog.added(count);
        let outcomes = answer.await.map_err(|_| closed())??;
        if outcomes
            .iter()
            .any(|o| o.status == super::outcome::OutcomeStatus::Created)
        {
            self.live.changed(workspace, crate::live::Change::Messages);
        }
        Ok(outcomes)
    }
}

impl IngestQueue {
    /// Stores events a connector made (webhooks, polls), checked as the API checks a batch:
    /// all or nothing.
    pub async fn ingest(
        &self,
        workspace: WorkspaceId,
        events: Vec<Event>,
        now: DateTime<Utc>,
    ) -> Result<super::IngestReport, IngestError> {
        let batch = super::Batch::check(events, now)?;
        Ok(super::IngestReport::new(
            self.store(workspace, batch, now).await?,
        ))
    }
}

/// Batches waiting for a writer, shared by the writers: one of them gathers a group at a time.
struct Jobs {
    /// The queue, and a batch taken from it that did not fit the last group (it starts the
    /// next one, whichever writer gathers it).
    rx: tokio::sync::Mutex<(mpsc::Receiver<Job>, Option<Job>)>,
    /// Writers waiting for their turn to gather or for a backlog: while one is, a group that
    /// is already [`SHARED_GROUP_EVENTS`] large stops growing and leaves the rest to it.
    idle: AtomicUsize,
    /// Writers writing a group: while one is, a busy writer lets its group gather ([`GATHER`]).
    writing: AtomicUsize,
    /// Events queued and not yet in a group: writers beyond the first wait for enough.
    backlog: Arc<Backlog>,
}

/// With a writer idle, a group stops growing at this many events.
const SHARED_GROUP_EVENTS: usize = 500;

/// What each writer writes with: the database, what the ingest path remembers, and where
/// replies leased as they are queued go.
struct Writing {
    db: Db,
    cache: Arc<Memory>,
    courier: Option<Arc<dyn Handover>>,
    /// Rung after a batch that queued something for the dispatcher's claim (a rule without
    /// delay whose reply could not be leased at once, or that likes, hides or deletes).
    stored: Vec<Arc<tokio::sync::Notify>>,
}

impl Writing {
    async fn store(
        &self,
        workspace: WorkspaceId,
        events: &[Event],
        now: DateTime<Utc>,
    ) -> Result<Vec<Outcome>, IngestError> {
        let courier = self.courier.as_deref();
        let stored = store_events(&self.db, &self.cache, courier, workspace, events, now).await?;
        if let Some(courier) = courier {
            courier.hand(stored.leased);
        }
        if stored.queued {
            for wake in &self.stored {
                wake.notify_one();
            }
        }
        Ok(stored.outcomes)
    }
}

/// A writer's loop. The `first` takes every group; the others only while a backlog waits
/// (`backlog.rs`), and end when asked to stop (the first writes what is still queued).
async fn write_jobs(
    writer: Writing,
    jobs: Arc<Jobs>,
    mut stop: watch::Receiver<bool>,
    first: bool,
) {
    loop {
        if !first {
            jobs.idle.fetch_add(1, Ordering::SeqCst);
            let backlog = jobs.backlog.until_enough(&mut stop).await;
            jobs.idle.fetch_sub(1, Ordering::SeqCst);
            if !backlog {
                return;
            }
        }
        let group = {
            jobs.idle.fetch_add(1, Ordering::SeqCst);
            let mut queue = jobs.rx.lock().await;
            jobs.idle.fetch_sub(1, Ordering::SeqCst);
            // Taken meanwhile by the writer before: wait for a backlog again.
            if !first && !jobs.backlog.enough() {
                continue;
            }
            let (rx, waiting) = &mut *queue;
            gather(rx, &jobs, waiting, &mut stop).await
        };
        match group {
            Some(group) => {
                jobs.writing.fetch_add(1, Ordering::SeqCst);
                write_group(&writer, group).await;
                jobs.writing.fetch_sub(1, Ordering::SeqCst);
            }
            None => return,
        }
    }
}

/// The next group to write: the first waiting batch and, when more were waiting, those that
/// join it within the writers' gathering time (see [`GATHER`]). `None` once the queue is
/// closed and empty.
async fn gather(
    rx: &mut mpsc::Receiver<Job>,
    jobs: &Jobs,
    waiting: &mut Option<Job>,
    stop: &mut watch::Receiver<bool>,
) -> Option<Vec<Job>> {
    let (first, busy) = match waiting.take() {
        Some(job) => (job, true),
        None => match rx.try_recv() {
            Ok(job) => (job, true),
            Err(_) => {
                let next = tokio::select! {
                    job = rx.recv() => job,
                    () = stopped(stop) => {
                        // Take no new batches; write those already queued, then end.
                        rx.close();
                        rx.recv().await
                    }
                };
                (next?, false)
            }
        },
    };
    jobs.backlog.taken(first.events.len());
    let mut group = vec![first];
    let mut size = group[0].events.len();
    let gather_until = tokio::time::Instant::now()
        + if busy && jobs.writing.load(Ordering::SeqCst) > 0 {
            GATHER
        } else {
            std::time::Duration::ZERO
        };
    while size < MAX_GROUP_EVENTS
        && (size < SHARED_GROUP_EVENTS || jobs.idle.load(Ordering::SeqCst) == 0)
    {
        let next = match rx.try_recv() {
            Ok(job) => Ok(job),
            Err(_) => match tokio::time::timeout_at(gather_until, rx.recv()).await {
                Ok(Some(job)) => Ok(job),
                _ => Err(()),
            },
        };
        match next {
            Ok(job)
                if job.workspace == group[0].workspace
                    && size + job.events.len() <= MAX_GROUP_EVENTS =>
            {
                size += job.events.len();
                jobs.backlog.taken(job.events.len());
                group.push(job);
            }
            Ok(job) => {
                *waiting = Some(job);
                break;
            }
            Err(()) => break,
        }
    }
    Some(group)
}

async fn write_group(writer: &Writing, group: Vec<Job>) {
    if group.len() == 1 {
        let job = group.into_iter().next().expect("one job");
        let result = writer.store(job.workspace, &job.events, job.now).await;
        let _ = job.reply.send(result);
        return;
    }
    let workspace = group[0].workspace;
    let now = group.iter().map(|j| j.now).max().expect("jobs");
    let all: Vec<Event> = group
        .iter()
        .flat_map(|j| j.events.iter().cloned())
        .collect();
    match writer.store(workspace, &all, now).await {
        Ok(outcomes) => {
            let mut rest = outcomes.into_iter();
            let mut offset = 0;
            for job in group {
                let mine: Vec<Outcome> = rest
                    .by_ref()
                    .take(job.events.len())
                    .map(|o| Outcome {
                        index: o.index - offset,
                        ..o
                    })
                    .collect();
                offset += job.events.len();
                let _ = job.reply.send(Ok(mine));
            }
        }
        Err(e) => {
            tracing::warn!(error = %e, batches = group.len(), "combined write failed; writing each batch alone");
            for job in group {
                let result = writer.store(job.workspace, &job.events, job.now).await;
                let _ = job.reply.send(result);
            }
        }
    }
}

/// Resolves once the workers are asked to stop.
async fn stopped(stop: &mut watch::Receiver<bool>) {
    let _ = stop.wait_for(|s| *s).await;
}
