//! Passwords, session ids and tokens appear in no log line and no error page. The logs of
//! this whole test binary are captured at the most verbose level and searched for every
//! secret the scenario used. (Its own binary, apart from `tests/api`: it installs the
//! process's one log subscriber, at TRACE, which would slow every other test down.)

#[macro_use]
#[path = "api/common/mod.rs"]
mod common;

use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};

use common::*;
use serde_json::json;

#[derive(Clone)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Everything logged by this process from now on, at TRACE, from every crate except the
/// HTML parser the tests themselves use to read pages (it traces every character it reads).
fn logs() -> Arc<Mutex<Vec<u8>>> {
    static LOGS: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();
    LOGS.get_or_init(|| {
        let buffer = Arc::new(Mutex::new(Vec::new()));
        let writer = Capture(buffer.clone());
        tracing_subscriber::fmt()
            .with_env_filter("trace,html5ever=off,markup5ever=off,selectors=off,scraper=off")
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .try_init()
            .expect("the only subscriber of this test binary");
        buffer
    })
    .clone()
}

const WRONG: &str = "wrong-password-7f3a9c";
const NEW: &str = "new-password-b81e22d0";

async fn body_of(r: reqwest::Response) -> String {
    r.text().await.unwrap()
}

on_both_backends! {
    async fn secrets_stay_out_of_logs_and_error_pages(s: &TestServer) {
        let logs = logs();
        let mut secrets = vec![PASSWORD.to_owned(), WRONG.to_owned(), NEW.to_owned(), s.session.clone(), s.token.clone()];
        // CSRF tokens belong in pages (that is how they work) but not in logs.
        let mut log_only = vec![s.csrf.clone()];
        let mut pages = Vec::new();
        s.ingest(json!([comment("c1", "hello")])).await;

        // Sign-in: a wrong password, then the right one; the pages shown in between.
        let anonymous = s.anonymous();
        let form = anonymous.get(s.url("/login")).send().await.unwrap();
        let signin = set_cookie(&form, "unibox_signin").unwrap();
        secrets.push(signin.clone());
        let html = scraper::Html::parse_document(&form.text().await.unwrap());
        let csrf = select(&html, "input[name=csrf_token]")[0].value().attr("value").unwrap().to_owned();
        let wrong = anonymous.post(s.url("/login"))
            .header("cookie", format!("unibox_signin={signin}"))
            .form(&[("email", OWNER), ("password", WRONG), ("csrf_token", &csrf)])
            .send().await.unwrap();
        assert_eq!(wrong.status(), 401);
        pages.push(body_of(wrong).await);
        let browser = s.sign_in(OWNER).await;
        secrets.push(browser.session.clone());
        log_only.push(browser.csrf.clone());

        // A password change that fails, then one that works.
        let r = browser.post_form("/account/password", &[("current", WRONG), ("new", NEW), ("confirm", NEW)]).await;
        assert_eq!(r.status(), 422);
        pages.push(body_of(r).await);
        let r = browser.post_form("/account/password", &[("current", PASSWORD), ("new", NEW), ("confirm", WRONG)]).await;
        assert_eq!(r.status(), 422);
        pages.push(body_of(r).await);
        let r = browser.post_form("/account/password", &[("current", PASSWORD), ("new", NEW), ("confirm", NEW)]).await;
        assert_eq!(r.status(), 303);

        // A token made on the page, used, then revoked and refused; a made-up one refused.
        let r = browser.post_form("/tokens", &[("name", "ci"), ("scope", "write")]).await;
        let html = scraper::Html::parse_document(&body_of(r).await);
        let token = text_of(&select(&html, "code.new-token")[0]);
        secrets.push(token.clone());
        let api = s.api_client(&token);
        assert_eq!(api.get(s.url("/api/v1/threads")).send().await.unwrap().status(), 200);
        let id = select(&html, "tr.token")[0].value().attr("data-token").unwrap().to_owned();
        assert_eq!(browser.post_form(&format!("/tokens/{id}/revoke"), &[]).await.status(), 303);
        // A channel's credentials, written through the API (and a refused one).
        let admin = s.api_client(&s.token_for(1, Scope::Admin).await);
        let credential = "EAAGcredentialNeverLogged0123456789";
        secrets.push(credential.to_owned());
        let r = admin.post(s.url("/api/v1/channels")).json(&serde_json::json!({"platform": "instagram",
            "handle": "acme.ig", "platform_id": "1784", "credentials": {"access_token": credential}})).send().await.unwrap();
        assert_eq!(r.status(), 201);
        let r = admin.post(s.url("/api/v1/channels")).json(&serde_json::json!({"platform": "instagram",
            "handle": "", "platform_id": "1785", "credentials": {"access_token": credential}})).send().await.unwrap();
        assert_eq!(r.status(), 422);
        assert!(!body_of(r).await.contains(credential));
        // A member's first password, shown once to the owner.
        let r = browser.post_form("/members", &[("email", "new@example.test"), ("role", "agent")]).await;
        let html = scraper::Html::parse_document(&body_of(r).await);
        secrets.push(text_of(&select(&html, "code.new-password")[0]));
        let r = api.get(s.url("/api/v1/threads")).send().await.unwrap();
        assert_eq!(r.status(), 401);
        pages.push(body_of(r).await);
        let forged = format!("ubx_{}", "ab".repeat(32));
        secrets.push(forged.clone());
        let r = s.api_client(&forged).post(s.url("/api/v1/events")).json(&json!([])).send().await.unwrap();
        assert_eq!(r.status(), 401);
        pages.push(body_of(r).await);
        let r = s.client.get(s.url("/api/v1/threads/999999")).send().await.unwrap();
        pages.push(body_of(r).await);
        let r = browser.client.post(s.url("/logout")).form(&[("csrf_token", "forged")]).send().await.unwrap();
        assert_eq!(r.status(), 403);
        pages.push(body_of(r).await);
        let r = browser.post_form("/logout", &[]).await;
        assert_eq!(r.status(), 303);
        let r = browser.get("/threads/1").await;
        assert_eq!(r.status(), 303);

        let logged = String::from_utf8_lossy(&logs.lock().unwrap()).into_owned();
        // The capture works: the scenario's own events are in it.
        assert!(logged.contains("failed sign-in"), "logs were not captured");
        assert!(logged.contains("signed in"));
        assert!(logged.contains("password changed"));
        // Each secret as it is, and as a form or URL would carry it.
        let encoded = |v: &str| serde_urlencoded::to_string([("x", v)]).unwrap()[2..].to_owned();
        let forms: Vec<String> = secrets.iter().chain(&log_only).map(|v| encoded(v)).collect();
        for secret in secrets.iter().chain(&log_only).chain(&forms) {
            if let Some(at) = logged.find(secret.as_str()) {
                let line_start = logged[..at].rfind('\n').map_or(0, |i| i + 1);
                let line_end = logged[at..].find('\n').map_or(logged.len(), |i| at + i);
                panic!("a secret ({} chars) is in the logs: {}", secret.len(), &logged[line_start..line_end]);
            }
        }
        for secret in &secrets {
            for page in &pages {
                assert!(!page.contains(secret.as_str()), "a secret ({} chars) is on an error page: {page}", secret.len());
            }
        }
    }
}
