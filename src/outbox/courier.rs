//! Replies handed straight to this instance's dispatcher. A rule that answers at once leases
//! its replies in the transaction that stores the comment (`conversations::delivery`), with a
//! call slot of the dispatcher's reserved for each; once that commits they are handed over
//! here, and the call starts without a claim's round trip or the dispatcher's wake-up. A reply
//! whose channel is held back (a `Retry-After`, a spent budget, a breaker), or that finds no
//! free slot, is queued for the dispatcher's next claim.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc};

use super::limits::Limits;
use crate::conversations::{Handover, Leased, Sender};
use crate::domain::Deed;

pub struct Courier {
    slots: Arc<Semaphore>,
    limits: Arc<Limits>,
    lease: Duration,
    to: mpsc::UnboundedSender<Leased>,
    /// Set once the dispatcher stops taking rows: nothing more is leased this way.
    closed: AtomicBool,
}

impl Courier {
    pub(super) fn new(
        slots: Arc<Semaphore>,
        limits: Arc<Limits>,
        lease: Duration,
        to: mpsc::UnboundedSender<Leased>,
    ) -> Courier {
        Courier {
            slots,
            limits,
            lease,
            to,
            closed: AtomicBool::new(false),
        }
    }

    /// Leases nothing more: the dispatcher stops taking rows.
    pub(super) fn close(&self) {
        self.closed.store(true, Ordering::SeqCst);
    }
}

impl Handover for Courier {
    fn lease(&self) -> Duration {
        self.lease
    }

    fn reserve(&self, sender: &Sender, deed: Deed) -> Option<OwnedSemaphorePermit> {
        if self.closed.load(Ordering::SeqCst)
            || self
                .limits
                .holds(sender.id, sender.platform, deed, Instant::now())
        {
            return None;
        }
        self.slots.clone().try_acquire_owned().ok()
    }

    fn hand(&self, leased: Vec<Leased>) {
        for row in leased {
            if self.to.send(row).is_err() {
                // The dispatcher stopped: the row is sent when its lease runs out, after a
                // look on the platform.
                tracing::debug!("the dispatcher stopped before a leased reply reached it");
            }
        }
    }
}
