//! The crash test: while a rule answers a burst of 5,000 comments arriving as signed Meta
//! webhooks, the server (the real binary) is killed with SIGKILL and started again, twice.
//! Every webhook answered 2xx is stored, and every reply reaches the platform exactly once.

use std::collections::HashSet;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use crate::automation::create_rule;
use crate::common::*;
use crate::outbox::{IG, IG_TOKEN, Sim, connect, thanks_rule};
use serde_json::json;
use unibox::connectors::signature::sign_hmac_sha256;
use unibox::storage::Sql;

const SECRET: &str = "crash-test-app-secret";
const COMMENTS: usize = 5_000;
const PER_DELIVERY: usize = 10;

fn start(db: &str, port: u16, sim: &Sim) -> Child {
    Command::new(env!("CARGO_BIN_EXE_unibox"))
        .env("DATABASE_URL", db)
        .env("UNIBOX_LISTEN", format!("127.0.0.1:{port}"))
        .env("UNIBOX_META_APP_SECRET", SECRET)
        .env("UNIBOX_META_GRAPH_URL", format!("{}/meta/v21.0", sim.root))
        .env(
            "UNIBOX_TIKTOK_API_URL",
            format!("{}/tiktok/open_api/v1.3", sim.root),
        )
        .env("UNIBOX_YOUTUBE_API_URL", format!("{}/youtube/v3", sim.root))
        .env("UNIBOX_PLATFORM_TIMEOUT_MS", "2000")
        .env("UNIBOX_OUTBOX_LEASE_SECONDS", "3")
        .env("UNIBOX_OUTBOX_RETRY_BASE_MS", "100")
        .env("RUST_LOG", "error")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("the unibox binary starts")
}

async fn ready(base: &str) {
    let client = reqwest::Client::new();
    for _ in 0..300 {
        if let Ok(r) = client.get(format!("{base}/readyz")).send().await
            && r.status() == 200
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the server did not come up");
}

fn delivery(first: usize) -> Vec<u8> {
    let now = chrono::Utc::now().timestamp();
    let changes: Vec<_> = (first..first + PER_DELIVERY)
        .map(|i| {
            json!({"field": "comments", "value": {"id": format!("1796{i:012}"), "text": "love it",
            "from": {"id": format!("66{i:08}"), "username": format!("fan{i}")},
            "media": {"id": "18100000000000009", "media_product_type": "REELS"}}})
        })
        .collect();
    serde_json::to_vec(
        &json!({"object": "instagram", "entry": [{"id": IG, "time": now, "changes": changes}]}),
    )
    .unwrap()
}

#[tokio::test]
async fn killed_twice_mid_burst_loses_nothing_and_sends_nothing_twice() {
    let sim = Sim::start().await;
    let dir = std::env::temp_dir().join(format!("unibox-crash-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("unibox.db");
    let url = format!("sqlite://{}", path.display());
    // Set up with the harness (account, channel, rule), then hand the file to the binary.
    let s = TestServer::sqlite_file_with(&path, sim.config()).await;
    connect(&s, &sim, "instagram", IG, IG_TOKEN).await;
    create_rule(&s, thanks_rule()).await;
    s.finish().await;

    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let base = format!("http://127.0.0.1:{port}");
    let mut child = start(&url, port, &sim);
    ready(&base).await;

    // Senders deliver every batch until it is answered 2xx, like Meta redelivering.
    let next = Arc::new(AtomicUsize::new(0));
    let acknowledged = Arc::new(std::sync::Mutex::new(HashSet::new()));
    let mut senders = Vec::new();
    for _ in 0..4 {
        let (next, acknowledged, base) = (next.clone(), acknowledged.clone(), base.clone());
        senders.push(tokio::spawn(async move {
            let client = reqwest::Client::builder()
                .timeout(Duration::from_secs(10))
                .build()
                .unwrap();
            loop {
                let first = next.fetch_add(PER_DELIVERY, Ordering::Relaxed);
                if first >= COMMENTS {
                    return;
                }
                let body = delivery(first);
                let signature = format!("sha256={}", sign_hmac_sha256(SECRET.as_bytes(), &body));
                loop {
                    let sent = client
                        .post(format!("{base}/webhooks/meta"))
                        .header("content-type", "application/json")
                        .header("x-hub-signature-256", &signature)
                        .body(body.clone())
                        .send()
                        .await;
                    if matches!(&sent, Ok(r) if r.status().is_success()) {
                        acknowledged.lock().unwrap().insert(first);
                        break;
                    }
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
        }));
    }
    // Kill it twice while webhooks arrive and replies go out.
    for at in [COMMENTS / 3, 2 * COMMENTS / 3] {
        while next.load(Ordering::Relaxed) < at {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        child.kill().unwrap();
        child.wait().unwrap();
        child = start(&url, port, &sim);
        ready(&base).await;
    }
    for sender in senders {
        sender.await.unwrap();
    }
    assert_eq!(acknowledged.lock().unwrap().len(), COMMENTS / PER_DELIVERY);

    // Every acknowledged comment is stored; every one gets exactly one reply.
    let deadline = Instant::now() + Duration::from_secs(240);
    while sim.writes("reply").len() < COMMENTS && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    tokio::time::sleep(Duration::from_secs(4)).await; // a lease's length: nothing more may come
    child.kill().unwrap();
    child.wait().unwrap();
    let db = unibox::storage::connect(&url, 2).await.unwrap();
    let (stored,): (i64,) = db
        .fetch_optional(Sql::new(
            "SELECT COUNT(*) FROM messages WHERE direction = 'inbound' AND kind = 'comment'",
        ))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored, COMMENTS as i64, "every acknowledged comment stored");
    let replies = sim.writes("reply");
    assert_eq!(replies.len(), COMMENTS, "every comment answered");
    let twice: Vec<_> = replies
        .iter()
        .filter(|(_, w)| w.len() != 1)
        .map(|(k, w)| (k.clone(), w.len()))
        .collect();
    assert!(twice.is_empty(), "answered more than once: {twice:?}");
    let (sent,): (i64,) = db
        .fetch_optional(Sql::new("SELECT COUNT(*) FROM outbox WHERE state = 'sent'"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(sent, COMMENTS as i64);
    db.close().await;
    let _ = std::fs::remove_dir_all(&dir);
}
