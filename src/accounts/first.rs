//! The first account, made through the setup link: a server administrator who owns the
//! default workspace, created only while no account exists.

use crate::ids::{UserId, WorkspaceId};
use chrono::{DateTime, Utc};

use super::audit::Who;
use super::{AccountError, members, users};
use crate::domain::Role;
use crate::storage::{Backend, Db, Sql};

/// The default workspace every server starts with (made by the first migration).
const DEFAULT_WORKSPACE: WorkspaceId = WorkspaceId(1);

/// Creates the first account and returns its id, or `None` when an account exists already.
/// Two requests at once (on one instance or several) cannot both succeed: SQLite has one
/// writer, and on PostgreSQL the users table is locked against inserts while this checks.
pub async fn add_first_admin(
    db: &Db,
    email: &str,
    password_hash: &str,
    now: DateTime<Utc>,
) -> Result<Option<UserId>, AccountError> {
    let mut tx = db.begin().await?;
    if tx.backend() == Backend::Postgres {
        tx.execute(Sql::new("LOCK TABLE users IN SHARE ROW EXCLUSIVE MODE"))
            .await?;
    }
    let (existing,): (i64,) = tx
        .fetch_optional(Sql::new("SELECT COUNT(*) FROM users"))
        .await?
        .unwrap_or((0,));
    if existing > 0 {
        return Ok(None);
    }
    let id = users::add_in(&mut tx, email, password_hash, true, now).await?;
    let who = Who {
        user_id: Some(id),
        label: "setup link".into(),
    };
    members::add_in(
        &mut tx,
        DEFAULT_WORKSPACE,
        id,
        email,
        Role::Owner,
        &who,
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(Some(id))
}
