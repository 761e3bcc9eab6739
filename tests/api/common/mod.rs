//! Test harness: every test gets its own database (a temporary SQLite file, or a fresh
//! PostgreSQL database) and talks to the real router over real HTTP on 127.0.0.1.
#![allow(dead_code)]

mod fixtures;

#[allow(unused_imports)] // `tests/secrets.rs` shares this harness and builds no events
pub use fixtures::{CHANNEL, FakeMessage, FakeVideoStats};

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};

use serde_json::{Value, json};
use tokio::sync::oneshot;
use unibox::accounts::audit::Who;
use unibox::accounts::{members, users, workspaces};
use unibox::auth::{password, tokens};
use unibox::config::Secret;
use unibox::ids::WorkspaceId;
use unibox::{AppState, Config, storage};

pub use unibox::domain::{Role, Scope};

pub use unibox::storage::Backend;

static COUNTER: AtomicU64 = AtomicU64::new(0);

/// Where PostgreSQL tests connect to create their databases.
pub fn postgres_admin_url() -> String {
    std::env::var("UNIBOX_TEST_POSTGRES")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

/// In CI (or when asked) a missing PostgreSQL fails the tests instead of skipping them.
pub fn postgres_required() -> bool {
    std::env::var_os("CI").is_some() || std::env::var_os("UNIBOX_REQUIRE_POSTGRES").is_some()
}

pub fn unique_name() -> String {
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    format!("unibox_test_{}_{}_{}", std::process::id(), n, nanos)
}

enum Cleanup {
    None,
    Sqlite(PathBuf),
    Postgres { admin: String, name: String },
}

pub const OWNER: &str = "owner@example.test";
pub const PASSWORD: &str = "correct horse battery staple";

pub struct TestServer {
    pub base: String,
    /// The database this server uses, for running the `unibox` command against it.
    pub database_url: String,
    /// Sends the owner's session cookie and a read-write API token of the default workspace.
    pub client: reqwest::Client,
    /// The owner's CSRF token, which `post_form` adds to every form.
    pub csrf: String,
    /// The owner's session id (the cookie's value).
    pub session: String,
    pub token: String,
    pub backend: Backend,
    pub db: storage::Db,
    stop: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
    cleanup: Cleanup,
}

impl TestServer {
    pub async fn sqlite() -> TestServer {
        Self::sqlite_with(|_| {}).await
    }

    pub async fn sqlite_with(adjust: impl FnOnce(&mut Config)) -> TestServer {
        let dir = std::env::temp_dir().join(unique_name());
        std::fs::create_dir_all(&dir).unwrap();
        let url = format!("sqlite://{}", dir.join("unibox.db").display());
        Self::start(&url, Cleanup::Sqlite(dir), adjust).await
    }

    /// A server on the SQLite file `path`, which the caller owns and removes.
    pub async fn sqlite_file(path: &std::path::Path) -> TestServer {
        Self::sqlite_file_with(path, |_| {}).await
    }

    /// A server on the SQLite file `path` (which the caller owns and removes), configured.
    pub async fn sqlite_file_with(
        path: &std::path::Path,
        adjust: impl FnOnce(&mut Config),
    ) -> TestServer {
        let url = format!("sqlite://{}", path.display());
        Self::start(&url, Cleanup::None, adjust).await
    }

    /// `None` (after saying so) when PostgreSQL is unreachable outside CI.
    pub async fn postgres() -> Option<TestServer> {
        Self::postgres_with(|_| {}).await
    }

    pub async fn postgres_with(adjust: impl FnOnce(&mut Config)) -> Option<TestServer> {
        Self::postgres_through(|url| url.to_owned(), adjust).await
    }

    /// A PostgreSQL server whose database URL `route` may rewrite (to go through a proxy).
    pub async fn postgres_through(
        route: impl FnOnce(&str) -> String,
        adjust: impl FnOnce(&mut Config),
    ) -> Option<TestServer> {
        use sqlx::Connection;
        let admin = postgres_admin_url();
        let mut conn = match sqlx::PgConnection::connect(&admin).await {
            Ok(conn) => conn,
            Err(e) if !postgres_required() => {
                eprintln!(
                    "SKIPPED on PostgreSQL: cannot connect to {admin} ({e}); set UNIBOX_TEST_POSTGRES"
                );
                return None;
            }
            Err(e) => panic!(
                "PostgreSQL is required here (CI or UNIBOX_REQUIRE_POSTGRES) but unreachable: {e}"
            ),
        };
        let name = unique_name();
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&mut conn)
            .await
            .unwrap();
        conn.close().await.ok();
        let url = match admin.rsplit_once('/') {
            Some((server, _)) => format!("{server}/{name}"),
            None => panic!("UNIBOX_TEST_POSTGRES must end in /<database>"),
        };
        Some(Self::start(&route(&url), Cleanup::Postgres { admin, name }, adjust).await)
    }

    async fn start(url: &str, cleanup: Cleanup, adjust: impl FnOnce(&mut Config)) -> TestServer {
        let mut config = Config::for_database(url);
        // Nothing leaves this machine: a test that sends points these at its simulator.
        config.platforms.meta_graph_url = "http://127.0.0.1:9/meta".into();
        config.platforms.tiktok_api_url = "http://127.0.0.1:9/tiktok".into();
        config.platforms.youtube_api_url = "http://127.0.0.1:9/youtube".into();
        // Polls only where a test asks for them.
        config.polling.poll_comments_seconds = 0;
        config.polling.poll_stats_seconds = 0;
        config.polling.verify_channels_seconds = 0;
        config.polling.contact_names_seconds = 0;
        adjust(&mut config);
        let db = storage::open(url, 5, config.storage.db_flush)
            .await
            .unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let (stop, stopped) = oneshot::channel::<()>();
        let state = AppState::new(db.clone(), config);
        let task = tokio::spawn(unibox::serve(listener, state, async {
            let _ = stopped.await;
        }));
        let mut server = TestServer {
            base,
            database_url: url.to_owned(),
            client: reqwest::Client::new(),
            csrf: String::new(),
            session: String::new(),
            token: String::new(),
            backend: db.backend(),
            db,
            stop: Some(stop),
            task: Some(task),
            cleanup,
        };
        // Every test acts as the owner of the default workspace: signed in (cookie) for
        // pages, with a read-write token for the API.
        server.add_account(OWNER, 1, Role::Owner, true).await;
        let owner = server.sign_in(OWNER).await;
        server.token = server.token_for(1, Scope::Write).await;
        server.client = client_with(Some(&server.token), Some(&owner.cookie));
        server.csrf = owner.csrf;
        server.session = owner.session;
        server
    }

    /// Creates a user with [`PASSWORD`] and makes them a member of `workspace` (not a server
    /// administrator; the set-up's [`OWNER`] is one).
    pub async fn add_user(&self, email: &str, workspace: i64, role: Role) -> i64 {
        self.add_account(email, workspace, role, false).await
    }

    async fn add_account(&self, email: &str, workspace: i64, role: Role, admin: bool) -> i64 {
        let now = unibox::clock::now();
        let hash = password::hash(&Secret::new(PASSWORD)).await.unwrap();
        let id = users::add(&self.db, email, &hash, admin, now)
            .await
            .unwrap();
        members::add(
            &self.db,
            WorkspaceId(workspace),
            id,
            email,
            role,
            &Who::command_line(),
            now,
        )
        .await
        .unwrap();
        id.0
    }

    /// A new workspace, by short name.
    pub async fn add_workspace(&self, slug: &str) -> i64 {
        workspaces::create(
            &self.db,
            slug,
            &format!("Workspace {slug}"),
            unibox::clock::now(),
        )
        .await
        .unwrap()
        .0
    }

    /// A new API token of `workspace`.
    pub async fn token_for(&self, workspace: i64, scope: Scope) -> String {
        let (_, secret) = tokens::create(
            &self.db,
            WorkspaceId(workspace),
            "test token",
            scope,
            &Who::command_line(),
            unibox::clock::now(),
        )
        .await
        .unwrap();
        secret
    }

    /// Signs `email` in through the real sign-in form.
    pub async fn sign_in(&self, email: &str) -> Browser {
        let anonymous = client_with(None, None);
        let form = anonymous.get(self.url("/login")).send().await.unwrap();
        assert_eq!(form.status(), 200);
        let sign_in_cookie = set_cookie(&form, "unibox_signin").expect("a sign-in cookie");
        let page = scraper::Html::parse_document(&form.text().await.unwrap());
        let csrf = select(&page, "form[action='/login'] input[name=csrf_token]")[0]
            .value()
            .attr("value")
            .unwrap()
            .to_owned();
        let done = anonymous
            .post(self.url("/login"))
            .header("cookie", format!("unibox_signin={sign_in_cookie}"))
            .form(&[
                ("email", email),
                ("password", PASSWORD),
                ("csrf_token", &csrf),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(done.status(), 303, "sign-in of {email} failed");
        let session = set_cookie(&done, "unibox_session").expect("a session cookie");
        let cookie = format!("unibox_session={session}");
        Browser {
            client: client_with(None, Some(&cookie)),
            csrf: unibox::auth::csrf::token_for(&session),
            session,
            cookie,
            base: self.base.clone(),
        }
    }

    /// A client that sends nothing but what the caller adds.
    pub fn anonymous(&self) -> reqwest::Client {
        client_with(None, None)
    }

    /// A client that sends `token` as its bearer token.
    pub fn api_client(&self, token: &str) -> reqwest::Client {
        client_with(Some(token), None)
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Asks the server to shut down gracefully; returns its join handle.
    pub fn shutdown(&mut self) -> tokio::task::JoinHandle<std::io::Result<()>> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        self.task.take().expect("server already stopped")
    }

    /// Stops the server and removes its database.
    pub async fn finish(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
        self.db.close().await;
        match &self.cleanup {
            Cleanup::None => {}
            Cleanup::Sqlite(dir) => {
                let _ = std::fs::remove_dir_all(dir);
            }
            Cleanup::Postgres { admin, name } => {
                use sqlx::Connection;
                if let Ok(mut conn) = sqlx::PgConnection::connect(admin).await {
                    let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                        .execute(&mut conn)
                        .await;
                }
            }
        }
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client.get(self.url(path)).send().await.unwrap()
    }

    pub async fn get_json(&self, path: &str) -> (u16, Value) {
        let r = self.get(path).await;
        let status = r.status().as_u16();
        (status, r.json().await.unwrap())
    }

    pub async fn send_json(
        &self,
        method: reqwest::Method,
        path: &str,
        body: &Value,
    ) -> (u16, Value) {
        let r = self
            .client
            .request(method, self.url(path))
            .json(body)
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        let text = r.text().await.unwrap();
        (
            status,
            serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON: {text}")),
        )
    }

    pub async fn post_json(&self, path: &str, body: &Value) -> (u16, Value) {
        self.send_json(reqwest::Method::POST, path, body).await
    }

    pub async fn patch_json(&self, path: &str, body: &Value) -> (u16, Value) {
        self.send_json(reqwest::Method::PATCH, path, body).await
    }

    /// Posts events and insists they were accepted.
    pub async fn ingest(&self, events: Value) -> Value {
        let (status, body) = self.post_json("/api/v1/events", &events).await;
        assert!(
            status == 200 || status == 201,
            "ingest refused ({status}): {body}"
        );
        body
    }

    /// Posts a form as the signed-in owner, with the CSRF token added.
    pub async fn post_form(&self, path: &str, form: &[(&str, &str)]) -> reqwest::Response {
        post_form_with(&self.client, &self.url(path), &self.csrf, form).await
    }

    pub async fn page(&self, path: &str) -> (u16, scraper::Html) {
        parse_page(self.get(path).await).await
    }

    /// Counts rows of a table straight from the database.
    pub async fn count(&self, table: &str) -> i64 {
        let sql = unibox::storage::Sql::new(format!("SELECT COUNT(*) FROM {table}"));
        let (n,): (i64,) = self.db.fetch_optional(sql).await.unwrap().unwrap();
        n
    }

    pub async fn threads(&self, query: &str) -> Vec<Value> {
        let (status, body) = self.get_json(&format!("/api/v1/threads{query}")).await;
        assert_eq!(status, 200, "{body}");
        body["threads"].as_array().unwrap().clone()
    }
}

/// Runs each test body against SQLite and against PostgreSQL, as `name::sqlite` and
/// `name::postgres`.
#[macro_export]
macro_rules! on_both_backends {
    ($($(#[$meta:meta])* async fn $name:ident($server:ident: &TestServer) $body:block)*) => {
        $(
            $(#[$meta])*
            mod $name {
                #[allow(unused_imports)]
                use super::*;

                async fn run($server: &TestServer) $body

                #[tokio::test]
                async fn sqlite() {
                    let server = TestServer::sqlite().await;
                    run(&server).await;
                    server.finish().await;
                }

                #[tokio::test]
                async fn postgres() {
                    let Some(server) = TestServer::postgres().await else { return };
                    run(&server).await;
                    server.finish().await;
                }
            }
        )*
    };
}

/// Like `on_both_backends!`, for tests that need the platform simulator: each backend's test
/// starts its own simulator (`$sim`) and a server configured by `$config` (which may use it),
/// then runs `$body` with both. `name(s, sim) with config => body;`
#[allow(unused_macros)] // `tests/secrets.rs` shares this module and needs no simulator.
macro_rules! simulated_on_both_backends {
    ($($(#[$meta:meta])* $name:ident($server:ident, $sim:ident) with $config:expr => $body:expr;)*) => {
        $(
            $(#[$meta])*
            mod $name {
                #[allow(unused_imports)]
                use super::*;

                #[tokio::test]
                async fn sqlite() {
                    let $sim = crate::outbox::Sim::start().await;
                    let $server = TestServer::sqlite_with($config).await;
                    $body.await;
                    $server.finish().await;
                }

                #[tokio::test]
                async fn postgres() {
                    let $sim = crate::outbox::Sim::start().await;
                    let Some($server) = TestServer::postgres_with($config).await else { return };
                    $body.await;
                    $server.finish().await;
                }
            }
        )*
    };
}

/// The day the fixtures' messages are stamped: two days before the tests started, so every
/// time of that day is in the past and inside the platforms' 7-day reply window, whatever
/// the date the tests run on.
pub fn day() -> &'static str {
    static DAY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DAY.get_or_init(|| {
        (chrono::Utc::now() - chrono::Duration::days(2))
            .format("%Y-%m-%d")
            .to_string()
    })
}

/// An RFC 3339 time on the fixtures' `day()`, from a clock time such as `"10:00:00"`.
pub fn ts(clock: &str) -> String {
    format!("{}T{clock}Z", day())
}

/// A comment event with sensible defaults.
pub fn comment(id: &str, text: &str) -> Value {
    json!({
        "type": "message", "platform": "tiktok", "channel": "acme_official", "kind": "comment",
        "external_id": id,
        "video": {"external_id": "7377694258502880513", "title": "Unboxing", "url": "https://www.tiktok.com/@acme/video/7377694258502880513"},
        "author": {"external_id": format!("author-{id}"), "username": format!("user_{id}"), "display_name": format!("User {id}")},
        "text": text,
        "created_at": ts("10:00:00")
    })
}

/// A reply to `parent`.
pub fn reply(id: &str, parent: &str, text: &str) -> Value {
    let mut e = comment(id, text);
    e["parent_external_id"] = json!(parent);
    e
}

/// A DM from `author` on `channel`.
pub fn dm(id: &str, author: &str, text: &str) -> Value {
    json!({
        "type": "message", "platform": "instagram", "channel": "acme.ig", "kind": "dm",
        "external_id": id,
        "author": {"external_id": author, "username": author},
        "text": text,
        "created_at": ts("11:00:00")
    })
}

pub fn at(mut event: Value, time: impl AsRef<str>) -> Value {
    event["created_at"] = json!(time.as_ref());
    event
}

/// CSS selector helper.
pub fn select<'a>(html: &'a scraper::Html, css: &str) -> Vec<scraper::ElementRef<'a>> {
    html.select(&scraper::Selector::parse(css).unwrap())
        .collect()
}

pub fn text_of(e: &scraper::ElementRef<'_>) -> String {
    e.text().collect::<String>()
}

/// A signed-in browser: its session cookie and the CSRF token its pages carry.
pub struct Browser {
    pub client: reqwest::Client,
    pub csrf: String,
    pub session: String,
    pub cookie: String,
    base: String,
}

impl Browser {
    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .unwrap()
    }

    pub async fn page(&self, path: &str) -> (u16, scraper::Html) {
        parse_page(self.get(path).await).await
    }

    /// Posts a form with this browser's CSRF token added.
    pub async fn post_form(&self, path: &str, form: &[(&str, &str)]) -> reqwest::Response {
        let url = format!("{}{path}", self.base);
        post_form_with(&self.client, &url, &self.csrf, form).await
    }
}

/// A response's status and its body parsed as HTML.
async fn parse_page(r: reqwest::Response) -> (u16, scraper::Html) {
    let status = r.status().as_u16();
    (
        status,
        scraper::Html::parse_document(&r.text().await.unwrap()),
    )
}

/// Posts `form` to `url` with `csrf` added as the form's CSRF token.
async fn post_form_with(
    client: &reqwest::Client,
    url: &str,
    csrf: &str,
    form: &[(&str, &str)],
) -> reqwest::Response {
    let mut fields = form.to_vec();
    fields.push(("csrf_token", csrf));
    client.post(url).form(&fields).send().await.unwrap()
}

/// A client that follows no redirects, with an optional bearer token and cookie.
pub fn client_with(token: Option<&str>, cookie: Option<&str>) -> reqwest::Client {
    let mut headers = reqwest::header::HeaderMap::new();
    if let Some(token) = token {
        headers.insert("authorization", format!("Bearer {token}").parse().unwrap());
    }
    if let Some(cookie) = cookie {
        headers.insert("cookie", cookie.parse().unwrap());
    }
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .default_headers(headers)
        .build()
        .unwrap()
}

/// The value a response sets for cookie `name`, if it sets one.
pub fn set_cookie(response: &reqwest::Response, name: &str) -> Option<String> {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter_map(|v| v.split(';').next()?.split_once('='))
        .find(|(k, v)| *k == name && !v.is_empty())
        .map(|(_, v)| v.to_owned())
}

/// The `Set-Cookie` header a response sets for `name`, whole.
pub fn cookie_header(r: &reqwest::Response, name: &str) -> String {
    r.headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .find(|v| v.starts_with(&format!("{name}=")))
        .unwrap_or_else(|| panic!("no {name} cookie"))
}

/// Fetches the sign-in form: the sign-in cookie and the form's CSRF token.
pub async fn login_form(client: &reqwest::Client, s: &TestServer) -> (String, String) {
    let r = client.get(s.url("/login")).send().await.unwrap();
    let cookie = set_cookie(&r, "unibox_signin").unwrap();
    let html = scraper::Html::parse_document(&r.text().await.unwrap());
    let csrf = select(&html, "input[name=csrf_token]")[0]
        .value()
        .attr("value")
        .unwrap()
        .to_owned();
    (cookie, csrf)
}

pub async fn try_sign_in(
    client: &reqwest::Client,
    s: &TestServer,
    email: &str,
    password: &str,
    extra_cookie: Option<&str>,
) -> reqwest::Response {
    let (cookie, csrf) = login_form(client, s).await;
    let cookies = match extra_cookie {
        Some(extra) => format!("unibox_signin={cookie}; {extra}"),
        None => format!("unibox_signin={cookie}"),
    };
    client
        .post(s.url("/login"))
        .header("cookie", cookies)
        .form(&[
            ("email", email),
            ("password", password),
            ("csrf_token", &csrf),
            ("next", "/account"),
        ])
        .send()
        .await
        .unwrap()
}

pub fn form_error(html: &str) -> String {
    let html = scraper::Html::parse_document(html);
    select(&html, ".form-error")
        .first()
        .map(text_of)
        .unwrap_or_default()
}
