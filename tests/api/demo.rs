//! `unibox demo`, run as the real binary in a fresh directory: it serves within seconds, and
//! within a minute the inbox, the outbox, the approvals and the engagement page all have
//! something to show. Its true reply effect shows in the engagement comparison.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::Value;

/// A running demo in its own directory.
struct Demo {
    child: Child,
    dir: std::path::PathBuf,
    base: String,
    simulator: String,
    token: String,
    password: String,
    started_in: Duration,
}

impl Demo {
    fn start(args: &[&str]) -> Demo {
        let dir = std::env::temp_dir().join(crate::common::unique_name());
        std::fs::create_dir_all(&dir).unwrap();
        let began = Instant::now();
        let mut child = Command::new(env!("CARGO_BIN_EXE_unibox"))
            .arg("demo")
            .args(args)
            .current_dir(&dir)
            .env("UNIBOX_LISTEN", "127.0.0.1:0")
            .env_remove("DATABASE_URL")
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("the unibox binary starts");
        let (send, lines) = mpsc::channel();
        let stdout = child.stdout.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let _ = send.send(line);
            }
        });
        // The word after `after` on the first line that has it.
        let next = |after: &str| loop {
            let line = lines
                .recv_timeout(Duration::from_secs(60))
                .unwrap_or_else(|e| panic!("the demo printed no {after:?}: {e}"));
            if let Some(at) = line.find(after) {
                return line[at + after.len()..]
                    .split_whitespace()
                    .next()
                    .unwrap()
                    .to_owned();
            }
        };
        let base = next("is serving: open ");
        let started_in = began.elapsed();
        let password = next("with the password ");
        let simulator = next("platform simulator: ");
        // A token of the demo's workspace, made with the command line on its database.
        let out = Command::new(env!("CARGO_BIN_EXE_unibox"))
            .args(["token", "add", "--name", "test", "--scope", "admin"])
            .env(
                "DATABASE_URL",
                format!("sqlite://{}", dir.join("unibox-demo.db").display()),
            )
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let token = String::from_utf8(out.stdout).unwrap().trim().to_owned();
        Demo {
            child,
            dir,
            base,
            simulator,
            token,
            password,
            started_in,
        }
    }

    async fn get(&self, path: &str) -> Value {
        reqwest::Client::new()
            .get(format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    /// The demo channels' ids by platform.
    async fn channels(&self) -> Vec<(i64, String)> {
        self.get("/api/v1/channels").await["channels"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| {
                (
                    c["id"].as_i64().unwrap(),
                    c["platform"].as_str().unwrap().to_owned(),
                )
            })
            .collect()
    }

    fn stop(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// What the demo shows so far, as a line, and whether it is everything the issue asks for.
async fn progress(demo: &Demo) -> (String, bool) {
    let mut threads = Vec::new();
    for platform in ["tiktok", "instagram", "youtube"] {
        let body = demo
            .get(&format!("/api/v1/threads?platform={platform}&limit=100"))
            .await;
        threads.push(body["threads"].as_array().map_or(0, Vec::len));
    }
    let writes: Value = reqwest::get(format!("{}/_sim/writes", demo.simulator))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let replies = writes["writes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|w| w["action"] == "reply" && w["text"].as_str().is_some_and(|t| t.contains("€39")))
        .count();
    let suggestions = demo.get("/api/v1/suggestions").await["suggestions"]
        .as_array()
        .map_or(0, Vec::len);
    let mut figured = 0;
    for (id, _) in demo.channels().await {
        let body = demo.get(&format!("/api/v1/engagement/channels/{id}")).await;
        figured += body["videos"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|v| v["er"].is_number())
            .count();
    }
    let line = format!(
        "threads {threads:?}, automated replies at the simulator {replies}, suggestions {suggestions}, videos with figures {figured}"
    );
    let done = threads.iter().sum::<usize>() >= 50
        && threads.iter().all(|&n| n > 0)
        && replies >= 1
        && suggestions >= 1
        && figured >= 5;
    (line, done)
}

#[tokio::test]
async fn the_demo_comes_alive_within_a_minute() {
    let demo = Demo::start(&["--reset"]);
    assert!(
        demo.started_in < Duration::from_secs(10),
        "served after {:?}",
        demo.started_in
    );
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let (line, done) = progress(&demo).await;
        if done {
            eprintln!("the demo after {:?}: {line}", demo.started_in);
            break;
        }
        assert!(Instant::now() < deadline, "after a minute: {line}");
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    // Live: the audience keeps writing, on every platform (Instagram's and TikTok's comments
    // by webhook, YouTube's by the poll), and it shows in the inbox.
    let started = chrono::Utc::now() - chrono::Duration::seconds(2);
    let mut fresh = [false; 3];
    while fresh.iter().any(|f| !f) {
        for (i, platform) in ["tiktok", "instagram", "youtube"].iter().enumerate() {
            let body = demo
                .get(&format!("/api/v1/threads?platform={platform}&limit=1"))
                .await;
            let newest = body["threads"][0]["last_inbound_at"]
                .as_str()
                .unwrap_or_default();
            fresh[i] = chrono::DateTime::parse_from_rfc3339(newest).is_ok_and(|t| t > started);
        }
        assert!(
            Instant::now() < deadline + Duration::from_secs(30),
            "no live comments yet: {fresh:?}"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let page = reqwest::get(format!("{}/login", demo.base)).await.unwrap();
    assert_eq!(page.status(), 200);
    demo.stop();
}

/// Requests to `route` answered with `status`, from the demo's `/metrics`.
fn answered(metrics: &str, route: &str, status: u16) -> u64 {
    metrics
        .lines()
        .filter(|l| l.starts_with("unibox_http_requests_total{"))
        .filter(|l| {
            l.contains(&format!("route=\"{route}\"")) && l.contains(&format!("status=\"{status}\""))
        })
        .filter_map(|l| l.rsplit(' ').next()?.parse::<u64>().ok())
        .sum()
}

/// The demo's audience keeps to what the platforms allow: over its first minute and more,
/// every TikTok webhook is taken (none answered 503) and no channel records an error.
#[tokio::test]
async fn the_demo_webhooks_are_all_taken() {
    let demo = Demo::start(&["--reset"]);
    tokio::time::sleep(Duration::from_secs(75)).await;
    let metrics = reqwest::get(format!("{}/metrics", demo.base))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let (taken, refused) = (
        answered(&metrics, "/webhooks/tiktok", 200),
        answered(&metrics, "/webhooks/tiktok", 503),
    );
    eprintln!("TikTok webhooks in 75 s: {taken} taken, {refused} answered 503");
    assert!(taken >= 5, "{metrics}");
    assert_eq!(refused, 0, "TikTok webhooks answered 503");
    let db = unibox::storage::open(
        &format!("sqlite://{}", demo.dir.join("unibox-demo.db").display()),
        1,
        None,
    )
    .await
    .unwrap();
    let errors: Vec<(i64, String)> = db
        .fetch_all(unibox::storage::Sql::new(
            "SELECT channel_id, last_error FROM channel_health WHERE last_error IS NOT NULL",
        ))
        .await
        .unwrap();
    assert_eq!(errors, vec![], "channels with errors");
    db.close().await;
    demo.stop();
}

/// The replied-against-unreplied comparison of every demo channel.
async fn intervals(effect: &str) -> Vec<(String, [f64; 2])> {
    let demo = Demo::start(&["--reset", "--reply-effect", effect, "--speed", "6000"]);
    let mut out = Vec::new();
    for (id, platform) in demo.channels().await {
        let body = demo.get(&format!("/api/v1/engagement/channels/{id}")).await;
        let c = &body["comparison"];
        assert_eq!(c["enough_data"], true, "{platform}: {c}");
        let i = c["interval"].as_array().unwrap();
        out.push((platform, [i[0].as_f64().unwrap(), i[1].as_f64().unwrap()]));
    }
    demo.stop();
    assert_eq!(out.len(), 3);
    out
}

#[tokio::test]
async fn the_true_reply_effect_shows_in_the_comparison() {
    let none = intervals("0").await;
    let clear = intervals("2").await;
    eprintln!("reply effect 0: {none:?}\nreply effect 2: {clear:?}");
    for (platform, [low, high]) in none {
        assert!(
            low <= 0.0 && 0.0 <= high,
            "no effect: {platform} [{low}, {high}] should cover 0"
        );
    }
    for (platform, [low, high]) in clear {
        assert!(
            low > 0.0,
            "a clear effect: {platform} [{low}, {high}] should exclude 0"
        );
    }
}

/// The demo in Chromium: sign in with the printed password, the inbox and the engagement
/// page full of the demo's data (their screenshots are the README's, under `docs/`).
#[tokio::test]
async fn the_demo_in_a_browser() {
    use crate::browser::{browser, shoot, start_driver, submit};
    use fantoccini::Locator;
    let Some(driver) = start_driver() else { return };
    let demo = Demo::start(&["--reset"]);
    let c = browser(&driver).await;
    c.goto(&format!("{}/login", demo.base)).await.unwrap();
    c.find(Locator::Id("email"))
        .await
        .unwrap()
        .send_keys("demo@unibox.test")
        .await
        .unwrap();
    submit(
        &c,
        "#password",
        &demo.password,
        "form[action='/login'] button",
        "main",
    )
    .await;
    // Let the audience's first live comments and the first automated replies come in.
    tokio::time::sleep(Duration::from_secs(3)).await;
    c.goto(&format!("{}/", demo.base)).await.unwrap();
    let rows = c
        .find_all(Locator::Css(".thread-row, [data-thread]"))
        .await
        .unwrap()
        .len();
    let page = c.source().await.unwrap();
    assert!(
        page.contains("lumen.studio"),
        "the demo's threads are listed"
    );
    shoot(&c, "demo-inbox").await;
    c.goto(&format!("{}/engagement", demo.base)).await.unwrap();
    let page = c.source().await.unwrap();
    assert!(
        page.contains("lumen.studio") || page.contains("LumenStudio"),
        "the demo's channels"
    );
    assert!(page.contains("<svg"), "a chart is drawn");
    shoot(&c, "demo-engagement").await;
    eprintln!("inbox rows seen: {rows}");
    c.close().await.unwrap();
    demo.stop();
}
