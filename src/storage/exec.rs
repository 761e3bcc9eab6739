//! Running [`Sql`] on either backend, on the pool or inside a transaction.

use sqlx::postgres::PgRow;
use sqlx::sqlite::SqliteRow;
use sqlx::{FromRow, Postgres, Sqlite, Transaction};

use super::{Arg, Backend, Db, Sql};

/// Binds every argument of `$sql` onto the query `$q`.
macro_rules! bind_args {
    ($q:expr, $args:expr) => {{
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
        match self {
            Db::Sqlite { read, .. } => {
                let text = sql.sqlite_text();
                bind_args!(sqlx::query_as::<Sqlite, T>(&text), sql.args)
                    .fetch_all(read)
                    .await
            }
            Db::Postgres(pool) => {
                bind_args!(sqlx::query_as::<Postgres, T>(&sql.text), sql.args)
                    .fetch_all(pool)
                    .await
            }
        }
    }

    pub async fn fetch_optional<T: Row>(&self, sql: Sql) -> Result<Option<T>, sqlx::Error> {
        match self {
            Db::Sqlite { read, .. } => {
                let text = sql.sqlite_text();
                bind_args!(sqlx::query_as::<Sqlite, T>(&text), sql.args)
                    .fetch_optional(read)
                    .await
            }
            Db::Postgres(pool) => {
                bind_args!(sqlx::query_as::<Postgres, T>(&sql.text), sql.args)
                    .fetch_optional(pool)
                    .await
            }
        }
    }

    /// Runs a single write statement on its own (autocommit).
    pub async fn execute(&self, sql: Sql) -> Result<u64, sqlx::Error> {
        match self {
            Db::Sqlite { write, .. } => {
                let text = sql.sqlite_text();
                Ok(bind_args!(sqlx::query(&text), sql.args)
                    .execute(write)
                    .await?
                    .rows_affected())
            }
            Db::Postgres(pool) => Ok(bind_args!(sqlx::query(&sql.text), sql.args)
                .execute(pool)
                .await?
                .rows_affected()),
        }
    }

    /// Starts a write transaction. On SQLite it waits for the single writer connection.
    pub async fn begin(&self) -> Result<Tx, sqlx::Error> {
        Ok(match self {
            Db::Sqlite { write, .. } => Tx::Sqlite(write.begin().await?),
            Db::Postgres(pool) => Tx::Postgres(pool.begin().await?),
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
}

/// A write transaction on either backend. Dropped without [`Tx::commit`], it rolls back.
pub enum Tx {
    Sqlite(Transaction<'static, Sqlite>),
    Postgres(Transaction<'static, Postgres>),
}

impl Tx {
    pub fn backend(&self) -> Backend {
        match self {
            Tx::Sqlite(_) => Backend::Sqlite,
            Tx::Postgres(_) => Backend::Postgres,
        }
    }

    pub async fn fetch_all<T: Row>(&mut self, sql: Sql) -> Result<Vec<T>, sqlx::Error> {
        match self {
            Tx::Sqlite(tx) => {
                let text = sql.sqlite_text();
                bind_args!(sqlx::query_as::<Sqlite, T>(&text), sql.args)
                    .fetch_all(&mut **tx)
                    .await
            }
            Tx::Postgres(tx) => {
                bind_args!(sqlx::query_as::<Postgres, T>(&sql.text), sql.args)
                    .fetch_all(&mut **tx)
                    .await
            }
        }
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
        match self {
            Tx::Sqlite(tx) => {
                let text = sql.sqlite_text();
                Ok(bind_args!(sqlx::query(&text), sql.args)
                    .execute(&mut **tx)
                    .await?
                    .rows_affected())
            }
            Tx::Postgres(tx) => Ok(bind_args!(sqlx::query(&sql.text), sql.args)
                .execute(&mut **tx)
                .await?
                .rows_affected()),
        }
    }

    /// SQLite only: runs a multi-row `INSERT … VALUES` of `rows` rows that cannot conflict
    /// (the caller checked inside this transaction, and SQLite has one writer) and returns the
    /// new ids in row order. SQLite numbers the rows of one insert consecutively after the
    /// largest id, so no `RETURNING` rows need to cross from its worker thread one by one.
    pub async fn insert_ids(&mut self, sql: Sql, rows: usize) -> Result<Vec<i64>, sqlx::Error> {
        let Tx::Sqlite(tx) = self else {
            return Err(sqlx::Error::Protocol("insert_ids is for SQLite".into()));
        };
        let text = sql.sqlite_text();
        let done = bind_args!(sqlx::query(&text), sql.args)
            .execute(&mut **tx)
            .await?;
        if done.rows_affected() != rows as u64 {
            return Err(sqlx::Error::Protocol(format!(
                "inserted {} of {rows} rows",
                done.rows_affected()
            )));
        }
        let last = done.last_insert_rowid();
        Ok((last + 1 - rows as i64..=last).collect())
    }

    pub async fn commit(self) -> Result<(), sqlx::Error> {
        match self {
            Tx::Sqlite(tx) => tx.commit().await,
            Tx::Postgres(tx) => tx.commit().await,
        }
    }
}
