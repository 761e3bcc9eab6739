//! `/live` streams are bounded and end with their session: one person cannot hold every
//! descriptor the server has, and signing out closes the streams that session opened.

use std::time::Duration;

use crate::common::*;

fn limits(config: &mut unibox::Config) {
    config.server.live_streams_per_session = 3;
    config.server.live_streams_max = 5;
}

/// Opens `/live` for `browser`; the response, its body still streaming.
async fn open(browser: &Browser) -> reqwest::Response {
    browser.get("/live").await
}

/// Reads `stream` until it ends; false when it is still open after `within`.
async fn ends_within(mut stream: reqwest::Response, within: Duration) -> bool {
    tokio::time::timeout(within, async {
        while let Ok(Some(_)) = stream.chunk().await {}
    })
    .await
    .is_ok()
}

async fn bounded_streams(s: &TestServer) {
    let first = s.sign_in(OWNER).await;
    let mut open_streams = Vec::new();
    for _ in 0..3 {
        let r = open(&first).await;
        assert_eq!(r.status(), 200);
        open_streams.push(r);
    }
    let refused = open(&first).await;
    assert_eq!(refused.status(), 429);
    let said = refused.text().await.unwrap();
    assert!(said.contains("live streams open"), "{said}");

    // Another session has its own share, up to the server's.
    let second = s.sign_in(OWNER).await;
    for _ in 0..2 {
        let r = open(&second).await;
        assert_eq!(r.status(), 200);
        open_streams.push(r);
    }
    assert_eq!(open(&second).await.status(), 429, "the server's most");
    // Health stays answered meanwhile.
    assert_eq!(
        s.anonymous()
            .get(s.url("/healthz"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );

    // Signing out ends that session's streams within seconds, and frees their places.
    let r = first
        .post_form("/logout", &[("csrf_token", &first.csrf)])
        .await;
    assert!(r.status().is_redirection(), "{}", r.status());
    let theirs: Vec<_> = open_streams.drain(..3).collect();
    for stream in theirs {
        assert!(
            ends_within(stream, Duration::from_secs(10)).await,
            "a stream outlived its session"
        );
    }
    let third = s.sign_in(OWNER).await;
    assert_eq!(open(&third).await.status(), 200);
    drop(open_streams);
}

#[tokio::test]
async fn live_streams_are_bounded_and_end_with_their_session_sqlite() {
    let s = TestServer::sqlite_with(limits).await;
    bounded_streams(&s).await;
    s.finish().await;
}

#[tokio::test]
async fn live_streams_are_bounded_and_end_with_their_session_postgres() {
    let Some(s) = TestServer::postgres_with(limits).await else {
        return;
    };
    bounded_streams(&s).await;
    s.finish().await;
}
