//! Engagement benchmark: one channel with 10,000 videos × 100 statistics snapshots (a million
//! snapshots), some comments and replies, behind the real `unibox` binary; times the channel
//! dashboard (JSON and page) and a video page.
//!
//! Run: `cargo bench --bench engagement` (both backends; PostgreSQL from UNIBOX_TEST_POSTGRES or
//! postgres://postgres@127.0.0.1:5432/postgres). Knobs: UNIBOX_BENCH_BACKENDS (default
//! "sqlite,postgres"), UNIBOX_BENCH_VIDEOS (10000), UNIBOX_BENCH_SNAPSHOTS (100).

#[allow(dead_code)]
mod support;

use std::time::Instant;

use serde_json::{Value, json};
use support::{
    BENCH_EMAIL, BENCH_PASSWORD, Scratch, Server, latencies, signed_in_client, unibox_command,
};

fn knob(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The snapshots are written straight into the database (a million of them through the HTTP
/// API would time the ingest, not the dashboard); everything else goes through the API.
async fn fill(database_url: &str, channel: i64, videos: usize, snapshots: usize) {
    use sqlx::Connection;
    let (v, n) = (videos as i64, snapshots as i64);
    if database_url.starts_with("postgres") {
        let mut c = sqlx::PgConnection::connect(database_url).await.unwrap();
        sqlx::query(
            "INSERT INTO videos (workspace_id, channel_id, external_id, title, published_at, created_at) \
             SELECT 1, $1, 'bv' || i, 'Video ' || i, now() - make_interval(hours => i::int), now() \
             FROM generate_series(1, $2) AS i ON CONFLICT (channel_id, external_id) DO NOTHING",
        )
        .bind(channel)
        .bind(v)
        .execute(&mut c)
        .await
        .unwrap();
        sqlx::query(
            "INSERT INTO video_stats (video_id, captured_at, views, likes, comments, shares, saves, received_at) \
             SELECT id, published_at + make_interval(hours => (6 * s)::int), 1000 * (s + 1), 90 * (s + 1) + id % 37, \
             8 * (s + 1), 3 * (s + 1), s, now() FROM videos, generate_series(0, $2 - 1) AS s \
             WHERE channel_id = $1",
        )
        .bind(channel)
        .bind(n)
        .execute(&mut c)
        .await
        .unwrap();
    } else {
        let mut c = sqlx::SqliteConnection::connect(database_url).await.unwrap();
        let time = |expr: &str| format!("strftime('%Y-%m-%dT%H:%M:%S+00:00', {expr})");
        sqlx::query(&format!(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $2) \
             INSERT INTO videos (workspace_id, channel_id, external_id, title, published_at, created_at) \
             SELECT 1, $1, 'bv' || i, 'Video ' || i, {}, {} FROM n WHERE true \
             ON CONFLICT (channel_id, external_id) DO NOTHING",
            time("'now', '-' || i || ' hours'"),
            time("'now'")
        ))
        .bind(channel)
        .bind(v)
        .execute(&mut c)
        .await
        .unwrap();
        sqlx::query(&format!(
            "WITH RECURSIVE s(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM s WHERE i < $2 - 1) \
             INSERT INTO video_stats (video_id, captured_at, views, likes, comments, shares, saves, received_at) \
             SELECT id, {}, 1000 * (s.i + 1), 90 * (s.i + 1) + id % 37, 8 * (s.i + 1), 3 * (s.i + 1), s.i, {} \
             FROM videos, s WHERE channel_id = $1",
            time("published_at, '+' || (6 * s.i) || ' hours'"),
            time("'now'")
        ))
        .bind(channel)
        .bind(n)
        .execute(&mut c)
        .await
        .unwrap();
    }
}

async fn run(backend: &str, database_url: &str, videos: usize, snapshots: usize) {
    unibox_command(
        database_url,
        &["user", "add", "--email", BENCH_EMAIL, "--admin"],
        &format!("{BENCH_PASSWORD}\n"),
    );
    let server = Server::start(database_url).await;
    let client = signed_in_client(database_url, &server.base).await;
    let b = server.base.clone();
    // The channel, its follower count, and comments with replies on the newest 500 videos.
    let mut events = vec![
        json!({"type": "channel_stats", "platform": "tiktok", "channel": "bench",
        "followers": 85_000, "captured_at": chrono::Utc::now().to_rfc3339()}),
    ];
    let created =
        |h: i64| (chrono::Utc::now() - chrono::Duration::minutes(h * 60 - 30)).to_rfc3339();
    for i in 1..=500i64 {
        // Published i hours ago, as the rest of the videos are.
        let published = (chrono::Utc::now() - chrono::Duration::hours(i)).to_rfc3339();
        let video = json!({"external_id": format!("bv{i}"), "title": format!("Video {i}"), "published_at": published});
        events.push(json!({"type": "message", "platform": "tiktok", "channel": "bench", "kind": "comment",
            "external_id": format!("c{i}"), "video": video, "author": {"external_id": format!("fan{}", i % 97)},
            "text": "where can I buy this?", "created_at": created(i)}));
        if i % 2 == 0 {
            events.push(json!({"type": "message", "platform": "tiktok", "channel": "bench", "kind": "comment",
                "external_id": format!("r{i}"), "parent_external_id": format!("c{i}"), "video": video,
                "direction": "outbound", "author": {"external_id": "bench-account"},
                "text": "In our bio!", "created_at": created(i)}));
        }
    }
    let started = Instant::now();
    let r = client
        .post(format!("{b}/api/v1/events"))
        .json(&events)
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "{}", r.text().await.unwrap());
    let body: Value = client
        .get(format!("{b}/api/v1/threads?limit=1"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let channel = body["threads"][0]["channel_id"].as_i64().unwrap();
    fill(database_url, channel, videos, snapshots).await;
    println!("(filled in {:.1} s)", started.elapsed().as_secs_f64());
    if database_url.starts_with("postgres") {
        use sqlx::Connection;
        let mut conn = sqlx::PgConnection::connect(database_url).await.unwrap();
        sqlx::query("ANALYZE").execute(&mut conn).await.unwrap();
    }
    // Steady state: a few requests first, so the first reads from disk are not counted.
    latencies(
        &client,
        &[format!("{b}/api/v1/engagement/channels/{channel}?posts=30")],
        5,
    )
    .await;
    let api = latencies(
        &client,
        &[format!("{b}/api/v1/engagement/channels/{channel}?posts=30")],
        50,
    )
    .await;
    let page = latencies(&client, &[format!("{b}/engagement?channel={channel}")], 50).await;
    let csv = latencies(
        &client,
        &[format!(
            "{b}/api/v1/engagement/channels/{channel}/videos.csv"
        )],
        20,
    )
    .await;
    let video = latencies(&client, &[format!("{b}/videos/2")], 50).await;
    println!("\n== {backend}: 1 channel, {videos} videos × {snapshots} snapshots ==");
    println!(
        "channel figures (JSON):   p50 {:>7.2} ms   p95 {:>7.2} ms",
        api.0, api.1
    );
    println!(
        "/engagement page:         p50 {:>7.2} ms   p95 {:>7.2} ms",
        page.0, page.1
    );
    println!(
        "per-video CSV:            p50 {:>7.2} ms   p95 {:>7.2} ms",
        csv.0, csv.1
    );
    println!(
        "/videos/{{id}} page:        p50 {:>7.2} ms   p95 {:>7.2} ms",
        video.0, video.1
    );
    server.stop();
}

#[tokio::main]
async fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let videos = knob("UNIBOX_BENCH_VIDEOS", 10_000);
    let snapshots = knob("UNIBOX_BENCH_SNAPSHOTS", 100);
    let backends =
        std::env::var("UNIBOX_BENCH_BACKENDS").unwrap_or_else(|_| "sqlite,postgres".into());
    for backend in backends.split(',').map(str::trim) {
        let Some(db) = Scratch::new(backend, "engagement").await else {
            continue;
        };
        run(db.label, &db.url, videos, snapshots).await;
        db.remove().await;
    }
}
