//! Full-text search over message text and author names: FTS5 on SQLite, `tsvector` on
//! PostgreSQL, with the same semantics on both: every word must match, as a prefix; words
//! typed joined by punctuation (`fan_123`, `e-mail`) must follow each other, all but the last
//! complete.
//!
//! Neither planner can tell how many messages a prefix search matches, and the right plan
//! depends on it. (On PostgreSQL a search first walks the newest threads, `walk.rs`; what
//! follows is for what the walk leaves.) So unibox first fetches the matches, up to
//! [`EXACT_CAP`] messages — on SQLite the messages' ids (the index holds no more), on
//! PostgreSQL their threads' ids (read from the rows the index's matches are checked
//! against anyway, so the page need not look 3,700 messages up again) — and then chooses:
//! - no match: nothing to query;
//! - up to [`DRIVE_MAX`] matches: start from them, fetch their threads and sort (cost grows
//!   with the matches);
//! - up to [`EXACT_CAP`]: walk the threads newest first and keep those among the matches
//!   (cost grows with the threads passed before a page is full, which shrinks as matches
//!   grow; at a million messages the two cross near a thousand matches). On PostgreSQL the
//!   walk is `walk.rs`'s, testing each thread against the list in memory;
//! - more: on PostgreSQL, walk the threads and test each one's messages against the query
//!   (exact; common words fill a page fast). SQLite cannot test one message cheaply, so it
//!   walks against the [`EXACT_CAP`] most recent matches instead (the first step fetches
//!   matches newest first, so those are its ids, and the index is read once), testing each
//!   thread's own messages by the thread's index (those matches are dense among the newest
//!   threads, so a page is full after a few hundred; looking all 10,000 up first cost more),
//!   and says so (`capped`).

use crate::ids::WorkspaceId;
use crate::storage::{Backend, Db, Sql};

/// Most words taken from one search; the rest are ignored.
const MAX_TERMS: usize = 12;

/// How many matching messages are handled as an explicit list.
pub const EXACT_CAP: i64 = 10_000;

/// Up to this many matches, the query starts from the matches.
pub const DRIVE_MAX: i64 = 1_000;

/// Splits what a person typed into groups of words, lower-cased: whitespace separates groups,
/// and every other character that is not a letter or digit separates the words of a group.
/// So no input can change the query's structure (every character with a meaning in FTS5 or
/// tsquery syntax is a separator), and a handle or a hyphenated word stays one phrase.
pub fn terms(q: &str) -> Vec<Vec<String>> {
    let mut left = MAX_TERMS;
    let mut groups = Vec::new();
    for typed in q.split_whitespace() {
        let words: Vec<String> = typed
            .split(|c: char| !c.is_alphanumeric())
            .filter(|w| !w.is_empty())
            .take(left)
            .map(str::to_lowercase)
            .collect();
        left -= words.len();
        if !words.is_empty() {
            groups.push(words);
        }
        if left == 0 {
            break;
        }
    }
    groups
}

#[derive(Debug, Clone)]
pub enum SearchPlan {
    /// Nothing can match (no words, or no message has them).
    Nothing,
    /// All matches (SQLite: the messages' ids; PostgreSQL: their threads' ids, each once),
    /// and whether to start from them.
    Matches { ids: Vec<i64>, drive: bool },
    /// Too many matches to list (PostgreSQL): the `tsquery`, tested per thread.
    Common(String),
    /// Too many matches to list (SQLite): the ids of the most recent [`EXACT_CAP`] of this
    /// workspace's matching messages.
    Recent(Vec<i64>),
}

fn match_query(backend: Backend, terms: &[Vec<String>]) -> String {
    // A group is a phrase whose last word is a prefix: a person types a handle's first part
    // in full. That is also what keeps `fan_123` fast: a prefix of a word in every message
    // ("fan") makes SQLite merge that word's whole list, the exact word does not.
    match backend {
        Backend::Sqlite => terms
            .iter()
            .map(|group| format!("\"{}\"*", group.join(" ")))
            .collect::<Vec<_>>()
            .join(" "),
        Backend::Postgres => terms
            .iter()
            .map(|group| format!("{}:*", group.join(" <-> ")))
            .collect::<Vec<_>>()
            .join(" & "),
    }
}

/// The `tsquery` (PostgreSQL's form) of what a person typed, or `None` when it has no words.
pub fn tsquery(q: &str) -> Option<String> {
    let terms = terms(q);
    (!terms.is_empty()).then(|| match_query(Backend::Postgres, &terms))
}

impl SearchPlan {
    pub async fn new(db: &Db, workspace: WorkspaceId, q: &str) -> Result<SearchPlan, sqlx::Error> {
        let terms = terms(q);
        if terms.is_empty() {
            return Ok(SearchPlan::Nothing);
        }
        let backend = db.backend();
        let query = match_query(backend, &terms);
        // SQLite's index holds every workspace's messages. Only when others have messages
        // too must each match be looked up to keep the count (and so the plan and the cap)
        // to this workspace; that lookup doubles the cost of common words.
        let scoped = backend == Backend::Sqlite && !alone(db, workspace).await?;
        // One row back, however many match: the count and the ids joined by commas.
        let mut hits = Sql::new("SELECT COUNT(*), ");
        hits.push(match backend {
            Backend::Sqlite => "COALESCE(group_concat(id), '')",
            Backend::Postgres => "COALESCE(string_agg(CAST(thread_id AS TEXT), ','), '')",
        });
        hits.push(match backend {
            Backend::Sqlite if scoped => {
                " FROM (SELECT message_search.rowid AS id FROM message_search \
                 JOIN messages m ON m.id = message_search.rowid WHERE message_search MATCH "
            }
            Backend::Sqlite => {
                " FROM (SELECT rowid AS id FROM message_search WHERE message_search MATCH "
            }
            Backend::Postgres => {
                " FROM (SELECT thread_id FROM messages WHERE search @@ to_tsquery('simple', "
            }
        });
        hits.bind(query.as_str());
        match backend {
            Backend::Sqlite if scoped => {
                hits.push(" AND m.workspace_id = ").bind(workspace);
            }
            Backend::Sqlite => {}
            Backend::Postgres => {
                hits.push(") AND workspace_id = ").bind(workspace);
            }
        };
        if backend == Backend::Sqlite {
            // Newest first, so that past the cap these are the most recent matches.
            hits.push(" ORDER BY message_search.rowid DESC");
        }
        hits.push(" LIMIT ").bind(EXACT_CAP + 1).push(") hits");
        let (n, list): (i64, String) = db
            .fetch_optional(hits)
            .await?
            .ok_or(sqlx::Error::RowNotFound)?;
        if n > EXACT_CAP && backend == Backend::Postgres {
            return Ok(SearchPlan::Common(query));
        }
        let mut ids: Vec<i64> = list.split(',').filter_map(|id| id.parse().ok()).collect();
        if backend == Backend::Postgres {
            // A thread with several matching messages is listed once.
            ids.sort_unstable();
            ids.dedup();
        }
        Ok(match n {
            0 => SearchPlan::Nothing,
            n if n <= EXACT_CAP => SearchPlan::Matches {
                drive: ids.len() as i64 <= DRIVE_MAX,
                ids,
            },
            _ => {
                // The oldest match is one too many.
                ids.sort_unstable_by(|a, b| b.cmp(a));
                ids.truncate(EXACT_CAP as usize);
                SearchPlan::Recent(ids)
            }
        })
    }

    /// Whether results come from the most recent matches only.
    pub fn capped(&self) -> bool {
        matches!(self, SearchPlan::Recent { .. })
    }

    /// On PostgreSQL, the matching threads when there are more than [`DRIVE_MAX`]: looking
    /// each up costs more than walking the newest threads and keeping those among them
    /// (`walk::newest`), as far as a page needs.
    pub fn threads_to_walk(&self, backend: Backend) -> Option<&[i64]> {
        match self {
            SearchPlan::Matches { ids, drive: false } if backend == Backend::Postgres => Some(ids),
            _ => None,
        }
    }

    /// Whether the thread query should start from the matches rather than walk threads in
    /// order; then the other filters must not steer the planner to an index.
    pub fn drives_from_matches(&self) -> bool {
        matches!(self, SearchPlan::Matches { drive: true, .. })
    }

    /// Appends ` AND <thread t matches>`.
    pub fn push(&self, sql: &mut Sql, backend: Backend, workspace: WorkspaceId) {
        match self {
            SearchPlan::Nothing => {
                sql.push(" AND 1 = 0");
            }
            SearchPlan::Matches { ids, .. } if backend == Backend::Postgres => {
                sql.push(" AND t.id IN (SELECT CAST(value AS BIGINT) FROM json_array_elements_text(CAST(")
                    .bind(json_list(ids))
                    .push(" AS json)))");
            }
            SearchPlan::Matches { ids, .. } => {
                sql.push(" AND t.id IN (SELECT m.thread_id FROM messages m WHERE m.id IN (SELECT value FROM json_each(")
                    .bind(json_list(ids))
                    .push(")))");
            }
            SearchPlan::Recent(ids) => {
                sql.push(" AND EXISTS (SELECT 1 FROM messages m WHERE m.thread_id = t.id AND m.id IN (SELECT value FROM json_each(")
                    .bind(json_list(ids))
                    .push(")))");
            }
            SearchPlan::Common(query) => {
                sql.push(" AND t.id IN (SELECT m.thread_id FROM messages m WHERE m.search @@ to_tsquery('simple', ");
                sql.bind(query.as_str())
                    .push(") AND m.workspace_id = ")
                    .bind(workspace)
                    .push(")");
            }
        }
    }
}

/// `[1,2,3]`: a list bound as one argument, whatever its length (one statement shape).
pub(super) fn json_list(ids: &[i64]) -> String {
    let items: Vec<String> = ids.iter().map(i64::to_string).collect();
    format!("[{}]", items.join(","))
}

/// Whether `workspace` is the only one with threads (two probes of an index).
async fn alone(db: &Db, workspace: WorkspaceId) -> Result<bool, sqlx::Error> {
    let mut sql = Sql::new("SELECT CASE WHEN EXISTS (SELECT 1 FROM threads WHERE workspace_id < ");
    sql.bind(workspace)
        .push(") OR EXISTS (SELECT 1 FROM threads WHERE workspace_id > ")
        .bind(workspace)
        .push(") THEN 0 ELSE 1 END");
    let (alone,): (i64,) = db
        .fetch_optional(sql)
        .await?
        .ok_or(sqlx::Error::RowNotFound)?;
    Ok(alone == 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn syntax_characters_only_separate_words() {
        assert_eq!(
            terms(r#"Where "can" I buy* this? NEAR(x) a:b & !c"#),
            [
                vec!["where"],
                vec!["can"],
                vec!["i"],
                vec!["buy"],
                vec!["this"],
                vec!["near", "x"],
                vec!["a", "b"],
                vec!["c"]
            ]
        );
        assert!(terms("«»—!! & *").is_empty());
        assert_eq!(terms("Café Ümlaut"), [["café"], ["ümlaut"]]);
        assert_eq!(terms(&"w ".repeat(20)).len(), MAX_TERMS);
        assert_eq!(terms(&"w_".repeat(20)), [vec!["w"; MAX_TERMS]]);
    }

    #[test]
    fn joined_words_are_a_phrase_with_a_prefix_last() {
        let q = terms("ship fan_123");
        assert_eq!(match_query(Backend::Postgres, &q), "ship:* & fan <-> 123:*");
        assert_eq!(match_query(Backend::Sqlite, &q), "\"ship\"* \"fan 123\"*");
    }
}
