//! Workspaces: one per client of an agency; everything else belongs to exactly one.

use crate::ids::{UserId, WorkspaceId};
use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::storage::{Db, Sql, Tx};

/// A workspace a user belongs to, with their role there.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Membership {
    pub id: WorkspaceId,
    pub slug: String,
    pub name: String,
    pub role: String,
}

/// Why a slug is not acceptable: lower-case letters, digits and dashes, 1 to 40.
pub fn slug_problem(slug: &str) -> Option<&'static str> {
    let ok = !slug.is_empty()
        && slug.len() <= 40
        && slug
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    (!ok).then_some("must be 1 to 40 lower-case letters, digits or dashes")
}

pub use crate::domain::name_problem;

pub async fn of_user(db: &Db, user_id: UserId) -> Result<Vec<Membership>, sqlx::Error> {
    let mut sql = Sql::new(
        "SELECT w.id, w.slug, w.name, m.role FROM memberships m \
         JOIN workspaces w ON w.id = m.workspace_id WHERE m.user_id = ",
    );
    sql.bind(user_id).push(" ORDER BY w.name, w.id");
    db.fetch_all(sql).await
}

pub async fn create_in(
    tx: &mut Tx,
    slug: &str,
    name: &str,
    now: DateTime<Utc>,
) -> Result<WorkspaceId, sqlx::Error> {
    let mut sql = Sql::new("INSERT INTO workspaces (slug, name, created_at) VALUES (");
    sql.bind(slug)
        .push(", ")
        .bind(name.trim())
        .push(", ")
        .bind(now)
        .push(") RETURNING id");
    Ok(WorkspaceId(tx.insert_id(sql).await?))
}

pub async fn create(
    db: &Db,
    slug: &str,
    name: &str,
    now: DateTime<Utc>,
) -> Result<WorkspaceId, sqlx::Error> {
    let mut tx = db.begin().await?;
    let id = create_in(&mut tx, slug, name, now).await?;
    tx.commit().await?;
    Ok(id)
}

/// "This short name is taken" for a unique violation; other errors as they are.
pub fn slug_taken(slug: &str, e: sqlx::Error) -> super::AccountError {
    if crate::storage::is_unique_violation(&e) {
        super::AccountError::field("slug", format!("“{slug}” is taken; choose another"))
    } else {
        e.into()
    }
}

pub async fn by_slug(db: &Db, slug: &str) -> Result<Option<(WorkspaceId, String)>, sqlx::Error> {
    let mut sql = Sql::new("SELECT id, name FROM workspaces WHERE slug = ");
    sql.bind(slug);
    db.fetch_optional(sql).await
}

pub async fn all(db: &Db) -> Result<Vec<(i64, String, String)>, sqlx::Error> {
    db.fetch_all(Sql::new(
        "SELECT id, slug, name FROM workspaces ORDER BY id",
    ))
    .await
}
