//! The live inbox in Chromium: a comment ingested through the API appears on an open inbox
//! page within a second, without a reload: on SQLite, and on PostgreSQL when another
//! instance stored it (`LISTEN`/`NOTIFY`).

use std::time::{Duration, Instant};

use crate::browser::{browser, shoot, sign_in_as_owner, start_driver, violations};
use crate::common::*;
use fantoccini::Client;
use serde_json::json;

/// Waits until the open page shows `text`; how long it took.
async fn appears(c: &Client, text: &str, within: Duration) -> Option<Duration> {
    let began = Instant::now();
    while began.elapsed() < within {
        if c.source().await.unwrap().contains(text) {
            return Some(began.elapsed());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    None
}

/// Opens the inbox of `s` and waits until its event stream is connected.
async fn open_inbox(c: &Client, s: &TestServer) {
    sign_in_as_owner(c, s, "main").await;
    c.goto(&s.url("/")).await.unwrap();
    // Something in the list, so the page has its live list.
    let began = Instant::now();
    loop {
        let open = c
            .execute(
                "return document.documentElement.getAttribute('data-live-state');",
                vec![],
            )
            .await
            .unwrap()
            == json!("open");
        if open {
            break;
        }
        assert!(
            began.elapsed() < Duration::from_secs(5),
            "the page never opened /live"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
}

fn comment(id: &str, text: &str) -> serde_json::Value {
    json!([FakeMessage::comment(id).text(text).build()])
}

#[tokio::test]
async fn a_new_comment_appears_on_an_open_inbox_within_a_second_sqlite() {
    let Some(driver) = start_driver() else { return };
    let s = TestServer::sqlite().await;
    s.ingest(comment("c-first", "An older comment")).await;
    let c = browser(&driver).await;
    open_inbox(&c, &s).await;
    s.ingest(comment("c-live", "<img src=x onerror=alert(1)> arrived"))
        .await;
    let took = appears(&c, "arrived", Duration::from_secs(1)).await;
    shoot(&c, "inbox-live").await;
    assert!(
        took.is_some(),
        "the new comment did not appear within a second"
    );
    let page = c.source().await.unwrap();
    assert!(
        page.contains("&lt;img src=x onerror=alert(1)&gt; arrived"),
        "shown as text"
    );
    assert!(
        c.find_all(fantoccini::Locator::Css("img[src=x]"))
            .await
            .unwrap()
            .is_empty()
    );
    eprintln!("appeared after {took:?}");
    assert_eq!(violations(&s).await, 0);
    c.close().await.unwrap();
    s.finish().await;
}

#[tokio::test]
async fn a_comment_stored_by_another_instance_appears_within_a_second_postgres() {
    let Some(driver) = start_driver() else { return };
    let Some(s) = TestServer::postgres().await else {
        return;
    };
    s.ingest(comment("c-first", "An older comment")).await;
    // A second instance on the same database, with its own pool, workers and listener.
    let config = unibox::Config::for_database(&s.database_url);
    let other_db = unibox::storage::connect(&s.database_url, 5).await.unwrap();
    let other = unibox::AppState::new(other_db, config);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let other_base = format!("http://{}", listener.local_addr().unwrap());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let served = tokio::spawn(unibox::serve(listener, other, async {
        let _ = stopped.await;
    }));
    let c = browser(&driver).await;
    open_inbox(&c, &s).await;
    let r = reqwest::Client::new()
        .post(format!("{other_base}/api/v1/events"))
        .bearer_auth(&s.token)
        .json(&comment("c-elsewhere", "Stored by the other instance"))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "{}", r.text().await.unwrap());
    let took = appears(&c, "Stored by the other instance", Duration::from_secs(1)).await;
    assert!(
        took.is_some(),
        "the comment stored elsewhere did not appear within a second"
    );
    eprintln!("appeared after {took:?}");
    c.close().await.unwrap();
    let _ = stop.send(());
    let _ = served.await;
    s.finish().await;
}
