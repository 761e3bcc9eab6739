//! What kind of failure a database error is, and whether the database can take writes now.
//!
//! A full disk and a lost database are not bugs in a request: the client should hear "nothing
//! was stored, try again later" (507/503), operators should see it on `/readyz`, and unibox
//! must carry on by itself once the database can write again.

use std::sync::atomic::{AtomicBool, Ordering};

/// A failure of the database itself, as opposed to a mistake in a request or in our SQL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// The disk (or the database's size limit) is full.
    Full,
    /// The database cannot be reached, was restarted, or is shutting down.
    Unavailable,
}

/// Classifies `err`; `None` for errors that are not the database's own trouble.
pub fn fault(err: &sqlx::Error) -> Option<Fault> {
    match err {
        sqlx::Error::Database(db) => {
            let code = db.code()?;
            if db.try_downcast_ref::<sqlx::sqlite::SqliteError>().is_some() {
                sqlite_fault(&code)
            } else {
                postgres_fault(&code)
            }
        }
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed => Some(Fault::Unavailable),
        _ => None,
    }
}

/// SQLite's result code: the primary code in the low byte, extended bits above it.
fn sqlite_fault(code: &str) -> Option<Fault> {
    match code.parse::<i32>().ok()? & 0xff {
        13 => Some(Fault::Full),
        // I/O error, busy past the timeout, cannot open, read-only.
        10 | 5 | 14 | 8 => Some(Fault::Unavailable),
        _ => None,
    }
}

/// PostgreSQL's SQLSTATE.
fn postgres_fault(code: &str) -> Option<Fault> {
    match code {
        // PostgreSQL: disk full, out of memory, too many connections.
        "53100" => Some(Fault::Full),
        c if c.starts_with("53") => Some(Fault::Unavailable),
        c if postgres_connection_ended(c) => Some(Fault::Unavailable),
        // Starting up.
        "57P03" => Some(Fault::Unavailable),
        _ => None,
    }
}

/// PostgreSQL's SQLSTATE for a connection it ended: connection exceptions, its backend
/// terminated (shutting down) or crashed.
fn postgres_connection_ended(code: &str) -> bool {
    code.starts_with("08") || code == "57P01" || code == "57P02"
}

/// True when `err` says the connection itself is gone: PostgreSQL ended it or its socket
/// closed. The pool drops such a connection as it comes back, so another may work.
pub fn connection_lost(err: &sqlx::Error) -> bool {
    match err {
        sqlx::Error::Io(_) => true,
        sqlx::Error::Database(d) => d.code().is_some_and(|c| postgres_connection_ended(&c)),
        _ => false,
    }
}

/// True when `err` is invalid text the database refused (PostgreSQL takes no NUL in text).
pub fn is_invalid_text(err: &sqlx::Error) -> bool {
    matches!(err, sqlx::Error::Database(e)
        if matches!(e.code().as_deref(), Some("22021" | "22P05")))
}

/// Whether the last write found the database full. Set by a write that failed for want of
/// space, cleared by the next write that committed.
#[derive(Debug, Default)]
pub struct Health {
    full: AtomicBool,
    /// A full spell ended: the write-ahead log should be cut back down.
    recovered: AtomicBool,
}

impl Health {
    pub fn is_full(&self) -> bool {
        self.full.load(Ordering::Acquire)
    }

    /// Notes a failed database call.
    pub fn failed(&self, err: &sqlx::Error) {
        if fault(err) == Some(Fault::Full) && !self.full.swap(true, Ordering::AcqRel) {
            tracing::error!("the database disk is full: writes are refused until space is freed");
        }
    }

    /// Notes a committed write.
    pub fn committed(&self) {
        if self.full.swap(false, Ordering::AcqRel) {
            tracing::info!("the database takes writes again");
            self.recovered.store(true, Ordering::Release);
        }
    }

    /// Whether a full spell ended since the last call.
    pub fn take_recovered(&self) -> bool {
        self.recovered.swap(false, Ordering::AcqRel)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_of_both_backends() {
        assert_eq!(sqlite_fault("13"), Some(Fault::Full));
        assert_eq!(sqlite_fault("3338"), Some(Fault::Unavailable)); // SQLITE_IOERR_WRITE
        assert_eq!(sqlite_fault("2067"), None); // SQLITE_CONSTRAINT_UNIQUE
        assert_eq!(postgres_fault("53100"), Some(Fault::Full));
        assert_eq!(postgres_fault("57P01"), Some(Fault::Unavailable));
        assert_eq!(postgres_fault("08006"), Some(Fault::Unavailable));
        assert_eq!(postgres_fault("23505"), None);
        assert_eq!(fault(&sqlx::Error::PoolTimedOut), Some(Fault::Unavailable));
        assert_eq!(fault(&sqlx::Error::RowNotFound), None);
    }

    #[test]
    fn full_until_a_write_commits() {
        let h = Health::default();
        assert!(!h.is_full());
        h.committed();
        assert!(!h.take_recovered());
        h.failed(&sqlx::Error::PoolTimedOut);
        assert!(!h.is_full());
        h.full.store(true, Ordering::Release);
        h.committed();
        assert!(!h.is_full());
        assert!(h.take_recovered());
        assert!(!h.take_recovered());
    }
}
