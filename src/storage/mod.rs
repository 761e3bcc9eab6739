//! The storage seam: one `Db` that speaks SQLite or PostgreSQL. Queries are written once with
//! `$N` placeholders ([`Sql`]); only the few places where dialects really differ ask
//! [`Db::backend`].

mod chunks;
mod connect;
mod exec;
mod sql;

pub use chunks::sized_chunks;
pub use connect::{connect, migrate};
pub use exec::{Row, Tx};
pub use sql::{Arg, RowBinder, Sql};

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

/// A connection pool on either backend. SQLite gets two pools: many readers and exactly one
/// writer, because SQLite allows a single writer and queueing in our process is cheaper and
/// fairer than spinning on `SQLITE_BUSY`.
#[derive(Clone, Debug)]
pub enum Db {
    Sqlite { read: SqlitePool, write: SqlitePool },
    Postgres(PgPool),
}

impl Db {
    pub fn backend(&self) -> Backend {
        match self {
            Db::Sqlite { .. } => Backend::Sqlite,
            Db::Postgres(_) => Backend::Postgres,
        }
    }

    pub async fn close(&self) {
        match self {
            Db::Sqlite { read, write } => {
                read.close().await;
                write.close().await;
            }
            Db::Postgres(pool) => pool.close().await,
        }
    }
}

/// True when the error is a unique-constraint violation, on either backend.
pub fn is_unique_violation(err: &sqlx::Error) -> bool {
    matches!(err, sqlx::Error::Database(e) if e.is_unique_violation())
}
