//! Replies benchmark: signed Instagram comment webhooks into the real `unibox` binary, a rule
//! with no delay answering each, and the replies reaching the platform simulator. Measures the
//! latency from a webhook leaving the sender to its reply arriving at the simulator, at a
//! steady 500 comments a second for 10 seconds, then the sustained webhook throughput (as fast
//! as 32 senders go) and how fast the replies follow. Every comment is stored and answered
//! durably on the way; a missing or doubled reply is reported. Beside the latency it prints how
//! long the webhooks took to be answered (stored, the rule decided: the reply leaves as the
//! answer does), in which seconds of the steady phase the replies over 20 ms were sent, and
//! what the machine did meanwhile: how busy it was, how much the hypervisor took (steal), the
//! CPU time per comment of the server, of PostgreSQL and of the benchmark, how long the
//! disk took to flush (`disk.rs`) and, on PostgreSQL, what its write-ahead log did (`wal.rs`).
//!
//! Run: `cargo bench --bench replies`. Knobs: UNIBOX_BENCH_BACKENDS ("sqlite,postgres"),
//! UNIBOX_BENCH_RATE (500 a second), UNIBOX_BENCH_SECONDS (10), UNIBOX_BENCH_BURST (9000; one account's rule answers at most 10,000 an hour),
//! UNIBOX_BENCH_ANALYZE (set: PostgreSQL's statistics are gathered after the warm-up, as
//! autovacuum would have done in a database that has been running; by default the tables are
//! measured as they grow from empty, with the plans chosen for empty tables),
//! UNIBOX_BENCH_HISTORY (0; comments sent and answered through a third account before the
//! warm-up, as in a database that has been running; more than 10,000, the account's hourly
//! cap, counts as 10,000).

mod disk;
#[allow(dead_code)]
mod support;
mod wal;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::json;
use support::{BENCH_EMAIL, BENCH_PASSWORD, Scratch, Server, percentile, unibox_command};
use unibox::connectors::signature::sign_hmac_sha256;
use unibox::simulate::World;

const SECRET: &str = "bench-app-secret";
const IG: &str = "17841400000000001";
const TOKEN: &str = "bench-ig-token-0123456789";
/// A second account for the sustained phase: each account's rule may answer 10,000 an hour.
const IG2: &str = "17841400000000002";
const TOKEN2: &str = "bench-ig-token-2222222222";
/// A third account for the history of a database that has been running (UNIBOX_BENCH_HISTORY).
const IG3: &str = "17841400000000003";
const TOKEN3: &str = "bench-ig-token-3333333333";

fn knob(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn webhook(account: &str, id: &str, n: usize) -> (Vec<u8>, String) {
    let now = chrono::Utc::now().timestamp();
    let body = serde_json::to_vec(&json!({"object": "instagram", "entry": [{"id": account, "time": now, "changes": [
        {"field": "comments", "value": {"id": id, "text": "love this!", "from": {"id": format!("77{n:09}"), "username": format!("fan{n}")},
         "media": {"id": format!("181000000{:05}", n % 500), "media_product_type": "REELS"}}}]}]}))
    .unwrap();
    let signature = format!("sha256={}", sign_hmac_sha256(SECRET.as_bytes(), &body));
    (body, signature)
}

fn now_us() -> i64 {
    chrono::Utc::now().timestamp_micros()
}

async fn post(client: &reqwest::Client, base: &str, body: Vec<u8>, signature: String) -> bool {
    client
        .post(format!("{base}/webhooks/meta"))
        .header("content-type", "application/json")
        .header("x-hub-signature-256", signature)
        .body(body)
        .send()
        .await
        .is_ok_and(|r| r.status().is_success())
}

/// Sends `count` comment webhooks for `account` as fast as 32 senders go (ids `prefix` and a
/// number, authors numbered from `authors`); returns the ids acknowledged.
async fn flood(
    client: &reqwest::Client,
    base: &str,
    account: &'static str,
    prefix: &'static str,
    count: usize,
    authors: usize,
) -> HashMap<String, i64> {
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut senders = Vec::new();
    for _ in 0..32 {
        let (client, b, next) = (client.clone(), base.to_owned(), next.clone());
        senders.push(tokio::spawn(async move {
            let mut mine = Vec::new();
            loop {
                let n = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if n >= count {
                    return mine;
                }
                let id = format!("{prefix}{n:08}");
                let (body, sig) = webhook(account, &id, n + authors);
                if post(&client, &b, body, sig).await {
                    mine.push(id);
                }
            }
        }));
    }
    let mut acknowledged = HashMap::new();
    for s in senders {
        for id in s.await.unwrap() {
            acknowledged.insert(id, 0);
        }
    }
    acknowledged
}

/// Waits until the simulator holds a reply for every id in `sent`; returns them by target.
async fn replies_for(
    world: &World,
    sent: &HashMap<String, i64>,
    patience: Duration,
) -> HashMap<String, Vec<i64>> {
    let deadline = Instant::now() + patience;
    loop {
        let mut by: HashMap<String, Vec<i64>> = HashMap::new();
        for w in world
            .writes()
            .into_iter()
            .filter(|w| w.action == "reply" && sent.contains_key(&w.target))
        {
            by.entry(w.target).or_default().push(w.at_us);
        }
        if by.len() >= sent.len() || Instant::now() > deadline {
            return by;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn run(backend: &str, url: &str) {
    let world = Arc::new(World::default());
    let root = unibox::simulate::spawn(world.clone()).await.unwrap();
    world.register(TOKEN, IG);
    world.register(TOKEN2, IG2);
    world.register(TOKEN3, IG3);
    unibox_command(
        url,
        &["user", "add", "--email", BENCH_EMAIL, "--admin"],
        &format!("{BENCH_PASSWORD}\n"),
    );
    let admin = unibox_command(
        url,
        &["token", "add", "--name", "bench", "--scope", "admin"],
        "",
    );
    let server = Server::start_with(
        url,
        &[
            ("UNIBOX_META_APP_SECRET", SECRET.into()),
            ("UNIBOX_META_GRAPH_URL", format!("{root}/meta/v21.0")),
            (
                "UNIBOX_TIKTOK_API_URL",
                format!("{root}/tiktok/open_api/v1.3"),
            ),
            ("UNIBOX_YOUTUBE_API_URL", format!("{root}/youtube/v3")),
        ],
    )
    .await;
    let b = server.base.clone();
    let api = reqwest::Client::builder()
        .default_headers(
            [(
                "authorization".parse().unwrap(),
                format!("Bearer {}", admin.trim()).parse().unwrap(),
            )]
            .into_iter()
            .collect(),
        )
        .build()
        .unwrap();
    for (handle, id, token) in [
        ("bench.ig", IG, TOKEN),
        ("bench2.ig", IG2, TOKEN2),
        ("bench3.ig", IG3, TOKEN3),
    ] {
        let r = api.post(format!("{b}/api/v1/channels"))
            .json(&json!({"platform": "instagram", "handle": handle, "platform_id": id, "credentials": {"access_token": token}}))
            .send().await.unwrap();
        assert!(r.status().is_success(), "{}", r.text().await.unwrap());
    }
    let r = api.post(format!("{b}/api/v1/rules"))
        .json(&json!({"name": "Thanks", "mode": "auto", "delay_seconds": 0,
                      "conditions": [{"type": "keywords", "any": ["love"]}],
                      "actions": [{"type": "reply", "variants": ["Thank you {{ author.username }}!"]}],
                      "safeguards": {"max_per_hour": 10000, "once_per_video": false}}))
        .send().await.unwrap();
    assert!(r.status().is_success(), "{}", r.text().await.unwrap());
    let client = reqwest::Client::new();

    // History: a database that has been running, its tables grown and every comment
    // answered. Off by default: the tables are measured as they grow from empty.
    // At most the account's hourly cap: a comment past it would never be answered.
    let history = knob("UNIBOX_BENCH_HISTORY", 0).min(10_000);
    if history > 0 {
        let sent = flood(&client, &b, IG3, "17930000", history, 200_000).await;
        let answered = replies_for(&world, &sent, Duration::from_secs(300)).await;
        println!(
            "history: {} comments acknowledged, {} answered",
            sent.len(),
            answered.len()
        );
        // A pause, so that the history's last writes settle before the warm-up.
        tokio::time::sleep(Duration::from_secs(5)).await;
    }

    // Warm up: connections, caches, the first pages read from disk.
    let mut warm = HashMap::new();
    for n in 0..200 {
        let id = format!("17900000{n:08}");
        let (body, sig) = webhook(IG, &id, n);
        assert!(post(&client, &b, body, sig).await);
        warm.insert(id, 0);
    }
    replies_for(&world, &warm, Duration::from_secs(30)).await;
    if std::env::var_os("UNIBOX_BENCH_ANALYZE").is_some() && backend == "PostgreSQL" {
        use sqlx::Connection;
        let mut conn = sqlx::PgConnection::connect(url).await.unwrap();
        sqlx::query("ANALYZE").execute(&mut conn).await.unwrap();
    }

    // Latency at a steady rate.
    let rate = knob("UNIBOX_BENCH_RATE", 500);
    let seconds = knob("UNIBOX_BENCH_SECONDS", 10);
    let total = rate * seconds;
    let mut tasks = Vec::with_capacity(total);
    let log = match backend {
        "PostgreSQL" => Some(wal::WalWatch::start(url).await),
        _ => None,
    };
    let machine = support::Machine::now(server.child.id());
    let flushes = disk::DiskProbe::start();
    // The ticks start here: an interval made before the watchers connected would send the
    // ticks it missed meanwhile at once.
    let mut tick = tokio::time::interval(Duration::from_secs_f64(1.0 / rate as f64));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let started = Instant::now();
    for n in 0..total {
        tick.tick().await;
        let id = format!("17910000{n:08}");
        let (body, sig) = webhook(IG, &id, n + 1_000);
        let (client, b) = (client.clone(), b.clone());
        tasks.push(tokio::spawn(async move {
            let at = now_us();
            let ok = post(&client, &b, body, sig).await;
            (id, at, ok, now_us())
        }));
    }
    let mut sent = HashMap::new();
    let start_us = now_us() - started.elapsed().as_micros() as i64;
    let mut refused = 0;
    let mut acked = Vec::with_capacity(total);
    for t in tasks {
        let (id, at, ok, answered) = t.await.unwrap();
        if ok {
            acked.push((answered - at) as f64 / 1000.0);
            sent.insert(id, at);
        } else {
            refused += 1;
        }
    }
    let offered = total as f64 / started.elapsed().as_secs_f64();
    let machine = support::Machine::now(server.child.id()).since(&machine, total);
    let flushes = flushes.finish();
    let log = match log {
        Some(log) => Some(log.finish(total).await),
        None => None,
    };
    let replies = replies_for(&world, &sent, Duration::from_secs(60)).await;
    let mut latency: Vec<f64> = replies
        .iter()
        .map(|(id, at)| (at[0] - sent[id]) as f64 / 1000.0)
        .collect();
    latency.sort_by(f64::total_cmp);
    let doubled = replies.values().filter(|v| v.len() > 1).count();
    println!("\n== {backend}: webhook → stored → rule → outbox → reply at the simulator ==");
    println!(
        "steady {rate}/s for {seconds} s (offered {offered:.0}/s): {} webhooks acknowledged, {refused} refused",
        sent.len()
    );
    println!(
        "replies: {} arrived, {} missing, {doubled} doubled",
        replies.len(),
        sent.len() - replies.len()
    );
    if !latency.is_empty() {
        println!(
            "latency:  p50 {:>7.2} ms   p95 {:>7.2} ms   p99 {:>7.2} ms   max {:>7.2} ms",
            percentile(&latency, 0.5),
            percentile(&latency, 0.95),
            percentile(&latency, 0.99),
            latency[latency.len() - 1]
        );
    }

    acked.sort_by(f64::total_cmp);
    if !acked.is_empty() {
        println!(
            "webhook answered (stored, rule decided): p50 {:>7.2} ms   p95 {:>7.2} ms   p99 {:>7.2} ms",
            percentile(&acked, 0.5),
            percentile(&acked, 0.95),
            percentile(&acked, 0.99)
        );
    }
    // Where the slow ones were: replies over 20 ms by the second their webhook left.
    let mut slow = vec![0usize; seconds.max(1) + 1];
    for (id, at) in &replies {
        if (at[0] - sent[id]) > 20_000 {
            let second = ((sent[id] - start_us) / 1_000_000).clamp(0, seconds as i64) as usize;
            slow[second] += 1;
        }
    }
    println!("over 20 ms, by second of the steady phase: {slow:?}");
    println!("{machine}");
    println!("{flushes}");
    if let Some(log) = log {
        println!("{log}");
    }

    // Sustained throughput: as fast as 32 senders go.
    let burst = knob("UNIBOX_BENCH_BURST", 9_000);
    let started = Instant::now();
    let acknowledged = flood(&client, &b, IG2, "17920000", burst, 100_000).await;
    let ingest_s = started.elapsed().as_secs_f64();
    let replies = replies_for(&world, &acknowledged, Duration::from_secs(300)).await;
    let all_s = started.elapsed().as_secs_f64();
    println!(
        "sustained: {} webhooks in {ingest_s:.1} s = {:.0} webhooks/s acknowledged; all {} replies at the simulator after {all_s:.1} s ({:.0} replies/s), {} missing, {} doubled",
        acknowledged.len(),
        acknowledged.len() as f64 / ingest_s,
        replies.len(),
        replies.len() as f64 / all_s,
        acknowledged.len() - replies.len(),
        replies.values().filter(|v| v.len() > 1).count()
    );
    println!(
        "(peak memory of the server: {:.0} MiB)",
        support::peak_rss_mib(server.child.id())
    );
    server.stop();
}

#[tokio::main]
async fn main() {
    let backends =
        std::env::var("UNIBOX_BENCH_BACKENDS").unwrap_or_else(|_| "sqlite,postgres".into());
    for backend in backends.split(',') {
        let Some(scratch) = Scratch::new(backend, "replies").await else {
            continue;
        };
        run(scratch.label, &scratch.url).await;
        scratch.remove().await;
    }
}
