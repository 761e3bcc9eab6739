//! Searching by walking the newest threads (PostgreSQL).
//!
//! The search index answers "which messages have these words" in time that grows with how
//! many do: at a million messages a common word costs hundreds of milliseconds before the
//! first thread is known. A person wants the newest matching threads, and a common word fills
//! a page among the newest few hundred. So the walk tests threads newest first, each by its
//! own messages (`messages_by_thread`, then the stored `tsvector`), in windows, and estimates
//! from what it found how far it would have to go: when that is too far (a rare word), it
//! stops and the index takes the rest, after the last thread it tested. Results are exact
//! either way, and in the same order.

use chrono::{DateTime, Utc};

use super::filter::{Cursor, ThreadFilter};
use super::model::{THREAD_COLUMNS, ThreadRow};
use super::read::{push_after, push_filtered, push_order};
use crate::storage::{Db, Sql};

/// Threads tested in the first window: a few milliseconds.
const FIRST_WINDOW: i64 = 500;

/// Most threads one search walks before it leaves the rest to the index. Testing a thread
/// costs about 10 µs warm; past this the index is cheaper for what is left.
const WALK_MAX: i64 = 6_000;

pub struct Walked {
    /// Matching threads found, newest first.
    pub rows: Vec<ThreadRow>,
    /// `None` when these are all the page needs (or all there are); otherwise where the index
    /// takes over: after this thread (`Some(None)`: from the start).
    pub rest: Option<Option<Cursor>>,
}

/// Walks the newest threads that pass `f`'s other filters for up to `f.limit + 1` whose
/// messages match `tsquery`.
pub async fn newest(
    db: &Db,
    workspace: i64,
    f: &ThreadFilter,
    tsquery: &str,
) -> Result<Walked, sqlx::Error> {
    let want = f.limit + 1;
    let mut hits: Vec<i64> = Vec::new();
    let mut after = f.cursor;
    let mut walked = 0;
    let mut window = FIRST_WINDOW;
    let rest = loop {
        let (found, end) = test_window(db, workspace, f, tsquery, after, window).await?;
        hits.extend(found);
        if hits.len() as i64 >= want {
            hits.truncate(want as usize);
            break None;
        }
        // Fewer threads than the window: every one has been tested.
        let Some(end) = end else { break None };
        walked += window;
        after = Some(end);
        let found = hits.len() as i64;
        // How many more threads the walk expects to test, at the rate it found matches.
        let ahead = match found {
            0 => i64::MAX,
            _ => (want - found).saturating_mul(walked) / found,
        };
        if walked.saturating_add(ahead) > WALK_MAX {
            break Some(after);
        }
        window = (ahead + ahead / 4).clamp(FIRST_WINDOW, WALK_MAX - walked);
    };
    let rows = if hits.is_empty() {
        Vec::new()
    } else {
        let mut sql = Sql::new("");
        push_filtered(&mut sql, THREAD_COLUMNS, workspace, f, "");
        sql.push(" AND t.id IN ").bind_list(hits.iter().copied());
        push_order(&mut sql, "", want);
        db.fetch_all(sql).await?
    };
    Ok(Walked { rows, rest })
}

/// Tests the next `size` threads after `after` that pass the filters: the ids of those whose
/// messages match, newest first, and the window's last thread unless fewer were left.
async fn test_window(
    db: &Db,
    workspace: i64,
    f: &ThreadFilter,
    tsquery: &str,
    after: Option<Cursor>,
    size: i64,
) -> Result<(Vec<i64>, Option<Cursor>), sqlx::Error> {
    let mut sql = Sql::new(
        "SELECT w.last_message_at, w.id, (SELECT TRUE FROM messages m \
         WHERE m.thread_id = w.id AND m.search @@ to_tsquery('simple', ",
    );
    sql.bind(tsquery).push(") LIMIT 1) AS hit FROM (");
    push_filtered(&mut sql, "t.last_message_at, t.id", workspace, f, "");
    if let Some(c) = after {
        push_after(&mut sql, c);
    }
    push_order(&mut sql, "", size);
    sql.push(") w ORDER BY w.last_message_at DESC, w.id DESC");
    let tested: Vec<(DateTime<Utc>, i64, Option<bool>)> = db.fetch_all(sql).await?;
    let end = match tested.last() {
        Some(&(last_message_at, id, _)) if tested.len() as i64 == size => Some(Cursor {
            last_message_at,
            id,
        }),
        _ => None,
    };
    let hits = tested
        .into_iter()
        .filter(|(_, _, hit)| *hit == Some(true))
        .map(|(_, id, _)| id)
        .collect();
    Ok((hits, end))
}
