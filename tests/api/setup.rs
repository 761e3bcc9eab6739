//! The setup link: the real binary, started on an empty database, prints a one-time link; the
//! link creates the first account once, and only while none exists.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use crate::common::*;

/// An empty database (no account) on `backend`, dropped at the end.
pub(crate) struct Empty {
    pub(crate) url: String,
    drop_pg: Option<(String, String)>,
}

impl Empty {
    pub(crate) async fn new(backend: Backend) -> Option<Empty> {
        let name = unique_name();
        match backend {
            Backend::Sqlite => {
                let path = std::env::temp_dir().join(format!("{name}.db"));
                Some(Empty {
                    url: format!("sqlite://{}", path.display()),
                    drop_pg: None,
                })
            }
            Backend::Postgres => {
                use sqlx::Connection;
                let admin = postgres_admin_url();
                let mut conn = match sqlx::PgConnection::connect(&admin).await {
                    Ok(c) => c,
                    Err(e) if !postgres_required() => {
                        eprintln!("SKIPPED on PostgreSQL: {e}");
                        return None;
                    }
                    Err(e) => panic!("PostgreSQL is required here: {e}"),
                };
                sqlx::query(&format!("CREATE DATABASE {name}"))
                    .execute(&mut conn)
                    .await
                    .unwrap();
                let (server, _) = admin.rsplit_once('/').unwrap();
                Some(Empty {
                    url: format!("{server}/{name}"),
                    drop_pg: Some((admin, name)),
                })
            }
        }
    }

    pub(crate) async fn remove(self) {
        use sqlx::Connection;
        match self.drop_pg {
            Some((admin, name)) => {
                let mut conn = sqlx::PgConnection::connect(&admin).await.unwrap();
                sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                    .execute(&mut conn)
                    .await
                    .unwrap();
            }
            None => {
                let path = self.url.trim_start_matches("sqlite://").to_owned();
                for suffix in ["", "-wal", "-shm"] {
                    let _ = std::fs::remove_file(format!("{path}{suffix}"));
                }
            }
        }
    }
}

/// `unibox serve` on `url`; its base address and the lines it logs.
pub(crate) struct Serving {
    child: Child,
    base: String,
    lines: mpsc::Receiver<String>,
    /// The lines [`Serving::wait_for`] read past.
    seen: Vec<String>,
}

impl Serving {
    fn start(url: &str) -> Serving {
        Serving::start_with(url, &[])
    }

    /// [`Serving::start`] with more settings.
    pub(crate) fn start_with(url: &str, settings: &[(&str, &str)]) -> Serving {
        let mut child = Command::new(env!("CARGO_BIN_EXE_unibox"))
            .arg("serve")
            .env("DATABASE_URL", url)
            .env("UNIBOX_LISTEN", "127.0.0.1:0")
            .env("UNIBOX_POLL_COMMENTS_SECONDS", "0")
            .env("UNIBOX_POLL_STATS_SECONDS", "0")
            .env("RUST_LOG", "info")
            .envs(settings.iter().copied())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the unibox binary starts");
        let (send, lines) = mpsc::channel();
        let stderr = child.stderr.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if send.send(line).is_err() {
                    return;
                }
            }
        });
        let mut serving = Serving {
            child,
            base: String::new(),
            lines,
            seen: Vec::new(),
        };
        let line = serving.wait_for("unibox is serving: open ");
        let at = line.find("http://").expect("an address");
        serving.base = line[at..]
            .split_whitespace()
            .next()
            .unwrap()
            .trim_end_matches('"')
            .to_owned();
        serving
    }

    /// The next logged line containing `text` (within 30 s).
    fn wait_for(&mut self, text: &str) -> String {
        loop {
            match self.lines.recv_timeout(Duration::from_secs(30)) {
                Ok(line) if line.contains(text) => return line,
                Ok(line) => self.seen.push(line),
                Err(e) => panic!("no line with {text:?}: {e}"),
            }
        }
    }

    /// The first line logged so far, or logged within 30 s, that contains `text`.
    pub(crate) fn line_with(&mut self, text: &str) -> String {
        match self.seen.iter().find(|l| l.contains(text)) {
            Some(line) => line.clone(),
            None => self.wait_for(text),
        }
    }

    /// The lines [`Serving::wait_for`] has read past.
    pub(crate) fn seen_so_far(&self) -> &[String] {
        &self.seen
    }

    /// Lines logged so far.
    fn logged(&self) -> Vec<String> {
        self.lines.try_iter().collect()
    }

    pub(crate) fn stop(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

fn session_cookie(r: &reqwest::Response) -> Option<String> {
    r.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with("unibox_session="))
        .map(|c| c.split(';').next().unwrap().to_owned())
}

async fn first_account_through_the_setup_link(backend: Backend) {
    let Some(db) = Empty::new(backend).await else {
        return;
    };
    let mut server = Serving::start(&db.url);
    let line = server.wait_for("/setup?token=");
    let at = line.find("http://").unwrap();
    let link = line[at..].split_whitespace().next().unwrap().to_owned();
    assert!(
        link.starts_with(&format!("{}/setup?token=", server.base)),
        "{link}"
    );
    let token = link.rsplit_once("token=").unwrap().1.to_owned();
    assert!(token.len() >= 32, "a long random token: {token}");
    let http = no_redirects();
    let get = |path: String| http.get(path).send();
    let post = |form: Vec<(&'static str, String)>| {
        http.post(format!("{}/setup", server.base))
            .form(&form)
            .send()
    };
    let form = |token: &str, email: &str, password: &str, confirm: &str| {
        vec![
            ("token", token.to_owned()),
            ("email", email.to_owned()),
            ("password", password.to_owned()),
            ("confirm", confirm.to_owned()),
        ]
    };

    // Without the token, or with a wrong one, nobody gets the form or an account.
    let r = get(format!("{}/setup", server.base)).await.unwrap();
    assert_eq!(r.status(), 403);
    assert!(r.text().await.unwrap().contains("not valid"));
    let wrong = "0".repeat(token.len());
    assert_eq!(
        get(format!("{}/setup?token={wrong}", server.base))
            .await
            .unwrap()
            .status(),
        403
    );
    let r = post(form(&wrong, "thief@example.test", PASSWORD, PASSWORD))
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    assert!(session_cookie(&r).is_none());

    // The link shows the form; mistakes are said and keep the link usable.
    let r = get(link.clone()).await.unwrap();
    assert_eq!(r.status(), 200);
    let page = r.text().await.unwrap();
    assert!(page.contains("Create the account and sign in"), "{page}");
    assert!(page.contains(&format!("value=\"{token}\"")));
    let r = post(form(&token, "ada@example.test", "short", "short"))
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    assert!(r.text().await.unwrap().contains("at least 10 characters"));
    let r = post(form(
        &token,
        "ada@example.test",
        PASSWORD,
        "another password entirely",
    ))
    .await
    .unwrap();
    assert_eq!(r.status(), 422);
    assert!(r.text().await.unwrap().contains("differ"));
    let r = post(form(&token, "not an email", PASSWORD, PASSWORD))
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    let r = post(form(
        &token,
        "<script>alert(1)</script>",
        PASSWORD,
        PASSWORD,
    ))
    .await
    .unwrap();
    assert_eq!(r.status(), 422);
    let page = r.text().await.unwrap();
    assert!(
        !page.contains("<script>alert(1)"),
        "hostile text is escaped: {page}"
    );
    assert!(
        page.contains("&#60;script&#62;alert(1)"),
        "and shown back: {page}"
    );

    // The right token and a good password: the account exists and is signed in.
    let r = post(form(&token, "Ada@Example.test", PASSWORD, PASSWORD))
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    assert_eq!(r.headers()["location"], "/");
    let cookie = session_cookie(&r).expect("signed in");
    let inbox = http
        .get(format!("{}/", server.base))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(inbox.status(), 200);
    let members = http
        .get(format!("{}/members", server.base))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(members.status(), 200, "the owner of the default workspace");
    assert!(members.text().await.unwrap().contains("ada@example.test"));
    let account = http
        .get(format!("{}/account", server.base))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert!(
        account
            .text()
            .await
            .unwrap()
            .contains("(server administrator)")
    );

    // Used: the same link, again, is refused, and makes no second account.
    let r = post(form(&token, "eve@example.test", PASSWORD, PASSWORD))
        .await
        .unwrap();
    assert_eq!(r.status(), 410);
    assert!(session_cookie(&r).is_none());
    assert_eq!(get(link.clone()).await.unwrap().status(), 410);
    server.stop();

    // Once an account exists, a start prints no link, and the old one stays dead.
    let server = Serving::start(&db.url);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let logged = server.logged();
    assert!(
        !logged.iter().any(|l| l.contains("setup?token=")),
        "{logged:?}"
    );
    let r = no_redirects()
        .get(format!("{}/setup?token={token}", server.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 410);
    server.stop();
    db.remove().await;
}

#[tokio::test]
async fn the_setup_link_works_once_sqlite() {
    first_account_through_the_setup_link(Backend::Sqlite).await;
}

#[tokio::test]
async fn the_setup_link_works_once_postgres() {
    first_account_through_the_setup_link(Backend::Postgres).await;
}

/// The same in Chromium, as a person does it: open the printed link, fill the form, land in
/// the inbox.
#[tokio::test]
async fn the_setup_page_in_a_browser() {
    use crate::browser::{browser, shoot, start_driver, submit};
    use fantoccini::Locator;
    let Some(driver) = start_driver() else { return };
    let db = Empty::new(Backend::Sqlite).await.unwrap();
    let mut server = Serving::start(&db.url);
    let line = server.wait_for("/setup?token=");
    let at = line.find("http://").unwrap();
    let link = line[at..].split_whitespace().next().unwrap().to_owned();
    let c = browser(&driver).await;
    c.goto(&link).await.unwrap();
    c.find(Locator::Id("email"))
        .await
        .unwrap()
        .send_keys("ada@example.test")
        .await
        .unwrap();
    c.find(Locator::Id("password"))
        .await
        .unwrap()
        .send_keys(PASSWORD)
        .await
        .unwrap();
    shoot(&c, "setup").await;
    submit(
        &c,
        "#confirm",
        PASSWORD,
        "form[action='/setup'] button",
        "main",
    )
    .await;
    let url = c.current_url().await.unwrap();
    assert_eq!(url.path(), "/", "signed in and in the inbox");
    let page = c.source().await.unwrap();
    assert!(
        page.contains("ada@example.test"),
        "signed in as the new account"
    );
    shoot(&c, "setup-done").await;
    c.close().await.unwrap();
    server.stop();
    db.remove().await;
}
