//! The audit log: who changed a channel, a rule, a member or a token, and who sent which
//! manual reply, with the time. Written in the same transaction as the change it records.

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::ids::{UserId, WorkspaceId};
use crate::storage::{Db, Sql, Tx};

/// What happened, in the words the log shows.
pub struct Entry<'a> {
    pub action: &'a str,
    pub target: String,
    pub detail: String,
}

impl<'a> Entry<'a> {
    /// An entry about a named thing: `rule #7 “Price question”`.
    pub fn about(action: &'a str, kind: &str, id: i64, name: &str, detail: String) -> Self {
        Entry {
            action,
            target: format!("{kind} #{id} “{name}”"),
            detail,
        }
    }
}

/// The actor as the log keeps them: an optional user id and a label.
pub struct Who {
    pub user_id: Option<UserId>,
    pub label: String,
}

impl Who {
    /// Changes unibox made itself because a platform warned (a rule paused for spam).
    pub fn platform_warning() -> Who {
        Who {
            user_id: None,
            label: "platform warning".into(),
        }
    }

    /// Changes made with the `unibox` command on the server.
    pub fn command_line() -> Who {
        Who {
            user_id: None,
            label: "command line".into(),
        }
    }
}

pub async fn record(
    tx: &mut Tx,
    workspace: WorkspaceId,
    who: &Who,
    entry: Entry<'_>,
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    let mut sql = Sql::new(
        "INSERT INTO audit_log (workspace_id, user_id, actor, action, target, detail, at) VALUES (",
    );
    sql.bind(workspace)
        .push(", ")
        .bind(who.user_id)
        .push(", ")
        .bind(who.label.as_str())
        .push(", ")
        .bind(entry.action)
        .push(", ")
        .bind(entry.target)
        .push(", ")
        .bind(entry.detail)
        .push(", ")
        .bind(now)
        .push(")");
    tx.execute(sql).await.map(drop)
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct AuditRow {
    pub id: i64,
    pub actor: String,
    pub action: String,
    pub target: String,
    pub detail: String,
    pub at: DateTime<Utc>,
}

/// Newest first; `before` is the id of the last row of the previous page.
pub async fn list(
    db: &Db,
    workspace: WorkspaceId,
    before: Option<i64>,
    limit: i64,
) -> Result<Vec<AuditRow>, sqlx::Error> {
    let mut sql = Sql::new(
        "SELECT id, actor, action, target, detail, at FROM audit_log WHERE workspace_id = ",
    );
    sql.bind(workspace);
    if let Some(before) = before {
        sql.push(" AND id < ").bind(before);
    }
    sql.push(" ORDER BY id DESC LIMIT ").bind(limit);
    db.fetch_all(sql).await
}
