//! Connected channels: an account per platform with its credentials. Credentials are
//! write-only: stored, never shown back in full (the last four characters at most), never
//! logged, and the audit log names the keys that changed, not their values.

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::{Map, Value, json};

use super::verification_view::VerificationView;
use crate::accounts::audit::{self, Entry, Who};
use crate::domain::{Platform, Verification};
use crate::ids::WorkspaceId;
use crate::problem::Problem;
use crate::storage::{Db, Sql, Tx};

const MAX_TEXT: usize = 100;
const MAX_CREDENTIALS: usize = 20;
const MAX_CREDENTIAL_CHARS: usize = 4_096;

#[derive(sqlx::FromRow)]
struct Row {
    id: i64,
    platform: Platform,
    handle: String,
    platform_id: String,
    display_name: Option<String>,
    own_author_id: Option<String>,
    credentials: String,
    created_at: DateTime<Utc>,
    verification: Verification,
    verified_account: Option<String>,
    verified_name: Option<String>,
    verified_via: Option<String>,
    verified_at: Option<DateTime<Utc>>,
    verification_problem: Option<String>,
    verification_checked_at: Option<DateTime<Utc>>,
}

/// A channel as the API shows it: which credentials are set, not what they are.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(as = Channel)]
pub struct ChannelView {
    pub id: i64,
    pub platform: Platform,
    pub handle: String,
    pub platform_id: String,
    pub display_name: Option<String>,
    pub own_author_id: Option<String>,
    /// Per credential: "set", with its last four characters when it is long enough that
    /// they give nothing away.
    #[schema(value_type = std::collections::BTreeMap<String, String>)]
    pub credentials: Map<String, Value>,
    pub created_at: DateTime<Utc>,
    /// Whether the platform said the token is this account's: only then do its webhooks and
    /// polls arrive here.
    pub verified: bool,
    pub verification: VerificationView,
}

impl From<Row> for ChannelView {
    fn from(r: Row) -> Self {
        let stored: Map<String, Value> = serde_json::from_str(&r.credentials).unwrap_or_default();
        let credentials = stored
            .iter()
            .map(|(k, v)| {
                let v = v.as_str().unwrap_or_default();
                let n = v.chars().count();
                let shown = if n >= 16 {
                    let tail: String = v.chars().skip(n - 4).collect();
                    format!("set, ending in …{tail}")
                } else {
                    "set".to_owned()
                };
                (k.clone(), json!(shown))
            })
            .collect();
        ChannelView {
            id: r.id,
            platform: r.platform,
            handle: r.handle,
            platform_id: r.platform_id,
            display_name: r.display_name,
            own_author_id: r.own_author_id,
            credentials,
            created_at: r.created_at,
            verified: r.verification == Verification::Verified,
            verification: VerificationView {
                state: r.verification,
                account: r.verified_account,
                account_name: r.verified_name,
                via: r.verified_via,
                verified_at: r.verified_at,
                checked_at: r.verification_checked_at,
                problem: r.verification_problem,
            },
        }
    }
}

const COLUMNS: &str = "SELECT id, platform, handle, platform_id, display_name, own_author_id, credentials, created_at, \
     verification, verified_account, verified_name, verified_via, verified_at, verification_problem, \
     verification_checked_at FROM channels";

pub async fn list(db: &Db, workspace: WorkspaceId) -> Result<Vec<ChannelView>, sqlx::Error> {
    let mut sql = Sql::new(COLUMNS);
    sql.push(" WHERE workspace_id = ")
        .bind(workspace)
        .push(" ORDER BY platform, handle, id");
    Ok(db
        .fetch_all::<Row>(sql)
        .await?
        .into_iter()
        .map(Into::into)
        .collect())
}

pub async fn get(
    db: &Db,
    workspace: WorkspaceId,
    id: i64,
) -> Result<Option<ChannelView>, sqlx::Error> {
    let mut sql = Sql::new(COLUMNS);
    sql.push(" WHERE workspace_id = ")
        .bind(workspace)
        .push(" AND id = ")
        .bind(id);
    Ok(db.fetch_optional::<Row>(sql).await?.map(Into::into))
}

/// A channel's fields as given: every one optional (a `PATCH` gives some).
#[derive(Debug, Default)]
pub struct Change {
    pub platform: Option<Platform>,
    pub handle: Option<String>,
    pub platform_id: Option<String>,
    /// `Some(None)`: cleared.
    pub display_name: Option<Option<String>>,
    pub own_author_id: Option<Option<String>>,
    /// Keys to set; a `null` value removes that key.
    pub credentials: Map<String, Value>,
}

/// Reads a channel body; `whole` asks for what creating one needs.
pub fn read_change(body: &Value, whole: bool) -> Result<Change, Vec<Problem>> {
    let mut problems = Vec::new();
    let Some(obj) = body.as_object() else {
        return Err(vec![Problem::new("body", "must be a channel object")]);
    };
    for key in obj.keys() {
        if ![
            "platform",
            "handle",
            "platform_id",
            "display_name",
            "own_author_id",
            "credentials",
        ]
        .contains(&key.as_str())
        {
            problems.push(Problem::new(key, "is not a field of a channel"));
        }
    }
    let mut text = |field: &str, required: bool| -> Option<Option<String>> {
        match obj.get(field) {
            None if required => {
                problems.push(Problem::new(field, "is required"));
                None
            }
            None => None,
            Some(Value::Null) if !required => Some(None),
            Some(Value::String(s))
                if !s.trim().is_empty()
                    && s.chars().count() <= MAX_TEXT
                    && !s.chars().any(char::is_control) =>
            {
                Some(Some(s.trim().to_owned()))
            }
            Some(_) => {
                problems.push(Problem::new(
                    field,
                    format!("must be 1 to {MAX_TEXT} characters without control characters"),
                ));
                None
            }
        }
    };
    let handle = text("handle", whole).flatten();
    let platform_id = text("platform_id", whole).flatten();
    let display_name = text("display_name", false);
    let own_author_id = text("own_author_id", false);
    let platform = match obj.get("platform") {
        None if whole => {
            problems.push(Problem::new("platform", "is required"));
            None
        }
        None => None,
        Some(v) => match v.as_str().map(str::parse::<Platform>) {
            Some(Ok(p)) if whole => Some(p),
            Some(Ok(_)) => {
                problems.push(Problem::new(
                    "platform",
                    "cannot change; connect a new channel",
                ));
                None
            }
            Some(Err(e)) => {
                problems.push(Problem::new("platform", e));
                None
            }
            None => {
                problems.push(Problem::new("platform", "must be a word"));
                None
            }
        },
    };
    if !whole && obj.contains_key("platform_id") {
        problems.push(Problem::new(
            "platform_id",
            "cannot change; connect a new channel",
        ));
    }
    let mut credentials = Map::new();
    match obj.get("credentials") {
        None | Some(Value::Null) => {}
        Some(Value::Object(given)) => {
            if given.len() > MAX_CREDENTIALS {
                problems.push(Problem::new(
                    "credentials",
                    format!("at most {MAX_CREDENTIALS} keys"),
                ));
            }
            for (k, v) in given {
                let key_ok = !k.is_empty()
                    && k.len() <= 40
                    && k.chars()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
                if !key_ok {
                    problems.push(Problem::new(
                        format!("credentials.{k}"),
                        "is no credential name: use lower-case letters, digits and _",
                    ));
                    continue;
                }
                match v {
                    Value::Null => {
                        credentials.insert(k.clone(), Value::Null);
                    }
                    Value::String(s)
                        if !s.is_empty()
                            && s.chars().count() <= MAX_CREDENTIAL_CHARS
                            && !s.chars().any(char::is_control) =>
                    {
                        credentials.insert(k.clone(), json!(s));
                    }
                    // The value is never repeated in the answer.
                    _ => problems.push(Problem::new(
                        format!("credentials.{k}"),
                        format!("must be text of 1 to {MAX_CREDENTIAL_CHARS} characters, or null to remove it"),
                    )),
                }
            }
        }
        Some(_) => problems.push(Problem::new(
            "credentials",
            "must be an object of names and values",
        )),
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    Ok(Change {
        platform,
        handle,
        platform_id,
        display_name,
        own_author_id,
        credentials,
    })
}

fn merged(stored: &str, change: &Map<String, Value>) -> String {
    Value::Object(merged_map(stored, change)).to_string()
}

/// The credentials `stored` (as stored) become with `change`.
pub fn merged_map(stored: &str, change: &Map<String, Value>) -> Map<String, Value> {
    let mut all: Map<String, Value> = serde_json::from_str(stored).unwrap_or_default();
    for (k, v) in change {
        if v.is_null() {
            all.remove(k);
        } else {
            all.insert(k.clone(), v.clone());
        }
    }
    all
}

fn keys(change: &Change) -> String {
    let names: Vec<&str> = change.credentials.keys().map(String::as_str).collect();
    if names.is_empty() {
        String::new()
    } else {
        format!("credentials: {}", names.join(", "))
    }
}

/// Why a channel could not be connected.
#[derive(Debug, thiserror::Error)]
pub enum ChannelError {
    /// A channel needs its platform, handle and platform id: these were missing.
    #[error("a channel needs a platform, handle and platform id; missing: {}", .0.join(", "))]
    Incomplete(Vec<&'static str>),
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

/// Connects a channel: a new one, or one first seen through ingest (same platform and
/// platform id), which keeps its messages. Returns its id.
pub async fn connect(
    tx: &mut Tx,
    workspace: WorkspaceId,
    change: &Change,
    who: &Who,
    now: DateTime<Utc>,
) -> Result<i64, ChannelError> {
    let (Some(platform), Some(handle), Some(platform_id)) = (
        change.platform,
        change.handle.as_deref(),
        change.platform_id.as_deref(),
    ) else {
        let given = [
            ("platform", change.platform.is_some()),
            ("handle", change.handle.is_some()),
            ("platform_id", change.platform_id.is_some()),
        ];
        let missing = given.iter().filter(|(_, is)| !is).map(|(f, _)| *f);
        return Err(ChannelError::Incomplete(missing.collect()));
    };
    let mut find = Sql::new("SELECT id, credentials FROM channels WHERE workspace_id = ");
    find.bind(workspace)
        .push(" AND platform = ")
        .bind(platform)
        .push(" AND platform_id = ")
        .bind(platform_id);
    let existing: Option<(i64, String)> = tx.fetch_optional(find).await?;
    let id = match existing {
        Some((id, stored)) => {
            write_change(tx, id, &stored, change, now).await?;
            id
        }
        None => {
            let mut sql = Sql::new(
                "INSERT INTO channels (workspace_id, platform, platform_id, handle, display_name, \
                 own_author_id, credentials, created_at, updated_at) VALUES (",
            );
            sql.bind(workspace)
                .push(", ")
                .bind(platform)
                .push(", ")
                .bind(platform_id);
            sql.push(", ")
                .bind(handle)
                .push(", ")
                .bind(change.display_name.clone().flatten());
            sql.push(", ").bind(change.own_author_id.clone().flatten());
            sql.push(", ")
                .bind(merged("{}", &change.credentials))
                .push(", ")
                .bind(now);
            sql.push(", ").bind(now).push(") RETURNING id");
            tx.insert_id(sql).await?
        }
    };
    audit::record(
        tx,
        workspace,
        who,
        Entry::about("channel connected", "channel", id, handle, keys(change)),
        now,
    )
    .await?;
    Ok(id)
}

/// Writes the fields `change` gives to channel `id`, merging its credentials into `stored`.
async fn write_change(
    tx: &mut Tx,
    id: i64,
    stored: &str,
    change: &Change,
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    let mut sql = Sql::new("UPDATE channels SET credentials = ");
    sql.bind(merged(stored, &change.credentials))
        .push(", updated_at = ")
        .bind(now);
    if let Some(h) = &change.handle {
        sql.push(", handle = ").bind(h.as_str());
    }
    if let Some(name) = &change.display_name {
        sql.push(", display_name = ").bind(name.clone());
    }
    if let Some(own) = &change.own_author_id {
        sql.push(", own_author_id = ").bind(own.clone());
    }
    sql.push(" WHERE id = ").bind(id);
    tx.execute(sql).await?;
    if !change.credentials.is_empty() {
        // New credentials: a token the platform refused may work now; its replies go again.
        super::health::credentials_changed(tx, id).await?;
    }
    Ok(())
}

/// Changes a channel; false if there is no such channel here.
pub async fn update(
    tx: &mut Tx,
    workspace: WorkspaceId,
    id: i64,
    change: &Change,
    who: &Who,
    now: DateTime<Utc>,
) -> Result<bool, sqlx::Error> {
    let mut find = Sql::new("SELECT handle, credentials FROM channels WHERE workspace_id = ");
    find.bind(workspace).push(" AND id = ").bind(id);
    let Some((handle, stored)) = tx.fetch_optional::<(String, String)>(find).await? else {
        return Ok(false);
    };
    write_change(tx, id, &stored, change, now).await?;
    let name = change.handle.clone().unwrap_or(handle);
    audit::record(
        tx,
        workspace,
        who,
        Entry::about("channel changed", "channel", id, &name, keys(change)),
        now,
    )
    .await?;
    Ok(true)
}

/// Removes a channel that holds nothing; `Err(n)` when it holds `n` messages.
pub async fn remove(
    tx: &mut Tx,
    workspace: WorkspaceId,
    id: i64,
    who: &Who,
    now: DateTime<Utc>,
) -> Result<Option<Result<(), i64>>, sqlx::Error> {
    let mut find = Sql::new("SELECT handle FROM channels WHERE workspace_id = ");
    find.bind(workspace).push(" AND id = ").bind(id);
    let Some((handle,)) = tx.fetch_optional::<(String,)>(find).await? else {
        return Ok(None);
    };
    let mut count = Sql::new("SELECT COUNT(*) FROM messages WHERE channel_id = ");
    count.bind(id);
    let (n,): (i64,) = tx.fetch_optional(count).await?.unwrap_or((0,));
    if n > 0 {
        return Ok(Some(Err(n)));
    }
    for table in [
        "video_stats WHERE video_id IN (SELECT id FROM videos WHERE channel_id = ",
        "videos WHERE channel_id = ",
        "contacts WHERE channel_id = ",
        "channel_stats WHERE channel_id = ",
        "threads WHERE channel_id = ",
    ] {
        let mut sql = Sql::new(format!("DELETE FROM {table}"));
        sql.bind(id);
        if table.starts_with("video_stats") {
            sql.push(")");
        }
        tx.execute(sql).await?;
    }
    let mut sql = Sql::new("DELETE FROM channels WHERE id = ");
    sql.bind(id);
    tx.execute(sql).await?;
    audit::record(
        tx,
        workspace,
        who,
        Entry::about("channel removed", "channel", id, &handle, String::new()),
        now,
    )
    .await?;
    Ok(Some(Ok(())))
}

/// A connected channel with what calling its platform needs.
pub struct Connected {
    pub id: i64,
    pub workspace_id: WorkspaceId,
    pub platform_id: String,
    pub own_author_id: Option<String>,
    pub credentials: Map<String, Value>,
}

impl Connected {
    pub fn credential(&self, name: &str) -> Option<&str> {
        self.credentials.get(name).and_then(Value::as_str)
    }
}

/// The channels of `platform` connected with an access token the platform said is their
/// account's: those of `account` (in every workspace that proved it), or all of them.
pub async fn connected(
    db: &Db,
    platform: Platform,
    account: Option<&str>,
) -> Result<Vec<Connected>, sqlx::Error> {
    // A token the platform refused is not used again until the credentials change.
    let mut sql = Sql::new(
        "SELECT c.id, c.workspace_id, c.platform_id, c.own_author_id, c.credentials FROM channels c \
         LEFT JOIN channel_health h ON h.channel_id = c.id WHERE h.token_problem IS NULL AND c.verification = ",
    );
    sql.bind(Verification::Verified)
        .push(" AND c.verified_account = c.platform_id AND c.platform = ")
        .bind(platform);
    if let Some(account) = account {
        sql.push(" AND c.platform_id = ").bind(account);
    }
    sql.push(" ORDER BY c.id");
    let rows: Vec<(i64, WorkspaceId, String, Option<String>, String)> = db.fetch_all(sql).await?;
    Ok(rows
        .into_iter()
        .map(
            |(id, workspace_id, platform_id, own_author_id, credentials)| Connected {
                id,
                workspace_id,
                platform_id,
                own_author_id,
                credentials: serde_json::from_str(&credentials).unwrap_or_default(),
            },
        )
        .filter(|c| c.credential("access_token").is_some())
        .collect())
}
