//! Searching by walking the newest threads (PostgreSQL).
//!
//! The search index answers "which messages have these words" in time that grows with how
//! many do: at a million messages a common word costs hundreds of milliseconds before the
//! first thread is known. A person wants the newest matching threads, and a common word fills
//! a page among the newest few hundred. So the walk tests threads newest first, each by its
//! own messages (`messages_by_thread`, then the stored `tsvector`), in windows, and estimates
//! from what it found how far it would have to go: when that is too far (a rare word), it
//! stops and the index takes the rest, after the last thread it tested. Results are exact
//! either way, and in the same order. Whatever PostgreSQL knows of the tables (nothing, before
//! their first analysis), a window is read in order from the threads' index and each thread's
//! messages by `messages_by_thread`, never through the search index.
//!
//! The same walk keeps the threads among a list the search index gave (`Test::Among`) when
//! the list is too long to look each one up: at a million messages a thread looked up costs
//! 5–7 µs, one passed in the walk under 1 µs.

use crate::ids::WorkspaceId;
use chrono::{DateTime, Utc};

use super::filter::{Cursor, ThreadFilter};
use super::model::{THREAD_COLUMNS, THREAD_FROM, ThreadRow};
use super::search::json_list;
use super::threads_sql::{push_after, push_filtered, push_filtered_from};
use crate::storage::{Db, Sql};

/// Threads tested in the first window: a few milliseconds.
const FIRST_WINDOW: i64 = 500;

/// Most threads one search walks before it leaves the rest to the index. Testing a thread
/// costs about 10 µs warm; past this the index is cheaper for what is left.
const WALK_MAX: i64 = 6_000;

/// Threads a walk against a list may pass per thread in the list before it leaves the rest
/// to looking them up: about what passing them costs against one lookup.
const AMONG_PER_MATCH: i64 = 4;

/// What a walk tests each thread by.
#[derive(Clone, Copy)]
pub enum Test<'a> {
    /// Its own messages, against a `tsquery`.
    Words(&'a str),
    /// Being among the threads the search index matched.
    Among(&'a [i64]),
}

impl Test<'_> {
    /// Most threads one walk passes before it leaves the rest to the index.
    fn most(self) -> i64 {
        match self {
            Test::Words(_) => WALK_MAX,
            Test::Among(ids) => AMONG_PER_MATCH.saturating_mul(ids.len() as i64),
        }
    }
}

pub struct Walked {
    /// Matching threads found, newest first.
    pub rows: Vec<ThreadRow>,
    /// `None` when these are all the page needs (or all there are); otherwise where the index
    /// takes over: after this thread (`Some(None)`: from the start).
    pub rest: Option<Option<Cursor>>,
}

/// Walks the newest threads after `after` that pass `f`'s other filters for up to `want`
/// that pass `test`.
pub async fn newest(
    db: &Db,
    workspace: WorkspaceId,
    f: &ThreadFilter,
    test: Test<'_>,
    after: Option<Cursor>,
    want: i64,
) -> Result<Walked, sqlx::Error> {
    let most = test.most();
    let mut hits: Vec<i64> = Vec::new();
    let mut after = after;
    let mut walked = 0;
    let mut window = FIRST_WINDOW.min(most).max(1);
    let rest = loop {
        let (found, end) = test_window(db, workspace, f, test, after, window).await?;
        hits.extend(found);
        if hits.len() as i64 >= want {
            hits.truncate(want as usize);
            break None;
        }
        // Fewer threads than the window: every one has been tested.
        let Some(end) = end else { break None };
        walked += window;
        after = Some(end);
        match next_window(walked, hits.len() as i64, want, most) {
            Some(next) => window = next,
            None => break Some(after),
        }
    };
    let rows = if hits.is_empty() {
        Vec::new()
    } else {
        // The threads found by their keys alone, then filtered again: with the workspace
        // beside the keys, a plan without statistics would also read the workspace's every
        // entry of the threads' index to intersect them (40 ms at 160,000 threads).
        let mut sql = Sql::new("WITH k AS MATERIALIZED (SELECT * FROM threads WHERE id IN ");
        sql.bind_list(hits.iter().copied());
        sql.push(&format!(
            ") SELECT {THREAD_COLUMNS}{THREAD_FROM} WHERE t.id IN ("
        ));
        push_filtered_from(&mut sql, "k", "t.id", workspace, f, "");
        sql.push(") ORDER BY t.last_message_at DESC, t.id DESC");
        db.fetch_all(sql).await?
    };
    Ok(Walked { rows, rest })
}

/// How many threads the walk tests next, having tested `walked` and found `found` of the
/// `want` it looks for; `None` when it expects to pass more than `most` in all.
fn next_window(walked: i64, found: i64, want: i64, most: i64) -> Option<i64> {
    // How many more threads the walk expects to test, at the rate it found matches.
    let ahead = match found {
        0 => i64::MAX,
        _ => (want - found).saturating_mul(walked) / found,
    };
    if walked.saturating_add(ahead) > most {
        return None;
    }
    // Not `clamp`: near the end what is left may be less than a first window.
    Some((ahead + ahead / 4).max(FIRST_WINDOW).min(most - walked))
}

/// Tests the next `size` threads after `after` that pass the filters: the ids of those that
/// pass `test`, newest first, and the window's last thread unless fewer were left. Only
/// those rows come back: a window of 12,000 threads sent whole cost more than reading it.
async fn test_window(
    db: &Db,
    workspace: WorkspaceId,
    f: &ThreadFilter,
    test: Test<'_>,
    after: Option<Cursor>,
    size: i64,
) -> Result<(Vec<i64>, Option<Cursor>), sqlx::Error> {
    // The window's threads first, on their own: planned with the rest of the statement,
    // without statistics, an estimate of each thread's test made PostgreSQL sort every thread
    // of the workspace instead of reading the newest from their index.
    let mut sql = Sql::new("WITH w AS MATERIALIZED (");
    push_filtered(&mut sql, "t.last_message_at, t.id", workspace, f, "");
    if let Some(c) = after {
        push_after(&mut sql, c);
    }
    // A size the planner cannot see: it plans for a tenth of the threads it expects, and so
    // reads them in order from the index; a size it can see may lead it to sort them all
    // (500 of 158,000 threads).
    sql.push(" ORDER BY t.last_message_at DESC, t.id DESC LIMIT (SELECT CAST(")
        .bind(size)
        .push(" AS BIGINT))) SELECT x.last_message_at, x.id, x.hit, x.n FROM (SELECT w.last_message_at, w.id, ");
    match test {
        // Each thread's messages found by the thread's index, then tested: behind `OFFSET 0`
        // the test cannot reach the search index, which a plan without statistics read
        // whole for every thread (a common word's 30,000 entries, 500 times).
        // Not `EXISTS`: PostgreSQL would hash every message matching the words.
        Test::Words(tsquery) => {
            sql.push(
                "(SELECT TRUE FROM (SELECT m.search FROM messages m WHERE m.thread_id = w.id \
                 OFFSET 0) m WHERE m.search @@ to_tsquery('simple', ",
            )
            .bind(tsquery)
            .push(") LIMIT 1)");
        }
        // A list in a select list is hashed once, then each thread is one probe.
        Test::Among(ids) => {
            sql.push("w.id IN (SELECT CAST(value AS BIGINT) FROM json_array_elements_text(CAST(")
                .bind(json_list(ids))
                .push(" AS json)))");
        }
    }
    sql.push(
        " AS hit, ROW_NUMBER() OVER (ORDER BY w.last_message_at DESC, w.id DESC) AS n FROM w) x \
         WHERE x.hit OR x.n = ",
    )
    .bind(size)
    .push(" ORDER BY x.n");
    let tested: Vec<(DateTime<Utc>, i64, Option<bool>, i64)> = db.fetch_all(sql).await?;
    let end = tested
        .iter()
        .find(|row| row.3 == size)
        .map(|&(last_message_at, id, _, _)| Cursor {
            last_message_at,
            id,
        });
    let hits = tested
        .into_iter()
        .filter(|row| row.2 == Some(true))
        .map(|(_, id, _, _)| id)
        .collect();
    Ok((hits, end))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_grow_with_the_estimate_and_stop_at_the_bound() {
        // Nothing found: the rest is the index's.
        assert_eq!(next_window(500, 0, 51, WALK_MAX), None);
        // Half found in 500: about 500 more, with a quarter to spare.
        assert_eq!(next_window(500, 25, 51, WALK_MAX), Some(650));
        // A little ahead: at least a first window.
        assert_eq!(next_window(500, 50, 51, WALK_MAX), Some(FIRST_WINDOW));
        // Too far ahead for the bound.
        assert_eq!(next_window(500, 4, 51, WALK_MAX), None);
        // Near the bound, less than a first window is left: that much, not a panic.
        assert_eq!(next_window(5_875, 50, 51, WALK_MAX), Some(125));
        // A list's walk is bounded by its length.
        assert_eq!(next_window(500, 50, 51, 4 * 1_001), Some(FIRST_WINDOW));
        assert_eq!(next_window(4_000, 50, 51, 4_004), None);
    }
}
