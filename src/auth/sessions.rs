//! Sessions live in the database, so every unibox instance behind a load balancer knows
//! them. The cookie holds a random id; the table holds only its digest.

use chrono::{DateTime, Duration, Utc};

use super::secret::{digest, random_hex};
use crate::domain::Role;
use crate::ids::{UserId, WorkspaceId};
use crate::storage::{Db, Sql};

/// How long a sign-in lasts.
pub const LIFETIME: Duration = Duration::days(30);

/// The workspace a session is looking at, and the member's role there.
#[derive(Debug, Clone)]
pub struct Current {
    pub id: WorkspaceId,
    pub name: String,
    pub role: Role,
}

#[derive(Debug, Clone)]
pub struct Session {
    /// Digest of the cookie's id: how the session is named everywhere but the cookie.
    pub key: String,
    pub user_id: UserId,
    pub email: String,
    pub is_admin: bool,
    /// `None` while the user belongs to no workspace.
    pub workspace: Option<Current>,
}

#[derive(sqlx::FromRow)]
struct SessionRow {
    user_id: UserId,
    email: String,
    is_admin: bool,
    workspace_id: Option<WorkspaceId>,
    workspace_name: Option<String>,
    role: Option<String>,
}

#[derive(sqlx::FromRow)]
struct MembershipRow {
    workspace_id: WorkspaceId,
    workspace_name: String,
    role: String,
}

fn current(id: Option<WorkspaceId>, name: Option<String>, role: Option<String>) -> Option<Current> {
    Some(Current {
        id: id?,
        name: name?,
        role: role?.parse().ok()?,
    })
}

/// Starts a session for `user_id` and returns the id for the cookie (shown nowhere else).
pub async fn start(db: &Db, user_id: UserId, now: DateTime<Utc>) -> Result<String, sqlx::Error> {
    let mut sweep = Sql::new("DELETE FROM sessions WHERE expires_at < ");
    sweep.bind(now);
    db.execute(sweep).await?;
    let id = random_hex(32);
    let workspace = first_membership(db, user_id).await?.map(|m| m.workspace_id);
    let mut sql = Sql::new(
        "INSERT INTO sessions (id_hash, user_id, workspace_id, created_at, expires_at) VALUES (",
    );
    sql.bind(digest(&id))
        .push(", ")
        .bind(user_id)
        .push(", ")
        .bind(workspace)
        .push(", ")
        .bind(now)
        .push(", ")
        .bind(now + LIFETIME)
        .push(")");
    db.execute(sql).await?;
    Ok(id)
}

async fn first_membership(db: &Db, user_id: UserId) -> Result<Option<MembershipRow>, sqlx::Error> {
    let mut sql = Sql::new(
        "SELECT m.workspace_id, w.name AS workspace_name, m.role FROM memberships m \
         JOIN workspaces w ON w.id = m.workspace_id WHERE m.user_id = ",
    );
    sql.bind(user_id).push(" ORDER BY m.workspace_id LIMIT 1");
    db.fetch_optional(sql).await
}

/// The live session with cookie id `id`, if any.
pub async fn find(db: &Db, id: &str, now: DateTime<Utc>) -> Result<Option<Session>, sqlx::Error> {
    let key = digest(id);
    let mut sql = Sql::new(
        "SELECT s.user_id, u.email, u.is_admin, m.workspace_id, w.name AS workspace_name, m.role \
         FROM sessions s JOIN users u ON u.id = s.user_id \
         LEFT JOIN memberships m ON m.user_id = s.user_id AND m.workspace_id = s.workspace_id \
         LEFT JOIN workspaces w ON w.id = m.workspace_id \
         WHERE s.id_hash = ",
    );
    sql.bind(key.as_str())
        .push(" AND s.expires_at > ")
        .bind(now);
    let Some(row): Option<SessionRow> = db.fetch_optional(sql).await? else {
        return Ok(None);
    };
    let mut workspace = current(row.workspace_id, row.workspace_name, row.role);
    if workspace.is_none() {
        // Removed from the workspace it was looking at (or never had one): fall back to
        // another membership, if there is one.
        workspace = first_membership(db, row.user_id)
            .await?
            .and_then(|m| current(Some(m.workspace_id), Some(m.workspace_name), Some(m.role)));
    }
    Ok(Some(Session {
        key,
        user_id: row.user_id,
        email: row.email,
        is_admin: row.is_admin,
        workspace,
    }))
}

pub async fn end(db: &Db, key: &str) -> Result<(), sqlx::Error> {
    let mut sql = Sql::new("DELETE FROM sessions WHERE id_hash = ");
    sql.bind(key);
    db.execute(sql).await.map(drop)
}

/// Signs the user out everywhere (after a password reset).
pub async fn end_all(db: &Db, user_id: UserId) -> Result<u64, sqlx::Error> {
    let mut sql = Sql::new("DELETE FROM sessions WHERE user_id = ");
    sql.bind(user_id);
    db.execute(sql).await
}

/// Signs the user out everywhere except `keep` (after a password change).
pub async fn end_others(db: &Db, user_id: UserId, keep: &str) -> Result<u64, sqlx::Error> {
    let mut sql = Sql::new("DELETE FROM sessions WHERE user_id = ");
    sql.bind(user_id).push(" AND id_hash <> ").bind(keep);
    db.execute(sql).await
}

/// Points the session at another workspace the user is a member of; false if not a member.
pub async fn switch(
    db: &Db,
    session: &Session,
    workspace: WorkspaceId,
) -> Result<bool, sqlx::Error> {
    let mut sql = Sql::new("UPDATE sessions SET workspace_id = ");
    sql.bind(workspace)
        .push(" WHERE id_hash = ")
        .bind(session.key.as_str())
        .push(" AND EXISTS (SELECT 1 FROM memberships m WHERE m.user_id = ")
        .bind(session.user_id)
        .push(" AND m.workspace_id = ")
        .bind(workspace)
        .push(")");
    Ok(db.execute(sql).await? == 1)
}

/// For each of the session `keys` still signed in at `now`, the workspace it looks at; ended
/// and expired sessions are left out.
pub async fn workspaces_of(
    db: &Db,
    keys: &[&str],
    now: DateTime<Utc>,
) -> Result<std::collections::HashMap<String, Option<WorkspaceId>>, sqlx::Error> {
    let mut found = std::collections::HashMap::new();
    for chunk in crate::storage::sized_chunks(keys) {
        let mut sql = Sql::new("SELECT id_hash, workspace_id FROM sessions WHERE expires_at > ");
        sql.bind(now)
            .push(" AND id_hash IN ")
            .bind_list(chunk.iter().copied());
        found.extend(db.fetch_all::<(String, Option<WorkspaceId>)>(sql).await?);
    }
    Ok(found)
}
