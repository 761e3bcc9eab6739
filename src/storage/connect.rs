use std::str::FromStr;
use std::time::Duration;

use anyhow::Context;
use sqlx::postgres::PgPoolOptions;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};

use super::Db;

/// Opens the database named by `url`: `postgres://…`/`postgresql://…` or `sqlite://…`
/// (a SQLite file is created when missing).
pub async fn connect(url: &str, max_connections: u32) -> anyhow::Result<Db> {
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        let pool = PgPoolOptions::new()
            .max_connections(max_connections)
            .acquire_timeout(Duration::from_secs(10))
            .connect(url)
            .await
            .context("cannot connect to PostgreSQL (check DATABASE_URL)")?;
        return Ok(Db::Postgres(pool));
    }
    if !url.starts_with("sqlite:") {
        anyhow::bail!("DATABASE_URL must start with sqlite:// or postgres://");
    }
    let options = SqliteConnectOptions::from_str(url)
        .context("DATABASE_URL is not a valid SQLite URL")?
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Normal)
        .foreign_keys(true)
        .busy_timeout(Duration::from_secs(10))
        .pragma("temp_store", "memory")
        .pragma("mmap_size", "134217728")
        .statement_cache_capacity(256);
    // The writer opens first so that it creates the file and switches it to WAL before any
    // reader looks at it. It gets a large page cache (hot index pages stay in memory during
    // bulk ingest) and checkpoints in bigger steps, so a hot page is copied back to the main
    // file less often; readers share the OS page cache through mmap and keep little of their own.
    let write = SqlitePoolOptions::new()
        .max_connections(1)
        .connect_with(options.clone().pragma("cache_size", "-65536").pragma("wal_autocheckpoint", "8000"))
        .await
        .with_context(|| format!("cannot open SQLite database {url}"))?;
    let read = SqlitePoolOptions::new()
        .max_connections(max_connections.max(2))
        .connect_with(options.pragma("cache_size", "-8192"))
        .await
        .with_context(|| format!("cannot open SQLite database {url} for reading"))?;
    Ok(Db::Sqlite { read, write })
}

/// Applies the backend's migrations from `migrations/<backend>/`.
pub async fn migrate(db: &Db) -> anyhow::Result<()> {
    match db {
        Db::Sqlite { write, .. } => sqlx::migrate!("migrations/sqlite").run(write).await?,
        Db::Postgres(pool) => sqlx::migrate!("migrations/postgres").run(pool).await?,
    }
    Ok(())
}
