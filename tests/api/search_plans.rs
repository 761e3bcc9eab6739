//! Searches whose plans cannot depend on PostgreSQL's statistics (PostgreSQL).

use crate::common::*;
use serde_json::Value;

/// A few words of a small vocabulary, as every comment here has: each word is in a large
/// share of the messages.
const WORDS: &[&str] = &[
    "kopen",
    "roze",
    "variant",
    "bestelling",
    "retour",
    "prijs",
    "maat",
    "kleur",
    "mooi",
    "verzending",
    "love",
    "pink",
];

/// A search of common words tests the newest threads by their own messages, whatever
/// PostgreSQL knows of the tables: here never analysed (autovacuum off, or not yet round).
/// Without statistics, the plan once read the search index's entries for the words again for
/// every thread it tested (a common word's every message, hundreds of times a search).
#[tokio::test]
async fn common_words_never_read_the_search_index_per_thread() {
    let Some(s) = TestServer::postgres().await else {
        return;
    };
    let stat = |sql: &'static str| {
        let db = s.db.clone();
        async move {
            let (n,): (i64,) = db
                .fetch_optional(unibox::storage::Sql::new(sql))
                .await
                .unwrap()
                .unwrap_or((0,));
            n
        }
    };
    let total = 3_000;
    for from in (0..total).step_by(500) {
        let events: Vec<Value> = (from..from + 500)
            .map(|i| {
                // Four words a comment, each word in a third of them, "roze variant" in a twelfth.
                let text: Vec<&str> = [0, 1, 3, 7]
                    .iter()
                    .map(|k| WORDS[(i * 7 + k) % WORDS.len()])
                    .collect();
                comment(&format!("c{i}"), &text.join(" "))
            })
            .collect();
        s.ingest(Value::Array(events)).await;
    }
    let analysed = "SELECT COUNT(*) FROM pg_stat_user_tables WHERE schemaname = current_schema() \
                    AND relname IN ('messages', 'threads') \
                    AND (last_analyze IS NOT NULL OR last_autoanalyze IS NOT NULL)";
    let inserted = "SELECT COALESCE(SUM(n_tup_ins), 0)::bigint FROM pg_stat_user_tables \
                    WHERE schemaname = current_schema() AND relname = 'messages'";
    // Threads read, by whatever plan: from the table or through any of its indexes.
    let walked = "SELECT ((SELECT COALESCE(SUM(seq_tup_read), 0) FROM pg_stat_user_tables \
                  WHERE schemaname = current_schema() AND relname = 'threads') \
                  + (SELECT COALESCE(SUM(idx_tup_read), 0) FROM pg_stat_user_indexes \
                  WHERE schemaname = current_schema() AND relname = 'threads'))::bigint";
    let searched = "SELECT COALESCE(SUM(idx_tup_read), 0)::bigint FROM pg_stat_user_indexes \
                    WHERE schemaname = current_schema() AND indexrelname = 'messages_search'";
    // A connection publishes what it read and wrote a moment after it falls idle.
    let published = |sql: &'static str, count: i64| {
        let stat = &stat;
        async move {
            for _ in 0..200 {
                if stat(sql).await >= count {
                    return true;
                }
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            }
            false
        }
    };
    assert!(
        published(inserted, total as i64).await,
        "the messages never showed"
    );
    let (walked_before, searched_before) = (stat(walked).await, stat(searched).await);
    for q in ["kopen", "roze%20variant"] {
        let found = s.threads(&format!("?q={q}&limit=20")).await;
        assert_eq!(found.len(), 20, "{q}");
    }
    assert_eq!(
        stat(analysed).await,
        0,
        "the tables were analysed meanwhile"
    );
    // The threads a search walks show with the same statement's reads of messages.
    assert!(
        published(walked, walked_before + 40).await,
        "the searches' reads never showed"
    );
    let entries = stat(searched).await - searched_before;
    assert!(
        entries < 1_000,
        "two searches read {entries} entries of the search index (about 1,000 messages \
         match each word: it was read again for every thread tested)"
    );
    assert_eq!(s.count("messages").await, total as i64);
    s.finish().await;
}
