//! Members of a workspace and their roles. A workspace always keeps at least one owner.

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::audit::{self, Entry, Who};
use super::error::AccountError;
use crate::domain::Role;
use crate::ids::{UserId, WorkspaceId};
use crate::storage::{Backend, Db, Sql, Tx};

#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct Member {
    pub user_id: UserId,
    pub email: String,
    pub role: String,
    pub created_at: DateTime<Utc>,
}

pub async fn list(db: &Db, workspace: WorkspaceId) -> Result<Vec<Member>, sqlx::Error> {
    let mut sql = Sql::new(
        "SELECT m.user_id, u.email, m.role, m.created_at FROM memberships m \
         JOIN users u ON u.id = m.user_id WHERE m.workspace_id = ",
    );
    sql.bind(workspace).push(" ORDER BY u.email");
    db.fetch_all(sql).await
}

/// Serialises membership changes of one workspace (SQLite has one writer anyway), so two
/// owners demoting each other at once cannot leave the workspace without an owner.
async fn lock_workspace(tx: &mut Tx, workspace: WorkspaceId) -> Result<(), sqlx::Error> {
    if tx.backend() == Backend::Postgres {
        let mut sql = Sql::new("SELECT id FROM workspaces WHERE id = ");
        sql.bind(workspace).push(" FOR UPDATE");
        tx.fetch_optional::<(i64,)>(sql).await?;
    }
    Ok(())
}

async fn current_role(
    tx: &mut Tx,
    workspace: WorkspaceId,
    user_id: UserId,
) -> Result<Option<Role>, sqlx::Error> {
    let mut sql = Sql::new("SELECT role FROM memberships WHERE workspace_id = ");
    sql.bind(workspace).push(" AND user_id = ").bind(user_id);
    let row: Option<(String,)> = tx.fetch_optional(sql).await?;
    Ok(row.and_then(|(r,)| r.parse().ok()))
}

async fn owners(tx: &mut Tx, workspace: WorkspaceId) -> Result<i64, sqlx::Error> {
    let mut sql =
        Sql::new("SELECT COUNT(*) FROM memberships WHERE role = 'owner' AND workspace_id = ");
    sql.bind(workspace);
    Ok(tx.fetch_optional::<(i64,)>(sql).await?.map_or(0, |(n,)| n))
}

fn last_owner() -> AccountError {
    AccountError::field(
        "role",
        "the workspace would have no owner left; make someone else owner first",
    )
}

/// Adds `user_id` with `role`; a 422 if already a member.
pub async fn add(
    db: &Db,
    workspace: WorkspaceId,
    user_id: UserId,
    email: &str,
    role: Role,
    who: &Who,
    now: DateTime<Utc>,
) -> Result<(), AccountError> {
    let mut tx = db.begin().await?;
    add_in(&mut tx, workspace, user_id, email, role, who, now).await?;
    tx.commit().await?;
    Ok(())
}

/// [`add`] inside a transaction that also creates the user or the workspace, so neither is
/// left behind alone when something fails.
pub async fn add_in(
    tx: &mut Tx,
    workspace: WorkspaceId,
    user_id: UserId,
    email: &str,
    role: Role,
    who: &Who,
    now: DateTime<Utc>,
) -> Result<(), AccountError> {
    lock_workspace(tx, workspace).await?;
    if current_role(tx, workspace, user_id).await?.is_some() {
        return Err(AccountError::field(
            "email",
            format!("{email} is already a member"),
        ));
    }
    let mut sql =
        Sql::new("INSERT INTO memberships (workspace_id, user_id, role, created_at) VALUES (");
    sql.bind(workspace)
        .push(", ")
        .bind(user_id)
        .push(", ")
        .bind(role.as_str())
        .push(", ")
        .bind(now)
        .push(")");
    tx.execute(sql).await?;
    let entry = Entry {
        action: "member added",
        target: email.to_owned(),
        detail: format!("as {role}"),
    };
    audit::record(tx, workspace, who, entry, now).await?;
    Ok(())
}

/// Changes a member's role; 404 if not a member.
pub async fn set_role(
    db: &Db,
    workspace: WorkspaceId,
    user_id: UserId,
    role: Role,
    who: &Who,
    now: DateTime<Utc>,
) -> Result<(), AccountError> {
    let mut tx = db.begin().await?;
    let old = role_to_change(&mut tx, workspace, user_id, role != Role::Owner).await?;
    if old == role {
        return Ok(());
    }
    let mut sql = Sql::new("UPDATE memberships SET role = ");
    sql.bind(role.as_str())
        .push(" WHERE workspace_id = ")
        .bind(workspace)
        .push(" AND user_id = ")
        .bind(user_id);
    tx.execute(sql).await?;
    let entry = Entry {
        action: "member role changed",
        target: member_email(&mut tx, user_id).await?,
        detail: format!("from {old} to {role}"),
    };
    audit::record(&mut tx, workspace, who, entry, now).await?;
    tx.commit().await?;
    Ok(())
}

/// Removes a member; 404 if not a member. Their threads become unassigned.
pub async fn remove(
    db: &Db,
    workspace: WorkspaceId,
    user_id: UserId,
    who: &Who,
    now: DateTime<Utc>,
) -> Result<(), AccountError> {
    let mut tx = db.begin().await?;
    let old = role_to_change(&mut tx, workspace, user_id, true).await?;
    let mut sql = Sql::new("DELETE FROM memberships WHERE workspace_id = ");
    sql.bind(workspace).push(" AND user_id = ").bind(user_id);
    tx.execute(sql).await?;
    let mut unassign = Sql::new("UPDATE threads SET assignee_id = NULL WHERE workspace_id = ");
    unassign
        .bind(workspace)
        .push(" AND assignee_id = ")
        .bind(user_id);
    tx.execute(unassign).await?;
    let entry = Entry {
        action: "member removed",
        target: member_email(&mut tx, user_id).await?,
        detail: format!("was {old}"),
    };
    audit::record(&mut tx, workspace, who, entry, now).await?;
    tx.commit().await?;
    Ok(())
}

/// The member's role, with the workspace locked for the change; 404 if not a member, 422 if
/// `stops_owning` would leave the workspace without an owner.
async fn role_to_change(
    tx: &mut Tx,
    workspace: WorkspaceId,
    user_id: UserId,
    stops_owning: bool,
) -> Result<Role, AccountError> {
    lock_workspace(tx, workspace).await?;
    let old = current_role(tx, workspace, user_id)
        .await?
        .ok_or(AccountError::NotFound("member"))?;
    if stops_owning && old == Role::Owner && owners(tx, workspace).await? <= 1 {
        return Err(last_owner());
    }
    Ok(old)
}

async fn member_email(tx: &mut Tx, user_id: UserId) -> Result<String, sqlx::Error> {
    let mut sql = Sql::new("SELECT email FROM users WHERE id = ");
    sql.bind(user_id);
    Ok(tx
        .fetch_optional::<(String,)>(sql)
        .await?
        .map_or_else(|| format!("user #{user_id}"), |(e,)| e))
}
