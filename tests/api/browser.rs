//! The pages in a real browser (headless Chromium through chromedriver), used as a person
//! uses them: sign in through the form, open each page, reply, label, let htmx refresh the
//! list. The content security policy must hold on every page without breaking any of it:
//! the test fails on any violation a page reports. Screenshots land in
//! `target/screenshots/` for a person to look at.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::common::*;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};

const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
const CHROMIUM: &str = "/usr/bin/chromium";

/// chromedriver on a free port; killed when dropped.
pub struct Driver {
    child: Child,
    port: u16,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn start_driver() -> Option<Driver> {
    if !std::path::Path::new(CHROMEDRIVER).exists() || !std::path::Path::new(CHROMIUM).exists() {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI needs Debian's chromium and chromium-driver (.ci/run installs them)"
        );
        eprintln!("SKIPPED: install Debian's chromium and chromium-driver for browser tests");
        return None;
    }
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new(CHROMEDRIVER)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    Some(Driver { child, port })
}

pub async fn browser(driver: &Driver) -> Client {
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        json!({"binary": CHROMIUM, "args": ["--headless=new", "--no-sandbox", "--disable-gpu",
            "--disable-dev-shm-usage", "--window-size=1280,900"]}),
    );
    let url = format!("http://127.0.0.1:{}", driver.port);
    for _ in 0..50 {
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        if let Ok(client) = ClientBuilder::new(connector)
            .capabilities(caps.clone())
            .connect(&url)
            .await
        {
            return client;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    panic!("chromedriver did not start");
}

fn screenshots() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

pub async fn shoot(c: &Client, name: &str) {
    let png = c.screenshot().await.unwrap();
    std::fs::write(screenshots().join(format!("{name}.png")), png).unwrap();
}

/// Violations browsers reported so far.
pub async fn violations(s: &TestServer) -> u64 {
    let text = s.get("/metrics").await.text().await.unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix("unibox_csp_violations_total "))
        .unwrap()
        .parse()
        .unwrap()
}

/// Clicks the element `css` finds (again, if a live page replaced it in between).
pub async fn click(c: &Client, css: &str) {
    for _ in 0..20 {
        match c.find(Locator::Css(css)).await.unwrap().click().await {
            Ok(_) => return,
            Err(e) if stale(&e) => tokio::time::sleep(Duration::from_millis(50)).await,
            Err(e) => panic!("cannot click {css}: {e}"),
        }
    }
    panic!("{css} kept being replaced while it was clicked")
}

/// The element was replaced after it was found.
fn stale(e: &fantoccini::error::CmdError) -> bool {
    matches!(e, fantoccini::error::CmdError::Standard(w)
        if w.error == fantoccini::error::ErrorStatus::StaleElementReference)
}

/// Types `text` into the field `field`, presses `button`, and waits for the next page to
/// show `then`.
pub async fn submit(c: &Client, field: &str, text: &str, button: &str, then: &str) {
    let input = c.find(Locator::Css(field)).await.unwrap();
    input.send_keys(text).await.unwrap();
    click(c, button).await;
    // The form posts and is redirected back: the old page's field goes stale.
    for _ in 0..100 {
        if input.is_displayed().await.is_err() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    c.wait().for_element(Locator::Css(then)).await.unwrap();
}

/// Signs the owner in through the form and waits for `then` on the next page.
pub async fn sign_in_as_owner(c: &Client, s: &TestServer, then: &str) {
    c.goto(&s.url("/login")).await.unwrap();
    c.find(Locator::Id("email"))
        .await
        .unwrap()
        .send_keys(OWNER)
        .await
        .unwrap();
    submit(
        c,
        "#password",
        PASSWORD,
        "form[action='/login'] button",
        then,
    )
    .await;
}

/// The text of the element `css` finds. A live page may replace the element between finding
/// and reading it (htmx swaps it on a timer or a server event): then the new one is read.
pub async fn text_of_css(c: &Client, css: &str) -> String {
    for _ in 0..20 {
        match c.find(Locator::Css(css)).await.unwrap().text().await {
            Ok(text) => return text,
            Err(e) if stale(&e) => tokio::time::sleep(Duration::from_millis(50)).await,
            Err(e) => panic!("cannot read {css}: {e}"),
        }
    }
    panic!("{css} kept being replaced while it was read")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_work_in_a_browser_under_the_content_security_policy() {
    let Some(driver) = start_driver() else { return };
    let s = TestServer::sqlite().await;
    let mut hostile = comment(
        "c1",
        "<script>alert('x')</script> <img src=x onerror=alert(1)> Where can I buy this?",
    );
    hostile["author"]["display_name"] = json!("<b>Evil</b>");
    s.ingest(json!([
        hostile,
        reply("r1", "c1", "Me too!"),
        dm("d1", "lisa", "Hi there")
    ]))
    .await;
    let thread = s.threads("?kind=comment").await[0]["id"].clone();
    let c = browser(&driver).await;

    // Sign in through the form, as a person does.
    c.goto(&s.url("/login")).await.unwrap();
    shoot(&c, "login").await;
    c.find(Locator::Id("email"))
        .await
        .unwrap()
        .send_keys(OWNER)
        .await
        .unwrap();
    let login = "form[action='/login'] button";
    submit(&c, "#password", PASSWORD, login, "ul.threads").await;
    assert_eq!(
        c.find_all(Locator::Css("li.thread")).await.unwrap().len(),
        2
    );
    shoot(&c, "inbox").await;

    // The server tells the open page (`/live`), and htmx refreshes the list in place.
    s.ingest(dm("d2", "sam", "A brand new question")).await;
    for _ in 0..50 {
        if c.find_all(Locator::Css("li.thread")).await.unwrap().len() == 3 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        c.find_all(Locator::Css("li.thread")).await.unwrap().len(),
        3,
        "htmx refreshed the list"
    );
    // The live refresh waits while someone is selecting threads.
    let paused = "var ev = new CustomEvent('htmx:confirm', {bubbles: true, cancelable: true}); \
                  document.getElementById('thread-list').dispatchEvent(ev); return ev.defaultPrevented;";
    assert_eq!(c.execute(paused, vec![]).await.unwrap(), json!(false));
    click(&c, "#thread-list input[name=ids]").await;
    assert_eq!(
        c.execute(paused, vec![]).await.unwrap(),
        json!(true),
        "no refresh under a selection"
    );

    // A thread: the hostile text shows as text; reply and label through the forms.
    c.goto(&s.url(&format!("/threads/{thread}"))).await.unwrap();
    let shown = text_of_css(&c, "main").await;
    assert!(
        shown.contains("<script>alert('x')</script>"),
        "shown as text"
    );
    let alert = c.get_alert_text().await;
    assert!(alert.is_err(), "no script ran: {alert:?}");
    let reply = "form.reply-box button[type=submit]";
    submit(
        &c,
        "#reply-text",
        "Thanks, it is in the shop!",
        reply,
        "form.reply-box",
    )
    .await;
    submit(
        &c,
        "#new-label",
        "price",
        "form.add-label button",
        "form.add-label",
    )
    .await;
    shoot(&c, "thread").await;
    let (_, detail) = s.get_json(&format!("/api/v1/threads/{thread}")).await;
    assert_eq!(detail["thread"]["labels"], json!(["price"]));
    let last: &Value = detail["messages"].as_array().unwrap().last().unwrap();
    assert_eq!(last["text"], "Thanks, it is in the shop!");

    // A rule (written through the API), then tried in the rules page's test box.
    let admin = s.api_client(&s.token_for(1, Scope::Admin).await);
    let rule = json!({"name": "Price", "conditions": [{"type": "keywords", "any": ["price"]}],
        "actions": [{"type": "reply", "variants": ["Hi {{ author.username }}, it is €19!", "€19, {{ author.username }}!"]}]});
    let created = admin
        .post(s.url("/api/v1/rules"))
        .json(&rule)
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    c.goto(&s.url("/rules")).await.unwrap();
    c.find(Locator::Css("input[name=username]"))
        .await
        .unwrap()
        .send_keys("lisa")
        .await
        .unwrap();
    submit(
        &c,
        "#try-text",
        "What is the price?",
        ".try-box button[type=submit]",
        ".try-result",
    )
    .await;
    let replies = text_of_css(&c, ".try-result .replies").await;
    assert!(
        replies.contains("Hi lisa, it is €19!") && replies.contains("€19, lisa!"),
        "{replies}"
    );
    shoot(&c, "rules").await;

    for (path, name) in [
        ("/account", "account"),
        ("/members", "members"),
        ("/tokens", "tokens"),
        ("/channels", "channels"),
        ("/audit", "audit"),
        ("/nowhere", "not-found"),
    ] {
        c.goto(&s.url(path)).await.unwrap();
        shoot(&c, name).await;
    }
    // Reports travel on their own; give them time to arrive before counting none.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(
        violations(&s).await,
        0,
        "a page broke the content security policy"
    );

    // The check can fail: an injected inline script is blocked and reported.
    c.goto(&s.url("/")).await.unwrap();
    c.execute(
        "var el = document.createElement('script'); el.textContent = 'window.injected = 1'; document.body.appendChild(el); return window.injected === undefined;",
        vec![],
    )
    .await
    .map(|blocked| assert_eq!(blocked, json!(true), "the inline script ran"))
    .unwrap();
    let mut reported = 0;
    for _ in 0..50 {
        reported = violations(&s).await;
        if reported > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(reported > 0, "the blocked script was not reported");
    c.close().await.unwrap();
    s.finish().await;
}
