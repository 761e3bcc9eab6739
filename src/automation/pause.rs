//! The workspace's switch that pauses all automation at once: while it is on, rules still
//! decide (so their statistics show what was held back) but nothing acts, and runs that fall
//! due are skipped rather than sent late.

use chrono::{DateTime, Utc};

use crate::accounts::audit::{self, Entry, Who};
use crate::storage::{Db, Sql, Tx};

pub async fn is_paused(db: &Db, workspace: i64) -> Result<bool, sqlx::Error> {
    let mut sql = Sql::new("SELECT automation_paused FROM workspaces WHERE id = ");
    sql.bind(workspace);
    Ok(db
        .fetch_optional::<(bool,)>(sql)
        .await?
        .is_some_and(|(p,)| p))
}

pub async fn set_paused(
    tx: &mut Tx,
    workspace: i64,
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
