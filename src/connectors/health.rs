//! Each channel's health as an admin needs it: when the platform last sent us something, when
//! a send last went through, the last error, and whether the platform refused the token (then
//! nothing is sent for the channel until its credentials change).

use std::collections::HashMap;

use chrono::{DateTime, Utc};

use crate::domain::Platform;
use crate::ids::WorkspaceId;
use crate::storage::{Db, Sql, Tx};

#[derive(Debug, Clone, Default, serde::Serialize, sqlx::FromRow)]
pub struct Health {
    pub channel_id: i64,
    pub last_event_at: Option<DateTime<Utc>>,
    pub last_sent_at: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
    pub last_error_at: Option<DateTime<Utc>>,
    pub token_problem: Option<String>,
}

/// The health of every channel of `workspace` that has any.
pub async fn of_workspace(
    db: &Db,
    workspace: WorkspaceId,
) -> Result<HashMap<i64, Health>, sqlx::Error> {
    let mut sql = Sql::new(
        "SELECT h.channel_id, h.last_event_at, h.last_sent_at, h.last_error, h.last_error_at, h.token_problem \
         FROM channel_health h JOIN channels c ON c.id = h.channel_id WHERE c.workspace_id = ",
    );
    sql.bind(workspace);
    let rows: Vec<Health> = db.fetch_all(sql).await?;
    Ok(rows.into_iter().map(|h| (h.channel_id, h)).collect())
}

/// How often an account's "last event" is written: at most every few seconds, so a busy
/// webhook does not take the database's writer for it on every delivery.
const EVENT_EVERY: std::time::Duration = std::time::Duration::from_secs(5);

/// When this instance last wrote each account's "last event".
#[derive(Default)]
pub struct Heard(std::sync::Mutex<HashMap<(Platform, String), std::time::Instant>>);

impl Heard {
    /// Those of `accounts` whose last event was not written in the last few seconds.
    fn due<'a>(&self, platform: Platform, accounts: &[&'a str]) -> Vec<&'a str> {
        let mut heard = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let at = std::time::Instant::now();
        accounts
            .iter()
            .copied()
            .filter(|a| {
                let key = (platform, (*a).to_owned());
                let fresh = heard
                    .get(&key)
                    .is_some_and(|t| at.duration_since(*t) < EVENT_EVERY);
                if !fresh {
                    heard.insert(key, at);
                }
                !fresh
            })
            .collect()
    }
}

/// The platform delivered events for `accounts` (webhooks, polling): written on the channels
/// that proved the account, the only ones that received them.
pub async fn events_received(
    db: &Db,
    heard: &Heard,
    platform: Platform,
    accounts: &[&str],
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    let due = heard.due(platform, accounts);
    let accounts = due;
    if accounts.is_empty() {
        return Ok(());
    }
    let mut sql = Sql::new("INSERT INTO channel_health (channel_id, last_event_at) SELECT id, ");
    sql.bind(now)
        .push(" FROM channels WHERE verification = ")
        .bind(crate::domain::Verification::Verified)
        .push(" AND platform = ")
        .bind(platform)
        .push(" AND platform_id IN ");
    sql.bind_list(accounts.iter().copied())
        .push(" ON CONFLICT (channel_id) DO UPDATE SET last_event_at = excluded.last_event_at");
    let mut tx = db.begin().await?;
    tx.execute(sql).await?;
    tx.commit().await
}

pub async fn sent(tx: &mut Tx, channel: i64, now: DateTime<Utc>) -> Result<(), sqlx::Error> {
    let mut sql = Sql::new("INSERT INTO channel_health (channel_id, last_sent_at) VALUES (");
    sql.bind(channel)
        .push(", ")
        .bind(now)
        .push(") ON CONFLICT (channel_id) DO UPDATE SET last_sent_at = excluded.last_sent_at");
    tx.execute(sql).await.map(|_| ())
}

pub async fn failed(
    tx: &mut Tx,
    channel: i64,
    reason: &str,
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    let mut sql =
        Sql::new("INSERT INTO channel_health (channel_id, last_error, last_error_at) VALUES (");
    sql.bind(channel)
        .push(", ")
        .bind(reason)
        .push(", ")
        .bind(now)
        .push(
            ") ON CONFLICT (channel_id) DO UPDATE SET last_error = excluded.last_error, \
             last_error_at = excluded.last_error_at",
        );
    tx.execute(sql).await.map(|_| ())
}

/// The platform refused the channel's token: its sends wait for new credentials.
pub async fn token_refused(tx: &mut Tx, channel: i64, reason: &str) -> Result<(), sqlx::Error> {
    let mut sql = Sql::new("INSERT INTO channel_health (channel_id, token_problem) VALUES (");
    sql.bind(channel)
        .push(", ")
        .bind(reason)
        .push(") ON CONFLICT (channel_id) DO UPDATE SET token_problem = excluded.token_problem");
    tx.execute(sql).await.map(|_| ())
}

/// New credentials: a token the platform refused may work now.
pub async fn credentials_changed(tx: &mut Tx, channel: i64) -> Result<(), sqlx::Error> {
    let mut sql = Sql::new("UPDATE channel_health SET token_problem = NULL WHERE channel_id = ");
    sql.bind(channel);
    tx.execute(sql).await.map(|_| ())
}
