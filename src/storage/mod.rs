//! The storage seam: one `Db` that speaks SQLite or PostgreSQL. Queries are written once with
//! `$N` placeholders ([`Sql`]); only the few places where dialects really differ ask
//! [`Db::backend`].

mod chunks;
mod connect;
mod exec;
mod flush;
mod health;
mod notify;
mod sql;
mod table;
mod writer;

pub use chunks::{MAX_ROWS, padded_chunks, sized_chunks, table_chunks};
pub use connect::{connect, migrate, open};
pub use exec::{Row, Tx};
pub use flush::Flush;
pub use health::{Fault, Health, connection_lost, fault, is_invalid_text};
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
///
/// PostgreSQL gets a pool for everything, and a few connections whose commits do not wait for
/// the disk, for [`Db::each_on_its_own`].
#[derive(Clone, Debug)]
enum Pools {
    Sqlite { read: SqlitePool, write: SqlitePool },
    Postgres { pool: PgPool, unflushed: PgPool },
}

impl Db {
    pub fn backend(&self) -> Backend {
        match self.pools {
            Pools::Sqlite { .. } => Backend::Sqlite,
            Pools::Postgres { .. } => Backend::Postgres,
        }
    }

    pub fn health(&self) -> &Health {
        &self.health
    }

    /// SQLite's single writer pool, for tests that inject faults into it.
    pub fn sqlite_writer(&self) -> Option<&SqlitePool> {
        match &self.pools {
            Pools::Sqlite { write, .. } => Some(write),
            Pools::Postgres { .. } => None,
        }
    }

    /// The same database, with `connections` of its own on PostgreSQL for a worker's hot path
    /// of statements that find and write rows by key (the ingest writers). PostgreSQL plans a
    /// prepared statement on each connection it runs on, and plans it again for each run's
    /// arguments until it has seen five runs, or for ever when it guesses that one plan for
    /// all arguments costs more (as it does for rows read from arrays, whose length it cannot
    /// know). Spread over the shared pool, the writers' statements would be planned thousands
    /// of times in a young server's first seconds, each plan costing up to a millisecond while
    /// a batch holds its channels' lock. Here each is planned once per connection, for all
    /// arguments ([`KEYED`]). On SQLite, the same pools (SQLite keeps a statement's plan).
    ///
    /// `ahead` of each pool's connections open at once, in the background, and stay open. A
    /// pool opens connections as they are needed and takes one back a moment after its release
    /// (in a task of its own), so groups written back to back would open a connection mid-burst:
    /// its handshake and every statement's first plan make that group take 20 ms instead of 5.
    /// Idle connections are handed out in turn, so each is ready by the time a burst comes.
    pub fn with_own_connections(&self, connections: u32, ahead: u32) -> Db {
        match &self.pools {
            Pools::Sqlite { .. } => self.clone(),
            Pools::Postgres { pool, .. } => {
                let options = (*pool.connect_options()).clone();
                let name = format!(
                    "{} ingest",
                    options.get_application_name().unwrap_or(APPLICATION)
                );
                let options = options.application_name(&name);
                let own = connect::checked_when_idle(sqlx::postgres::PgPoolOptions::new())
                    .max_connections(connections.max(1))
                    .min_connections(ahead)
                    .acquire_timeout(std::time::Duration::from_secs(10))
                    .after_connect(|conn, _| Box::pin(settle_in(conn, KEYED)))
                    .connect_lazy_with(options.clone());
                let unflushed = unflushed_pool(connections, UNFLUSHED_KEYED)
                    .min_connections(ahead)
                    .connect_lazy_with(options);
                for pool in [&own, &unflushed] {
                    tokio::spawn(open_ahead(pool.clone(), ahead));
                }
                Db {
                    pools: Pools::Postgres {
                        pool: own,
                        unflushed,
                    },
                    health: self.health.clone(),
                }
            }
        }
    }

    pub async fn close(&self) {
        match &self.pools {
            Pools::Sqlite { read, write } => {
                read.close().await;
                write.close().await;
            }
            Pools::Postgres { pool, unflushed } => {
                pool.close().await;
                unflushed.close().await;
            }
        }
    }
}

/// How unibox's connections name themselves to PostgreSQL (`pg_stat_activity`'s
/// `application_name`) unless `DATABASE_URL` names them; those of [`Db::with_own_connections`]
/// (the ingest writers') add " ingest", so that an operator counting connections can tell
/// whose they are.
pub const APPLICATION: &str = "unibox";

/// The settings of [`KEYED`], as a literal for the constants that build on it.
macro_rules! keyed {
    () => {
        "SET plan_cache_mode = force_generic_plan; SET enable_hashjoin = off; \
         SET enable_mergejoin = off; SET enable_seqscan = off"
    };
}

/// How a connection of [`Db::with_own_connections`] plans: once for all arguments, and joining
/// by index lookups row by row. A plan for all arguments guesses how many rows a statement
/// brings (ten from arrays); against a young database's small tables it would prefer reading
/// a whole table into a hash, or a nested loop around a scan, and keep that plan as the table
/// grows to thousands of rows. Every statement of the writers finds its rows by key, where an
/// index lookup is the right plan at any size of table; a scan, cheaper only while a table
/// fits in a page or two, is never chosen. So the writers' plans need no statistics (a young
/// database gets them from autovacuum within a minute, and then every connection plans once
/// more). For this, every column of an index a statement looks keys up by comes from its list
/// of keys: with one a constant, a plan made for a small table reads every row of that value.
const KEYED: &str = keyed!();

/// The setting of [`UNFLUSHED`], as a literal for the constant that builds on it.
macro_rules! unflushed {
    () => {
        "SET synchronous_commit = off"
    };
}

/// How a connection of [`Db::each_on_its_own`] commits: without waiting for the log to reach
/// the disk (PostgreSQL's `synchronous_commit = off`). What such a statement writes is either
/// a name for an id that a later transaction uses, and that transaction's commit waits for the
/// log up to its own record, which lies after this one's; or a record of a platform call that
/// a database crash may lose, when the row's lease runs out and it is looked up on the platform
/// before any new attempt (`outbox`). Either way nothing acknowledged rests on it alone.
const UNFLUSHED: &str = unflushed!();

/// [`UNFLUSHED`] on a connection of [`Db::with_own_connections`].
const UNFLUSHED_KEYED: &str = concat!(keyed!(), "; ", unflushed!());

/// Options for connections for [`Db::each_on_its_own`], opened when first needed, with
/// `settings`.
fn unflushed_pool(connections: u32, settings: &'static str) -> sqlx::postgres::PgPoolOptions {
    connect::checked_when_idle(sqlx::postgres::PgPoolOptions::new())
        .max_connections(connections.max(1))
        .acquire_timeout(std::time::Duration::from_secs(10))
        .after_connect(move |conn, _| Box::pin(settle_in(conn, settings)))
}

/// Opens `connections` of `pool`'s connections (holding each until all are open, so that
/// the pool opens that many), then leaves them idle. A database out of reach leaves the pool
/// to open them as they are needed.
async fn open_ahead(pool: PgPool, connections: u32) {
    let mut held = Vec::new();
    while held.len() < connections as usize {
        match pool.acquire().await {
            Ok(conn) => held.push(conn),
            Err(e) => {
                tracing::debug!(error = %e, "connections not opened ahead; they open as needed");
                return;
            }
        }
    }
}

/// Applies a pool's `settings` to a new connection.
async fn settle_in(conn: &mut sqlx::PgConnection, settings: &str) -> Result<(), sqlx::Error> {
    use sqlx::Executor;
    conn.execute(settings).await.map(drop)
}

/// True when the error is a unique-constraint violation, on either backend.
pub fn is_unique_violation(err: &sqlx::Error) -> bool {
    matches!(err, sqlx::Error::Database(e) if e.is_unique_violation())
}
