//! PostgreSQL's `NOTIFY`/`LISTEN`, so that instances sharing a database hear each other's
//! changes. SQLite has one instance per file and needs neither.

use sqlx::postgres::{PgListener, PgPoolOptions};

use super::{Db, Pools, Sql};

impl Db {
    /// Sends `payload` on `channel` to every listening instance (PostgreSQL; `false` on SQLite,
    /// where nothing else listens).
    pub async fn notify(&self, channel: &str, payload: &str) -> Result<bool, sqlx::Error> {
        if !matches!(self.pools, Pools::Postgres { .. }) {
            return Ok(false);
        }
        let mut sql = Sql::new("SELECT pg_notify(");
        sql.bind(channel).push(", ").bind(payload).push(")::text");
        self.fetch_optional::<(Option<String>,)>(sql).await?;
        Ok(true)
    }

    /// A listener on `channel` with a connection of its own, outside the pool the requests
    /// share (PostgreSQL only). It reconnects by itself when the connection drops; what was
    /// sent meanwhile is lost.
    pub async fn listen(&self, channel: &str) -> Option<Result<PgListener, sqlx::Error>> {
        let Pools::Postgres { pool, .. } = &self.pools else {
            return None;
        };
        let own = PgPoolOptions::new()
            .max_connections(1)
            .connect_lazy_with((*pool.connect_options()).clone());
        Some(
            async {
                let mut listener = PgListener::connect_with(&own).await?;
                listener.listen(channel).await?;
                Ok(listener)
            }
            .await,
        )
    }
}
