//! Health, readiness, metrics and graceful shutdown.

use crate::common::*;
use serde_json::{Value, json};

on_both_backends! {
    async fn health_and_readiness(s: &TestServer) {
        let (status, body) = s.get_json("/healthz").await;
        assert_eq!((status, body["status"].as_str()), (200, Some("ok")));
        let (status, body) = s.get_json("/readyz").await;
        assert_eq!(status, 200);
        assert_eq!(body["database"], s.backend.name());
    }

    async fn metrics_count_requests_and_events(s: &TestServer) {
        s.ingest(json!([comment("a", "1"), comment("b", "2")])).await;
        s.ingest(comment("a", "1")).await;
        s.get("/api/v1/threads").await;
        let text = s.get("/metrics").await.text().await.unwrap();
        assert!(text.contains("unibox_events_ingested_total 2"), "{text}");
        assert!(text.contains("unibox_events_duplicate_total 1"), "{text}");
        assert!(text.contains(r#"unibox_http_requests_total{method="POST",route="/api/v1/events",status="201"} 1"#), "{text}");
        assert!(text.contains(r#"unibox_http_requests_total{method="POST",route="/api/v1/events",status="200"} 1"#), "{text}");
        assert!(text.contains(r#"unibox_http_request_duration_seconds_count{route="/api/v1/threads"} 1"#), "{text}");
        // Routes are reported by pattern, never by raw path.
        s.get("/api/v1/threads/12345").await;
        let text = s.get("/metrics").await.text().await.unwrap();
        assert!(text.contains(r#"route="/api/v1/threads/{id}""#), "{text}");
        assert!(!text.contains("12345"), "{text}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_finishes_the_request_in_flight() {
    let mut s = TestServer::sqlite().await;
    // Hold SQLite's single writer so the ingest request stays in flight inside the handler.
    let writer = s.db.begin().await.unwrap();
    let events: Vec<Value> = (0..50)
        .map(|i| comment(&format!("c{i}"), "in flight"))
        .collect();
    let client = s.client.clone();
    let url = s.url("/api/v1/events");
    let request = tokio::spawn(async move { client.post(url).json(&events).send().await });
    // Plenty of time for a small request to reach the handler, even on a loaded machine.
    tokio::time::sleep(std::time::Duration::from_millis(1000)).await;
    assert!(!request.is_finished(), "the request waits for the writer");
    let server = s.shutdown();
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    assert!(
        !server.is_finished(),
        "the server waits for the request in flight"
    );
    drop(writer);
    let response = request
        .await
        .unwrap()
        .expect("the in-flight request was answered");
    assert_eq!(response.status().as_u16(), 201);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["created"], 50);
    server.await.unwrap().unwrap();
    assert_eq!(s.count("messages").await, 50);
    assert!(
        reqwest::get(s.url("/healthz")).await.is_err(),
        "no new connections after shutdown"
    );
    s.finish().await;
}

/// The ingest writers' own PostgreSQL connections plan each statement once for all arguments
/// and look rows up by key; the shared pool keeps PostgreSQL's defaults for everything else
/// (searches, pages, reports).
#[tokio::test]
async fn the_writers_connections_plan_once_and_look_rows_up_by_key() {
    let Some(s) = TestServer::postgres().await else {
        return;
    };
    let settings = |db: unibox::storage::Db| async move {
        let row: (String, String, String) = db
            .fetch_optional(unibox::storage::Sql::new(
                "SELECT current_setting('plan_cache_mode'), current_setting('enable_hashjoin'), \
                 current_setting('enable_mergejoin')",
            ))
            .await
            .unwrap()
            .unwrap();
        row
    };
    let own = s.db.with_own_connections(1, 1);
    assert_eq!(
        settings(own.clone()).await,
        ("force_generic_plan".into(), "off".into(), "off".into())
    );
    assert_eq!(
        settings(s.db.clone()).await,
        ("auto".into(), "on".into(), "on".into())
    );
    own.close().await;
    s.finish().await;
}

/// The ingest writers' connections open as the server starts, one of each kind per writer,
/// and stay open while nothing is stored: a burst's first groups do not wait for a connection
/// to open. They are named for what they are in `pg_stat_activity` (PostgreSQL).
#[tokio::test]
async fn the_writers_connections_open_as_the_server_starts() {
    let Some(s) = TestServer::postgres_with(|c| c.ingest.ingest_writers = Some(3)).await else {
        return;
    };
    let named = |name: &'static str| {
        let db = s.db.clone();
        async move {
            let mut sql = unibox::storage::Sql::new(
                "SELECT COUNT(*) FROM pg_stat_activity \
                 WHERE datname = current_database() AND application_name = ",
            );
            sql.bind(name);
            let (n,): (i64,) = db.fetch_optional(sql).await.unwrap().unwrap();
            n
        }
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while named("unibox ingest").await < 6 && std::time::Instant::now() < deadline {
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    // Three writers: three connections for transactions, three for statements on their own.
    assert_eq!(named("unibox ingest").await, 6);
    assert_eq!(
        s.count("messages").await,
        0,
        "opened before anything was stored"
    );
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert_eq!(named("unibox ingest").await, 6, "no more open while idle");
    assert!(
        named("unibox").await >= 1,
        "the shared pool names itself too"
    );
    s.finish().await;
}

/// Statements each on their own (names for ids, records of calls that went through) commit
/// without waiting for the disk; a transaction's commit, on the same pools, waits for it
/// (PostgreSQL). See `storage::UNFLUSHED` for why nothing acknowledged rests on the former.
#[tokio::test]
async fn only_statements_on_their_own_commit_without_waiting_for_the_disk() {
    let Some(s) = TestServer::postgres().await else {
        return;
    };
    let ask = "SELECT current_setting('synchronous_commit'), current_setting('plan_cache_mode')";
    let setting = |mut tx: unibox::storage::Tx| async move {
        let row: (String, String) = tx
            .fetch_optional(unibox::storage::Sql::new(ask))
            .await
            .unwrap()
            .unwrap();
        tx.commit().await.unwrap();
        row
    };
    let own = s.db.with_own_connections(1, 1);
    for (db, plans) in [(&s.db, "auto"), (&own, "force_generic_plan")] {
        let alone = setting(db.each_on_its_own().await.unwrap()).await;
        assert_eq!(alone, ("off".to_string(), plans.to_string()));
        let together = setting(db.begin().await.unwrap()).await;
        assert_eq!(together, ("on".to_string(), plans.to_string()));
        let (plain,): (String,) = db
            .fetch_optional(unibox::storage::Sql::new(
                "SELECT current_setting('synchronous_commit')",
            ))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(plain, "on");
    }
    // What a statement on its own wrote is there for every other connection at once.
    let mut alone = own.each_on_its_own().await.unwrap();
    alone
        .execute(unibox::storage::Sql::new(
            "INSERT INTO storage_probe (filler) VALUES (NULL)",
        ))
        .await
        .unwrap();
    let (n,): (i64,) =
        s.db.fetch_optional(unibox::storage::Sql::new(
            "SELECT COUNT(*) FROM storage_probe",
        ))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(n, 1);
    alone.commit().await.unwrap();
    own.close().await;
    s.finish().await;
}

/// A batch's replies look their own threads up one key at a time, whatever PostgreSQL knew of
/// the table when the writers planned the statement: here it is planned while the threads are
/// a handful and never analysed (autovacuum would look within a minute), then used against
/// 2,000. A plan by the index's middle column, the kind, as a constant of that statement would
/// read every comment thread for each batch.
#[tokio::test]
async fn replies_look_up_their_threads_by_key_in_a_young_database() {
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
    // Planned now: replies among a handful of threads, one batch at a time (one writer).
    for b in 0..3 {
        s.ingest(json!([
            comment(&format!("first{b}"), "hello"),
            reply(&format!("first{b}-r"), &format!("first{b}"), "hi")
        ]))
        .await;
    }
    for from in (0..2000).step_by(200) {
        let events: Vec<Value> = (from..from + 200)
            .map(|i| comment(&format!("top{i}"), "hello"))
            .collect();
        s.ingest(Value::Array(events)).await;
    }
    let inserted = "SELECT COALESCE(SUM(n_tup_ins), 0)::bigint FROM pg_stat_user_tables \
                    WHERE relname = 'messages' AND schemaname = current_schema()";
    let read = "SELECT COALESCE(SUM(idx_tup_read), 0)::bigint FROM pg_stat_user_indexes \
                WHERE relname = 'threads' AND schemaname = current_schema() \
                AND indexrelname LIKE 'threads_channel_id_kind_thread_key%'";
    // The writers publish what they read and wrote a moment after they fall idle.
    let published = |count: i64| async move {
        for _ in 0..200 {
            if stat(inserted).await >= count {
                return true;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        false
    };
    assert!(published(2006).await, "the stored threads never showed");
    let before = stat(read).await;
    for b in 0..20 {
        let events: Vec<Value> = (0..10)
            .map(|i| {
                let parent = format!("top{}", b * 100 + i);
                reply(&format!("{parent}-r"), &parent, "thanks")
            })
            .collect();
        s.ingest(Value::Array(events)).await;
    }
    assert!(published(2206).await, "the replies never showed");
    let entries = stat(read).await - before;
    assert!(
        entries < 2000,
        "20 batches of 10 replies read {entries} entries of the threads' key index \
         (2,000 threads: each batch read them all)"
    );
    assert_eq!(s.count("threads").await, 2003);
    s.finish().await;
}

/// The write-ahead log's last frame and how many frames are copied into the database file, as
/// SQLite's shared-memory index says (`-shm`: the index header's `mxFrame` at byte 16, the
/// checkpoint's `nBackfill` at byte 96, in the machine's byte order; see SQLite's WAL format).
fn log_and_copied(database: &str) -> Option<(u32, u32)> {
    let shm = std::fs::read(format!("{database}-shm")).ok()?;
    let word = |at: usize| Some(u32::from_ne_bytes(shm.get(at..at + 4)?.try_into().ok()?));
    Some((word(16)?, word(96)?))
}

/// The background checkpoint copies the log into the database file soon after every write,
/// not only on its once-a-second idle round: each of three batches, sent as soon as the last
/// one was copied, is copied within 600 ms (the idle round comes a second after the last copy).
#[tokio::test]
async fn sqlite_copies_the_log_back_soon_after_writes() {
    let s = TestServer::sqlite().await;
    let database = s.database_url.trim_start_matches("sqlite://").to_owned();
    for round in 0..3 {
        let events: Vec<Value> = (0..200)
            .map(|i| comment(&format!("r{round}c{i}"), "copied back soon"))
            .collect();
        s.ingest(json!(events)).await;
        let started = std::time::Instant::now();
        let mut seen = log_and_copied(&database);
        while !matches!(seen, Some((log, copied)) if log > 0 && copied == log)
            && started.elapsed() < std::time::Duration::from_millis(600)
        {
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
            seen = log_and_copied(&database);
        }
        assert!(
            matches!(seen, Some((log, copied)) if log > 0 && copied == log),
            "round {round}: (frames in the log, copied) = {seen:?} after {:?}",
            started.elapsed()
        );
    }
    s.finish().await;
}
