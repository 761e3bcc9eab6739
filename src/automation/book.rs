//! A workspace's rules compiled for acting: the matcher and, per rule, what it does. Compiled
//! once per change of the rules and shared; every decision first reads the workspace's rules
//! version in its own transaction, so an edit made on any instance counts from the next message.

use crate::ids::WorkspaceId;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use serde_json::Value;

use super::AutomationError;
use crate::domain::{Kind, Mode, Platform};
use crate::rules::action::{Action, Reach, read_actions};
use crate::rules::condition::Condition;
use crate::rules::store::{self, StoredRule};
use crate::rules::template::Compiled;
use crate::rules::trial::capture_regexes;
use crate::rules::{Matcher, Test};
use crate::storage::{Db, Sql, Tx};

/// What one rule does when it fires.
#[derive(Debug, Clone)]
pub struct Plan {
    pub id: i64,
    pub name: String,
    pub mode: Mode,
    pub delay: (u64, u64),
    pub actions: Vec<Action>,
    pub conditions: Vec<Condition>,
    /// The expressions whose captures replies may use, compiled once.
    pub captures: Vec<regex::Regex>,
    /// Some reply says `greeting` (worth telling the message's language).
    pub greets: bool,
    pub cooldown_hours: u64,
    pub max_per_hour: u64,
    pub once_per_video: bool,
    /// Why the rule, saved before a check it now fails (a reply that writes a NUL), is held
    /// back as unrenderable instead of acting in part.
    pub unreadable: Option<String>,
}

impl Plan {
    pub fn replies(&self) -> bool {
        self.actions
            .iter()
            .any(|a| matches!(a, Action::Reply { .. } | Action::PrivateReply { .. }))
    }

    /// Reads a stored rule back (it was checked in full when saved).
    pub fn read(rule: &StoredRule, definition: &Value) -> Plan {
        let words = |v: &Value| -> Vec<String> {
            v.as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|w| w.as_str().map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default()
        };
        let platforms: Vec<Platform> = words(&definition["scope"]["platforms"])
            .iter()
            .filter_map(|w| w.parse().ok())
            .collect();
        let kinds: Vec<Kind> = words(&definition["applies_to"])
            .iter()
            .filter_map(|w| w.parse().ok())
            .collect();
        let mut problems = Vec::new();
        let reach = Reach {
            platforms: &platforms,
            kinds: &kinds,
        };
        let actions = read_actions(Some(&definition["actions"]), &reach, &mut problems);
        if !problems.is_empty() {
            tracing::warn!(
                rule = rule.id,
                ?problems,
                "a stored rule no longer reads cleanly; it is held back"
            );
        }
        let unreadable = problems
            .first()
            .map(|p| format!("{}: {}", p.field, p.message));
        let conditions = rule.spec(definition).conditions;
        let delay = &definition["delay_seconds"];
        let guards = &definition["safeguards"];
        Plan {
            id: rule.id,
            name: rule.name.clone(),
            mode: definition["mode"]
                .as_str()
                .and_then(|m| m.parse().ok())
                .unwrap_or(Mode::Suggest),
            delay: (
                delay["min"].as_u64().unwrap_or(20),
                delay["max"].as_u64().unwrap_or(90),
            ),
            greets: actions.iter().any(|a| match a {
                Action::Reply { variants, .. } | Action::PrivateReply { variants, .. } => {
                    variants.iter().any(|v| v.contains("greeting"))
                }
                _ => false,
            }),
            actions,
            captures: capture_regexes(&conditions),
            conditions,
            cooldown_hours: guards["cooldown_hours"].as_u64().unwrap_or(24),
            max_per_hour: guards["max_per_hour"].as_u64().unwrap_or(60),
            once_per_video: guards["once_per_video"].as_bool().unwrap_or(true),
            unreadable,
        }
    }
}

/// A workspace's enabled rules, compiled.
pub struct RuleBook {
    pub version: i64,
    pub matcher: Matcher,
    pub plans: HashMap<i64, Plan>,
    /// Every reply variant of every rule, compiled (named by [`variant_name`]).
    pub templates: Compiled,
    /// Some rule asks whether a message is its author's first: worth a query per batch.
    pub needs_first: bool,
}

impl RuleBook {
    pub fn compile(version: i64, rules: &[StoredRule]) -> Result<RuleBook, String> {
        let mut specs = Vec::new();
        let mut plans = HashMap::new();
        let mut templates = Compiled::default();
        for rule in rules.iter().filter(|r| r.enabled) {
            let definition: Value = serde_json::from_str(&rule.definition)
                .map_err(|e| format!("rule {} is stored unreadably: {e}", rule.id))?;
            specs.push(rule.spec(&definition));
            let plan = Plan::read(rule, &definition);
            for (at, action) in plan.actions.iter().enumerate() {
                if let Action::Reply { variants, .. } | Action::PrivateReply { variants, .. } =
                    action
                {
                    for (i, source) in variants.iter().enumerate() {
                        templates.add(variant_name(rule.id, at, i), source.clone())?;
                    }
                }
            }
            plans.insert(rule.id, plan);
        }
        let needs_first = specs
            .iter()
            .any(|s| s.conditions.iter().any(|c| c.test == Test::FirstMessage));
        Ok(RuleBook {
            version,
            matcher: Matcher::new(specs)?,
            plans,
            templates,
            needs_first,
        })
    }
}

/// The name of a compiled reply variant.
pub fn variant_name(rule: i64, action: usize, variant: usize) -> String {
    format!("{rule}/{action}/{variant}")
}

/// The workspace's rules compiled; should they not compile together (each was checked when
/// saved), no rule acts, messages are still stored, and the failure is loud.
fn compile_or_none(
    workspace: WorkspaceId,
    version: i64,
    rules: &[StoredRule],
) -> Result<RuleBook, AutomationError> {
    RuleBook::compile(version, rules).or_else(|e| {
        tracing::error!(%workspace, error = %e, "the workspace's rules do not compile; no rule acts");
        RuleBook::compile(version, &[]).map_err(AutomationError::Uncompilable)
    })
}

/// Where the workspace's automation stands, as one decision sees it.
pub struct Standing {
    pub book: Arc<RuleBook>,
    pub paused: bool,
    pub time_zone: chrono_tz::Tz,
}

/// A workspace's time zone setting; one that no longer parses counts as UTC.
pub fn time_zone(zone: &str) -> chrono_tz::Tz {
    zone.parse().unwrap_or(chrono_tz::UTC)
}

/// The compiled rules of every workspace this instance has seen.
#[derive(Default)]
pub struct RuleBooks {
    books: Mutex<HashMap<WorkspaceId, Arc<RuleBook>>>,
    /// One compile at a time per workspace: batches arriving meanwhile wait for it, not
    /// compile the same rules again.
    compiling: Mutex<HashMap<WorkspaceId, Arc<tokio::sync::Mutex<()>>>>,
}

impl RuleBooks {
    /// Compiles the workspace's rules, if they changed, before its batch goes to an ingest
    /// writer: on a blocking thread, in the batch's own request, so a workspace with heavy
    /// rules waits for them alone and the writers go on storing everyone else's batches. The
    /// writer still checks the version in its transaction (a change in between is compiled
    /// there, within the bounds of `rules::limits`).
    pub async fn prepare(&self, db: &Db, workspace: WorkspaceId) -> Result<(), AutomationError> {
        let mut sql = Sql::new("SELECT rules_version FROM workspaces WHERE id = ");
        sql.bind(workspace);
        let Some((version,)) = db.fetch_optional::<(i64,)>(sql).await? else {
            return Ok(());
        };
        let current = |books: &Self| {
            books
                .cached(workspace)
                .is_some_and(|b| b.version == version)
        };
        if current(self) {
            return Ok(());
        }
        let turn = self
            .compiling
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(workspace)
            .or_default()
            .clone();
        let _turn = turn.lock().await;
        if current(self) {
            return Ok(());
        }
        // The version is read before the rules: a book labelled older than its rules is only
        // compiled again, never taken for newer rules than it holds.
        let rules = store::list(db, workspace).await?;
        let book = tokio::task::spawn_blocking(move || compile_or_none(workspace, version, &rules))
            .await
            .map_err(|e| AutomationError::CompileFailed(e.to_string()))??;
        self.keep(workspace, Arc::new(book));
        Ok(())
    }

    /// Keeps `book` unless a newer one is kept already.
    fn keep(&self, workspace: WorkspaceId, book: Arc<RuleBook>) {
        let mut books = self.lock();
        if books
            .get(&workspace)
            .is_none_or(|b| b.version <= book.version)
        {
            books.insert(workspace, book);
        }
    }

    /// The workspace's rules as of this transaction, compiled anew only when they changed.
    pub async fn current(
        &self,
        tx: &mut Tx,
        workspace: WorkspaceId,
    ) -> Result<Standing, AutomationError> {
        let mut sql = Sql::new(
            "SELECT rules_version, automation_paused, time_zone FROM workspaces WHERE id = ",
        );
        sql.bind(workspace);
        let (version, paused, zone): (i64, bool, String) = tx
            .fetch_optional(sql)
            .await?
            .ok_or(sqlx::Error::RowNotFound)?;
        let time_zone = time_zone(&zone);
        if let Some(book) = self.cached(workspace).filter(|b| b.version == version) {
            return Ok(Standing {
                book,
                paused,
                time_zone,
            });
        }
        let rules = store::list_in(tx, workspace).await?;
        let book = Arc::new(compile_or_none(workspace, version, &rules)?);
        self.keep(workspace, book.clone());
        Ok(Standing {
            book,
            paused,
            time_zone,
        })
    }

    /// The workspace's rules as this instance last compiled them, if it has: whether they
    /// are still current, the caller asks the database.
    pub fn cached(&self, workspace: WorkspaceId) -> Option<Arc<RuleBook>> {
        self.lock().get(&workspace).cloned()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<WorkspaceId, Arc<RuleBook>>> {
        self.books.lock().unwrap_or_else(|e| e.into_inner())
    }
}
