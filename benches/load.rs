//! Load benchmark: 1,000,000 messages across 50 channels and 20,000 videos, ingested through
//! the HTTP API of a real `unibox` process, then read back.
//!
//! Run: `cargo bench --bench load` (both backends; PostgreSQL from UNIBOX_TEST_POSTGRES or
//! postgres://postgres@127.0.0.1:5432/postgres). Knobs: UNIBOX_BENCH_MESSAGES (default
//! 1000000), UNIBOX_BENCH_BACKENDS (default "sqlite,postgres"), UNIBOX_BENCH_CLIENTS (2),
//! UNIBOX_BENCH_BATCH (events per request, default 1000), UNIBOX_BENCH_RULES (active reply
//! rules during the load, default 0; set 100 to compare: keyword rules, some expressions, one
//! in ten only for an author's first message), UNIBOX_BENCH_KEEP (keep the
//! databases afterwards, to inspect them). Messages are dated over the three days before the
//! run, so the rules' windows (comments 7 days, DMs 24 hours) hold for them as in real use.
//!
//! Prints, per backend: ingest throughput, p50/p95 of the first inbox page and of the JSON
//! thread list, p50/p95 of full-text searches, and the server's peak RSS.

#[allow(dead_code)]
mod support;

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::{
    BENCH_EMAIL, BENCH_PASSWORD, Scratch, Server, latencies, peak_rss_mib, signed_in_client,
    unibox_command,
};

const CHANNELS: usize = 50;
const VIDEOS: usize = 20_000;
const AUTHORS: usize = 200_000;

/// A small deterministic generator (xorshift64*): the same data on every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    /// Skewed towards small values, like word frequencies in real comments.
    fn skewed(&mut self, n: usize) -> usize {
        let a = self.below(n);
        let b = self.below(n);
        let c = self.below(n);
        a.min(b).min(c)
    }
}

const WORDS: &[&str] = &[
    "love",
    "this",
    "where",
    "can",
    "i",
    "buy",
    "the",
    "so",
    "cute",
    "need",
    "it",
    "omg",
    "yes",
    "please",
    "link",
    "price",
    "how",
    "much",
    "shipping",
    "to",
    "belgium",
    "amazing",
    "wow",
    "best",
    "video",
    "ever",
    "color",
    "size",
    "available",
    "in",
    "stock",
    "when",
    "restock",
    "thank",
    "you",
    "for",
    "sharing",
    "tutorial",
    "great",
    "idea",
    "my",
    "sister",
    "would",
    "like",
    "obsessed",
    "with",
    "your",
    "content",
    "more",
    "of",
    "please",
    "do",
    "part",
    "two",
    "what",
    "song",
    "is",
    "that",
    "camera",
    "lens",
    "did",
    "use",
    "editing",
    "app",
    "discount",
    "code",
    "works",
    "not",
    "working",
    "order",
    "arrived",
    "broken",
    "refund",
    "help",
    "customer",
    "service",
    "fast",
    "delivery",
    "quality",
    "material",
    "cotton",
    "leather",
    "vegan",
    "recipe",
    "ingredients",
    "oven",
    "minutes",
    "gym",
    "workout",
    "routine",
    "beginner",
    "tips",
    "skin",
    "care",
    "serum",
    "sunscreen",
    "hair",
    "curly",
];
const RARE: &[&str] = &[
    "turquoise",
    "paprika",
    "kaleidoscope",
    "nebula",
    "xylophone",
    "quokka",
    "zeppelin",
    "marzipan",
];
const PLATFORMS: &[&str] = &["tiktok", "instagram", "facebook", "youtube", "tiktok"];

fn sentence(rng: &mut Rng) -> String {
    let n = 4 + rng.below(14);
    let mut words: Vec<&str> = (0..n).map(|_| WORDS[rng.skewed(WORDS.len())]).collect();
    if rng.below(200) == 0 {
        words.push(RARE[rng.below(RARE.len())]);
    }
    if rng.below(4) == 0 {
        words.push("😍");
    }
    words.join(" ")
}

/// The messages as pre-serialised request bodies of `batch` events each.
fn generate(total: usize, batch: usize) -> Vec<Vec<u8>> {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let start = chrono::Utc::now() - chrono::Duration::days(3);
    let step = Duration::from_secs(3 * 86_400).as_micros() as i64 / total as i64;
    let mut recent: Vec<Vec<(String, usize)>> = vec![Vec::new(); CHANNELS];
    let mut batches = Vec::with_capacity(total / batch + 1);
    let mut events = Vec::with_capacity(batch);
    for i in 0..total {
        let channel = rng.below(CHANNELS);
        let platform = PLATFORMS[channel % PLATFORMS.len()];
        let author = rng.skewed(AUTHORS);
        let created = start + chrono::Duration::microseconds(step * i as i64);
        let roll = rng.below(10);
        let author_json = json!({"external_id": format!("u{author}"), "username": format!("fan_{author}"),
            "display_name": format!("Fan {author}")});
        let id = format!("{}", 7_300_000_000_000_000_000_u64 + i as u64);
        let event = if roll == 0 {
            json!({"type": "message", "platform": platform, "channel": format!("brand_{channel}"), "kind": "dm",
                "external_id": id, "author": author_json, "text": sentence(&mut rng),
                "created_at": created.to_rfc3339()})
        } else {
            let pool = &mut recent[channel];
            let (video, parent) = if roll <= 2 && !pool.is_empty() {
                let (parent, video) = pool[rng.below(pool.len())].clone();
                (video, Some(parent))
            } else {
                (
                    channel * (VIDEOS / CHANNELS) + rng.below(VIDEOS / CHANNELS),
                    None,
                )
            };
            if parent.is_none() {
                if pool.len() >= 500 {
                    let slot = rng.below(500);
                    pool[slot] = (id.clone(), video);
                } else {
                    pool.push((id.clone(), video));
                }
            }
            json!({"type": "message", "platform": platform, "channel": format!("brand_{channel}"), "kind": "comment",
                "external_id": id, "parent_external_id": parent,
                "video": {"external_id": format!("{}", 7_377_000_000_000_000_000_u64 + video as u64),
                          "title": format!("Video {video}"), "url": format!("https://example.com/v/{video}")},
                "author": author_json, "text": sentence(&mut rng), "created_at": created.to_rfc3339()})
        };
        events.push(event);
        if events.len() == batch {
            batches.push(serde_json::to_vec(&Value::Array(std::mem::take(&mut events))).unwrap());
        }
    }
    if !events.is_empty() {
        batches.push(serde_json::to_vec(&Value::Array(events)).unwrap());
    }
    batches
}

/// `n` reply rules as a busy account has them: most answer a topic's keywords (words that
/// stand in a few percent of comments), some look for codes with an expression; most act on
/// their own, some suggest, a few are dry runs.
fn bench_rules(n: usize) -> Vec<Value> {
    let topics = &WORDS[WORDS.len() - 24..];
    (0..n)
        .map(|i| {
            let mode = match i % 10 {
                0 => "suggest",
                1 => "dry_run",
                _ => "auto",
            };
            let conditions = if i % 10 == 9 {
                let word = RARE[i % RARE.len()];
                json!([{"type": "regex", "pattern": format!(r"\b{word}\s+(?P<what>\w+)")}])
            } else {
                let a = topics[i % topics.len()];
                let b = topics[(i * 7 + 3) % topics.len()];
                let mut c = vec![json!({"type": "keywords", "any": [a, b, format!("{a}s")]})];
                if i % 3 == 0 {
                    c.push(json!({"type": "word_count", "min": 5}));
                }
                if i % 4 == 0 {
                    c.push(json!({"type": "keywords", "any": ["refund"], "negate": true}));
                }
                if i % 10 == 5 {
                    // A welcome for first-time commenters, as creators set up.
                    c.push(json!({"type": "first_message"}));
                }
                json!(c)
            };
            json!({
                "name": format!("bench rule {i}"), "mode": mode, "conditions": conditions,
                "scope": {"platforms": ["tiktok", "instagram", "facebook", "youtube"]},
                "actions": [
                    {"type": "reply", "variants": [
                        "Hi {{ author.first_name | default('there') }}, thanks for asking!",
                        "Thanks {{ author.username }}, we answered you in a DM.",
                        "{{ greeting }}! Good question, see our bio."]},
                    {"type": "label", "label": format!("topic-{}", i % 12)}],
            })
        })
        .collect()
}

/// Creates the rules through the API; returns a client that may read their statistics.
async fn create_rules(database_url: &str, base: &str, n: usize) -> reqwest::Client {
    let token = unibox_command(
        database_url,
        &[
            "token",
            "add",
            "--name",
            "benchmark rules",
            "--scope",
            "admin",
        ],
        "",
    );
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert(
        "authorization",
        format!("Bearer {}", token.trim()).parse().unwrap(),
    );
    let admin = reqwest::Client::builder()
        .default_headers(headers)
        .build()
        .unwrap();
    for rule in bench_rules(n) {
        let r = admin
            .post(format!("{base}/api/v1/rules"))
            .json(&rule)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
    }
    admin
}

/// Totals of the rules' statistics: (matched, acted, waiting, held back).
async fn rule_totals(admin: &reqwest::Client, base: &str) -> (i64, i64, i64, i64) {
    let body: Value = admin
        .get(format!("{base}/api/v1/rules"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let mut t = (0, 0, 0, 0);
    for rule in body["rules"].as_array().into_iter().flatten() {
        let s = &rule["stats"];
        t.0 += s["matched"].as_i64().unwrap_or(0);
        t.1 += s["acted"].as_i64().unwrap_or(0);
        t.2 += s["waiting"].as_i64().unwrap_or(0);
        for group in ["suppressed", "skipped"] {
            t.3 += s[group]
                .as_object()
                .map(|m| m.values().filter_map(Value::as_i64).sum::<i64>())
                .unwrap_or(0);
        }
    }
    t
}

async fn run(
    backend: &str,
    database_url: &str,
    batches: &[Vec<u8>],
    clients: usize,
    total_messages: usize,
) {
    let is_postgres = database_url.starts_with("postgres");
    unibox_command(
        database_url,
        &["user", "add", "--email", BENCH_EMAIL, "--admin"],
        &format!("{BENCH_PASSWORD}\n"),
    );
    let server = Server::start(database_url).await;
    let client = signed_in_client(database_url, &server.base).await;
    let rules = std::env::var("UNIBOX_BENCH_RULES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let admin = if rules > 0 {
        Some(create_rules(database_url, &server.base, rules).await)
    } else {
        None
    };
    let total: usize = batches.len();
    let next = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let started = Instant::now();
    let mut handles = Vec::new();
    let shared: std::sync::Arc<Vec<Vec<u8>>> = std::sync::Arc::new(batches.to_vec());
    for _ in 0..clients {
        let (client, next, base, shared) = (
            client.clone(),
            next.clone(),
            server.base.clone(),
            shared.clone(),
        );
        handles.push(tokio::spawn(async move {
            loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if i >= total {
                    break;
                }
                let r = client
                    .post(format!("{base}/api/v1/events"))
                    .header("content-type", "application/json")
                    .body(shared[i].clone())
                    .send()
                    .await
                    .unwrap();
                let status = r.status();
                let body = r.text().await.unwrap();
                assert!(
                    status.is_success(),
                    "batch {i}: {status} {}",
                    &body[..body.len().min(500)]
                );
            }
        }));
    }
    for h in handles {
        h.await.unwrap();
    }
    let elapsed = started.elapsed().as_secs_f64();
    let messages = total_messages;
    let per_batch = total_messages.div_ceil(total.max(1));
    let ingest_rss = peak_rss_mib(server.child.id());
    let log_mib = database_url
        .strip_prefix("sqlite://")
        .and_then(|path| std::fs::metadata(format!("{path}-wal")).ok())
        .map(|m| m.len() as f64 / 1_048_576.0);
    if is_postgres {
        // Autovacuum analyzes tables about a minute after a bulk load; read figures are for that
        // steady state, not for the minute of stale planner statistics right after it.
        use sqlx::Connection;
        let mut conn = sqlx::PgConnection::connect(database_url).await.unwrap();
        sqlx::query("ANALYZE").execute(&mut conn).await.unwrap();
        println!("(PostgreSQL: ANALYZE after the load, as autovacuum would within a minute)");
    }

    let b = &server.base;
    let inbox = latencies(&client, &[format!("{b}/")], 200).await;
    let inbox_filtered = latencies(
        &client,
        &[format!("{b}/?platform=instagram&kind=comment")],
        100,
    )
    .await;
    let api = latencies(&client, &[format!("{b}/api/v1/threads")], 200).await;
    let api_filtered = latencies(
        &client,
        &[format!("{b}/api/v1/threads?channel=brand_7&status=all")],
        100,
    )
    .await;
    let searches: Vec<String> = [
        "shipping",
        "turquoise",
        "fan_123",
        "restock belgium",
        "discount code",
        "love",
    ]
    .iter()
    .map(|q| format!("{b}/api/v1/threads?q={}", q.replace(' ', "%20")))
    .collect();
    let search = latencies(&client, &searches, 30).await;
    let mut per_query = Vec::new();
    for url in &searches {
        let (_, p95) = latencies(&client, std::slice::from_ref(url), 20).await;
        per_query.push(format!(
            "{} {p95:.1}",
            url.rsplit_once("q=")
                .map(|(_, q)| q.replace("%20", " "))
                .unwrap_or_default()
        ));
    }
    let rss = peak_rss_mib(server.child.id());
    println!("\n== {backend}: {messages} messages, {CHANNELS} channels, {VIDEOS} videos ==");
    println!(
        "ingest through HTTP:        {:>10.0} messages/s  ({elapsed:.1} s, {clients} clients, {per_batch} per batch)",
        messages as f64 / elapsed
    );
    println!(
        "inbox page (first):         p50 {:>7.2} ms   p95 {:>7.2} ms",
        inbox.0, inbox.1
    );
    println!(
        "inbox page (filtered):      p50 {:>7.2} ms   p95 {:>7.2} ms",
        inbox_filtered.0, inbox_filtered.1
    );
    println!(
        "JSON thread list (first):   p50 {:>7.2} ms   p95 {:>7.2} ms",
        api.0, api.1
    );
    println!(
        "JSON thread list (channel): p50 {:>7.2} ms   p95 {:>7.2} ms",
        api_filtered.0, api_filtered.1
    );
    println!(
        "full-text search (6 kinds): p50 {:>7.2} ms   p95 {:>7.2} ms",
        search.0, search.1
    );
    println!("  p95 per search, ms:       {}", per_query.join(" · "));
    if let Some(log) = log_mib {
        println!("SQLite write-ahead log:     {log:.0} MiB after ingest");
    }
    println!(
        "server peak RSS:            {ingest_rss:.0} MiB after ingest, {rss:.0} MiB at the end"
    );
    if let Some(admin) = admin {
        let (matched, acted, waiting, held) = rule_totals(&admin, b).await;
        println!(
            "reply rules:                {rules} active; fired for {matched} messages ({:.1} %): {acted} acted, {waiting} waiting, {held} held back by safeguards",
            100.0 * matched as f64 / messages as f64
        );
    }
    server.stop();
}

#[tokio::main]
async fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let total: usize = std::env::var("UNIBOX_BENCH_MESSAGES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let batch: usize = std::env::var("UNIBOX_BENCH_BATCH")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1000);
    let clients: usize = std::env::var("UNIBOX_BENCH_CLIENTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2);
    let backends =
        std::env::var("UNIBOX_BENCH_BACKENDS").unwrap_or_else(|_| "sqlite,postgres".into());
    eprintln!("generating {total} messages…");
    let batches = generate(total, batch);
    for backend in backends.split(',').map(str::trim) {
        let Some(db) = Scratch::new(backend, "bench").await else {
            continue;
        };
        run(db.label, &db.url, &batches, clients, total).await;
        db.remove().await;
    }
}
