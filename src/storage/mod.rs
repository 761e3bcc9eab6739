//! The storage seam: one `Db` that speaks SQLite or PostgreSQL. Queries are written once with
//! `$N` placeholders ([`Sql`]); only the few places where dialects really differ ask
//! [`Db::backend`].

mod chunks;
mod connect;
mod exec;
mod health;
mod notify;
mod sql;
pub mod statistics;
mod writer;

pub use chunks::{EXACT_BELOW, MAX_ROWS, padded_chunks, sized_chunks};
pub use connect::{connect, migrate, open};
pub use exec::{Row, Tx};
pub use health::{Fault, Health, fault, is_invalid_text};
pub use sql::{Arg, RowBinder, Sql};

use std::sync::Arc;

use sqlx::{PgPool, SqlitePool};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn name(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }
}

/// A connection pool on either backend, and what its last writes said about its health.
#[derive(Clone, Debug)]
pub struct Db {
    pools: Pools,
    health: Arc<Health>,
}

/// SQLite gets two pools: many readers and exactly one writer, because SQLite allows a single
/// writer and queueing in our process is cheaper and fairer than spinning on `SQLITE_BUSY`.
#[derive(Clone, Debug)]
enum Pools {
    Sqlite { read: SqlitePool, write: SqlitePool },
    Postgres(PgPool),
}

impl Db {
    pub fn backend(&self) -> Backend {
        match self.pools {
            Pools::Sqlite { .. } => Backend::Sqlite,
            Pools::Postgres(_) => Backend::Postgres,
        }
    }

    pub fn health(&self) -> &Health {
        &self.health
    }

    /// SQLite's single writer pool, for tests that inject faults into it.
    pub fn sqlite_writer(&self) -> Option<&SqlitePool> {
        match &self.pools {
            Pools::Sqlite { write, .. } => Some(write),
            Pools::Postgres(_) => None,
        }
    }

    pub async fn close(&self) {
        match &self.pools {
            Pools::Sqlite { read, write } => {
                read.close().await;
                write.close().await;
            }
            Pools::Postgres(pool) => pool.close().await,
        }
    }
}

/// True when the error is a unique-constraint violation, on either backend.
pub fn is_unique_violation(err: &sqlx::Error) -> bool {
    matches!(err, sqlx::Error::Database(e) if e.is_unique_violation())
}
