//! API tokens: per workspace, read or read-write, shown once and stored as a digest.

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::secret::{digest, random_hex};
use crate::accounts::audit::{self, Entry, Who};
use crate::domain::Scope;
use crate::ids::{TokenId, WorkspaceId};
use crate::storage::{Db, Sql};

/// Every token starts with this, so a leaked one is easy to recognise (and to scan for).
pub const PREFIX: &str = "ubx_";
const SHOWN_CHARS: usize = 12;

/// A token that authenticated a request.
#[derive(Debug, Clone)]
pub struct TokenInfo {
    pub id: TokenId,
    pub workspace_id: WorkspaceId,
    pub name: String,
    pub scope: Scope,
}

/// A token as listed (never with its secret).
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct TokenRow {
    pub id: TokenId,
    pub name: String,
    pub scope: String,
    pub prefix: String,
    pub created_by: Option<String>,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

pub use crate::domain::name_problem;

/// Creates a token and returns its id and the secret, which is never available again.
pub async fn create(
    db: &Db,
    workspace: WorkspaceId,
    name: &str,
    scope: Scope,
    who: &Who,
    now: DateTime<Utc>,
) -> Result<(TokenId, String), sqlx::Error> {
    let secret = format!("{PREFIX}{}", random_hex(32));
    let mut sql = Sql::new(
        "INSERT INTO api_tokens (workspace_id, name, scope, token_hash, prefix, created_by, created_at) VALUES (",
    );
    sql.bind(workspace)
        .push(", ")
        .bind(name.trim())
        .push(", ")
        .bind(scope.as_str())
        .push(", ")
        .bind(digest(&secret))
        .push(", ")
        .bind(&secret[..SHOWN_CHARS])
        .push(", ")
        .bind(who.user_id)
        .push(", ")
        .bind(now)
        .push(") RETURNING id");
    let mut tx = db.begin().await?;
    let id = tx.insert_id(sql).await?;
    let entry = Entry {
        action: "API token created",
        target: format!("“{}” (#{id})", name.trim()),
        detail: format!("{scope} scope"),
    };
    audit::record(&mut tx, workspace, who, entry, now).await?;
    tx.commit().await?;
    Ok((TokenId(id), secret))
}

#[derive(sqlx::FromRow)]
struct FoundRow {
    id: TokenId,
    workspace_id: WorkspaceId,
    name: String,
    scope: String,
    last_used_at: Option<DateTime<Utc>>,
}

/// The live token with this secret, and when it was last recorded as used.
pub async fn find(
    db: &Db,
    secret: &str,
) -> Result<Option<(TokenInfo, Option<DateTime<Utc>>)>, sqlx::Error> {
    if !secret.starts_with(PREFIX) {
        return Ok(None);
    }
    let mut sql = Sql::new(
        "SELECT id, workspace_id, name, scope, last_used_at FROM api_tokens WHERE token_hash = ",
    );
    sql.bind(digest(secret)).push(" AND revoked_at IS NULL");
    let row: Option<FoundRow> = db.fetch_optional(sql).await?;
    Ok(row.and_then(|r| {
        let scope = r.scope.parse().ok()?;
        Some((
            TokenInfo {
                id: r.id,
                workspace_id: r.workspace_id,
                name: r.name,
                scope,
            },
            r.last_used_at,
        ))
    }))
}

pub async fn touch(db: &Db, id: TokenId, now: DateTime<Utc>) -> Result<(), sqlx::Error> {
    let mut sql = Sql::new("UPDATE api_tokens SET last_used_at = ");
    sql.bind(now).push(" WHERE id = ").bind(id);
    db.execute(sql).await.map(drop)
}

pub async fn list(db: &Db, workspace: WorkspaceId) -> Result<Vec<TokenRow>, sqlx::Error> {
    let mut sql = Sql::new(
        "SELECT t.id, t.name, t.scope, t.prefix, u.email AS created_by, t.created_at, \
         t.last_used_at, t.revoked_at FROM api_tokens t LEFT JOIN users u ON u.id = t.created_by \
         WHERE t.workspace_id = ",
    );
    sql.bind(workspace).push(" ORDER BY t.id DESC");
    db.fetch_all(sql).await
}

/// Revokes a live token of the workspace; its name if it was live.
pub async fn revoke(
    db: &Db,
    workspace: WorkspaceId,
    id: TokenId,
    who: &Who,
    now: DateTime<Utc>,
) -> Result<Option<String>, sqlx::Error> {
    let mut tx = db.begin().await?;
    let mut sql = Sql::new("UPDATE api_tokens SET revoked_at = ");
    sql.bind(now)
        .push(" WHERE id = ")
        .bind(id)
        .push(" AND workspace_id = ")
        .bind(workspace)
        .push(" AND revoked_at IS NULL RETURNING name");
    let Some((name,)): Option<(String,)> = tx.fetch_optional(sql).await? else {
        return Ok(None);
    };
    let entry = Entry {
        action: "API token revoked",
        target: format!("“{name}” (#{id})"),
        detail: String::new(),
    };
    audit::record(&mut tx, workspace, who, entry, now).await?;
    tx.commit().await?;
    Ok(Some(name))
}
