//! YouTube's units ledger: every call is paid for before it is made (replies 50 units,
//! listings 1; refused calls cost too), by Pacific date, in the database so that restarts and
//! other instances count the same units. The quota belongs to the API project — the one app
//! every connected channel goes through — so all channels spend from one count (kept under
//! channel id 0). Calls stop before the daily quota and
//! resume after it resets at midnight Pacific time.

use chrono::{DateTime, Utc};

use crate::connectors::youtube_send::quota_day;
use crate::storage::{Db, Sql};

/// The default daily quota of a YouTube API project.
pub const DAILY_UNITS: i64 = 10_000;

/// The ledger's key for the project's one count.
const PROJECT: i64 = 0;

/// Spends `units` of today's quota; false (and nothing spent) when that would go over it.
pub async fn spend(db: &Db, units: i64, now: DateTime<Utc>) -> Result<bool, sqlx::Error> {
    let day = quota_day(now);
    let mut tx = db.begin().await?;
    let mut sql = Sql::new("INSERT INTO platform_quota (channel_id, day, units) VALUES (");
    sql.bind(PROJECT)
        .push(", ")
        .bind(day)
        .push(", ")
        .bind(units)
        .push(
            ") ON CONFLICT (channel_id, day) DO UPDATE SET units = platform_quota.units + excluded.units \
             WHERE platform_quota.units + excluded.units <= ",
        )
        .bind(DAILY_UNITS);
    let spent = tx.execute(sql).await? > 0;
    tx.commit().await?;
    Ok(spent)
}

/// Units spent today.
pub async fn spent_today(db: &Db, now: DateTime<Utc>) -> Result<i64, sqlx::Error> {
    let mut sql = Sql::new("SELECT units FROM platform_quota WHERE channel_id = ");
    sql.bind(PROJECT).push(" AND day = ").bind(quota_day(now));
    Ok(db.fetch_optional::<(i64,)>(sql).await?.map_or(0, |(u,)| u))
}
