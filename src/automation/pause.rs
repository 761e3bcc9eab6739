//! The workspace's switch that pauses all automation at once: while it is on, rules still
//! decide (so their statistics show what was held back) but nothing acts, and runs that fall
//! due are skipped rather than sent late.

use chrono::{DateTime, Utc};

use crate::accounts::audit::{self, Entry, Who};
use crate::ids::WorkspaceId;
use crate::storage::{Db, Sql, Tx};

/// The workspace's automation settings.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
#[schema(as = Automation)]
pub struct Settings {
    pub paused: bool,
    /// Greetings follow the time of day here.
    pub time_zone: String,
}

impl Settings {
    pub fn zone(&self) -> chrono_tz::Tz {
        self.time_zone.parse().unwrap_or(chrono_tz::UTC)
    }
}

pub async fn settings(db: &Db, workspace: WorkspaceId) -> Result<Settings, sqlx::Error> {
    let mut sql = Sql::new("SELECT automation_paused, time_zone FROM workspaces WHERE id = ");
    sql.bind(workspace);
    let (paused, time_zone) = db
        .fetch_optional::<(bool, String)>(sql)
        .await?
        .unwrap_or((false, "UTC".into()));
    Ok(Settings { paused, time_zone })
}

/// Sets the workspace's time zone (an IANA name, checked by the caller).
pub async fn set_time_zone(
    tx: &mut Tx,
    workspace: WorkspaceId,
    zone: chrono_tz::Tz,
    who: &Who,
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    let mut sql = Sql::new("UPDATE workspaces SET time_zone = ");
    sql.bind(zone.name()).push(" WHERE id = ").bind(workspace);
    tx.execute(sql).await?;
    let entry = Entry {
        action: "time zone set",
        target: "automation".into(),
        detail: zone.name().to_owned(),
    };
    audit::record(tx, workspace, who, entry, now).await
}

/// A time zone as typed, or what is wrong with it.
pub fn read_zone(name: &str) -> Result<chrono_tz::Tz, String> {
    name.trim().parse().map_err(|_| {
        format!(
            "“{}” is no time zone we know; use a name such as Europe/Amsterdam",
            name.trim()
        )
    })
}

pub async fn set_paused(
    tx: &mut Tx,
    workspace: WorkspaceId,
    paused: bool,
    who: &Who,
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    let mut sql = Sql::new("UPDATE workspaces SET automation_paused = ");
    sql.bind(paused).push(" WHERE id = ").bind(workspace);
    tx.execute(sql).await?;
    let entry = Entry {
        action: if paused {
            "automation paused"
        } else {
            "automation resumed"
        },
        target: "all rules".into(),
        detail: String::new(),
    };
    audit::record(tx, workspace, who, entry, now).await
}
