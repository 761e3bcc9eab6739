//! Password hashing with argon2id (the crate's defaults: 19 MiB, 2 passes, OWASP's minimum).
//! Hashing takes tens of milliseconds of CPU, so it runs on the blocking pool.

use std::sync::OnceLock;

use anyhow::Context;
use argon2::password_hash::SaltString;
use argon2::{Argon2, PasswordHash, PasswordHasher, PasswordVerifier};
use tokio::sync::Semaphore;

use crate::config::Secret;

pub const MIN_CHARS: usize = 10;
pub const MAX_BYTES: usize = 1024;

/// Why a new password is not acceptable, if it is not.
pub fn weakness(password: &str) -> Option<String> {
    if password.chars().count() < MIN_CHARS {
        return Some(format!("must be at least {MIN_CHARS} characters long"));
    }
    if password.len() > MAX_BYTES {
        return Some(format!("must be at most {MAX_BYTES} bytes long"));
    }
    None
}

fn hash_now(password: &str) -> anyhow::Result<String> {
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt).map_err(|e| anyhow::anyhow!("no random salt: {e}"))?;
    let salt = SaltString::encode_b64(&salt).map_err(|e| anyhow::anyhow!("salt: {e}"))?;
    let hash = Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map_err(|e| anyhow::anyhow!("argon2: {e}"))?;
    Ok(hash.to_string())
}

/// At most one hashing per core at a time: each takes 19 MiB, and a flood of sign-ins must
/// queue rather than exhaust memory or starve other blocking work.
fn hashing_slots() -> &'static Semaphore {
    static SLOTS: OnceLock<Semaphore> = OnceLock::new();
    SLOTS.get_or_init(|| {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        Semaphore::new(cores)
    })
}

pub async fn hash(password: &Secret) -> anyhow::Result<String> {
    let password = password.clone();
    let _slot = hashing_slots().acquire().await?;
    tokio::task::spawn_blocking(move || hash_now(password.expose()))
        .await
        .context("password hashing stopped")?
}

/// Checks `password` against `stored`. With no stored hash (no such user) it still spends
/// the time of one verification, so response times do not reveal which emails exist.
pub async fn verify(password: &Secret, stored: Option<String>) -> bool {
    let password = password.clone();
    let Ok(_slot) = hashing_slots().acquire().await else {
        return false;
    };
    tokio::task::spawn_blocking(move || {
        let stored = stored.unwrap_or_else(|| decoy().to_owned());
        let Ok(parsed) = PasswordHash::new(&stored) else {
            return false;
        };
        Argon2::default()
            .verify_password(password.expose().as_bytes(), &parsed)
            .is_ok()
    })
    .await
    .unwrap_or(false)
}

fn decoy() -> &'static str {
    static DECOY: OnceLock<String> = OnceLock::new();
    DECOY.get_or_init(|| {
        hash_now(&crate::auth::secret::random_hex(16)).expect("hashing a decoy password")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hashes_verify_and_differ() {
        let pw = Secret::new("correct horse battery");
        let h1 = hash(&pw).await.unwrap();
        let h2 = hash(&pw).await.unwrap();
        assert!(h1.starts_with("$argon2id$"));
        assert_ne!(h1, h2, "salted");
        assert!(verify(&pw, Some(h1.clone())).await);
        assert!(!verify(&Secret::new("wrong horse battery"), Some(h1)).await);
        assert!(!verify(&pw, None).await);
        assert!(weakness("short").is_some());
        assert!(weakness("long enough pass").is_none());
    }
}
