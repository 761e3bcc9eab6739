//! Search benchmark: 200,000 messages, each a few words of a 22-word Dutch and English
//! vocabulary (so every word stands in a large share of them), ingested through the HTTP API
//! of a real `unibox` process, then searched for `kopen`, `roze variant` and `bestelling
//! retour` on PostgreSQL's tables as the load left them: right after the bulk load (the same
//! server, its connections' plans made while the tables grew), then by a server started
//! afresh (new connections, each search planned against the tables as they are), then, for
//! comparison, once `ANALYZE` has run. SQLite is measured the same way.
//!
//! Run: `cargo bench --bench search`. Knobs: UNIBOX_BENCH_BACKENDS ("sqlite,postgres"),
//! UNIBOX_BENCH_MESSAGES (200000), UNIBOX_BENCH_ROUNDS (20 rounds of the three searches per
//! stage), UNIBOX_BENCH_KEEP (keep the databases). Prints p50/p95 per stage, the p95 of each
//! search, and on PostgreSQL whether the tables had statistics when measured.

#[allow(dead_code)]
mod support;

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::{BENCH_EMAIL, BENCH_PASSWORD, Scratch, Server, latencies, signed_in_client};

const CHANNELS: usize = 5;
const VIDEOS: usize = 500;
const AUTHORS: usize = 20_000;
const BATCH: usize = 1_000;
const QUERIES: &[&str] = &["kopen", "roze variant", "bestelling retour"];

const WORDS: &[&str] = &[
    "kopen",
    "roze",
    "variant",
    "bestelling",
    "retour",
    "prijs",
    "maat",
    "kleur",
    "verzending",
    "mooi",
    "wanneer",
    "voorraad",
    "love",
    "price",
    "size",
    "pink",
    "order",
    "return",
    "link",
    "shipping",
    "cute",
    "stock",
];

fn knob(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// A small deterministic generator (xorshift64*): the same data on every run.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) % n as u64) as usize
    }
}

/// Two to five words of the vocabulary.
fn text(rng: &mut Rng) -> String {
    let n = 2 + rng.below(4);
    let words: Vec<&str> = (0..n).map(|_| WORDS[rng.below(WORDS.len())]).collect();
    words.join(" ")
}

/// The messages as request bodies of [`BATCH`] events: mostly top-level comments (a thread
/// each), a fifth replies to recent ones, a tenth DMs.
fn generate(total: usize) -> Vec<Vec<u8>> {
    let mut rng = Rng(0x2545_F491_4F6C_DD1D);
    let start = chrono::Utc::now() - chrono::Duration::days(3);
    let step = Duration::from_secs(3 * 86_400).as_micros() as i64 / total as i64;
    let mut recent: Vec<Vec<(String, usize)>> = vec![Vec::new(); CHANNELS];
    let mut events = Vec::with_capacity(total);
    for i in 0..total {
        let channel = rng.below(CHANNELS);
        let author = rng.below(AUTHORS);
        let created = start + chrono::Duration::microseconds(step * i as i64);
        let author_json =
            json!({"external_id": format!("u{author}"), "username": format!("klant_{author}")});
        let id = format!("{}", 7_300_000_000_000_000_000_u64 + i as u64);
        let roll = rng.below(10);
        let event = if roll == 0 {
            json!({"type": "message", "platform": "instagram", "channel": format!("winkel_{channel}"),
                "kind": "dm", "external_id": id, "author": author_json, "text": text(&mut rng),
                "created_at": created.to_rfc3339()})
        } else {
            let pool = &mut recent[channel];
            let (video, parent) = if roll <= 2 && !pool.is_empty() {
                let (parent, video) = pool[rng.below(pool.len())].clone();
                (video, Some(parent))
            } else {
                let video = channel * (VIDEOS / CHANNELS) + rng.below(VIDEOS / CHANNELS);
                if pool.len() >= 200 {
                    pool[rng.below(200)] = (id.clone(), video);
                } else {
                    pool.push((id.clone(), video));
                }
                (video, None)
            };
            json!({"type": "message", "platform": "instagram", "channel": format!("winkel_{channel}"),
                "kind": "comment", "external_id": id, "parent_external_id": parent,
                "video": {"external_id": format!("{}", 18_000_000_000_000_u64 + video as u64)},
                "author": author_json, "text": text(&mut rng), "created_at": created.to_rfc3339()})
        };
        events.push(event);
    }
    events
        .chunks(BATCH)
        .map(|chunk| serde_json::to_vec(&Value::Array(chunk.to_vec())).unwrap())
        .collect()
}

async fn load(client: &reqwest::Client, base: &str, batches: &[Vec<u8>]) -> f64 {
    let started = Instant::now();
    for (i, body) in batches.iter().enumerate() {
        let r = client
            .post(format!("{base}/api/v1/events"))
            .header("content-type", "application/json")
            .body(body.clone())
            .send()
            .await
            .unwrap();
        let status = r.status();
        assert!(status.is_success(), "batch {i}: {status}");
    }
    started.elapsed().as_secs_f64()
}

/// Measures the searches: a line with p50/p95 over all, and each search's p95.
async fn measure(client: &reqwest::Client, base: &str, stage: &str, rounds: usize) {
    let urls: Vec<String> = QUERIES
        .iter()
        .map(|q| format!("{base}/api/v1/threads?q={}", q.replace(' ', "%20")))
        .collect();
    let mut each = Vec::new();
    let mut first = Vec::new();
    for (q, url) in QUERIES.iter().zip(&urls) {
        // The first search of each kind, before anything is warm.
        let started = Instant::now();
        let r = client.get(url).send().await.unwrap();
        assert!(r.status().is_success(), "{url}: {}", r.status());
        let body: Value = r.json().await.unwrap();
        assert!(
            !body["threads"].as_array().is_none_or(Vec::is_empty),
            "{q}: no threads found"
        );
        first.push(format!(
            "{q} {:.1}",
            started.elapsed().as_secs_f64() * 1000.0
        ));
    }
    let all = latencies(client, &urls, rounds).await;
    for (q, url) in QUERIES.iter().zip(&urls) {
        let (_, p95) = latencies(client, std::slice::from_ref(url), rounds).await;
        each.push(format!("{q} {p95:.1}"));
    }
    println!("{stage}:");
    println!("  first search, ms:    {}", first.join(" · "));
    println!("  p50 {:>8.2} ms   p95 {:>8.2} ms", all.0, all.1);
    println!("  p95 per search, ms:  {}", each.join(" · "));
}

/// On PostgreSQL, how many of the messages' and threads' tables have statistics.
async fn statistics(database_url: &str) -> Option<String> {
    use sqlx::Connection;
    if !database_url.starts_with("postgres") {
        return None;
    }
    let mut conn = sqlx::PgConnection::connect(database_url).await.unwrap();
    let rows: Vec<(String, bool)> = sqlx::query_as(
        "SELECT relname::text, last_analyze IS NOT NULL OR last_autoanalyze IS NOT NULL \
         FROM pg_stat_user_tables WHERE relname IN ('messages', 'threads') ORDER BY relname",
    )
    .fetch_all(&mut conn)
    .await
    .unwrap();
    Some(
        rows.iter()
            .map(|(t, yes)| format!("{t} {}", if *yes { "analysed" } else { "never analysed" }))
            .collect::<Vec<_>>()
            .join(", "),
    )
}

async fn run(label: &str, database_url: &str, batches: &[Vec<u8>], total: usize, rounds: usize) {
    support::unibox_command(
        database_url,
        &["user", "add", "--email", BENCH_EMAIL, "--admin"],
        &format!("{BENCH_PASSWORD}\n"),
    );
    let server = Server::start(database_url).await;
    let client = signed_in_client(database_url, &server.base).await;
    let elapsed = load(&client, &server.base, batches).await;
    println!(
        "\n== {label}: {total} messages, each a few of {} words ==",
        WORDS.len()
    );
    println!(
        "ingest through HTTP: {:.0} messages/s ({elapsed:.1} s)",
        total as f64 / elapsed
    );
    if let Some(s) = statistics(database_url).await {
        println!("(right after the load: {s})");
    }
    measure(&client, &server.base, "right after the bulk load", rounds).await;
    server.stop();

    let server = Server::start(database_url).await;
    let client = signed_in_client(database_url, &server.base).await;
    if let Some(s) = statistics(database_url).await {
        println!("(a server started afresh: {s})");
    }
    measure(&client, &server.base, "a server started afresh", rounds).await;
    if database_url.starts_with("postgres") {
        use sqlx::Connection;
        let mut conn = sqlx::PgConnection::connect(database_url).await.unwrap();
        sqlx::query("ANALYZE").execute(&mut conn).await.unwrap();
        measure(&client, &server.base, "after ANALYZE", rounds).await;
    }
    server.stop();
}

#[tokio::main]
async fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let total = knob("UNIBOX_BENCH_MESSAGES", 200_000);
    let rounds = knob("UNIBOX_BENCH_ROUNDS", 20).max(1);
    let backends =
        std::env::var("UNIBOX_BENCH_BACKENDS").unwrap_or_else(|_| "sqlite,postgres".into());
    let batches = generate(total);
    for backend in backends.split(',').map(str::trim) {
        let Some(db) = Scratch::new(backend, "search").await else {
            continue;
        };
        run(db.label, &db.url, &batches, total, rounds).await;
        db.remove().await;
    }
}
