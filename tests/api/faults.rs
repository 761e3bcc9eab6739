//! Faults: a full disk, a lost database connection, a restarted database. Whatever happens, an
//! acknowledged (2xx) event is stored, a refused batch leaves nothing behind, and unibox
//! recovers on its own.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::common::*;
use serde_json::{Value, json};
use unibox::storage::{self, Db, Sql};

/// A batch of `n` comments with long texts (so a few fill a small disk), ids unique to `tag`.
fn batch(tag: &str, n: usize) -> Vec<Value> {
    (0..n)
        .map(|i| {
            let mut c = comment(&format!("{tag}-{i}"), &"x".repeat(600));
            c["author"]["external_id"] = json!(format!("author-{tag}-{i}"));
            c
        })
        .collect()
}

fn ids(events: &[Value]) -> Vec<String> {
    events
        .iter()
        .map(|e| e["external_id"].as_str().unwrap().to_owned())
        .collect()
}

/// Sends one batch; its status and body.
async fn send(client: &reqwest::Client, url: &str, events: &[Value]) -> (u16, Value) {
    match client.post(url).json(events).send().await {
        Ok(r) => {
            let status = r.status().as_u16();
            (status, r.json().await.unwrap_or(Value::Null))
        }
        Err(e) => (0, json!(e.to_string())),
    }
}

/// The external ids among `wanted` that are stored.
async fn stored(db: &Db, wanted: &[String]) -> HashSet<String> {
    let mut found = HashSet::new();
    for chunk in wanted.chunks(500) {
        let mut sql = Sql::new("SELECT external_id FROM messages WHERE external_id IN ");
        sql.bind_list(chunk.iter().cloned());
        let rows: Vec<(String,)> = db.fetch_all(sql).await.unwrap();
        found.extend(rows.into_iter().map(|(id,)| id));
    }
    found
}

/// How long refusals must last before the disk counts as full: longer than a few turns of the
/// background checkpoint, which can let the log be reused from its start (so a first refusal
/// may be followed by room again).
const STEADILY_FULL: Duration = Duration::from_secs(2);

/// Sends batches until the disk is steadily full; returns the last refusal. Acknowledged ids
/// go to `acked`; refused batches must leave nothing behind, which this checks.
async fn fill(s: &TestServer, tag: &str, acked: &mut Vec<String>) -> (u16, Value) {
    let mut refused = Vec::new();
    let mut since: Option<std::time::Instant> = None;
    for round in 0..400 {
        let events = batch(&format!("{tag}{round}"), 100);
        let (status, body) = send(&s.client, &s.url("/api/v1/events"), &events).await;
        if (200..300).contains(&status) {
            acked.extend(ids(&events));
            since = None;
            continue;
        }
        refused.extend(ids(&events));
        let first = *since.get_or_insert_with(std::time::Instant::now);
        if status != 507 || first.elapsed() >= STEADILY_FULL {
            assert!(
                stored(&s.db, &refused).await.is_empty(),
                "a refused batch left messages behind"
            );
            return (status, body);
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    panic!("the database never filled up");
}

/// While the disk stays full, every batch is refused with 507, and nothing of it is stored.
async fn refused_while_full(s: &TestServer, acked: &[String]) {
    let before = s.count("messages").await;
    for round in 0..5 {
        let events = batch(&format!("full{round}"), 100);
        let (status, body) = send(&s.client, &s.url("/api/v1/events"), &events).await;
        assert_eq!(status, 507, "{body}");
        assert!(
            body["error"].as_str().unwrap().contains("disk is full"),
            "{body}"
        );
    }
    assert_eq!(s.count("messages").await, before);
    let (status, body) = s.get_json("/readyz").await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["reason"], "the database disk is full");
    assert_eq!(stored(&s.db, acked).await.len(), acked.len());
}

/// Once there is room, writing resumes without a restart and readiness says so.
async fn resumes(s: &TestServer, acked: &mut Vec<String>) {
    let (status, body) = s.get_json("/readyz").await;
    assert_eq!(status, 200, "{body}");
    let events = batch("after", 50);
    let (status, body) = send(&s.client, &s.url("/api/v1/events"), &events).await;
    assert_eq!(status, 201, "{body}");
    acked.extend(ids(&events));
}

/// Every acknowledged id is stored, read through a new connection after the server stopped.
async fn all_stored_after_restart(url: &str, acked: &[String]) {
    let db = storage::connect(url, 2).await.unwrap();
    let found = stored(&db, acked).await;
    db.close().await;
    assert_eq!(found.len(), acked.len(), "acknowledged but lost");
}

fn sqlite_dir(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "unibox_{tag}_{}_{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .subsec_nanos()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[tokio::test]
async fn sqlite_size_limit_refuses_and_recovers() {
    let dir = sqlite_dir("limit");
    let path = dir.join("unibox.db");
    let s = TestServer::sqlite_file(&path).await;
    // SQLite's own size limit fails writes with the same SQLITE_FULL a full disk gives.
    let write = s.db.sqlite_writer().unwrap();
    let (pages,): (i64,) = sqlx::query_as("PRAGMA page_count")
        .fetch_one(write)
        .await
        .unwrap();
    sqlx::query(&format!("PRAGMA max_page_count = {}", pages + 300))
        .execute(write)
        .await
        .unwrap();
    let mut acked = Vec::new();
    let (status, body) = fill(&s, "b", &mut acked).await;
    assert_eq!(status, 507, "{body}");
    assert!(!acked.is_empty());
    refused_while_full(&s, &acked).await;
    sqlx::query("PRAGMA max_page_count = 1073741823")
        .execute(write)
        .await
        .unwrap();
    resumes(&s, &mut acked).await;
    let url = s.database_url.clone();
    s.finish().await;
    all_stored_after_restart(&url, &acked).await;
    std::fs::remove_dir_all(dir).ok();
}

/// A tmpfs mounted for one test, unmounted when dropped.
struct SmallDisk(PathBuf);

impl SmallDisk {
    fn mount(size: &str) -> Option<SmallDisk> {
        let dir = sqlite_dir("disk");
        let ok = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(&dir)
            .stderr(std::process::Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if !ok {
            std::fs::remove_dir_all(&dir).ok();
            return None;
        }
        Some(SmallDisk(dir))
    }

    fn grow(&self, size: &str) {
        let ok = std::process::Command::new("mount")
            .args(["-o", &format!("remount,size={size}")])
            .arg(&self.0)
            .status()
            .unwrap();
        assert!(ok.success());
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount")
            .arg("-l")
            .arg(&self.0)
            .status();
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn file_size(path: &Path) -> u64 {
    std::fs::metadata(path).map(|m| m.len()).unwrap_or(0)
}

/// A real full disk: the database on a 3 MiB tmpfs. Needs `mount` (root); says SKIPPED and
/// passes where it cannot mount.
#[tokio::test]
async fn sqlite_on_a_full_disk_refuses_and_recovers() {
    let Some(disk) = SmallDisk::mount("3m") else {
        eprintln!("SKIPPED: cannot mount a tmpfs here (needs root)");
        return;
    };
    let path = disk.0.join("unibox.db");
    let wal = disk.0.join("unibox.db-wal");
    let s = TestServer::sqlite_file(&path).await;
    let mut acked = Vec::new();
    let (status, body) = fill(&s, "b", &mut acked).await;
    assert_eq!(status, 507, "{body}");
    assert!(!acked.is_empty());
    refused_while_full(&s, &acked).await;
    let full_log = file_size(&wal);
    disk.grow("64m");
    resumes(&s, &mut acked).await;
    // The log that grew into the freed space is cut back down in the background.
    let mut log = file_size(&wal);
    for _ in 0..50 {
        if log < full_log / 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        log = file_size(&wal);
    }
    assert!(log < full_log / 2, "log {log} bytes, {full_log} when full");
    let url = s.database_url.clone();
    s.finish().await;
    all_stored_after_restart(&url, &acked).await;
}

/// Sends `rounds` batches from `clients` concurrent clients; returns each batch's ids with
/// whether it was acknowledged. Connection errors count as not acknowledged.
/// Each client pauses `pace` between its batches.
async fn load(
    url: String,
    client: reqwest::Client,
    tag: &str,
    rounds: usize,
    clients: usize,
    pace: Duration,
) -> Vec<(Vec<String>, u16)> {
    let mut tasks = Vec::new();
    for c in 0..clients {
        let (url, client, tag) = (url.clone(), client.clone(), format!("{tag}c{c}r"));
        tasks.push(tokio::spawn(async move {
            let mut sent = Vec::new();
            for round in 0..rounds {
                let events = batch(&format!("{tag}{round}"), 200);
                let (status, body) = send(&client, &url, &events).await;
                assert!(
                    (200..300).contains(&status) || status == 503 || status == 0,
                    "a fault must answer 503 (or drop the connection), not {status}: {body}"
                );
                sent.push((ids(&events), status));
                tokio::time::sleep(pace).await;
            }
            sent
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    all
}

/// Every acknowledged batch is stored whole; every other batch is stored whole or not at all.
/// Read through new connections to `url`.
async fn no_loss_no_halves(url: &str, sent: &[(Vec<String>, u16)]) -> usize {
    let db = storage::connect(url, 2).await.unwrap();
    let db = &db;
    let mut acknowledged = 0;
    for (ids, status) in sent {
        let found = stored(db, ids).await.len();
        if (200..300).contains(status) {
            acknowledged += 1;
            assert_eq!(found, ids.len(), "an acknowledged batch lost messages");
        } else {
            assert!(
                found == 0 || found == ids.len(),
                "half a batch stored: {found} of {}",
                ids.len()
            );
        }
    }
    acknowledged
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_backends_killed_mid_batch() {
    let Some(s) = TestServer::postgres().await else {
        return;
    };
    let name = s.database_url.rsplit('/').next().unwrap().to_owned();
    let killer = tokio::spawn(async move {
        use sqlx::Connection;
        let mut admin = sqlx::PgConnection::connect(&postgres_admin_url())
            .await
            .unwrap();
        let mut killed = 0;
        for _ in 0..60 {
            tokio::time::sleep(Duration::from_millis(25)).await;
            let rows: Vec<(bool,)> = sqlx::query_as(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
                 WHERE datname = $1 AND pid <> pg_backend_pid() AND state <> 'idle'",
            )
            .bind(&name)
            .fetch_all(&mut admin)
            .await
            .unwrap();
            killed += rows.len();
        }
        killed
    });
    let sent = load(
        s.url("/api/v1/events"),
        s.client.clone(),
        "k",
        15,
        2,
        Duration::ZERO,
    )
    .await;
    let killed = killer.await.unwrap();
    assert!(killed > 0, "no backend was terminated during the load");
    let refused = sent.iter().filter(|(_, st)| *st == 503).count();
    assert!(
        refused > 0,
        "killing {killed} backends mid-batch refused nothing"
    );
    no_loss_no_halves(&s.database_url, &sent).await;
    // Recovered on its own: the pool replaced the dead connections.
    let (status, _) = s.get_json("/readyz").await;
    assert_eq!(status, 200);
    let events = batch("after", 20);
    assert_eq!(
        send(&s.client, &s.url("/api/v1/events"), &events).await.0,
        201
    );
    s.finish().await;
}

/// A pooled connection is tried before use only after lying idle a while (a round trip per
/// use otherwise): those the database closed meanwhile are replaced, not handed out.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_connections_closed_while_idle_are_replaced() {
    let Some(s) = TestServer::postgres().await else {
        return;
    };
    let url = s.url("/api/v1/events");
    assert_eq!(send(&s.client, &url, &batch("before", 20)).await.0, 201);
    let name = s.database_url.rsplit('/').next().unwrap().to_owned();
    use sqlx::Connection;
    let mut admin = sqlx::PgConnection::connect(&postgres_admin_url())
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    let killed: Vec<(bool,)> = sqlx::query_as(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
         WHERE datname = $1 AND pid <> pg_backend_pid() AND state = 'idle'",
    )
    .bind(&name)
    .fetch_all(&mut admin)
    .await
    .unwrap();
    assert!(
        killed.len() >= 2,
        "the writers' and the requests' connections: {killed:?}"
    );
    tokio::time::sleep(Duration::from_millis(1200)).await;
    for round in 0..3 {
        let (status, body) = send(&s.client, &url, &batch(&format!("after{round}"), 20)).await;
        assert_eq!(
            status, 201,
            "a connection closed while idle was used: {body}"
        );
    }
    let (status, _) = s.get_json("/readyz").await;
    assert_eq!(status, 200);
    s.finish().await;
}

/// A TCP proxy in front of PostgreSQL that can play a server restart: every open connection
/// is cut and new ones are turned away until it comes back.
struct Restartable {
    addr: std::net::SocketAddr,
    up: std::sync::Arc<std::sync::atomic::AtomicBool>,
    cut: tokio::sync::watch::Sender<u64>,
}

impl Restartable {
    async fn start(target: String) -> Restartable {
        use std::sync::atomic::Ordering;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let up = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
        let (cut, cuts) = tokio::sync::watch::channel(0u64);
        let accepting = up.clone();
        tokio::spawn(async move {
            while let Ok((inbound, _)) = listener.accept().await {
                if !accepting.load(Ordering::Acquire) {
                    continue; // dropped: the server is down
                }
                let mut cuts = cuts.clone();
                cuts.mark_unchanged();
                let target = target.clone();
                tokio::spawn(async move {
                    let Ok(outbound) = tokio::net::TcpStream::connect(&target).await else {
                        return;
                    };
                    tokio::select! {
                        () = pump(&inbound, &outbound) => {}
                        () = pump(&outbound, &inbound) => {}
                        _ = cuts.changed() => {}
                    }
                });
            }
        });
        Restartable { addr, up, cut }
    }

    fn go_down(&self) {
        self.up.store(false, std::sync::atomic::Ordering::Release);
        self.cut.send_modify(|n| *n += 1);
    }

    fn come_back(&self) {
        self.up.store(true, std::sync::atomic::Ordering::Release);
    }
}

/// Copies bytes from `from` to `to` until either side closes.
async fn pump(from: &tokio::net::TcpStream, to: &tokio::net::TcpStream) {
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        if from.readable().await.is_err() {
            return;
        }
        let n = match from.try_read(&mut buf) {
            Ok(0) => return,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => continue,
            Err(_) => return,
        };
        let mut rest = &buf[..n];
        while !rest.is_empty() {
            if to.writable().await.is_err() {
                return;
            }
            match to.try_write(rest) {
                Ok(w) => rest = &rest[w..],
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                Err(_) => return,
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_restarted_under_load() {
    let admin = postgres_admin_url();
    // The server part of the admin URL: scheme, user and host:port.
    let authority = admin
        .split_once('@')
        .map(|(_, rest)| rest.split('/').next().unwrap().to_owned())
        .unwrap_or_else(|| "127.0.0.1:5432".into());
    let proxy = Restartable::start(authority.clone()).await;
    let via = proxy.addr.to_string();
    let Some(s) =
        TestServer::postgres_through(|url| url.replacen(&authority, &via, 1), |_| {}).await
    else {
        return;
    };
    let client = s.client.clone();
    let url = s.url("/api/v1/events");
    let load =
        tokio::spawn(async move { load(url, client, "r", 30, 2, Duration::from_millis(40)).await });
    tokio::time::sleep(Duration::from_millis(400)).await;
    proxy.go_down();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (status, body) = s.get_json("/readyz").await;
    assert_eq!(status, 503, "{body}");
    proxy.come_back();
    let sent = load.await.unwrap();
    let statuses: Vec<u16> = sent.iter().map(|(_, st)| *st).collect();
    assert!(
        statuses.iter().any(|st| *st != 201),
        "the restart refused nothing: {statuses:?}"
    );
    for client in statuses.chunks(30) {
        assert!(
            client[25..].iter().all(|st| *st == 201),
            "not recovered: {statuses:?}"
        );
    }
    no_loss_no_halves(&s.database_url, &sent).await;
    let (status, _) = s.get_json("/readyz").await;
    assert_eq!(status, 200, "recovered without a restart of unibox");
    let events = batch("after", 20);
    assert_eq!(
        send(&s.client, &s.url("/api/v1/events"), &events).await.0,
        201
    );
    s.finish().await;
}

/// The real binary serving `url` on a free port.
pub fn spawn_unibox(url: &str) -> (std::process::Child, String) {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_unibox"))
        .arg("serve")
        .env("DATABASE_URL", url)
        .env("UNIBOX_LISTEN", format!("127.0.0.1:{port}"))
        .env_remove("RUST_LOG")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    (child, format!("http://127.0.0.1:{port}"))
}

pub async fn wait_ready(base: &str) {
    for _ in 0..100 {
        if let Ok(r) = reqwest::get(format!("{base}/readyz")).await
            && r.status() == 200
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("unibox did not become ready");
}

on_both_backends! {
    /// `kill -9` in the middle of ingest: what was acknowledged survives, nothing is half
    /// stored, and the restarted server takes writes at once.
    async fn killed_mid_ingest_loses_nothing_acknowledged(s: &TestServer) {
        let (mut child, base) = spawn_unibox(&s.database_url);
        wait_ready(&base).await;
        let url = format!("{base}/api/v1/events");
        let load = tokio::spawn(load(url, s.client.clone(), "kill", 200, 2, Duration::ZERO));
        tokio::time::sleep(Duration::from_millis(700)).await;
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        let sent = load.await.unwrap();
        let acknowledged = no_loss_no_halves(&s.database_url, &sent).await;
        assert!(acknowledged > 0, "nothing was acknowledged before the kill");
        assert!(acknowledged < sent.len(), "the kill came after the load ended");
        let (mut child, base) = spawn_unibox(&s.database_url);
        wait_ready(&base).await;
        let events = batch("after-kill", 20);
        let (status, body) = send(&s.client, &format!("{base}/api/v1/events"), &events).await;
        assert_eq!(status, 201, "{body}");
        child.kill().unwrap();
        child.wait().unwrap();
    }
}
