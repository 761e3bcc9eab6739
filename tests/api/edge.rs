//! The HTTP edge: text that cannot be stored is refused with a 4xx on both backends, JSON
//! keys count once, metric labels stay bounded, every answer carries the security headers,
//! and slow or idle clients are cut off.

use std::io::{Read, Write};
use std::time::{Duration, Instant};

use crate::common::*;
use serde_json::{Value, json};

/// The inbox and API paths, pages and forms, each with a NUL or broken UTF-8 in them.
const BAD_QUERIES: [&str; 8] = [
    "/api/v1/threads?label=a%00b",
    "/api/v1/threads?channel=%00",
    "/api/v1/threads?q=caf%C3",
    "/?label=a%00b",
    "/?channel=%00&status=open",
    "/?q=%00",
    "/audit?action=%00",
    "/login?next=/%00",
];

on_both_backends! {
    async fn nul_and_broken_text_get_a_4xx_and_change_nothing(s: &TestServer) {
        s.ingest(comment("c1", "hello")).await;
        let id = s.threads("").await[0]["id"].clone();
        for path in BAD_QUERIES {
            let r = s.get(path).await;
            let status = r.status().as_u16();
            let body = r.text().await.unwrap();
            assert_eq!(status, 400, "{path}: {body}");
            assert!(body.contains("NUL") || body.contains("UTF-8"), "{path}: {body}");
        }
        // Forms: a label, a reply, a status; and the sign-in email.
        for (path, field) in [("labels", "label"), ("reply", "text"), ("status", "status")] {
            let r = s.post_form(&format!("/threads/{id}/{path}"), &[(field, "a\0b")]).await;
            assert_eq!(r.status().as_u16(), 400, "{path}");
        }
        let r = try_sign_in(&s.anonymous(), s, "owner\0@example.test", PASSWORD, None).await;
        assert_eq!(r.status().as_u16(), 400);
        // JSON: the API's bodies refuse NUL wherever it is.
        let (status, body) = s.patch_json(&format!("/api/v1/threads/{id}"), &json!({"add_labels": ["a\u{0}b"]})).await;
        assert_eq!(status, 400, "{body}");
        let (status, body) = s.post_json(&format!("/api/v1/threads/{id}/messages"), &json!({"text": "hi\u{0}"})).await;
        assert!(status == 400 || status == 422, "{status} {body}");
        let (_, detail) = s.get_json(&format!("/api/v1/threads/{id}")).await;
        assert_eq!(detail["thread"]["labels"], json!([]));
        assert_eq!(detail["thread"]["status"], "open");
        assert_eq!(detail["messages"].as_array().unwrap().len(), 1);
    }

    async fn json_keys_count_once(s: &TestServer) {
        s.ingest(comment("c1", "hello")).await;
        let id = s.threads("").await[0]["id"].clone();
        let twice = r#"{"type": "message", "type": "video_stats", "platform": "tiktok"}"#;
        let r = s.client.post(s.url("/api/v1/events")).header("content-type", "application/json").body(twice).send().await.unwrap();
        assert_eq!(r.status().as_u16(), 400);
        let body: Value = r.json().await.unwrap();
        assert!(body["error"].as_str().unwrap().contains("\"type\" appears twice"), "{body}");
        // Nested too, in an otherwise valid batch: nothing is stored.
        let mut event = serde_json::to_string(&comment("c2", "x")).unwrap();
        event = event.replacen("\"username\":", "\"username\":\"a\",\"username\":", 1);
        let r = s.client.post(s.url("/api/v1/events")).header("content-type", "application/json").body(event).send().await.unwrap();
        assert_eq!(r.status().as_u16(), 400);
        assert_eq!(s.count("messages").await, 1);
        let r = s.client.patch(s.url(&format!("/api/v1/threads/{id}"))).header("content-type", "application/json")
            .body(r#"{"status": "done", "status": "open"}"#).send().await.unwrap();
        assert_eq!(r.status().as_u16(), 400);
        assert_eq!(s.threads("").await[0]["status"], "open");
    }

    async fn security_headers_on_every_answer(s: &TestServer) {
        s.ingest(comment("c1", "hello")).await;
        let id = s.threads("").await[0]["id"].clone();
        let anonymous = s.anonymous();
        let pages = [
            "/".to_owned(), format!("/threads/{id}"), "/account".into(), "/members".into(),
            "/tokens".into(), "/audit".into(), "/api/v1/threads".into(), "/nowhere".into(),
        ];
        for path in &pages {
            let r = s.get(path).await;
            let h = r.headers();
            let csp = h["content-security-policy"].to_str().unwrap();
            assert!(csp.contains("frame-ancestors 'none'") && csp.contains("script-src 'self'"), "{path}: {csp}");
            assert!(!csp.contains("unsafe-inline") && !csp.contains("unsafe-eval"), "{csp}");
            assert_eq!(h["x-frame-options"], "DENY", "{path}");
            assert_eq!(h["x-content-type-options"], "nosniff", "{path}");
            assert_eq!(h["referrer-policy"], "same-origin", "{path}");
            assert_eq!(h["cache-control"], "no-store", "{path}: private answers are never cached");
        }
        let login = anonymous.get(s.url("/login")).send().await.unwrap();
        assert!(login.headers().contains_key("content-security-policy"));
        let css = anonymous.get(s.url("/static/app.css")).send().await.unwrap();
        assert_eq!(css.headers()["cache-control"], "public, max-age=3600");
        assert_eq!(css.headers()["x-content-type-options"], "nosniff");
    }

    async fn violation_reports_are_counted(s: &TestServer) {
        let report = json!({"csp-report": {"document-uri": "http://x/", "violated-directive": "script-src-elem", "blocked-uri": "inline"}});
        let r = s.anonymous().post(s.url("/csp-reports")).header("content-type", "application/csp-report").body(report.to_string()).send().await.unwrap();
        assert_eq!(r.status().as_u16(), 204);
        let big = "x".repeat(64 * 1024);
        let r = s.anonymous().post(s.url("/csp-reports")).body(big).send().await.unwrap();
        assert_eq!(r.status().as_u16(), 413, "reports are small");
        let text = s.get("/metrics").await.text().await.unwrap();
        assert!(text.contains("unibox_csp_violations_total 1"), "{text}");
    }
}

#[tokio::test]
async fn made_up_methods_share_one_metric_label() {
    let s = TestServer::sqlite().await;
    for i in 0..20 {
        let method =
            reqwest::Method::from_bytes(format!("MADEUP{i}{}", "X".repeat(1000)).as_bytes())
                .unwrap();
        s.client
            .request(method, s.url("/api/v1/threads"))
            .send()
            .await
            .unwrap();
    }
    let text = s.get("/metrics").await.text().await.unwrap();
    assert!(
        !text.contains("MADEUP"),
        "{}",
        &text[..2000.min(text.len())]
    );
    assert!(text.contains(r#"method="other""#));
    assert!(text.len() < 20_000, "metrics grew to {} bytes", text.len());
    s.finish().await;
}

/// Opens a raw connection to the server.
fn connect(s: &TestServer) -> std::net::TcpStream {
    let addr = s.base.trim_start_matches("http://");
    let stream = std::net::TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    stream
}

/// Waits until the server closes `stream`; how long that took.
fn closed_after(mut stream: std::net::TcpStream) -> Duration {
    let started = Instant::now();
    let mut buf = [0u8; 4096];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => return started.elapsed(),
            Ok(_) => continue,
            Err(e) => panic!("the server kept the connection open: {e}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_and_idle_clients_are_cut_off() {
    let s = TestServer::sqlite_with(|c| c.server.client_timeout_seconds = 1).await;
    let handle = tokio::runtime::Handle::current();
    let server = &s;
    tokio::task::block_in_place(|| {
        // Half-sent headers.
        let mut half = connect(server);
        half.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
            .unwrap();
        assert!(closed_after(half) < Duration::from_secs(5));
        // Idle: connected, nothing sent.
        assert!(closed_after(connect(server)) < Duration::from_secs(5));
        // Idle after a kept-alive request.
        let mut kept = connect(server);
        kept.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            .unwrap();
        assert!(closed_after(kept) < Duration::from_secs(5));
        // A body that stops halfway: answered with a 4xx, then closed.
        let mut body = connect(server);
        let head = format!(
            "POST /api/v1/events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {}\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n[{{\"type\":",
            server.token
        );
        body.write_all(head.as_bytes()).unwrap();
        let mut answer = String::new();
        let started = Instant::now();
        let _ = body.read_to_string(&mut answer);
        assert!(started.elapsed() < Duration::from_secs(5));
        assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
    });
    let _ = handle;
    assert_eq!(s.count("messages").await, 0);
    s.finish().await;
}
