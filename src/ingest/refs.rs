//! The things messages point at: channels, videos and contacts, created on first sight and
//! resolved to ids in bulk (a few statements per batch, not per event).

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::{DateTime, Utc};

use super::cache::{Learned, RefCache};
use super::event::{AuthorRef, Event, VideoRef};
use super::resolved::{ChannelRef, Key};
use crate::domain::Platform;
use crate::ids::WorkspaceId;
use crate::storage::{Backend, Sql, Tx, padded_chunks, table_chunks};

#[derive(sqlx::FromRow)]
struct KeyedId {
    id: i64,
    channel_id: i64,
    external_id: String,
}

/// Finds each event's channel by platform id or handle, creating it on first sight.
pub async fn resolve_channels(
    tx: &mut Tx,
    cache: &RefCache,
    learned: &mut Learned,
    workspace: WorkspaceId,
    events: &[Event],
    now: DateTime<Utc>,
) -> Result<HashMap<(Platform, String), ChannelRef>, sqlx::Error> {
    // Sorted, so concurrent batches create channels in the same order and cannot deadlock.
    let wanted: BTreeSet<(Platform, &str)> = events.iter().map(Event::channel).collect();
    let mut found = HashMap::new();
    for (platform, name) in wanted {
        if let Some(channel) = cache.channel(workspace, platform, name) {
            found.insert((platform, name.to_owned()), channel);
            continue;
        }
        let channel = match find_channel(tx, workspace, platform, name).await? {
            Some(channel) => channel,
            None => {
                let mut insert = Sql::new(
                    "INSERT INTO channels (workspace_id, platform, platform_id, handle, created_at) VALUES ",
                );
                insert.bind_rows([()], |r, ()| {
                    r.bind(workspace)
                        .bind(platform.as_str())
                        .bind(name)
                        .bind(name)
                        .bind(now);
                });
                insert.push(" ON CONFLICT (workspace_id, platform, platform_id) DO NOTHING");
                learned.made_channel |= tx.execute(insert).await? > 0;
                find_channel(tx, workspace, platform, name)
                    .await?
                    .ok_or(sqlx::Error::RowNotFound)?
            }
        };
        learned
            .channels
            .push(((workspace, platform, name.to_owned()), channel.clone()));
        found.insert((platform, name.to_owned()), channel);
    }
    Ok(found)
}

async fn find_channel(
    tx: &mut Tx,
    workspace: WorkspaceId,
    platform: Platform,
    name: &str,
) -> Result<Option<ChannelRef>, sqlx::Error> {
    let mut sql = Sql::new("SELECT id, own_author_id FROM channels WHERE workspace_id = ");
    sql.bind(workspace)
        .push(" AND platform = ")
        .bind(platform.as_str());
    sql.push(" AND (platform_id = ")
        .bind(name)
        .push(" OR handle = ")
        .bind(name);
    // A platform id match wins over a handle match: handles can be re-used, ids cannot.
    sql.push(") ORDER BY CASE WHEN platform_id = ")
        .bind(name)
        .push(" THEN 0 ELSE 1 END, id LIMIT 1");
    tx.fetch_optional(sql).await
}

/// Creates or updates videos (keeping known titles when an event has none); returns their ids.
pub async fn upsert_videos(
    tx: &mut Tx,
    workspace: WorkspaceId,
    videos: &BTreeMap<Key, &VideoRef>,
    now: DateTime<Utc>,
) -> Result<HashMap<Key, i64>, sqlx::Error> {
    if videos.is_empty() {
        return Ok(HashMap::new());
    }
    let rows: Vec<_> = videos.iter().collect();
    let mut ids = HashMap::with_capacity(rows.len());
    for chunk in table_chunks(tx.backend(), &rows) {
        let mut sql = Sql::new(
            "INSERT INTO videos (workspace_id, channel_id, external_id, title, url, published_at, created_at) ",
        );
        sql.bind_table(tx.backend(), chunk, |r, ((channel, ext), v)| {
            r.bind(workspace).bind(*channel).bind(ext.as_str());
            r.bind(v.title.clone()).bind(v.url.clone());
            r.bind(v.published_at).bind(now);
        });
        sql.push(
            " ON CONFLICT (channel_id, external_id) DO UPDATE SET \
             title = COALESCE(excluded.title, videos.title), \
             url = COALESCE(excluded.url, videos.url), \
             published_at = COALESCE(excluded.published_at, videos.published_at) \
             WHERE COALESCE(excluded.title, videos.title) IS DISTINCT FROM videos.title \
             OR COALESCE(excluded.url, videos.url) IS DISTINCT FROM videos.url \
             OR (excluded.published_at IS NOT NULL AND videos.published_at IS NULL)",
        );
        learn_returned(tx, sql, &mut ids).await?;
    }
    select_missing(tx, "videos", videos.keys(), ids).await
}

/// Creates or updates contacts (keeping known names when an event has none); returns their ids.
pub async fn upsert_contacts(
    tx: &mut Tx,
    workspace: WorkspaceId,
    contacts: &BTreeMap<Key, &AuthorRef>,
    now: DateTime<Utc>,
) -> Result<HashMap<Key, i64>, sqlx::Error> {
    if contacts.is_empty() {
        return Ok(HashMap::new());
    }
    let rows: Vec<_> = contacts.iter().collect();
    let mut ids = HashMap::with_capacity(rows.len());
    for chunk in table_chunks(tx.backend(), &rows) {
        let mut sql = Sql::new(
            "INSERT INTO contacts (workspace_id, channel_id, external_id, username, display_name, created_at) ",
        );
        sql.bind_table(tx.backend(), chunk, |r, ((channel, ext), a)| {
            r.bind(workspace).bind(*channel).bind(ext.as_str());
            r.bind(a.username.clone())
                .bind(a.display_name.clone())
                .bind(now);
        });
        sql.push(
            " ON CONFLICT (channel_id, external_id) DO UPDATE SET \
             username = COALESCE(excluded.username, contacts.username), \
             display_name = COALESCE(excluded.display_name, contacts.display_name) \
             WHERE COALESCE(excluded.username, contacts.username) IS DISTINCT FROM contacts.username \
             OR COALESCE(excluded.display_name, contacts.display_name) IS DISTINCT FROM contacts.display_name",
        );
        learn_returned(tx, sql, &mut ids).await?;
    }
    select_missing(tx, "contacts", contacts.keys(), ids).await
}

/// Runs an upsert and keeps the ids of the rows it inserted or changed.
async fn learn_returned(
    tx: &mut Tx,
    mut sql: Sql,
    ids: &mut HashMap<Key, i64>,
) -> Result<(), sqlx::Error> {
    sql.push(" RETURNING id, channel_id, external_id");
    for row in tx.fetch_all::<KeyedId>(sql).await? {
        ids.insert((row.channel_id, row.external_id), row.id);
    }
    Ok(())
}

/// `ids` completed with the rows the upsert left as they were (it returns only those it wrote):
/// a batch of new authors costs one statement, not two.
async fn select_missing<'k>(
    tx: &mut Tx,
    table: &'static str,
    keys: impl Iterator<Item = &'k Key>,
    mut ids: HashMap<Key, i64>,
) -> Result<HashMap<Key, i64>, sqlx::Error> {
    let missing: Vec<&Key> = keys.filter(|k| !ids.contains_key(*k)).collect();
    if !missing.is_empty() {
        ids.extend(select_ids(tx, table, missing.into_iter()).await?);
    }
    Ok(ids)
}

/// Ids of rows of `table` (videos, contacts or messages) by (channel id, external id).
async fn select_ids<'k>(
    tx: &mut Tx,
    table: &'static str,
    keys: impl Iterator<Item = &'k Key>,
) -> Result<HashMap<Key, i64>, sqlx::Error> {
    let keys: Vec<&Key> = keys.collect();
    let mut ids = HashMap::with_capacity(keys.len());
    for chunk in padded_chunks(tx.backend(), &keys) {
        let mut sql = with_keys(tx.backend(), &chunk);
        sql.push(&format!(
            "SELECT x.id, x.channel_id, x.external_id FROM k JOIN {table} x \
             ON x.channel_id = k.channel_id AND x.external_id = k.external_id"
        ));
        for row in tx.fetch_all::<KeyedId>(sql).await? {
            ids.insert((row.channel_id, row.external_id), row.id);
        }
    }
    Ok(ids)
}

/// Starts a statement with `WITH k(channel_id, external_id) AS (…)` holding `keys` (`VALUES`
/// on SQLite, arrays on PostgreSQL: one shape for any number of keys). Joining this table is
/// how a batch of keys is looked up: both backends then probe the unique index once per key
/// (a row-value `IN (VALUES …)` makes SQLite scan the table).
pub fn with_keys(backend: Backend, keys: &[&Key]) -> Sql {
    let mut sql = Sql::new("WITH k(channel_id, external_id) AS (");
    sql.bind_table(backend, keys, |r, (channel, ext)| {
        r.bind(*channel).bind(ext.as_str());
    });
    sql.push(") ");
    sql
}
