//! Which workspaces a platform's account delivers to (those whose token the platform said is
//! the account's: `verification`): every webhook asks, so the answers are
//! kept in memory. An answer is kept with the channels' count it was read at
//! ([`ChannelsEpoch`]), which any instance moves when it connects, changes or removes a
//! channel, and for a few seconds at most (should a change go unheard). Only accounts some
//! workspace connected are kept: one connected later is found at once.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::domain::{Platform, Verification};
use crate::ids::WorkspaceId;
use crate::live::ChannelsEpoch;
use crate::storage::{Db, Sql, sized_chunks};

/// How long an answer is trusted without the count moving.
const FRESH: Duration = Duration::from_secs(5);

/// Accounts kept at most; when full, the memory starts over.
const MAX_ACCOUNTS: usize = 10_000;

type Known = HashMap<(Platform, String), (Vec<WorkspaceId>, Instant)>;

pub struct Routes {
    epoch: ChannelsEpoch,
    /// The count the answers were read at, and the answers.
    known: Mutex<(u64, Known)>,
}

impl Routes {
    pub fn new(epoch: ChannelsEpoch) -> Routes {
        Routes {
            known: Mutex::new((epoch.get(), HashMap::new())),
            epoch,
        }
    }

    /// The workspaces that connected each of `accounts` (a Page can be connected in several);
    /// accounts no workspace connected are left out.
    pub async fn workspaces_for(
        &self,
        db: &Db,
        platform: Platform,
        accounts: &[&str],
    ) -> Result<HashMap<String, Vec<WorkspaceId>>, sqlx::Error> {
        let epoch = self.epoch.get();
        let mut found = HashMap::new();
        let mut ask = Vec::new();
        {
            let mut known = self.lock();
            if known.0 != epoch {
                *known = (epoch, HashMap::new());
            }
            let now = Instant::now();
            for &account in accounts {
                match known.1.get(&(platform, account.to_owned())) {
                    Some((workspaces, at)) if now.duration_since(*at) < FRESH => {
                        found.insert(account.to_owned(), workspaces.clone());
                    }
                    _ => ask.push(account),
                }
            }
        }
        // A delivery names an account once per change: ask once per account.
        ask.sort_unstable();
        ask.dedup();
        if ask.is_empty() {
            return Ok(found);
        }
        let read = read(db, platform, &ask).await?;
        let mut known = self.lock();
        // A channel changed while this was read: the answer may already be out of date.
        if known.0 == epoch && self.epoch.get() == epoch {
            let now = Instant::now();
            for (account, workspaces) in &read {
                if known.1.len() >= MAX_ACCOUNTS {
                    known.1.clear();
                }
                known
                    .1
                    .insert((platform, account.clone()), (workspaces.clone(), now));
            }
        }
        found.extend(read);
        Ok(found)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, (u64, Known)> {
        self.known.lock().unwrap_or_else(|e| e.into_inner())
    }
}

async fn read(
    db: &Db,
    platform: Platform,
    accounts: &[&str],
) -> Result<HashMap<String, Vec<WorkspaceId>>, sqlx::Error> {
    let mut found: HashMap<String, Vec<WorkspaceId>> = HashMap::new();
    for chunk in sized_chunks(accounts) {
        // Only workspaces whose token the platform said is the account's: claiming an
        // account's id proves nothing.
        let mut sql =
            Sql::new("SELECT platform_id, workspace_id FROM channels WHERE verification = ");
        sql.bind(Verification::Verified)
            .push(" AND verified_account = platform_id AND platform = ")
            .bind(platform)
            .push(" AND platform_id IN ")
            .bind_list(chunk.iter().copied())
            .push(" ORDER BY workspace_id");
        for (account, workspace) in db.fetch_all::<(String, WorkspaceId)>(sql).await? {
            let workspaces = found.entry(account).or_default();
            if !workspaces.contains(&workspace) {
                workspaces.push(workspace);
            }
        }
    }
    Ok(found)
}
