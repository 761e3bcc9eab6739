//! What each rule did: how often it matched, acted, waited, was rejected, and which safeguard
//! stopped it how often, with the last time it fired.

use crate::ids::WorkspaceId;
use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::domain::RunOutcome;
use crate::storage::{Db, Sql, sized_chunks};

#[derive(Debug, Clone, Default, Serialize)]
pub struct RuleStats {
    pub matched: i64,
    /// Done on its own, or approved by a person.
    pub acted: i64,
    /// Due later, or waiting for approval.
    pub waiting: i64,
    pub dry_run: i64,
    pub rejected: i64,
    /// Stopped by a safeguard, by its name.
    pub suppressed: BTreeMap<String, i64>,
    /// Due, but no longer sensible to do (paused, rule off, a person answered…).
    pub skipped: BTreeMap<String, i64>,
    pub last_fired: Option<DateTime<Utc>>,
}

/// Rule, outcome, reason, how many, the last time.
type Tally = (i64, RunOutcome, Option<String>, i64, DateTime<Utc>);

/// For each of the workspace's `rules` (read through the runs' rule index, not the whole table).
pub async fn by_rule(
    db: &Db,
    workspace: WorkspaceId,
    rules: &[i64],
) -> Result<HashMap<i64, RuleStats>, sqlx::Error> {
    let mut rows: Vec<Tally> = Vec::new();
    for chunk in sized_chunks(rules) {
        let mut sql = Sql::new(
            "SELECT rule_id, outcome, reason, COUNT(*), MAX(decided_at) FROM rule_runs WHERE rule_id IN ",
        );
        sql.bind_list(chunk.iter().copied())
            .push(" AND workspace_id = ")
            .bind(workspace)
            .push(" GROUP BY rule_id, outcome, reason");
        rows.extend(db.fetch_all::<Tally>(sql).await?);
    }
    let mut stats: HashMap<i64, RuleStats> = HashMap::new();
    for (rule, outcome, reason, count, last) in rows {
        let s = stats.entry(rule).or_default();
        s.matched += count;
        s.last_fired = s.last_fired.max(Some(last));
        // Reasons on acted runs are notes ("hide: waiting…"); only the first word names a
        // safeguard or a skip.
        let reason = reason
            .unwrap_or_default()
            .split(':')
            .next()
            .unwrap_or_default()
            .to_owned();
        match outcome {
            RunOutcome::Done | RunOutcome::Approved => s.acted += count,
            RunOutcome::Due | RunOutcome::Suggested => s.waiting += count,
            RunOutcome::DryRun => s.dry_run += count,
            RunOutcome::Rejected => s.rejected += count,
            RunOutcome::Suppressed => *s.suppressed.entry(reason).or_default() += count,
            RunOutcome::Skipped => *s.skipped.entry(reason).or_default() += count,
        }
    }
    Ok(stats)
}
