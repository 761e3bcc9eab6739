//! What one workspace's rules may cost, checked when a rule is saved: conditions per rule, the
//! keywords, phrases and expressions of all its rules together, and how long they take to
//! compile into one matcher. Compiling happens off the ingest writers (`automation/book.rs`);
//! these bounds keep it short for the workspace itself.

use std::time::Duration;

use super::condition::{Condition, Test, read_conditions};
use super::definition::Draft;
use super::matcher::{Matcher, RuleSpec};
use super::store;
use crate::ids::WorkspaceId;
use crate::problem::Problem;
use crate::storage::Db;

pub use super::condition::MAX_CONDITIONS;
/// Most bytes of keywords, phrases and expressions in all of a workspace's rules together
/// (enabled or not, so switching one on never passes it).
pub const MAX_WORKSPACE_EXPRESSION_BYTES: usize = 64 * 1024;
/// Longest a workspace's rules may take to compile into one matcher.
pub const MAX_COMPILE: Duration = Duration::from_secs(2);

/// The bytes of keywords, phrases and expressions in `conditions`.
pub fn expression_bytes(conditions: &[Condition]) -> usize {
    conditions
        .iter()
        .map(|c| match &c.test {
            Test::Keywords { any, all } => any.iter().chain(all).map(String::len).sum(),
            Test::Phrase(p) => p.len(),
            Test::Regex { pattern, .. } => pattern.len(),
            _ => 0,
        })
        .sum()
}

/// Whether the workspace's rules, with `draft` saved (in place of rule `replacing`), stay
/// within the bounds; the problems name `conditions` and the bound passed.
pub async fn check_workspace(
    db: &Db,
    workspace: WorkspaceId,
    replacing: Option<i64>,
    draft: &Draft,
) -> Result<Result<(), Vec<Problem>>, sqlx::Error> {
    let mut problems = Vec::new();
    let mine = read_conditions(&draft.definition["conditions"], "conditions", &mut problems);
    let mut specs = vec![RuleSpec::new(0, mine)];
    for rule in store::list(db, workspace).await? {
        if Some(rule.id) == replacing {
            continue;
        }
        let Ok(definition) = serde_json::from_str(&rule.definition) else {
            continue;
        };
        specs.push(RuleSpec {
            enabled: true,
            ..rule.spec(&definition)
        });
    }
    let bytes: usize = specs.iter().map(|s| expression_bytes(&s.conditions)).sum();
    if bytes > MAX_WORKSPACE_EXPRESSION_BYTES {
        return Ok(Err(vec![Problem::new(
            "conditions",
            format!(
                "would bring the workspace's keywords, phrases and expressions to {bytes} bytes; \
                 at most {MAX_WORKSPACE_EXPRESSION_BYTES} in all its rules together"
            ),
        )]));
    }
    Ok(compiles_in_time(specs)
        .await
        .map_err(|e| vec![Problem::new("conditions", e)]))
}

/// Compiles `specs` into one matcher on a blocking thread, waiting at most [`MAX_COMPILE`].
async fn compiles_in_time(specs: Vec<RuleSpec>) -> Result<(), String> {
    compiles_within(specs, MAX_COMPILE).await
}

async fn compiles_within(specs: Vec<RuleSpec>, limit: Duration) -> Result<(), String> {
    let compiling = tokio::task::spawn_blocking(move || Matcher::new(specs).map(|_| ()));
    match tokio::time::timeout(limit, compiling).await {
        Ok(Ok(compiled)) => compiled
            .map_err(|e| format!("cannot be compiled with the workspace's other rules: {e}")),
        Ok(Err(e)) => Err(format!("cannot be compiled: {e}")),
        Err(_) => Err(format!(
            "would make the workspace's rules take over {} s to compile together; use fewer \
             or simpler expressions",
            limit.as_secs_f64()
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::condition::{Condition, Test};

    /// `rules` rules of [`MAX_CONDITIONS`] expressions each.
    fn heavy(rules: i64) -> Vec<RuleSpec> {
        (0..rules)
            .map(|id| {
                let conditions = (0..MAX_CONDITIONS)
                    .map(|i| Condition {
                        test: Test::Regex {
                            pattern: format!(
                                r"(bestel|order|retour) [a-z]{{2,{}}}_{id}_{i}",
                                3 + i
                            ),
                            case_sensitive: false,
                        },
                        negate: false,
                    })
                    .collect();
                RuleSpec::new(id, conditions)
            })
            .collect()
    }

    #[tokio::test]
    async fn a_rule_book_that_compiles_too_slowly_is_refused_with_the_bound() {
        let refused = compiles_within(heavy(10), Duration::from_millis(1)).await;
        let reason = refused.expect_err("compiling 200 expressions took under 1 ms");
        assert!(reason.contains("to compile together"), "{reason}");
        assert!(reason.contains("0.001 s"), "{reason}");
        compiles_within(heavy(2), Duration::from_secs(60))
            .await
            .expect("two rules compile within a minute");
    }
}
