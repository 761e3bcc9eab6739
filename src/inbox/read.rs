//! Reading the inbox: the filtered, newest-first thread list and one thread's messages.

use std::collections::HashMap;

use tracing::instrument;

use super::filter::{Cursor, ThreadFilter};
use super::model::{
    MESSAGE_SELECT, MessageRow, MessageView, THREAD_COLUMNS, THREAD_FROM, ThreadRow, ThreadView,
};
use super::search::{SearchPlan, tsquery};
use super::threads_sql::{push_after, push_filtered, push_order};
use super::walk::{self, Test};
use crate::ids::{ChannelId, MessageId, ThreadId, WorkspaceId};
use crate::storage::{Backend, Db, Sql};

pub struct ThreadPage {
    pub threads: Vec<ThreadView>,
    pub next: Option<Cursor>,
    /// The search matched so many messages that results come from the most recent of them.
    pub search_capped: bool,
}

#[instrument(skip_all, fields(workspace))]
pub async fn list_threads(
    db: &Db,
    workspace: WorkspaceId,
    f: &ThreadFilter,
) -> Result<ThreadPage, sqlx::Error> {
    let want = f.limit + 1;
    // On PostgreSQL a search first walks the newest threads, testing each one's messages:
    // words common enough to fill a page there never touch the search index.
    let (mut rows, mut rest) = match (&f.q, db.backend()) {
        (Some(q), Backend::Postgres) => match tsquery(q) {
            Some(query) => {
                let walked =
                    walk::newest(db, workspace, f, Test::Words(&query), f.cursor, want).await?;
                (walked.rows, walked.rest)
            }
            None => (Vec::new(), None),
        },
        _ => (Vec::new(), Some(f.cursor)),
    };
    let mut capped = false;
    if let Some(after) = rest {
        let search = match &f.q {
            Some(q) => Some(SearchPlan::new(db, workspace, q).await?),
            None => None,
        };
        if let Some(threads) = search
            .as_ref()
            .and_then(|s| s.threads_to_walk(db.backend()))
        {
            let take = want - rows.len() as i64;
            let walked = walk::newest(db, workspace, f, Test::Among(threads), after, take).await?;
            rows.extend(walked.rows);
            rest = walked.rest;
        }
        if let Some(after) = rest
            && !matches!(search, Some(SearchPlan::Nothing))
        {
            capped = search.as_ref().is_some_and(SearchPlan::capped);
            let sql = page_query(
                db.backend(),
                workspace,
                f,
                search.as_ref(),
                after,
                want - rows.len() as i64,
            );
            rows.extend(db.fetch_all::<ThreadRow>(sql).await?);
        }
    }
    let next = if rows.len() as i64 > f.limit {
        rows.truncate(f.limit as usize);
        rows.last().map(|r| Cursor {
            last_message_at: r.last_message_at,
            id: r.id,
        })
    } else {
        None
    };
    let threads = with_labels(db, rows).await?;
    Ok(ThreadPage {
        threads,
        next,
        search_capped: capped,
    })
}

/// The page of threads after `after`, newest first, searched through the search index.
fn page_query(
    backend: Backend,
    workspace: WorkspaceId,
    f: &ThreadFilter,
    search: Option<&SearchPlan>,
    after: Option<Cursor>,
    take: i64,
) -> Sql {
    // A unary `+` keeps SQLite from using an index for a term: when a search starts from its
    // matches, the workspace and status must not lure it into walking every thread instead.
    // (PostgreSQL has no unary `+` for text or times, and its planner needs no hint.)
    let drive = search.is_some_and(SearchPlan::drives_from_matches);
    let plus = if drive && backend == Backend::Sqlite {
        "+"
    } else {
        ""
    };
    // The page is chosen by thread alone, and only its threads are joined to their contacts,
    // videos and assignees: a search that starts from its matches sorts every matching thread,
    // and joining them all would look up thousands of contacts for a page of 50.
    let mut sql = Sql::new(format!(
        "SELECT {THREAD_COLUMNS}{THREAD_FROM} WHERE t.id IN ("
    ));
    push_filtered(&mut sql, "t.id", workspace, f, plus);
    if let Some(search) = search {
        search.push(&mut sql, backend, workspace);
    }
    if let Some(c) = after {
        push_after(&mut sql, c);
    }
    push_order(&mut sql, plus, take);
    sql.push(") ORDER BY t.last_message_at DESC, t.id DESC");
    sql
}

#[instrument(skip_all, fields(thread = %id))]
pub async fn get_thread(
    db: &Db,
    workspace: WorkspaceId,
    id: ThreadId,
) -> Result<Option<ThreadView>, sqlx::Error> {
    let mut sql = Sql::new(format!(
        "SELECT {THREAD_COLUMNS}{THREAD_FROM} WHERE t.workspace_id = "
    ));
    sql.bind(workspace).push(" AND t.id = ").bind(id);
    let Some(row) = db.fetch_optional::<ThreadRow>(sql).await? else {
        return Ok(None);
    };
    Ok(with_labels(db, vec![row]).await?.pop())
}

async fn with_labels(db: &Db, rows: Vec<ThreadRow>) -> Result<Vec<ThreadView>, sqlx::Error> {
    let mut labels: HashMap<i64, Vec<String>> = HashMap::new();
    if !rows.is_empty() {
        let mut sql = Sql::new(
            "SELECT tl.thread_id, l.name FROM thread_labels tl JOIN labels l ON l.id = tl.label_id WHERE tl.thread_id IN ",
        );
        sql.bind_list(rows.iter().map(|r| r.id))
            .push(" ORDER BY l.name");
        for (thread, name) in db.fetch_all::<(i64, String)>(sql).await? {
            labels.entry(thread).or_default().push(name);
        }
    }
    Ok(rows
        .into_iter()
        .map(|r| {
            let l = labels.remove(&r.id).unwrap_or_default();
            ThreadView::new(r, l)
        })
        .collect())
}

pub struct MessagePage {
    pub messages: Vec<MessageView>,
    /// The id of the last message shown, when more follow.
    pub next: Option<i64>,
}

/// A thread's messages, oldest first, after message `after` (a previous page's last id).
#[instrument(skip_all, fields(thread))]
pub async fn list_messages(
    db: &Db,
    thread: ThreadId,
    after: Option<i64>,
    limit: i64,
) -> Result<MessagePage, sqlx::Error> {
    let mut sql = Sql::new(MESSAGE_SELECT);
    sql.push(" WHERE m.thread_id = ").bind(thread);
    if let Some(after) = after {
        sql.push(
            " AND (m.created_at, m.id) > (SELECT p.created_at, p.id FROM messages p WHERE p.id = ",
        );
        // Only a message of this thread is a position in it: another thread's (or another
        // workspace's) id must not reveal when that message was written.
        sql.bind(after)
            .push(" AND p.thread_id = ")
            .bind(thread)
            .push(")");
    }
    sql.push(" ORDER BY m.created_at, m.id LIMIT ")
        .bind(limit + 1);
    let mut rows: Vec<MessageRow> = db.fetch_all(sql).await?;
    let next = if rows.len() as i64 > limit {
        rows.truncate(limit as usize);
        rows.last().map(|r| r.id)
    } else {
        None
    };
    Ok(MessagePage {
        messages: rows.into_iter().map(MessageView::from).collect(),
        next,
    })
}

/// Label names in use in the workspace, for the filter menu.
pub async fn label_names(db: &Db, workspace: WorkspaceId) -> Result<Vec<String>, sqlx::Error> {
    let mut sql = Sql::new("SELECT name FROM labels WHERE workspace_id = ");
    sql.bind(workspace).push(" ORDER BY name");
    Ok(db
        .fetch_all::<(String,)>(sql)
        .await?
        .into_iter()
        .map(|(n,)| n)
        .collect())
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ChannelRow {
    pub id: ChannelId,
    pub platform: String,
    pub handle: String,
}

/// Connected channels, for the filter menu.
pub async fn channels(db: &Db, workspace: WorkspaceId) -> Result<Vec<ChannelRow>, sqlx::Error> {
    let mut sql = Sql::new("SELECT id, platform, handle FROM channels WHERE workspace_id = ");
    sql.bind(workspace).push(" ORDER BY platform, handle");
    db.fetch_all(sql).await
}

pub async fn get_message(
    db: &Db,
    thread: ThreadId,
    id: MessageId,
) -> Result<Option<MessageView>, sqlx::Error> {
    let mut sql = Sql::new(MESSAGE_SELECT);
    sql.push(" WHERE m.thread_id = ")
        .bind(thread)
        .push(" AND m.id = ")
        .bind(id);
    Ok(db
        .fetch_optional::<MessageRow>(sql)
        .await?
        .map(MessageView::from))
}
