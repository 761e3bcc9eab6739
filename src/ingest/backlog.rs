//! How many events wait for the ingest writers, and waiting until enough do for a writer
//! beyond the first to be worth what it costs. On PostgreSQL two writers store bulk batches and
//! bursts faster than one (3,800 against 3,000 messages a second on two cores), but at a steady
//! 500 webhooks a second they take turns on the channel's lock and spend a fifth more of the
//! database's CPU per comment than one writer, for the same latency. So the first writer
//! takes every group, and the others join only while [`HELP_FROM`] events or more wait.

use std::sync::atomic::{AtomicIsize, Ordering};

use tokio::sync::{Notify, watch};

/// Waiting events from which writers beyond the first take groups too: a steady stream of
/// webhooks leaves a handful waiting while a group is written; a bulk batch, a burst or a
/// writer held up leaves more.
pub(super) const HELP_FROM: isize = 16;

#[derive(Default)]
pub(super) struct Backlog {
    /// Events in the queue and not yet taken into a group.
    events: AtomicIsize,
    /// Told when `events` reaches [`HELP_FROM`].
    grown: Notify,
}

impl Backlog {
    /// `n` events join the queue.
    pub(super) fn added(&self, n: usize) {
        let n = n as isize;
        let before = self.events.fetch_add(n, Ordering::SeqCst);
        if before < HELP_FROM && before + n >= HELP_FROM {
            self.grown.notify_waiters();
        }
    }

    /// `n` events were taken into a group.
    pub(super) fn taken(&self, n: usize) {
        self.events.fetch_sub(n as isize, Ordering::SeqCst);
    }

    /// Whether enough events wait for another writer.
    pub(super) fn enough(&self) -> bool {
        self.events.load(Ordering::SeqCst) >= HELP_FROM
    }

    /// Returns true once enough events wait, false once `stop` turns true.
    pub(super) async fn until_enough(&self, stop: &mut watch::Receiver<bool>) -> bool {
        loop {
            // Listening before looking: a change between the two is not missed.
            let grown = self.grown.notified();
            tokio::pin!(grown);
            grown.as_mut().enable();
            if *stop.borrow() {
                return false;
            }
            if self.enough() {
                return true;
            }
            tokio::select! {
                () = &mut grown => {}
                changed = stop.changed() => {
                    if changed.is_err() {
                        return false;
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::time::Duration;

    #[tokio::test]
    async fn another_writer_waits_until_enough_events_wait_and_stops_when_told() {
        let backlog = Arc::new(Backlog::default());
        let (stop, stopping) = watch::channel(false);
        let waiter = {
            let (backlog, mut stopping) = (backlog.clone(), stopping.clone());
            tokio::spawn(async move { backlog.until_enough(&mut stopping).await })
        };
        backlog.added(HELP_FROM as usize - 1);
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(!waiter.is_finished(), "woke with too few events waiting");
        backlog.added(1);
        assert!(waiter.await.unwrap(), "enough events wait");

        backlog.taken(HELP_FROM as usize);
        assert!(!backlog.enough());
        // A writer may take a batch before the sender counts it: the count comes out right.
        backlog.taken(5);
        backlog.added(5);
        assert_eq!(backlog.events.load(Ordering::SeqCst), 0);
        let waiter = {
            let (backlog, mut stopping) = (backlog.clone(), stopping.clone());
            tokio::spawn(async move { backlog.until_enough(&mut stopping).await })
        };
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(!waiter.is_finished());
        stop.send(true).unwrap();
        assert!(!waiter.await.unwrap(), "stopped without enough events");
    }
}
