//! Full-text search over message text and author names: FTS5 on SQLite, `tsvector` on
//! PostgreSQL. Both get the same query semantics: every word must match, as a prefix.
//!
//! PostgreSQL's planner picks between walking threads newest first (common words) and starting
//! from the matches (rare words) by itself. SQLite's cannot see how many messages match, so
//! unibox counts first (up to a cap) and chooses:
//! - no match: nothing to query;
//! - a few matches (up to [`SQLITE_DRIVE_MAX`]): start from the matching messages, fetch their
//!   threads and sort them (cost grows with the matches);
//! - more, up to [`SQLITE_EXACT_CAP`]: walk the threads newest first and keep those among the
//!   matches (cost grows with the threads passed before the page is full, which shrinks as
//!   matches grow; at a million messages the two cross near a thousand matches);
//! - more still: as before, but against the [`SQLITE_EXACT_CAP`] most recent matching
//!   messages only; the answer says so (`search_capped`).

use crate::storage::{Backend, Db, Sql};

/// Most words taken from one search; the rest are ignored.
const MAX_TERMS: usize = 12;

/// How many matching messages SQLite search handles exactly.
pub const SQLITE_EXACT_CAP: i64 = 10_000;

/// Up to this many matches, SQLite search starts from the matches.
pub const SQLITE_DRIVE_MAX: i64 = 1_000;

/// Splits what a person typed into words (letters and digits only), lower-cased. Everything
/// else, including every character with a meaning in FTS5 or tsquery syntax, separates words,
/// so no input can change the query's structure.
pub fn terms(q: &str) -> Vec<String> {
    q.split(|c: char| !c.is_alphanumeric())
        .filter(|t| !t.is_empty())
        .map(str::to_lowercase)
        .take(MAX_TERMS)
        .collect()
}

#[derive(Debug, Clone)]
pub enum SearchPlan {
    /// Nothing can match (no words, or no message has them).
    Nothing,
    /// A `tsquery`.
    Postgres(String),
    /// The ids of all matching messages, as a JSON array, and whether to start from them.
    SqliteExact { ids: String, drive: bool },
    /// An FTS5 query matching more messages than the cap.
    SqliteRecent(String),
}

impl SearchPlan {
    pub async fn new(db: &Db, q: &str) -> Result<SearchPlan, sqlx::Error> {
        let terms = terms(q);
        if terms.is_empty() {
            return Ok(SearchPlan::Nothing);
        }
        if db.backend() == Backend::Postgres {
            return Ok(SearchPlan::Postgres(
                terms
                    .iter()
                    .map(|t| format!("{t}:*"))
                    .collect::<Vec<_>>()
                    .join(" & "),
            ));
        }
        let query = terms
            .iter()
            .map(|t| format!("\"{t}\"*"))
            .collect::<Vec<_>>()
            .join(" ");
        // The matches themselves, up to the cap: evaluated once, then handed to the thread
        // query as one JSON array (one parameter, so the statement stays cached).
        let mut hits = Sql::new("SELECT rowid FROM message_search WHERE message_search MATCH ");
        hits.bind(query.as_str())
            .push(" LIMIT ")
            .bind(SQLITE_EXACT_CAP + 1);
        let ids: Vec<(i64,)> = db.fetch_all(hits).await?;
        Ok(match ids.len() as i64 {
            0 => SearchPlan::Nothing,
            n if n <= SQLITE_EXACT_CAP => {
                let list = ids
                    .iter()
                    .map(|(id,)| id.to_string())
                    .collect::<Vec<_>>()
                    .join(",");
                SearchPlan::SqliteExact {
                    ids: format!("[{list}]"),
                    drive: n <= SQLITE_DRIVE_MAX,
                }
            }
            _ => SearchPlan::SqliteRecent(query),
        })
    }

    /// Whether results come from the most recent matches only.
    pub fn capped(&self) -> bool {
        matches!(self, SearchPlan::SqliteRecent(_))
    }

    /// Whether the thread query should start from the matches rather than walk threads in
    /// order (SQLite only; there the other filters must not steer it to an index).
    pub fn drives_from_matches(&self) -> bool {
        matches!(self, SearchPlan::SqliteExact { drive: true, .. })
    }

    /// Appends ` AND <thread t matches>`.
    pub fn push(&self, sql: &mut Sql, workspace: i64) {
        match self {
            SearchPlan::Nothing => {
                sql.push(" AND 1 = 0");
            }
            SearchPlan::Postgres(query) => {
                sql.push(" AND t.id IN (SELECT m.thread_id FROM messages m WHERE m.search @@ to_tsquery('simple', ");
                sql.bind(query.as_str())
                    .push(") AND m.workspace_id = ")
                    .bind(workspace)
                    .push(")");
            }
            SearchPlan::SqliteExact { ids, .. } => {
                sql.push(" AND t.id IN (SELECT m.thread_id FROM messages m WHERE m.id IN (SELECT value FROM json_each(");
                sql.bind(ids.as_str())
                    .push(")) AND m.workspace_id = ")
                    .bind(workspace)
                    .push(")");
            }
            SearchPlan::SqliteRecent(query) => {
                sql.push(
                    " AND t.id IN (SELECT m.thread_id FROM messages m WHERE m.id IN \
                     (SELECT rowid FROM message_search WHERE message_search MATCH ",
                );
                sql.bind(query.as_str())
                    .push(" ORDER BY rowid DESC LIMIT ")
                    .bind(SQLITE_EXACT_CAP);
                sql.push(") AND m.workspace_id = ")
                    .bind(workspace)
                    .push(")");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn syntax_characters_only_separate_words() {
        assert_eq!(
            terms(r#"Where "can" I buy* this? NEAR(x) a:b & !c"#),
            [
                "where", "can", "i", "buy", "this", "near", "x", "a", "b", "c"
            ]
        );
        assert!(terms("«»—!!").is_empty());
        assert_eq!(terms("Café Ümlaut"), ["café", "ümlaut"]);
    }
}
