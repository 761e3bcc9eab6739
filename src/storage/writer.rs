//! SQLite's single writer connection, kept honest.
//!
//! sqlx tracks transactions on a SQLite connection with its own depth counter. When SQLite
//! rolls a transaction back by itself (it does on `SQLITE_FULL` and I/O errors, even at
//! `COMMIT`), that counter and SQLite disagree: sqlx's `BEGIN` turns into a `SAVEPOINT` inside
//! a transaction that never ends, and every later "commit" releases a savepoint and stores
//! nothing. So write transactions here are plain `BEGIN IMMEDIATE`/`COMMIT` statements, and
//! the pool checks SQLite's own state each time the connection comes back: a connection still
//! inside a transaction is rolled back, and one that cannot be is closed and replaced.

use sqlx::pool::PoolConnection;
use sqlx::{Connection, Sqlite, SqliteConnection, SqlitePool};

/// Starts a write transaction; `IMMEDIATE` takes the write lock now, so no statement inside it
/// can fail later for want of the lock (another process, such as a `unibox` command, may
/// hold it for a moment).
pub async fn begin(pool: &SqlitePool) -> Result<PoolConnection<Sqlite>, sqlx::Error> {
    let mut conn = pool.acquire().await?;
    sqlx::query("BEGIN IMMEDIATE").execute(&mut *conn).await?;
    Ok(conn)
}

/// Commits; on failure the connection goes back to the pool, which rolls back or replaces it.
pub async fn commit(mut conn: PoolConnection<Sqlite>) -> Result<(), sqlx::Error> {
    sqlx::query("COMMIT").execute(&mut *conn).await?;
    Ok(())
}

/// Whether SQLite itself says the connection is inside a transaction.
async fn in_transaction(conn: &mut SqliteConnection) -> Result<bool, sqlx::Error> {
    let mut handle = conn.lock_handle().await?;
    // SAFETY: the handle is an open connection, locked for us while the call runs;
    // sqlite3_get_autocommit only reads a flag of it.
    let autocommit =
        unsafe { libsqlite3_sys::sqlite3_get_autocommit(handle.as_raw_handle().as_ptr()) };
    Ok(autocommit == 0)
}

/// The writer pool's release check: `Ok(true)` keeps the connection, `Ok(false)` closes it.
pub async fn release_clean(conn: &mut SqliteConnection) -> Result<bool, sqlx::Error> {
    // First SQLite's state: asking goes through the connection's worker, after anything the
    // last user left queued (a rollback of a dropped sqlx transaction, say).
    if in_transaction(conn).await? {
        tracing::debug!("writer returned inside a transaction; rolling back");
        if let Err(e) = sqlx::query("ROLLBACK").execute(&mut *conn).await {
            tracing::warn!(error = %e, "cannot roll back the writer; replacing the connection");
        }
        if in_transaction(conn).await? {
            return Ok(false);
        }
    }
    // Then sqlx's: a counter that disagrees with SQLite would turn the next BEGIN into a
    // SAVEPOINT. Only migrations use sqlx transactions here; a fresh connection is cheap.
    if conn.is_in_transaction() {
        tracing::warn!("writer's transaction bookkeeping disagrees with SQLite; replacing it");
        return Ok(false);
    }
    Ok(true)
}

/// Writes and frees 1 MiB: whether the disk has room for a batch now.
pub async fn probe(pool: &SqlitePool) -> Result<(), sqlx::Error> {
    let mut conn = begin(pool).await?;
    sqlx::query("INSERT INTO storage_probe (filler) VALUES (zeroblob(1048576))")
        .execute(&mut *conn)
        .await?;
    commit(conn).await?;
    let mut conn = begin(pool).await?;
    sqlx::query("DELETE FROM storage_probe")
        .execute(&mut *conn)
        .await?;
    commit(conn).await
}

/// Copies the whole write-ahead log into the database and cuts the log to nothing, giving
/// its space back to the disk (after a full spell, the log may have grown into all of it).
pub async fn truncate_log(pool: &SqlitePool) -> Result<(), sqlx::Error> {
    let (busy, _, _): (i64, i64, i64) = sqlx::query_as("PRAGMA wal_checkpoint(TRUNCATE)")
        .fetch_one(pool)
        .await?;
    if busy != 0 {
        tracing::debug!("readers kept the log from being cut; the next checkpoint will");
    }
    Ok(())
}
