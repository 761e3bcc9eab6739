use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use anyhow::Context;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};

use super::{Backend, Db, Flush, Health, Pools, writer};

/// Prepared statements kept per connection: every shape of every multi-row statement
/// (`chunks.rs`: up to 20 each) stays prepared, so a batch never waits for one to be planned
/// again.
const STATEMENT_CACHE: usize = 512;

/// How long a pooled connection may lie unused before it is tried (a round trip) as it is
/// handed out. sqlx tries every connection it hands out by default: on the ingest writers'
/// path that was one round trip to PostgreSQL (or to SQLite's worker thread) in every dozen,
/// for connections used a millisecond before. One that lay idle longer, as across a database
/// restart, is still tried, and a dead one replaced; one that breaks in between fails its
/// statement, which answers `503` like any lost connection.
const IDLE_CHECK: Duration = Duration::from_secs(1);

/// `options` that try a connection as it is handed out only after [`IDLE_CHECK`].
pub(super) fn checked_when_idle<DB: sqlx::Database>(
    options: sqlx::pool::PoolOptions<DB>,
) -> sqlx::pool::PoolOptions<DB> {
    options
        .test_before_acquire(false)
        .before_acquire(|conn, meta| {
            Box::pin(async move {
                if meta.idle_for >= IDLE_CHECK {
                    sqlx::Connection::ping(conn).await?;
                }
                Ok(true)
            })
        })
}

/// Opens the database named by `url`: `postgres://…`/`postgresql://…` or `sqlite://…`
/// (a SQLite file is created when missing), its commits flushed as the backend does by
/// default ([`Flush::for_backend`]).
pub async fn connect(url: &str, max_connections: u32) -> anyhow::Result<Db> {
    connect_flushing(url, max_connections, None).await
}

/// [`connect`], its commits flushed as `flush` says (the backend's default when `None`).
async fn connect_flushing(
    url: &str,
    max_connections: u32,
    flush: Option<Flush>,
) -> anyhow::Result<Db> {
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        let mut options = PgConnectOptions::from_str(url)
            .context("DATABASE_URL is not a valid PostgreSQL URL")?
            .statement_cache_capacity(STATEMENT_CACHE);
        if options.get_application_name().is_none() {
            options = options.application_name(super::APPLICATION);
        }
        // No compilation of statements: unibox's are short walks of indexes, and a plan
        // costed without statistics (a search's window) can spend 40-750 ms compiling.
        options = options.options([("jit", "off")]);
        // Set as each connection starts, so every pool made from these options has it.
        if Flush::for_backend(flush, Backend::Postgres) == Flush::Background {
            options = options.options([("synchronous_commit", "off")]);
        }
        let pool = checked_when_idle(PgPoolOptions::new())
            .max_connections(max_connections)
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(options)
            .await
            .context("cannot connect to PostgreSQL (check DATABASE_URL)")?;
        // Statements each on their own are few and short: the dispatcher's records of calls
        // that went through.
        let unflushed = super::unflushed_pool(2, super::UNFLUSHED)
            .connect_lazy_with(pool.connect_options().as_ref().clone());
        return Ok(Db {
            pools: Pools::Postgres { pool, unflushed },
            health: Arc::default(),
        });
    }
    if !url.starts_with("sqlite:") {
        anyhow::bail!("DATABASE_URL must start with sqlite:// or postgres://");
    }
    // `NORMAL` (by default): a commit does not wait for the disk; the log is flushed by each
    // background checkpoint (every 20 ms while writing), so a killed process loses nothing
    // acknowledged and a power cut at most what was acknowledged since the last checkpoint.
    // `FULL`: each commit flushes the log (see `Flush`).
    let synchronous = match Flush::for_backend(flush, Backend::Sqlite) {
        Flush::Commit => SqliteSynchronous::Full,
        Flush::Background => SqliteSynchronous::Normal,
    };
    let options = SqliteConnectOptions::from_str(url)
        .context("DATABASE_URL is not a valid SQLite URL")?
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(synchronous)
        .foreign_keys(true)
        .busy_timeout(Duration::from_secs(10))
        .pragma("temp_store", "memory")
        .pragma("mmap_size", "0")
        .pragma("journal_size_limit", "67108864")
        .statement_cache_capacity(STATEMENT_CACHE);
    // The writer opens first so that it creates the file and switches it to WAL before any
    // reader looks at it. It gets a page cache of 32 MiB for the hot index pages of bulk
    // ingest (64 MiB gives the same ingest rate at a million messages for 30 MiB more memory);
    // readers keep 2 MiB each and share the OS page cache. (No mmap: each connection would
    // map the file again, and memory figures would count pages once per map.)
    // Each return of the writer counts: the background checkpoint runs only after writes.
    let writes = Arc::new(AtomicU64::new(0));
    let released = writes.clone();
    let write = checked_when_idle(SqlitePoolOptions::new())
        .max_connections(1)
        .after_release(move |conn, _| {
            released.fetch_add(1, Ordering::Relaxed);
            Box::pin(writer::release_clean(conn))
        })
        .connect_with(
            options
                .clone()
                .pragma("cache_size", "-32768")
                .pragma("wal_autocheckpoint", "0"),
        )
        .await
        .with_context(|| format!("cannot open SQLite database {url}"))?;
    let read = checked_when_idle(SqlitePoolOptions::new())
        .max_connections(max_connections.max(2))
        .connect_with(options.pragma("cache_size", "-2048"))
        .await
        .with_context(|| format!("cannot open SQLite database {url} for reading"))?;
    let db = Db {
        pools: Pools::Sqlite { read, write },
        health: Arc::new(Health::default()),
    };
    tokio::spawn(checkpoint_in_background(db.clone(), writes));
    Ok(db)
}

/// From this many pages in the write-ahead log (64 MiB at SQLite's 4 KiB pages, the size the
/// log file is cut back to), the writer finishes what the background checkpoint copied.
///
/// The log starts over from its beginning only when a checkpoint has copied all of it, and a
/// checkpoint on a reader never catches up with a writer that commits without pause: without
/// this the log grows without bound (11.6 GB over a million messages), each frame written to
/// new space the kernel must zero, and its index, mapped by every connection, grows with it.
const LOG_PAGES: i64 = 16_384;

/// How often the background checkpoint runs after writes (back to back while each takes
/// longer). Often, so that each copy is small and no commit waits behind a large one; the
/// reply latency at each interval is in `docs/performance.md`.
const CHECKPOINT_EVERY: Duration = Duration::from_millis(20);

/// Without writes of its own, the checkpoint still runs this often: another process (a
/// `unibox` command) may have written.
const CHECKPOINT_IDLE: Duration = Duration::from_secs(1);

/// Copies the write-ahead log back into the database file from a reader connection, so the
/// single writer never does the bulk of it. A passive checkpoint never blocks the writer or
/// readers. It runs [`CHECKPOINT_EVERY`] while the writer is being used (`writes` counts its
/// returns), and every [`CHECKPOINT_IDLE`] otherwise, so an idle server does not checkpoint
/// fifty times a second. When it has copied a log of [`LOG_PAGES`] or more, the writer is
/// taken for a moment to copy the little written meanwhile, so that its next transaction
/// starts the log over. When the disk was full and has room again, the log is cut back to
/// nothing once the writes pause. It stops when the pools close.
async fn checkpoint_in_background(db: Db, writes: Arc<AtomicU64>) {
    let Pools::Sqlite { read, write } = &db.pools else {
        return;
    };
    let mut tick = tokio::time::interval(CHECKPOINT_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut failing = false;
    // The writes the last successful checkpoint saw, and when it ran.
    let mut copied_after = None;
    let mut copied_at = tokio::time::Instant::now();
    let mut shrink_from = None;
    loop {
        tick.tick().await;
        if read.is_closed() {
            return;
        }
        let seen = writes.load(Ordering::Relaxed);
        let idle = copied_after == Some(seen);
        // After a full spell the log is cut back once all written is copied and the writes
        // paused (or a second on): cut while they go on, it grows again with them.
        if db.health.take_recovered() {
            shrink_from.get_or_insert_with(tokio::time::Instant::now);
        }
        if let Some(from) = shrink_from
            && (idle || from.elapsed() >= CHECKPOINT_IDLE)
        {
            db.shrink_log().await;
            shrink_from = None;
            continue;
        }
        if idle && copied_at.elapsed() < CHECKPOINT_IDLE {
            continue;
        }
        let copied = match checkpoint(read).await {
            Ok((log, copied)) if log >= LOG_PAGES && copied == log => checkpoint(write).await,
            other => other,
        };
        match copied {
            Ok(_) => {
                failing = false;
                copied_after = Some(seen);
                copied_at = tokio::time::Instant::now();
            }
            Err(_) if read.is_closed() => return,
            // Said once per spell: a full disk fails every checkpoint until space is freed.
            Err(e) if !failing => {
                failing = true;
                tracing::warn!(error = %e, "background WAL checkpoint failed");
            }
            Err(_) => {}
        }
    }
}

/// A passive checkpoint on a connection of `pool`: the pages in the log, and how many of them
/// are now in the database file.
async fn checkpoint(pool: &sqlx::SqlitePool) -> Result<(i64, i64), sqlx::Error> {
    let (_busy, log, copied): (i64, i64, i64) = sqlx::query_as("PRAGMA wal_checkpoint(PASSIVE)")
        .fetch_one(pool)
        .await?;
    Ok((log, copied))
}

/// Applies the backend's migrations from `migrations/<backend>/`.
pub async fn migrate(db: &Db) -> anyhow::Result<()> {
    match &db.pools {
        Pools::Sqlite { write, .. } => sqlx::migrate!("migrations/sqlite").run(write).await?,
        Pools::Postgres { pool, .. } => sqlx::migrate!("migrations/postgres").run(pool).await?,
    }
    Ok(())
}

/// Connects to `url` (`connect_flushing`) and brings its schema up to date: what every
/// command that serves does first.
pub async fn open(url: &str, max_connections: u32, flush: Option<Flush>) -> anyhow::Result<Db> {
    let db = connect_flushing(url, max_connections, flush).await?;
    migrate(&db)
        .await
        .context("cannot apply database migrations")?;
    Ok(db)
}
