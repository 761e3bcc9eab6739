//! Slows down password guessing: failed sign-ins are counted per account and per network
//! address over a window, in the database so that every instance sees the same count.

use chrono::{DateTime, Duration, Utc};

use crate::storage::{Db, Sql};

pub const WINDOW: Duration = Duration::minutes(15);
/// Failed attempts on one account within the window before it is paused.
pub const PER_ACCOUNT: i64 = 5;
/// Failed attempts from one address within the window (on any accounts).
pub const PER_ADDRESS: i64 = 30;

async fn count(
    db: &Db,
    column: &str,
    value: &str,
    since: DateTime<Utc>,
) -> Result<(i64, Option<DateTime<Utc>>), sqlx::Error> {
    let mut sql = Sql::new(format!(
        "SELECT COUNT(*), MIN(at) FROM login_failures WHERE {column} = "
    ));
    sql.bind(value).push(" AND at > ").bind(since);
    Ok(db.fetch_optional(sql).await?.unwrap_or((0, None)))
}

/// `Err(message)` when this account or address must wait before trying again.
pub async fn check(
    db: &Db,
    email: &str,
    address: &str,
    now: DateTime<Utc>,
) -> Result<Result<(), String>, sqlx::Error> {
    let since = now - WINDOW;
    let checks = [
        ("email", email, PER_ACCOUNT, "this account"),
        ("address", address, PER_ADDRESS, "your network address"),
    ];
    for (column, value, limit, whom) in checks {
        let (n, oldest) = count(db, column, value, since).await?;
        if n >= limit {
            let wait = oldest.map_or(WINDOW, |t| t + WINDOW - now);
            let minutes = (wait.num_seconds() + 59) / 60;
            return Ok(Err(format!(
                "Too many failed sign-ins for {whom}. Try again in {} minute{}.",
                minutes.max(1),
                if minutes > 1 { "s" } else { "" }
            )));
        }
    }
    Ok(Ok(()))
}

pub async fn record_failure(
    db: &Db,
    email: &str,
    address: &str,
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    let mut tx = db.begin().await?;
    let mut sweep = Sql::new("DELETE FROM login_failures WHERE at < ");
    sweep.bind(now - WINDOW);
    tx.execute(sweep).await?;
    let mut sql = Sql::new("INSERT INTO login_failures (email, address, at) VALUES (");
    sql.bind(email)
        .push(", ")
        .bind(address)
        .push(", ")
        .bind(now)
        .push(")");
    tx.execute(sql).await?;
    tx.commit().await
}

/// After a successful sign-in the account's count starts again (the address's does not).
pub async fn clear(db: &Db, email: &str) -> Result<(), sqlx::Error> {
    let mut sql = Sql::new("DELETE FROM login_failures WHERE email = ");
    sql.bind(email);
    db.execute(sql).await.map(drop)
}
