//! Where each poll stopped, per channel and scope, in the database: a restart (or another
//! instance) resumes from there. A sweep walks newest-first until it reaches what the last
//! finished sweep had seen (`high_water`); an interrupted sweep keeps its page token.

use chrono::{DateTime, Utc};

use crate::storage::{Db, Sql};

#[derive(Debug, Clone, Default, sqlx::FromRow)]
pub struct Cursor {
    /// The next page of an unfinished sweep.
    pub page_token: Option<String>,
    /// The newest item the last finished sweep saw.
    pub high_water: Option<DateTime<Utc>>,
    /// The newest item the sweep under way has seen so far.
    pub sweep_top: Option<DateTime<Utc>>,
    pub polled_at: Option<DateTime<Utc>>,
}

pub async fn load(db: &Db, channel: i64, scope: &str) -> Result<Cursor, sqlx::Error> {
    let mut sql = Sql::new(
        "SELECT page_token, high_water, sweep_top, polled_at FROM poll_cursors WHERE channel_id = ",
    );
    sql.bind(channel).push(" AND scope = ").bind(scope);
    Ok(db.fetch_optional(sql).await?.unwrap_or_default())
}

pub async fn save(db: &Db, channel: i64, scope: &str, c: &Cursor) -> Result<(), sqlx::Error> {
    let mut sql = Sql::new(
        "INSERT INTO poll_cursors (channel_id, scope, page_token, high_water, sweep_top, polled_at) VALUES (",
    );
    sql.bind(channel)
        .push(", ")
        .bind(scope)
        .push(", ")
        .bind(c.page_token.clone())
        .push(", ")
        .bind(c.high_water)
        .push(", ")
        .bind(c.sweep_top)
        .push(", ")
        .bind(c.polled_at)
        .push(
            ") ON CONFLICT (channel_id, scope) DO UPDATE SET page_token = excluded.page_token, \
             high_water = excluded.high_water, sweep_top = excluded.sweep_top, polled_at = excluded.polled_at",
        );
    let mut tx = db.begin().await?;
    tx.execute(sql).await?;
    tx.commit().await
}
