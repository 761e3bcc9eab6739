//! Full-text search over message text and author names: FTS5 on SQLite, `tsvector` on
//! PostgreSQL. Both get the same query semantics: every word must match, as a prefix.

use crate::storage::{Backend, Sql};

/// Most words taken from one search; the rest are ignored.
const MAX_TERMS: usize = 12;

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

/// Appends ` AND <threads alias t matches the search>` to `sql`. With no words in `q`,
/// appends a condition that matches nothing: a search for punctuation finds nothing.
pub fn push_search(sql: &mut Sql, backend: Backend, workspace: i64, q: &str) {
    let terms = terms(q);
    if terms.is_empty() {
        sql.push(" AND 1 = 0");
        return;
    }
    match backend {
        Backend::Sqlite => {
            let query = terms.iter().map(|t| format!("\"{t}\"*")).collect::<Vec<_>>().join(" ");
            sql.push(
                " AND t.id IN (SELECT m.thread_id FROM messages m WHERE m.id IN \
                 (SELECT rowid FROM message_search WHERE message_search MATCH ",
            );
            sql.bind(query).push(") AND m.workspace_id = ").bind(workspace).push(")");
        }
        Backend::Postgres => {
            let query = terms.iter().map(|t| format!("{t}:*")).collect::<Vec<_>>().join(" & ");
            sql.push(" AND t.id IN (SELECT m.thread_id FROM messages m WHERE m.search @@ to_tsquery('simple', ");
            sql.bind(query).push(") AND m.workspace_id = ").bind(workspace).push(")");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn syntax_characters_only_separate_words() {
        assert_eq!(terms(r#"Where "can" I buy* this? NEAR(x) a:b & !c"#), [
            "where", "can", "i", "buy", "this", "near", "x", "a", "b", "c"
        ]);
        assert!(terms("«»—!!").is_empty());
        assert_eq!(terms("Café Ümlaut"), ["café", "ümlaut"]);
    }
}
