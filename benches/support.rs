//! What the benchmarks share: the real `unibox` binary started on a database, the command
//! line, a signed-in client, and latency percentiles.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

pub fn peak_rss_mib(pid: u32) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kb| kb.parse::<f64>().ok())
        .map(|kb| kb / 1024.0)
        .unwrap_or(f64::NAN)
}

pub struct Server {
    pub child: Child,
    pub base: String,
}

impl Server {
    // `Server`'s `Drop` stops and waits for the process, which the lint cannot see.
    #[allow(clippy::zombie_processes)]
    pub async fn start(database_url: &str) -> Server {
        Self::start_with(database_url, &[]).await
    }

    /// Started with these settings (environment variables) besides the database.
    #[allow(clippy::zombie_processes)]
    pub async fn start_with(database_url: &str, settings: &[(&str, String)]) -> Server {
        let port = free_port();
        let child = Command::new(env!("CARGO_BIN_EXE_unibox"))
            .arg("serve")
            .envs(settings.iter().map(|(k, v)| (*k, v.as_str())))
            .env("DATABASE_URL", database_url)
            .env("UNIBOX_LISTEN", format!("127.0.0.1:{port}"))
            .env(
                "RUST_LOG",
                std::env::var("UNIBOX_BENCH_SERVER_LOG").unwrap_or_else(|_| "warn".into()),
            )
            .stdout(Stdio::null())
            .spawn()
            .expect("start unibox");
        let base = format!("http://127.0.0.1:{port}");
        for _ in 0..200 {
            if reqwest::get(format!("{base}/readyz"))
                .await
                .is_ok_and(|r| r.status().is_success())
            {
                return Server { child, base };
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("unibox did not become ready");
    }

    pub fn stop(self) {
        // Drop stops it.
    }
}

impl Drop for Server {
    /// A graceful stop (SIGTERM), also when the benchmark panics, so no server is left behind.
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status();
        let _ = self.child.wait();
    }
}

pub const BENCH_EMAIL: &str = "bench@example.test";
pub const BENCH_PASSWORD: &str = "benchmark password";

/// Runs the `unibox` command on the benchmark's database; its stdout.
pub fn unibox_command(database_url: &str, args: &[&str], stdin: &str) -> String {
    use std::io::Write;
    let mut child = Command::new(env!("CARGO_BIN_EXE_unibox"))
        .args(args)
        .env("DATABASE_URL", database_url)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("run unibox");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "unibox {args:?} failed");
    String::from_utf8(out.stdout).unwrap()
}

/// A client that acts as the benchmark's admin: a session cookie for pages, a read-write
/// token for the API (both made the way a user makes them).
pub async fn signed_in_client(database_url: &str, base: &str) -> reqwest::Client {
    let token = unibox_command(
        database_url,
        &["token", "add", "--name", "benchmark", "--scope", "write"],
        "",
    );
    let plain = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let form = plain.get(format!("{base}/login")).send().await.unwrap();
    let cookie_of = |r: &reqwest::Response, name: &str| -> String {
        r.headers()
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok()?.split(';').next().map(str::to_owned))
            .find(|c| c.starts_with(&format!("{name}=")))
            .expect("a cookie")
    };
    let sign_in_cookie = cookie_of(&form, "unibox_signin");
    let html = scraper::Html::parse_document(&form.text().await.unwrap());
    let selector = scraper::Selector::parse("input[name=csrf_token]").unwrap();
    let csrf = html
        .select(&selector)
        .next()
        .unwrap()
        .value()
        .attr("value")
        .unwrap()
        .to_owned();
    let done = plain
        .post(format!("{base}/login"))
        .header("cookie", sign_in_cookie)
        .form(&[
            ("email", BENCH_EMAIL),
            ("password", BENCH_PASSWORD),
            ("csrf_token", &csrf),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(done.status(), 303, "benchmark sign-in");
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert(
        "cookie",
        cookie_of(&done, "unibox_session").parse().unwrap(),
    );
    headers.insert(
        "authorization",
        format!("Bearer {}", token.trim()).parse().unwrap(),
    );
    reqwest::Client::builder()
        .default_headers(headers)
        .build()
        .unwrap()
}

pub fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

pub async fn latencies(client: &reqwest::Client, urls: &[String], rounds: usize) -> (f64, f64) {
    let mut times = Vec::new();
    for _ in 0..rounds {
        for url in urls {
            let started = Instant::now();
            let r = client.get(url).send().await.unwrap();
            assert!(r.status().is_success(), "{url}: {}", r.status());
            r.bytes().await.unwrap();
            times.push(started.elapsed().as_secs_f64() * 1000.0);
        }
    }
    times.sort_by(f64::total_cmp);
    (percentile(&times, 0.5), percentile(&times, 0.95))
}

/// A database made for one benchmark run: an SQLite file in a temporary folder, or a fresh
/// PostgreSQL database (from UNIBOX_TEST_POSTGRES, or the local server). Removed afterwards
/// unless UNIBOX_BENCH_KEEP is set.
pub struct Scratch {
    pub label: &'static str,
    pub url: String,
    place: Place,
}

enum Place {
    Folder(std::path::PathBuf),
    Database { admin: String, name: String },
}

impl Scratch {
    /// `None` (after saying so) when PostgreSQL cannot be reached.
    pub async fn new(backend: &str, tag: &str) -> Option<Scratch> {
        let name = format!("unibox_{tag}_{}", std::process::id());
        match backend {
            "sqlite" => {
                let dir = std::env::temp_dir().join(&name);
                std::fs::create_dir_all(&dir).unwrap();
                Some(Scratch {
                    label: "SQLite",
                    url: format!("sqlite://{}", dir.join("bench.db").display()),
                    place: Place::Folder(dir),
                })
            }
            "postgres" => {
                use sqlx::Connection;
                let admin = std::env::var("UNIBOX_TEST_POSTGRES")
                    .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
                let mut conn = match sqlx::PgConnection::connect(&admin).await {
                    Ok(c) => c,
                    Err(e) => {
                        println!("\n== PostgreSQL: SKIPPED, cannot connect to {admin}: {e}");
                        return None;
                    }
                };
                sqlx::query(&format!("CREATE DATABASE {name}"))
                    .execute(&mut conn)
                    .await
                    .unwrap();
                Some(Scratch {
                    label: "PostgreSQL",
                    url: format!("{}/{name}", admin.rsplit_once('/').unwrap().0),
                    place: Place::Database { admin, name },
                })
            }
            other => panic!("unknown backend {other}; use sqlite and/or postgres"),
        }
    }

    pub async fn remove(self) {
        use sqlx::Connection;
        let keep = std::env::var_os("UNIBOX_BENCH_KEEP").is_some();
        match self.place {
            Place::Folder(dir) if keep => println!("kept {}", dir.display()),
            Place::Folder(dir) => {
                let _ = std::fs::remove_dir_all(&dir);
            }
            Place::Database { name, .. } if keep => println!("kept database {name}"),
            Place::Database { admin, name } => {
                let mut conn = sqlx::PgConnection::connect(&admin).await.unwrap();
                sqlx::query(&format!("DROP DATABASE {name} WITH (FORCE)"))
                    .execute(&mut conn)
                    .await
                    .unwrap();
            }
        }
    }
}

/// What the machine did over a stretch of a benchmark (Linux's `/proc`; zeros elsewhere):
/// how busy it was, how much time the hypervisor took from it (steal: a virtual machine's
/// neighbours, which stall every process at random and make latency runs differ), and the CPU
/// time of the server, of PostgreSQL's processes and of the benchmark itself.
pub struct Machine {
    busy: u64,
    steal: u64,
    all: u64,
    server: u64,
    database: u64,
    own: u64,
}

/// Clock ticks of `/proc/<pid>/stat` (user and system time), 0 when unreadable.
fn process_ticks(stat: &str) -> u64 {
    // The fields after the command name (which may hold spaces) start after its ')'.
    let Some((_, rest)) = stat.rsplit_once(')') else {
        return 0;
    };
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // utime and stime are the stat file's 14th and 15th fields, the 12th and 13th after ')'.
    fields
        .get(11..13)
        .map(|f| f.iter().filter_map(|v| v.parse::<u64>().ok()).sum())
        .unwrap_or(0)
}

impl Machine {
    pub fn now(server: u32) -> Machine {
        let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
        let cpu: Vec<u64> = stat
            .lines()
            .next()
            .unwrap_or_default()
            .split_whitespace()
            .skip(1)
            .filter_map(|v| v.parse().ok())
            .collect();
        let at = |i: usize| cpu.get(i).copied().unwrap_or(0);
        let all: u64 = cpu.iter().take(8).sum();
        let ticks = |pid: &str| {
            process_ticks(&std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default())
        };
        let database = std::fs::read_dir("/proc")
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|e| e.file_name().into_string().ok())
            .filter(|pid| pid.bytes().all(|b| b.is_ascii_digit()))
            .filter(|pid| {
                std::fs::read_to_string(format!("/proc/{pid}/comm"))
                    .is_ok_and(|c| c.trim() == "postgres")
            })
            .map(|pid| ticks(&pid))
            .sum();
        Machine {
            busy: all - at(3) - at(4) - at(7),
            steal: at(7),
            all,
            server: ticks(&server.to_string()),
            database,
            own: ticks("self"),
        }
    }

    /// What happened since `before`, per `items` for the CPU times.
    pub fn since(&self, before: &Machine, items: usize) -> String {
        let all = self.all.saturating_sub(before.all).max(1) as f64;
        // Clock ticks are a hundredth of a second on Linux.
        let per = |a: u64, b: u64| a.saturating_sub(b) as f64 * 10_000.0 / items.max(1) as f64;
        format!(
            "machine: {:.0} % busy, {:.0} % taken by the hypervisor (steal); CPU per comment: server {:.0} µs, PostgreSQL {:.0} µs, sender and simulator {:.0} µs",
            self.busy.saturating_sub(before.busy) as f64 * 100.0 / all,
            self.steal.saturating_sub(before.steal) as f64 * 100.0 / all,
            per(self.server, before.server),
            per(self.database, before.database),
            per(self.own, before.own),
        )
    }
}
