//! A workspace's rules compiled for acting: the matcher and, per rule, what it does. Compiled
//! once per change of the rules and shared; every decision first reads the workspace's rules
//! version in its own transaction, so an edit made on any instance counts from the next message.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use serde_json::Value;

use crate::domain::{Kind, Mode, Platform};
use crate::rules::action::{Action, Reach, read_actions};
use crate::rules::condition::Condition;
use crate::rules::store::{self, StoredRule};
use crate::rules::template::Compiled;
use crate::rules::trial::capture_regexes;
use crate::rules::{Matcher, Test};
use crate::storage::{Sql, Tx};

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
                "a stored rule no longer reads cleanly"
            );
        }
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
    books: Mutex<HashMap<i64, Arc<RuleBook>>>,
}

impl RuleBooks {
    /// The workspace's rules as of this transaction, compiled anew only when they changed.
    pub async fn current(&self, tx: &mut Tx, workspace: i64) -> Result<Standing, sqlx::Error> {
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
        let book = match RuleBook::compile(version, &rules) {
            Ok(book) => book,
            Err(e) => {
                // Rules are checked one by one when saved; should they not compile together,
                // messages are still stored, and the failure is loud.
                tracing::error!(workspace, error = %e, "the workspace's rules do not compile; no rule acts");
                RuleBook::compile(version, &[]).map_err(sqlx::Error::Protocol)?
            }
        };
        let book = Arc::new(book);
        self.lock().insert(workspace, book.clone());
        Ok(Standing {
            book,
            paused,
            time_zone,
        })
    }

    /// The workspace's rules as this instance last compiled them, if it has: whether they
    /// are still current, the caller asks the database.
    pub fn cached(&self, workspace: i64) -> Option<Arc<RuleBook>> {
        self.lock().get(&workspace).cloned()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<i64, Arc<RuleBook>>> {
        self.books.lock().unwrap_or_else(|e| e.into_inner())
    }
}
