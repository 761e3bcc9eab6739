//! Slows down password guessing: sign-in attempts are counted per account and per network
//! address over a window, in the database so that every instance sees the same count.
//!
//! An attempt is recorded *before* its password is checked and counted with the others, so
//! parallel requests cannot all slip past the limit while their hashes are being verified:
//! an attempt over the limit is refused (and forgotten), one within it is checked, and a
//! successful one is forgotten along with the account's earlier failures.

use chrono::{DateTime, Duration, Utc};

use crate::storage::{Db, Sql};

pub const WINDOW: Duration = Duration::minutes(15);
/// Failed attempts on one account within the window before it is paused.
pub const PER_ACCOUNT: i64 = 5;
/// Failed attempts from one address within the window (on any accounts).
pub const PER_ADDRESS: i64 = 30;

/// An attempt being checked; it counts as a failure unless [`Attempt::succeeded`] says not.
pub struct Attempt {
    id: i64,
    email: String,
}

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

async fn forget(db: &Db, id: i64) -> Result<(), sqlx::Error> {
    let mut sql = Sql::new("DELETE FROM login_failures WHERE id = ");
    sql.bind(id);
    db.execute(sql).await.map(drop)
}

/// Records an attempt on `email` from `address`. `Ok(Err(message))` when this account or
/// address must wait; then nothing may be checked.
pub async fn begin(
    db: &Db,
    email: &str,
    address: &str,
    now: DateTime<Utc>,
) -> Result<Result<Attempt, String>, sqlx::Error> {
    let mut tx = db.begin().await?;
    let mut sweep = Sql::new("DELETE FROM login_failures WHERE at < ");
    sweep.bind(now - WINDOW);
    tx.execute(sweep).await?;
    let mut insert = Sql::new("INSERT INTO login_failures (email, address, at) VALUES (");
    insert
        .bind(email)
        .push(", ")
        .bind(address)
        .push(", ")
        .bind(now)
        .push(") RETURNING id");
    let id = tx.insert_id(insert).await?;
    tx.commit().await?;
    let since = now - WINDOW;
    let checks = [
        ("email", email, PER_ACCOUNT, "this account"),
        ("address", address, PER_ADDRESS, "your network address"),
    ];
    for (column, value, limit, whom) in checks {
        let (n, oldest) = count(db, column, value, since).await?;
        if n > limit {
            forget(db, id).await?;
            let wait = oldest.map_or(WINDOW, |t| t + WINDOW - now);
            let minutes = ((wait.num_seconds() + 59) / 60).max(1);
            return Ok(Err(format!(
                "Too many failed sign-ins for {whom}. Try again in {minutes} minute{}.",
                if minutes > 1 { "s" } else { "" }
            )));
        }
    }
    Ok(Ok(Attempt {
        id,
        email: email.to_owned(),
    }))
}

impl Attempt {
    /// The password was right: the account's count starts again (the address's does not).
    pub async fn succeeded(self, db: &Db) -> Result<(), sqlx::Error> {
        forget(db, self.id).await?;
        let mut sql = Sql::new("DELETE FROM login_failures WHERE email = ");
        sql.bind(self.email.as_str());
        db.execute(sql).await.map(drop)
    }
}
