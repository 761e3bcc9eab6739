//! User accounts: an email (lower-cased, unique) and an argon2id password hash.

use crate::ids::UserId;
use chrono::{DateTime, Utc};

use crate::storage::{Db, Sql, Tx};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct User {
    pub id: UserId,
    pub email: String,
    pub password_hash: String,
    pub is_admin: bool,
}

/// The email as stored (trimmed, lower-case), or why it is not an email address.
pub fn normalize_email(raw: &str) -> Result<String, &'static str> {
    let email = raw.trim().to_lowercase();
    let Some((local, domain)) = email.split_once('@') else {
        return Err("must be an email address (name@example.com)");
    };
    if local.is_empty() || domain.is_empty() || domain.contains('@') || !domain.contains('.') {
        return Err("must be an email address (name@example.com)");
    }
    if email.len() > 254 {
        return Err("must be at most 254 characters");
    }
    if email.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err("must not contain spaces or control characters");
    }
    Ok(email)
}

pub async fn add(
    db: &Db,
    email: &str,
    password_hash: &str,
    is_admin: bool,
    now: DateTime<Utc>,
) -> Result<UserId, sqlx::Error> {
    let mut tx = db.begin().await?;
    let id = add_in(&mut tx, email, password_hash, is_admin, now).await?;
    tx.commit().await?;
    Ok(id)
}

pub async fn add_in(
    tx: &mut Tx,
    email: &str,
    password_hash: &str,
    is_admin: bool,
    now: DateTime<Utc>,
) -> Result<UserId, sqlx::Error> {
    let mut sql = Sql::new(
        "INSERT INTO users (email, password_hash, is_admin, created_at, updated_at) VALUES (",
    );
    sql.bind(email)
        .push(", ")
        .bind(password_hash)
        .push(", ")
        .bind(is_admin)
        .push(", ")
        .bind(now)
        .push(", ")
        .bind(now)
        .push(") RETURNING id");
    Ok(UserId(tx.insert_id(sql).await?))
}

const COLUMNS: &str = "SELECT id, email, password_hash, is_admin FROM users WHERE ";

pub async fn by_email(db: &Db, email: &str) -> Result<Option<User>, sqlx::Error> {
    let mut sql = Sql::new(format!("{COLUMNS}email = "));
    sql.bind(email);
    db.fetch_optional(sql).await
}

pub async fn by_id(db: &Db, id: UserId) -> Result<Option<User>, sqlx::Error> {
    let mut sql = Sql::new(format!("{COLUMNS}id = "));
    sql.bind(id);
    db.fetch_optional(sql).await
}

pub async fn set_password(
    db: &Db,
    id: UserId,
    password_hash: &str,
    now: DateTime<Utc>,
) -> Result<bool, sqlx::Error> {
    let mut sql = Sql::new("UPDATE users SET password_hash = ");
    sql.bind(password_hash)
        .push(", updated_at = ")
        .bind(now)
        .push(" WHERE id = ")
        .bind(id);
    Ok(db.execute(sql).await? == 1)
}

pub async fn count(db: &Db) -> Result<i64, sqlx::Error> {
    let (n,): (i64,) = db
        .fetch_optional(Sql::new("SELECT COUNT(*) FROM users"))
        .await?
        .unwrap_or((0,));
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_normalised_or_refused() {
        assert_eq!(
            normalize_email("  Ana@Example.COM "),
            Ok("ana@example.com".into())
        );
        for bad in [
            "",
            "ana",
            "@example.com",
            "ana@",
            "ana@localhost",
            "a b@example.com",
            "a@b@c.d",
        ] {
            assert!(normalize_email(bad).is_err(), "{bad}");
        }
    }
}
