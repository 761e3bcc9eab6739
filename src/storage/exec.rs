//! Running [`Sql`] on either backend, on the pool or inside a transaction.

use sqlx::postgres::PgRow;
use sqlx::sqlite::SqliteRow;
use sqlx::{FromRow, Postgres, Sqlite, Transaction};

use std::sync::Arc;

use sqlx::pool::PoolConnection;

use super::{Arg, Backend, Db, Health, Pools, Sql, writer};

/// Binds every argument of `$sql` onto the query `$q`: on SQLite (`sqlite`), where a column
/// of values for `unnest` cannot be bound (the statements that use one run on PostgreSQL
/// only), or on PostgreSQL (`pg`).
macro_rules! bind_args {
    (sqlite, $q:expr, $args:expr) => {
        bind_args!(@each $q, $args, v, _q => unreachable!("arrays are bound on PostgreSQL only: {v:?}"))
    };
    (pg, $q:expr, $args:expr) => {
        bind_args!(@each $q, $args, v, q => match v {
            Arg::Ints(v) => q.bind(v),
            Arg::Texts(v) => q.bind(v),
            Arg::Times(v) => q.bind(v),
            Arg::Bools(v) => q.bind(v),
            scalar => unreachable!("bound above: {scalar:?}"),
        })
    };
    (@each $q:expr, $args:expr, $v:ident, $qa:ident => $array:expr) => {{
        let mut q = $q;
        for arg in $args {
            q = match arg {
                Arg::Int(v) => q.bind(v),
                Arg::OptInt(v) => q.bind(v),
                Arg::Text(v) => q.bind(v),
                Arg::OptText(v) => q.bind(v),
                Arg::Time(v) => q.bind(v),
                Arg::OptTime(v) => q.bind(v),
                Arg::Bool(v) => q.bind(v),
                $v => {
                    let $qa = q;
                    $array
                }
            };
        }
        q
    }};
}

/// Rows that decode from both backends (derive `sqlx::FromRow` with portable field types).
pub trait Row: for<'r> FromRow<'r, SqliteRow> + for<'r> FromRow<'r, PgRow> + Send + Unpin {}
impl<T> Row for T where T: for<'r> FromRow<'r, SqliteRow> + for<'r> FromRow<'r, PgRow> + Send + Unpin
{}

impl Db {
    pub async fn fetch_all<T: Row>(&self, sql: Sql) -> Result<Vec<T>, sqlx::Error> {
        match &self.pools {
            Pools::Sqlite { read, .. } => {
                let text = sql.sqlite_text();
                bind_args!(sqlite, sqlx::query_as::<Sqlite, T>(&text), sql.args)
                    .fetch_all(read)
                    .await
            }
            Pools::Postgres { pool, .. } => {
                bind_args!(pg, sqlx::query_as::<Postgres, T>(&sql.text), sql.args)
                    .fetch_all(pool)
                    .await
            }
        }
    }

    pub async fn fetch_optional<T: Row>(&self, sql: Sql) -> Result<Option<T>, sqlx::Error> {
        match &self.pools {
            Pools::Sqlite { read, .. } => {
                let text = sql.sqlite_text();
                bind_args!(sqlite, sqlx::query_as::<Sqlite, T>(&text), sql.args)
                    .fetch_optional(read)
                    .await
            }
            Pools::Postgres { pool, .. } => {
                bind_args!(pg, sqlx::query_as::<Postgres, T>(&sql.text), sql.args)
                    .fetch_optional(pool)
                    .await
            }
        }
    }

    /// Runs a single write statement on its own (autocommit).
    pub async fn execute(&self, sql: Sql) -> Result<u64, sqlx::Error> {
        let result = match &self.pools {
            Pools::Sqlite { write, .. } => {
                let text = sql.sqlite_text();
                bind_args!(sqlite, sqlx::query(&text), sql.args)
                    .execute(write)
                    .await
                    .map(|done| done.rows_affected())
            }
            Pools::Postgres { pool, .. } => bind_args!(pg, sqlx::query(&sql.text), sql.args)
                .execute(pool)
                .await
                .map(|done| done.rows_affected()),
        };
        self.noted(result)
    }

    /// Starts a write transaction. On SQLite it waits for the single writer connection.
    pub async fn begin(&self) -> Result<Tx, sqlx::Error> {
        let inner = match &self.pools {
            Pools::Sqlite { write, .. } => writer::begin(write).await.map(TxInner::Sqlite),
            Pools::Postgres { pool, .. } => pool.begin().await.map(TxInner::Postgres),
        };
        Ok(Tx {
            inner: self.noted(inner)?,
            health: self.health.clone(),
        })
    }

    /// On PostgreSQL, a connection whose statements each commit on their own, used like a
    /// transaction: for writes that are complete one by one (a batch's new channels, videos and
    /// contacts, names for ids; the dispatcher's records of calls that went through), where
    /// `BEGIN` and `COMMIT` would be two more round trips. Their commits do not wait for the
    /// disk (see `UNFLUSHED` for why nothing acknowledged can rest on them alone). On SQLite,
    /// the writer in a transaction, as [`Db::begin`].
    pub async fn each_on_its_own(&self) -> Result<Tx, sqlx::Error> {
        let Pools::Postgres { unflushed, .. } = &self.pools else {
            return self.begin().await;
        };
        let conn = self.noted(unflushed.acquire().await)?;
        Ok(Tx {
            inner: TxInner::PostgresAutocommit(conn),
            health: self.health.clone(),
        })
    }

    /// Runs one `INSERT … RETURNING id` on the writer and returns the new id.
    pub async fn insert_id(&self, sql: Sql) -> Result<i64, sqlx::Error> {
        let mut tx = self.begin().await?;
        let id = tx.insert_id(sql).await?;
        tx.commit().await?;
        Ok(id)
    }

    /// Checks that the database answers.
    pub async fn ping(&self) -> Result<(), sqlx::Error> {
        let _: (i64,) = self
            .fetch_optional(Sql::new("SELECT CAST(1 AS BIGINT)"))
            .await?
            .ok_or(sqlx::Error::RowNotFound)?;
        Ok(())
    }

    /// Checks that the database answers and, after a write failed for want of space, that it
    /// has room for a write again.
    pub async fn check_writable(&self) -> Result<(), sqlx::Error> {
        self.ping().await?;
        if !self.health.is_full() {
            return Ok(());
        }
        let probed = match &self.pools {
            Pools::Sqlite { write, .. } => writer::probe(write).await,
            Pools::Postgres { pool, .. } => {
                let mut tx = pool.begin().await?;
                sqlx::query("INSERT INTO storage_probe (filler) VALUES (NULL)")
                    .execute(&mut *tx)
                    .await?;
                sqlx::query("DELETE FROM storage_probe")
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await
            }
        };
        self.noted(probed)?;
        self.health.committed();
        Ok(())
    }

    /// Gives the write-ahead log's space back after a full spell (SQLite; a no-op elsewhere).
    pub(super) async fn shrink_log(&self) {
        if let Pools::Sqlite { write, .. } = &self.pools
            && let Err(e) = writer::truncate_log(write).await
        {
            tracing::warn!(error = %e, "cannot cut the write-ahead log back");
        }
    }

    fn noted<T>(&self, result: Result<T, sqlx::Error>) -> Result<T, sqlx::Error> {
        if let Err(e) = &result {
            self.health.failed(e);
        }
        result
    }
}

/// A write transaction on either backend. Dropped without [`Tx::commit`], it rolls back
/// (except one from [`Db::each_on_its_own`] on PostgreSQL, whose statements committed as they ran).
pub struct Tx {
    inner: TxInner,
    health: Arc<Health>,
}

enum TxInner {
    /// SQLite's writer inside `BEGIN IMMEDIATE` (see [`writer`] for why not sqlx's own).
    Sqlite(PoolConnection<Sqlite>),
    Postgres(Transaction<'static, Postgres>),
    /// A connection without a transaction: each statement commits (see
    /// [`Db::each_on_its_own`]).
    PostgresAutocommit(PoolConnection<Postgres>),
}

impl Tx {
    pub fn backend(&self) -> Backend {
        match self.inner {
            TxInner::Sqlite(_) => Backend::Sqlite,
            TxInner::Postgres(_) | TxInner::PostgresAutocommit(_) => Backend::Postgres,
        }
    }

    pub async fn fetch_all<T: Row>(&mut self, sql: Sql) -> Result<Vec<T>, sqlx::Error> {
        let result = match &mut self.inner {
            TxInner::Sqlite(conn) => {
                let text = sql.sqlite_text();
                bind_args!(sqlite, sqlx::query_as::<Sqlite, T>(&text), sql.args)
                    .fetch_all(&mut **conn)
                    .await
            }
            TxInner::Postgres(tx) => {
                bind_args!(pg, sqlx::query_as::<Postgres, T>(&sql.text), sql.args)
                    .fetch_all(&mut **tx)
                    .await
            }
            TxInner::PostgresAutocommit(conn) => {
                bind_args!(pg, sqlx::query_as::<Postgres, T>(&sql.text), sql.args)
                    .fetch_all(&mut **conn)
                    .await
            }
        };
        self.noted(result)
    }

    pub async fn fetch_optional<T: Row>(&mut self, sql: Sql) -> Result<Option<T>, sqlx::Error> {
        Ok(self.fetch_all(sql).await?.into_iter().next())
    }

    /// Runs one `INSERT … RETURNING id` and returns the new id.
    pub async fn insert_id(&mut self, sql: Sql) -> Result<i64, sqlx::Error> {
        let (id,): (i64,) = self
            .fetch_optional(sql)
            .await?
            .ok_or(sqlx::Error::RowNotFound)?;
        Ok(id)
    }

    pub async fn execute(&mut self, sql: Sql) -> Result<u64, sqlx::Error> {
        let result = match &mut self.inner {
            TxInner::Sqlite(conn) => {
                let text = sql.sqlite_text();
                bind_args!(sqlite, sqlx::query(&text), sql.args)
                    .execute(&mut **conn)
                    .await
                    .map(|done| done.rows_affected())
            }
            TxInner::Postgres(tx) => bind_args!(pg, sqlx::query(&sql.text), sql.args)
                .execute(&mut **tx)
                .await
                .map(|done| done.rows_affected()),
            TxInner::PostgresAutocommit(conn) => bind_args!(pg, sqlx::query(&sql.text), sql.args)
                .execute(&mut **conn)
                .await
                .map(|done| done.rows_affected()),
        };
        self.noted(result)
    }

    /// SQLite only: runs a multi-row `INSERT … VALUES` of `rows` rows that cannot conflict
    /// (the caller checked inside this transaction, and SQLite has one writer) and returns the
    /// new ids in row order. SQLite numbers the rows of one insert consecutively after the
    /// largest id, so no `RETURNING` rows need to cross from its worker thread one by one.
    pub async fn insert_ids(&mut self, sql: Sql, rows: usize) -> Result<Vec<i64>, sqlx::Error> {
        let TxInner::Sqlite(conn) = &mut self.inner else {
            return Err(sqlx::Error::Protocol("insert_ids is for SQLite".into()));
        };
        let text = sql.sqlite_text();
        let done = bind_args!(sqlite, sqlx::query(&text), sql.args)
            .execute(&mut **conn)
            .await;
        let done = self.noted(done)?;
        if done.rows_affected() != rows as u64 {
            return Err(sqlx::Error::Protocol(format!(
                "inserted {} of {rows} rows",
                done.rows_affected()
            )));
        }
        let last = done.last_insert_rowid();
        Ok((last + 1 - rows as i64..=last).collect())
    }

    /// Commits. An error means nothing of the transaction was stored (or, when the
    /// connection broke during the commit itself, that it cannot be known).
    pub async fn commit(self) -> Result<(), sqlx::Error> {
        let result = match self.inner {
            TxInner::Sqlite(conn) => writer::commit(conn).await,
            TxInner::Postgres(tx) => tx.commit().await,
            // Every statement committed as it ran.
            TxInner::PostgresAutocommit(_) => Ok(()),
        };
        match &result {
            Ok(()) => self.health.committed(),
            Err(e) => self.health.failed(e),
        }
        result
    }

    fn noted<T>(&self, result: Result<T, sqlx::Error>) -> Result<T, sqlx::Error> {
        if let Err(e) = &result {
            self.health.failed(e);
        }
        result
    }
}
