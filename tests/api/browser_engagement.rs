//! The engagement pages in a real browser: the account against its band, the comparison in
//! words, the sortable table, and a video's chart with our replies marked.

use std::time::Duration as Wait;

use crate::browser::{
    browser, click, shoot, sign_in_as_owner, start_driver, text_of_css, violations,
};
use crate::common::*;
use chrono::{Duration, Utc};
use fantoccini::Locator;
use serde_json::json;

fn ago(days: f64) -> String {
    (Utc::now() - Duration::seconds((days * 86_400.0) as i64)).to_rfc3339()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn engagement_pages_work_in_a_browser() {
    let Some(driver) = start_driver() else { return };
    let s = TestServer::sqlite().await;
    let mut events = vec![
        json!({"type": "channel_stats", "platform": "tiktok", "channel": CHANNEL,
        "followers": 48_000, "captured_at": ago(0.5)}),
    ];
    for i in 0..14 {
        let video = format!("e{i}");
        let mut first = FakeMessage::comment(&format!("k{i}"))
            .video(&video)
            .text("where can I buy this?")
            .at(&ago(12.0 - i as f64 * 0.1))
            .build();
        first["video"]["published_at"] = json!(ago(12.5 - i as f64 * 0.1));
        first["video"]["title"] = json!(if i == 0 {
            "<script>alert(1)</script> unboxing".to_owned()
        } else {
            format!("Video {i}")
        });
        events.push(first);
        if i % 2 == 0 {
            let mut ours = FakeMessage::comment(&format!("k{i}-re"))
                .video(&video)
                .reply_to(&format!("k{i}"))
                .text("In our bio!")
                .at(&ago(11.9 - i as f64 * 0.1))
                .build();
            ours["direction"] = json!("outbound");
            events.push(ours);
        }
        for (day, views) in [(11.0, 2_000), (8.0, 6_000), (5.5, 9_000), (2.0, 12_000)] {
            let likes = views / if i % 2 == 0 { 9 } else { 14 };
            events.push(
                FakeVideoStats::new(views)
                    .video(&video)
                    .engagement(likes, 30 + i, 12, 40)
                    .at(&ago(day - i as f64 * 0.1))
                    .build(),
            );
        }
    }
    s.ingest(json!(events)).await;
    let c = browser(&driver).await;
    sign_in_as_owner(&c, &s, "main").await;

    c.goto(&s.url("/engagement")).await.unwrap();
    let page = text_of_css(&c, "main").await;
    assert!(page.contains("account ER over 12 posts"), "{page}");
    assert!(page.contains("20K–100K band"), "{page}");
    assert!(page.contains("association"), "{page}");
    assert!(
        page.contains("<script>alert(1)</script> unboxing"),
        "a hostile title is text"
    );
    assert_eq!(
        c.find_all(Locator::Css("table.videos tbody tr"))
            .await
            .unwrap()
            .len(),
        14
    );
    shoot(&c, "engagement").await;
    // The CSV link downloads with the browser's session, as the person who sees it.
    let href = c
        .find(Locator::Css("a[download]"))
        .await
        .unwrap()
        .attr("href")
        .await
        .unwrap()
        .unwrap();
    let fetched = c
        .execute_async(
            "const done = arguments[arguments.length - 1];
             fetch(arguments[0]).then(async r => done([r.status, r.headers.get('content-type'), await r.text()]));",
            vec![json!(href)],
        )
        .await
        .unwrap();
    assert_eq!(fetched[0], 200, "{href}: {fetched}");
    assert!(
        fetched[1].as_str().unwrap().starts_with("text/csv"),
        "{fetched}"
    );
    assert!(
        fetched[2].as_str().unwrap().starts_with("id,external_id,"),
        "{fetched}"
    );
    click(&c, "th a[href$='sort=organic_er']").await;
    c.wait()
        .for_element(Locator::Css("th[aria-sort] a[href$='sort=organic_er']"))
        .await
        .unwrap();

    c.goto(&s.url("/videos/1")).await.unwrap();
    c.wait()
        .for_element(Locator::Css("figure.chart polyline.er"))
        .await
        .unwrap();
    assert_eq!(
        c.find_all(Locator::Css("figure.chart polyline"))
            .await
            .unwrap()
            .len(),
        2
    );
    assert_eq!(
        c.find_all(Locator::Css("figure.chart line.reply-mark"))
            .await
            .unwrap()
            .len(),
        1
    );
    let text = text_of_css(&c, "main").await;
    assert!(
        text.contains("1 of the 1 comments unibox received answered"),
        "{text}"
    );
    shoot(&c, "video").await;
    tokio::time::sleep(Wait::from_millis(1000)).await;
    assert_eq!(
        violations(&s).await,
        0,
        "a page broke the content security policy"
    );
    c.close().await.unwrap();
    s.finish().await;
}
