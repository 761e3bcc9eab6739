//! Rules in the database: each change in the caller's transaction, with its audit entry.

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::action::Action;
use super::condition::read_conditions;
use super::definition::Draft;
use super::matcher::RuleSpec;
use crate::accounts::audit::{self, Entry, Who};
use crate::ids::{UserId, WorkspaceId};
use crate::storage::{Arg, Db, Sql, Tx};

/// Rules are numbered in steps, so that one can be put between two without renumbering.
pub const POSITION_STEP: i64 = 10;

#[derive(Debug, sqlx::FromRow)]
pub struct StoredRule {
    pub id: i64,
    pub name: String,
    pub enabled: bool,
    pub position: i64,
    pub definition: String,
    /// Why unibox switched it off itself (a platform's warning), for the page.
    pub paused_reason: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl StoredRule {
    /// The rule as the API shows it.
    pub fn to_json(&self) -> Value {
        let mut rule =
            serde_json::from_str::<Value>(&self.definition).unwrap_or_else(|_| json!({}));
        let warnings = warnings(&rule);
        if let Some(obj) = rule.as_object_mut() {
            obj.insert("id".into(), json!(self.id));
            obj.insert("name".into(), json!(self.name));
            obj.insert("enabled".into(), json!(self.enabled));
            obj.insert("position".into(), json!(self.position));
            obj.insert("created_at".into(), json!(self.created_at));
            obj.insert("updated_at".into(), json!(self.updated_at));
            obj.insert("warnings".into(), json!(warnings));
            obj.insert("paused_reason".into(), json!(self.paused_reason));
        }
        rule
    }

    /// The rule as stored, read back for matching (rules are checked before they are stored).
    pub fn spec(&self, definition: &Value) -> RuleSpec {
        fn parsed<T: std::str::FromStr>(v: &Value) -> Vec<T> {
            let words = v.as_array().map(Vec::as_slice).unwrap_or_default();
            words
                .iter()
                .filter_map(|w| w.as_str()?.parse().ok())
                .collect()
        }
        let ids = |v: &Value| {
            let ids = v.as_array().map(Vec::as_slice).unwrap_or_default();
            ids.iter().filter_map(Value::as_i64).collect()
        };
        let mut problems = Vec::new();
        let conditions = read_conditions(&definition["conditions"], "conditions", &mut problems);
        RuleSpec {
            position: self.position,
            enabled: self.enabled,
            applies_to: parsed(&definition["applies_to"]),
            platforms: parsed(&definition["scope"]["platforms"]),
            channels: ids(&definition["scope"]["channels"]),
            videos: ids(&definition["scope"]["videos"]),
            keep_going: definition["continue"].as_bool().unwrap_or(false),
            ..RuleSpec::new(self.id, conditions)
        }
    }
}

/// What the editor points out without refusing it.
fn warnings(rule: &Value) -> Vec<String> {
    let mut out = Vec::new();
    let actions = rule["actions"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default();
    for (i, action) in actions.iter().enumerate() {
        if action["type"] == "reply" && action["variants"].as_array().is_some_and(|v| v.len() == 1)
        {
            out.push(format!(
                "actions[{i}]: one reply text for every message; platforms flag identical automated replies as spam, so add variants"
            ));
        }
    }
    out
}

const COLUMNS: &str = "SELECT id, name, enabled, position, definition, paused_reason, created_at, updated_at FROM rules";

pub async fn list(db: &Db, workspace: WorkspaceId) -> Result<Vec<StoredRule>, sqlx::Error> {
    let mut sql = Sql::new(COLUMNS);
    sql.push(" WHERE workspace_id = ")
        .bind(workspace)
        .push(" ORDER BY position, id");
    db.fetch_all(sql).await
}

/// The workspace's rules as the transaction sees them.
pub async fn list_in(tx: &mut Tx, workspace: WorkspaceId) -> Result<Vec<StoredRule>, sqlx::Error> {
    let mut sql = Sql::new(COLUMNS);
    sql.push(" WHERE workspace_id = ")
        .bind(workspace)
        .push(" ORDER BY position, id");
    tx.fetch_all(sql).await
}

pub async fn get(
    db: &Db,
    workspace: WorkspaceId,
    id: i64,
) -> Result<Option<StoredRule>, sqlx::Error> {
    let mut sql = Sql::new(COLUMNS);
    sql.push(" WHERE workspace_id = ")
        .bind(workspace)
        .push(" AND id = ")
        .bind(id);
    db.fetch_optional(sql).await
}

pub async fn create(
    tx: &mut Tx,
    workspace: WorkspaceId,
    draft: &Draft,
    who: &Who,
    now: DateTime<Utc>,
) -> Result<i64, sqlx::Error> {
    let position = match draft.position {
        Some(p) => p,
        None => {
            let mut last =
                Sql::new("SELECT COALESCE(MAX(position), 0) FROM rules WHERE workspace_id = ");
            last.bind(workspace);
            let (max,): (i64,) = tx.fetch_optional(last).await?.unwrap_or((0,));
            (max + POSITION_STEP).min(super::definition::MAX_POSITION)
        }
    };
    let mut sql = Sql::new(
        "INSERT INTO rules (workspace_id, name, enabled, position, definition, created_at, updated_at) VALUES ",
    );
    let values: [Arg; 7] = [
        workspace.into(),
        draft.name.as_str().into(),
        draft.enabled.into(),
        position.into(),
        draft.definition.to_string().into(),
        now.into(),
        now.into(),
    ];
    sql.bind_list(values);
    sql.push(" RETURNING id");
    let id = tx.insert_id(sql).await?;
    record(
        tx,
        workspace,
        who,
        Entry::about(
            "rule created",
            "rule",
            id,
            &draft.name,
            summary(&draft.actions),
        ),
        now,
    )
    .await?;
    Ok(id)
}

/// Replaces rule `id` whole; false if there is no such rule here.
pub async fn replace(
    tx: &mut Tx,
    workspace: WorkspaceId,
    id: i64,
    draft: &Draft,
    who: &Who,
    now: DateTime<Utc>,
) -> Result<bool, sqlx::Error> {
    let mut sql = Sql::new("UPDATE rules SET name = ");
    sql.bind(draft.name.as_str())
        .push(", enabled = ")
        .bind(draft.enabled)
        .push(", definition = ")
        .bind(draft.definition.to_string())
        .push(", updated_at = ")
        .bind(now);
    if let Some(position) = draft.position {
        sql.push(", position = ").bind(position);
    }
    sql.push(" WHERE workspace_id = ")
        .bind(workspace)
        .push(" AND id = ")
        .bind(id);
    if tx.execute(sql).await? == 0 {
        return Ok(false);
    }
    record(
        tx,
        workspace,
        who,
        Entry::about(
            "rule changed",
            "rule",
            id,
            &draft.name,
            summary(&draft.actions),
        ),
        now,
    )
    .await?;
    Ok(true)
}

/// Switches a rule on or off and/or moves it; false if there is no such rule here.
pub async fn adjust(
    tx: &mut Tx,
    workspace: WorkspaceId,
    id: i64,
    enabled: Option<bool>,
    position: Option<i64>,
    who: &Who,
    now: DateTime<Utc>,
) -> Result<bool, sqlx::Error> {
    let mut sql = Sql::new("UPDATE rules SET updated_at = ");
    sql.bind(now);
    if let Some(enabled) = enabled {
        sql.push(", enabled = ").bind(enabled);
        // Switched on by a person: whatever paused it has been seen to.
        sql.push(", paused_reason = NULL");
    }
    if let Some(position) = position {
        sql.push(", position = ").bind(position);
    }
    sql.push(" WHERE workspace_id = ")
        .bind(workspace)
        .push(" AND id = ")
        .bind(id);
    sql.push(" RETURNING name");
    let Some((name,)) = tx.fetch_optional::<(String,)>(sql).await? else {
        return Ok(false);
    };
    let action = match enabled {
        Some(true) => "rule enabled",
        Some(false) => "rule paused",
        None => "rule moved",
    };
    let detail = position
        .map(|p| format!("to position {p}"))
        .unwrap_or_default();
    record(
        tx,
        workspace,
        who,
        Entry::about(action, "rule", id, &name, detail),
        now,
    )
    .await?;
    Ok(true)
}

/// Deletes rule `id` in a transaction of its own; false if there is no such rule here.
pub async fn delete_rule(
    db: &Db,
    workspace: WorkspaceId,
    id: i64,
    who: &Who,
) -> Result<bool, sqlx::Error> {
    let mut tx = db.begin().await?;
    let found = delete(&mut tx, workspace, id, who, crate::clock::now()).await?;
    tx.commit().await?;
    Ok(found)
}

pub async fn delete(
    tx: &mut Tx,
    workspace: WorkspaceId,
    id: i64,
    who: &Who,
    now: DateTime<Utc>,
) -> Result<bool, sqlx::Error> {
    let mut sql = Sql::new("DELETE FROM rules WHERE workspace_id = ");
    sql.bind(workspace)
        .push(" AND id = ")
        .bind(id)
        .push(" RETURNING name");
    let Some((name,)) = tx.fetch_optional::<(String,)>(sql).await? else {
        return Ok(false);
    };
    record(
        tx,
        workspace,
        who,
        Entry::about("rule deleted", "rule", id, &name, String::new()),
        now,
    )
    .await?;
    Ok(true)
}

/// The id of the workspace's channel `handle` on `platform`, if it has one.
pub async fn channel_id(
    db: &Db,
    workspace: WorkspaceId,
    platform: crate::domain::Platform,
    handle: &str,
) -> Result<Option<i64>, sqlx::Error> {
    let mut sql = Sql::new("SELECT id FROM channels WHERE workspace_id = ");
    sql.bind(workspace)
        .push(" AND platform = ")
        .bind(platform)
        .push(" AND handle = ")
        .bind(handle);
    Ok(db.fetch_optional::<(i64,)>(sql).await?.map(|(id,)| id))
}

/// The user ids among `users` that are not members of the workspace.
pub async fn not_members(
    tx: &mut Tx,
    workspace: WorkspaceId,
    users: &[UserId],
) -> Result<Vec<UserId>, sqlx::Error> {
    if users.is_empty() {
        return Ok(Vec::new());
    }
    let mut sql = Sql::new("SELECT user_id FROM memberships WHERE workspace_id = ");
    sql.bind(workspace)
        .push(" AND user_id IN ")
        .bind_list(users.iter().copied());
    let members: Vec<(UserId,)> = tx.fetch_all(sql).await?;
    Ok(users
        .iter()
        .copied()
        .filter(|u| !members.iter().any(|(m,)| m == u))
        .collect())
}

fn summary(actions: &[Action]) -> String {
    let names: Vec<String> = actions
        .iter()
        .map(|a| {
            serde_json::to_value(a)
                .ok()
                .and_then(|v| v["type"].as_str().map(str::to_owned))
                .unwrap_or_default()
        })
        .collect();
    format!("then {}", names.join(", "))
}

/// The audit entry of a rule's change, with the version move every change needs.
async fn record(
    tx: &mut Tx,
    workspace: WorkspaceId,
    who: &Who,
    entry: Entry<'_>,
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    audit::record(tx, workspace, who, entry, now).await?;
    changed(tx, workspace).await
}

/// Every change of a workspace's rules moves its version on, in the same transaction, so that
/// each instance knows to compile them again before it decides the next message.
async fn changed(tx: &mut Tx, workspace: WorkspaceId) -> Result<(), sqlx::Error> {
    let mut sql = Sql::new("UPDATE workspaces SET rules_version = rules_version + 1 WHERE id = ");
    sql.bind(workspace);
    tx.execute(sql).await.map(|_| ())
}

/// Switches rule `id` off because a platform warned about what it sent (spam or abuse), with
/// the platform's words for the rules page. A person switching it on again clears them.
pub async fn pause_for_platform(
    tx: &mut Tx,
    workspace: WorkspaceId,
    id: i64,
    reason: &str,
    now: DateTime<Utc>,
) -> Result<bool, sqlx::Error> {
    let mut sql = Sql::new("UPDATE rules SET enabled = FALSE, paused_reason = ");
    sql.bind(reason)
        .push(", updated_at = ")
        .bind(now)
        .push(" WHERE enabled AND workspace_id = ")
        .bind(workspace)
        .push(" AND id = ")
        .bind(id)
        .push(" RETURNING name");
    let Some((name,)) = tx.fetch_optional::<(String,)>(sql).await? else {
        return Ok(false);
    };
    let detail = reason.chars().take(200).collect();
    let entry = Entry::about("rule paused", "rule", id, &name, detail);
    record(tx, workspace, &Who::platform_warning(), entry, now).await?;
    Ok(true)
}
