//! `UNIBOX_INGEST_WRITERS`: the real binary starts as many ingest writers as it is told on
//! PostgreSQL, one on SQLite (saying so), and refuses a count out of range before it starts.

use std::process::Command;

use crate::common::*;
use crate::setup::{Empty, Serving};

/// The line `unibox serve` logs about its ingest writers, told `count` (plain text: its
/// stderr is not a terminal), and the whole log up to it.
async fn writers_line(backend: Backend, count: &str) -> Option<(String, Vec<String>)> {
    let db = Empty::new(backend).await?;
    let mut serving = Serving::start_with(&db.url, &[("UNIBOX_INGEST_WRITERS", count)]);
    let line = serving.line_with("ingest writers ready");
    let before = serving.seen_so_far().to_vec();
    serving.stop();
    db.remove().await;
    Some((line, before))
}

#[tokio::test]
async fn postgres_starts_the_writers_it_is_told() {
    for count in ["1", "3"] {
        let Some((line, _)) = writers_line(Backend::Postgres, count).await else {
            return;
        };
        assert!(line.contains(&format!("writers={count}")), "{line}");
    }
}

#[tokio::test]
async fn sqlite_keeps_its_one_writer_and_says_so() {
    let (line, before) = writers_line(Backend::Sqlite, "3").await.unwrap();
    assert!(line.contains("writers=1"), "{line}");
    assert!(
        before
            .iter()
            .any(|l| l.contains("UNIBOX_INGEST_WRITERS applies to PostgreSQL")),
        "{before:#?}"
    );
}

#[test]
fn a_count_out_of_range_is_refused_before_anything_runs() {
    for count in ["0", "17", "many"] {
        let out = Command::new(env!("CARGO_BIN_EXE_unibox"))
            .arg("serve")
            .env("DATABASE_URL", "sqlite:///nonexistent-dir/never-created.db")
            .env("UNIBOX_INGEST_WRITERS", count)
            .output()
            .unwrap();
        assert!(!out.status.success(), "{count} accepted");
        let said = String::from_utf8_lossy(&out.stderr);
        assert!(
            said.contains("--ingest-writers") && said.contains(&format!("'{count}'")),
            "{said}"
        );
    }
}
