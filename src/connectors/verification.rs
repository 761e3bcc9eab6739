//! A channel receives only what its account's platform proved it may: when credentials are
//! saved the platform is asked whose token it is (`identity`), and the answer is stored on the
//! channel. Webhooks and polls go to `verified` channels only; a platform that could not be
//! asked leaves the channel `pending`, asked again by `verify_pending`.

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

use super::calls::{Outcome, Platforms};
use super::identity::{Identity, whose};
use crate::domain::{Platform, Verification};
use crate::ids::WorkspaceId;
use crate::storage::{Db, Sql, Tx};

/// How long a pending channel waits before it is asked about again.
const ASK_AGAIN: chrono::Duration = chrono::Duration::seconds(60);

/// What the platform said of a token claimed for an account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Checked {
    /// No token to ask with, or a platform without one (custom).
    NothingToAsk,
    /// The token answers for the claimed account.
    Verified(Identity),
    /// The token answers for another account.
    Mismatch(Identity),
    /// The platform refused the token (invalid, revoked, no access to the account).
    Refused(String),
    /// The platform could not be asked now (down, slow, rate limited).
    Unanswered(String),
}

impl Checked {
    /// Why the claim is refused for good, as a sentence for the person who made it; `None`
    /// when the channel may be saved.
    pub fn refusal(&self, platform: Platform, claimed: &str) -> Option<String> {
        let name = platform.label();
        match self {
            Checked::Mismatch(who) => Some(format!(
                "belongs to {name} account {}{}, not to the account claimed ({claimed}); \
                 connect that account, or use a token of {claimed}",
                who.account,
                who.name
                    .as_deref()
                    .map(|n| format!(" ({n})"))
                    .unwrap_or_default()
            )),
            Checked::Refused(reason) => Some(format!(
                "was refused by {name} for account {claimed}: {reason}"
            )),
            _ => None,
        }
    }
}

/// Asks the platform whose `credentials`' token is, for a channel of `platform` claiming
/// the account `claimed`.
pub async fn check(
    platforms: &Platforms,
    platform: Platform,
    claimed: &str,
    credentials: &Map<String, Value>,
) -> Checked {
    match whose(platforms, platform, claimed, credentials).await {
        Ok(None) => Checked::NothingToAsk,
        Ok(Some(who)) if who.account == claimed => Checked::Verified(who),
        Ok(Some(who)) => Checked::Mismatch(who),
        Err(Outcome::Refused { reason, .. }) => Checked::Refused(reason),
        Err(other) => Checked::Unanswered(other.reason().unwrap_or("no answer").to_owned()),
    }
}

/// Records on channel `id` what `checked` says of `checked_token` (the token that was asked
/// about). Credentials changed meanwhile leave the channel pending, to be asked again.
pub async fn record(
    tx: &mut Tx,
    id: i64,
    checked: &Checked,
    checked_token: Option<&str>,
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    let mut find = Sql::new("SELECT credentials FROM channels WHERE id = ");
    find.bind(id);
    let Some((stored,)) = tx.fetch_optional::<(String,)>(find).await? else {
        return Ok(());
    };
    let stored: Map<String, Value> = serde_json::from_str(&stored).unwrap_or_default();
    let token_now = stored.get("access_token").and_then(Value::as_str);
    let (state, who, problem) = if token_now != checked_token {
        let state = if token_now.is_some() {
            Verification::Pending
        } else {
            Verification::Unverified
        };
        (
            state,
            None,
            Some("the credentials changed while they were checked".to_owned()),
        )
    } else {
        match checked {
            Checked::NothingToAsk => (Verification::Unverified, None, None),
            Checked::Verified(who) => (Verification::Verified, Some(who), None),
            Checked::Mismatch(who) => (
                Verification::Refused,
                None,
                Some(format!("the token belongs to account {}", who.account)),
            ),
            Checked::Refused(reason) => (Verification::Refused, None, Some(reason.clone())),
            Checked::Unanswered(reason) => (
                Verification::Pending,
                None,
                Some(format!("the platform could not be asked yet: {reason}")),
            ),
        }
    };
    let mut sql = Sql::new("UPDATE channels SET verification = ");
    sql.bind(state)
        .push(", verified_account = ")
        .bind(who.map(|w| w.account.clone()))
        .push(", verified_name = ")
        .bind(who.and_then(|w| w.name.clone()))
        .push(", verified_via = ")
        .bind(who.map(|w| w.via.to_owned()))
        .push(", verified_at = ")
        .bind(who.map(|_| now))
        .push(", verification_problem = ")
        .bind(problem)
        .push(", verification_checked_at = ")
        .bind((state != Verification::Unverified).then_some(now))
        .push(" WHERE id = ")
        .bind(id);
    tx.execute(sql).await?;
    Ok(())
}

/// Asks the platforms about every pending channel not asked in the last minute; how many
/// became verified (their webhooks' routes change).
pub async fn verify_pending(db: &Db, platforms: &Platforms) -> Result<usize, sqlx::Error> {
    let now = crate::clock::now();
    let mut sql = Sql::new(
        "SELECT id, platform, platform_id, credentials FROM channels WHERE verification = ",
    );
    sql.bind(Verification::Pending)
        .push(" AND (verification_checked_at IS NULL OR verification_checked_at < ")
        .bind(now - ASK_AGAIN)
        .push(") ORDER BY id LIMIT 100");
    let due: Vec<(i64, Platform, String, String)> = db.fetch_all(sql).await?;
    let mut verified = 0;
    for (id, platform, platform_id, credentials) in due {
        let credentials: Map<String, Value> =
            serde_json::from_str(&credentials).unwrap_or_default();
        let checked = check(platforms, platform, &platform_id, &credentials).await;
        let token = credentials.get("access_token").and_then(Value::as_str);
        let mut tx = db.begin().await?;
        record(&mut tx, id, &checked, token, crate::clock::now()).await?;
        tx.commit().await?;
        match &checked {
            Checked::Verified(_) => verified += 1,
            Checked::Mismatch(_) | Checked::Refused(_) => {
                tracing::info!(channel = id, "a channel's token does not prove its account")
            }
            _ => {}
        }
    }
    Ok(verified)
}

/// What the platform said of the credentials a change leaves a channel with.
pub struct Asked {
    pub platform: Platform,
    pub claimed: String,
    /// The token asked about (`None`: the change leaves none).
    pub token: Option<String>,
    pub checked: Checked,
}

impl Asked {
    /// Why the change is refused, for the `credentials.access_token` field.
    pub fn refusal(&self) -> Option<String> {
        self.checked.refusal(self.platform, &self.claimed)
    }
}

/// Asks the platform about the credentials `change` leaves channel `id` (or, without `id`,
/// the channel it connects in `workspace`) with; `None` when it does not touch credentials
/// or there is no such channel. Called before any transaction: no lock is held across it.
pub async fn ask_about_change(
    db: &Db,
    platforms: &Platforms,
    workspace: WorkspaceId,
    id: Option<i64>,
    change: &super::channels::Change,
) -> Result<Option<Asked>, sqlx::Error> {
    if change.credentials.is_empty() {
        return Ok(None);
    }
    let mut find =
        Sql::new("SELECT platform, platform_id, credentials FROM channels WHERE workspace_id = ");
    find.bind(workspace);
    let (platform, claimed) = match (id, change.platform, change.platform_id.as_deref()) {
        (Some(id), _, _) => {
            find.push(" AND id = ").bind(id);
            match db
                .fetch_optional::<(Platform, String, String)>(find)
                .await?
            {
                Some((platform, claimed, stored)) => {
                    return Ok(Some(
                        ask(platforms, platform, claimed, &stored, change).await,
                    ));
                }
                None => return Ok(None),
            }
        }
        (None, Some(platform), Some(claimed)) => (platform, claimed.to_owned()),
        _ => return Ok(None),
    };
    find.push(" AND platform = ")
        .bind(platform)
        .push(" AND platform_id = ")
        .bind(claimed.as_str());
    let stored = db
        .fetch_optional::<(Platform, String, String)>(find)
        .await?
        .map_or_else(|| "{}".to_owned(), |(_, _, stored)| stored);
    Ok(Some(
        ask(platforms, platform, claimed, &stored, change).await,
    ))
}

async fn ask(
    platforms: &Platforms,
    platform: Platform,
    claimed: String,
    stored: &str,
    change: &super::channels::Change,
) -> Asked {
    let credentials = super::channels::merged_map(stored, &change.credentials);
    let checked = check(platforms, platform, &claimed, &credentials).await;
    Asked {
        platform,
        token: credentials
            .get("access_token")
            .and_then(Value::as_str)
            .map(str::to_owned),
        claimed,
        checked,
    }
}

/// Asks about pending channels a little after start and then every `every`, until `stop`
/// turns true; a channel that became verified moves the channels' count (its routes change).
pub async fn work(
    db: Db,
    platforms: std::sync::Arc<Platforms>,
    live: std::sync::Arc<crate::live::Live>,
    every: std::time::Duration,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    let mut at = tokio::time::Instant::now() + std::time::Duration::from_secs(1);
    loop {
        tokio::select! {
            _ = tokio::time::sleep_until(at) => {}
            _ = stop.changed() => return,
        }
        if *stop.borrow() {
            return;
        }
        match verify_pending(&db, &platforms).await {
            Ok(0) => {}
            Ok(_) => live.channels_changed(),
            Err(e) => tracing::warn!(error = %e, "cannot verify the pending channels"),
        }
        at = tokio::time::Instant::now() + every;
    }
}
