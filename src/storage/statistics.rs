//! Statistics for a young PostgreSQL database. After a prepared statement's first few runs,
//! PostgreSQL plans it once for all arguments, from the tables' statistics of that moment, and
//! keeps the plan until they are gathered again. Autovacuum gathers them when a tenth of a
//! table has changed, but it looks once a minute: a new database filling at hundreds of
//! comments a second kept plans made for tables of a few hundred rows (scans of the whole
//! table) while they grew to thousands, and the safeguards' read took 5.3 ms instead of about
//! one. So every few seconds the tables the hot path reads are analysed when they have grown
//! fourfold since their last statistics: a handful of times while a table is young, rarely
//! after; one table at a time, a tenth of a second apart, so that no core is taken for long.
//! (Each analysis makes every connection plan its statements afresh for a while, so not more
//! often: analysing at each doubling measured a worse p99 at 500 webhooks a second.)
//! Bulk ingest relies on it too: its reads by key keep cached plans (planning every statement
//! for its arguments also re-planned each inserted row's foreign-key checks), and this is what
//! keeps a plan made for a near-empty table from scanning it whole once it holds millions.
//! What the ingest writers change shows here as their connections publish it: with each next
//! transaction after a second, or when one falls idle, after up to ten seconds.

use std::time::Duration;

use tokio::sync::watch;

use super::{Backend, Db, Sql};

/// How often the tables' growth is looked at.
const EVERY: Duration = Duration::from_secs(2);

/// The tables the ingest, the rules and the outbox read on every batch.
const TABLES: &str = "('messages', 'threads', 'contacts', 'videos', 'rule_runs', \
     'automation_minutes', 'outbox', 'channel_health')";

/// How finely the young tables are described ([`SAMPLE_TARGET`] × 300 rows read, buckets per
/// column): these statistics serve while a table is young, before autovacuum's first look,
/// which describes it in full (PostgreSQL's default is 100: 30,000 rows). The hot path finds
/// rows by key and needs the tables' sizes more than their histograms. An analysis of the
/// grown tables took 30 to 140 ms at 500 comments a second, a core taken from the batches
/// then being written; with this target a run's analyses took 153–300 ms in all, where they
/// took 288–394.
const SAMPLE_TARGET: u32 = 10;

/// Runs until `stop` turns true; on SQLite (whose planner reads no such statistics unless asked)
/// it returns at once.
pub async fn work(db: Db, mut stop: watch::Receiver<bool>) {
    if db.backend() != Backend::Postgres {
        return;
    }
    loop {
        tokio::select! {
            _ = tokio::time::sleep(EVERY) => {}
            _ = stop.changed() => return,
        }
        if *stop.borrow() {
            return;
        }
        if let Err(e) = refresh(&db, &stop).await {
            tracing::debug!(error = %e, "gathering statistics failed; will look again");
        }
    }
}

/// Analyses the tables that hold at least four times the rows their last statistics counted
/// (and 500 or more).
async fn refresh(db: &Db, stop: &watch::Receiver<bool>) -> Result<(), sqlx::Error> {
    // Grown: more live rows now than four times those its last statistics counted (none before
    // the first). Not rows changed since: the outbox's rows, the threads and the replies are
    // each updated after their insert, and counting those analysed them every few seconds.
    let mut sql = Sql::new(
        "SELECT s.relname FROM pg_stat_user_tables s JOIN pg_class c ON c.oid = s.relid \
         WHERE s.schemaname = current_schema() \
         AND s.n_live_tup >= GREATEST(4 * c.reltuples, 500) AND s.relname IN ",
    );
    sql.push(TABLES).push(" ORDER BY 1");
    let grown: Vec<(String,)> = db.fetch_all(sql).await?;
    if grown.is_empty() {
        return Ok(());
    }
    let names: Vec<String> = grown
        .into_iter()
        .map(|(name,)| format!("\"{name}\""))
        .collect();
    // One table at a time, a moment apart: the grown tables together took 29-65 ms of a core
    // at once, while the writers wait for the other one.
    for (i, name) in names.iter().enumerate() {
        if i > 0 {
            tokio::time::sleep(BETWEEN_TABLES).await;
        }
        if *stop.borrow() {
            break;
        }
        analyse(db, name).await?;
    }
    Ok(())
}

/// The pause between two tables' analyses.
const BETWEEN_TABLES: Duration = Duration::from_millis(100);

/// Gathers the statistics of `table`.
async fn analyse(db: &Db, table: &str) -> Result<(), sqlx::Error> {
    let mut tx = db.begin().await?;
    // Another instance analysing the same table holds it: this one looks again later.
    tx.execute(Sql::new("SET LOCAL lock_timeout = '1s'"))
        .await?;
    tx.execute(Sql::new(format!(
        "SET LOCAL default_statistics_target = {SAMPLE_TARGET}"
    )))
    .await?;
    tx.execute(Sql::new(format!("ANALYZE {table}"))).await?;
    tx.commit().await?;
    tracing::debug!(table, "gathered statistics of a table that grew fourfold");
    Ok(())
}
