//! `UNIBOX_DB_FLUSH`: each backend told when a commit reaches the disk, on every connection
//! that commits what ingest acknowledges.

use crate::common::*;
use serde_json::json;
use unibox::storage::{Flush, Sql};

/// SQLite's `synchronous` (1 is `NORMAL`, 2 `FULL`) on its one writer and on a reader.
async fn sqlite_synchronous(s: &TestServer) -> [i64; 2] {
    let writer = s.db.sqlite_writer().expect("a SQLite server");
    let on_writer: i64 = sqlx::query_scalar("PRAGMA synchronous")
        .fetch_one(writer)
        .await
        .unwrap();
    let (on_reader,): (i64,) =
        s.db.fetch_optional(Sql::new("PRAGMA synchronous"))
            .await
            .unwrap()
            .unwrap();
    [on_writer, on_reader]
}

/// PostgreSQL's `synchronous_commit` on the shared pool and on the ingest writers' own
/// connections (made from the same options).
async fn postgres_synchronous_commit(s: &TestServer) -> [String; 2] {
    let show = || Sql::new("SELECT current_setting('synchronous_commit')");
    let (shared,): (String,) = s.db.fetch_optional(show()).await.unwrap().unwrap();
    let writers = s.db.with_own_connections(1, 1);
    let (own,): (String,) = writers.fetch_optional(show()).await.unwrap().unwrap();
    writers.close().await;
    [shared, own]
}

/// Stores a comment and reads its thread back: the write path works under the setting.
async fn stores_a_comment(s: &TestServer) {
    let body = s
        .ingest(json!([comment("c1", "stored under this flush")]))
        .await;
    assert_eq!(body["created"], 1, "{body}");
    let threads = s.threads("").await;
    assert_eq!(threads.len(), 1);
    assert_eq!(threads[0]["preview"], "stored under this flush");
}

#[tokio::test]
async fn sqlite_flushes_as_told() {
    for (flush, synchronous) in [
        (None, 1),
        (Some(Flush::Background), 1),
        (Some(Flush::Commit), 2),
    ] {
        let s = TestServer::sqlite_with(|c| c.storage.db_flush = flush).await;
        stores_a_comment(&s).await;
        assert_eq!(sqlite_synchronous(&s).await, [synchronous; 2], "{flush:?}");
        s.finish().await;
    }
}

#[tokio::test]
async fn postgres_flushes_as_told() {
    for (flush, setting) in [
        (None, "on"),
        (Some(Flush::Commit), "on"),
        (Some(Flush::Background), "off"),
    ] {
        let Some(s) = TestServer::postgres_with(|c| c.storage.db_flush = flush).await else {
            return;
        };
        stores_a_comment(&s).await;
        assert_eq!(
            postgres_synchronous_commit(&s).await,
            [setting.to_owned(), setting.to_owned()],
            "{flush:?}"
        );
        s.finish().await;
    }
}
