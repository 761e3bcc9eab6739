//! What PostgreSQL's write-ahead log did while a benchmark measures: how much it wrote, how
//! often its buffers were full, and when it had to make a new segment file. A new segment is
//! 16 MiB written out and flushed (`wal_init_zero`) while every commit waits behind it; a
//! server that has been running reuses the segments a checkpoint left (`min_wal_size`), a new
//! one makes them as it goes. Read from `pg_stat_wal` and `pg_ls_waldir()` (a superuser's or
//! `pg_monitor`'s), every 50 ms.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use sqlx::{Connection, PgConnection};

pub struct WalWatch {
    stop: Arc<AtomicBool>,
    task: tokio::task::JoinHandle<Option<Seen>>,
}

struct Seen {
    bytes: i64,
    buffers_full: i64,
    /// When the count of segment files grew, in seconds from the start, and by how many.
    new_segments: Vec<(f64, i64)>,
}

/// Bytes written and buffers found full since the server's statistics were reset, and the
/// segment files present.
async fn read(conn: &mut PgConnection) -> Option<(i64, i64, i64)> {
    sqlx::query_as(
        "SELECT wal_bytes::bigint, wal_buffers_full, (SELECT count(*) FROM pg_ls_waldir()) \
         FROM pg_stat_wal",
    )
    .fetch_one(conn)
    .await
    .ok()
}

impl WalWatch {
    /// Connects and takes the first reading before it returns, so that opening the connection
    /// (a new server process, its handshake and first catalog reads) does not take the cores
    /// from the measured phase's first webhooks.
    pub async fn start(url: &str) -> WalWatch {
        let stop = Arc::new(AtomicBool::new(false));
        let stopped = stop.clone();
        let first = match PgConnection::connect(url).await {
            Ok(mut conn) => read(&mut conn).await.map(|seen| (conn, seen)),
            Err(_) => None,
        };
        let task = tokio::spawn(async move {
            let (mut conn, (bytes, full, mut segments)) = first?;
            let started = Instant::now();
            let mut new_segments = Vec::new();
            let mut last = (bytes, full);
            while !stopped.load(Ordering::Relaxed) {
                tokio::time::sleep(Duration::from_millis(50)).await;
                let Some((b, f, s)) = read(&mut conn).await else {
                    break;
                };
                if s > segments {
                    new_segments.push((started.elapsed().as_secs_f64(), s - segments));
                }
                segments = s;
                last = (b, f);
            }
            Some(Seen {
                bytes: last.0 - bytes,
                buffers_full: last.1 - full,
                new_segments,
            })
        });
        WalWatch { stop, task }
    }

    /// Stops watching and says what the log did for `comments` comments.
    pub async fn finish(self, comments: usize) -> String {
        self.stop.store(true, Ordering::Relaxed);
        let Ok(Some(seen)) = self.task.await else {
            return "write-ahead log: not readable (needs a superuser or pg_monitor)".into();
        };
        let at: Vec<String> = seen
            .new_segments
            .iter()
            .map(|(s, n)| format!("{n} at {s:.1} s"))
            .collect();
        format!(
            "write-ahead log: {:.1} MiB ({:.1} KiB a comment), buffers full {} times, new segment files: {}",
            seen.bytes as f64 / 1_048_576.0,
            seen.bytes as f64 / 1024.0 / comments.max(1) as f64,
            seen.buffers_full,
            if at.is_empty() {
                "none".to_owned()
            } else {
                at.join(", ")
            }
        )
    }
}
