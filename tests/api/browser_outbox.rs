//! The outbox as people use it, in a real browser: the rows by state with the platform's
//! reasons, retry and cancel, each channel's health on `/channels`, and a reply's delivery
//! state on the thread page following it live, from waiting to sent.

use std::time::Duration;

use crate::automation::{create_rule, wait_for};
use crate::browser::{
    browser, click, shoot, sign_in_as_owner, start_driver, text_of_css, violations,
};
use crate::common::*;
use crate::outbox::{IG, IG_TOKEN, Sim, connect, ig_comment, thanks_rule};
use fantoccini::Locator;
use serde_json::json;
use unibox::simulate::world::Item;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_outbox_and_channel_health_in_a_browser() {
    let Some(driver) = start_driver() else { return };
    let sim = Sim::start().await;
    let s = TestServer::sqlite_with(sim.config()).await;
    let channel = connect(&s, &sim, "instagram", IG, IG_TOKEN).await;
    create_rule(&s, thanks_rule()).await;
    // One reply goes out; one answers a comment deleted meanwhile (the platform refuses it).
    sim.world.add(Item {
        id: "1790000000000002".into(),
        platform: "instagram",
        by_token: None,
        author_id: "gone".into(),
        parent: None,
        video: None,
        text: "love".into(),
        hidden: false,
        liked: false,
        deleted: true,
        created: 0,
    });
    let body = s
        .ingest(json!([
            ig_comment(
                "1790000000000001",
                "<b>lisa</b>",
                "I love this <script>alert(1)</script>"
            ),
            ig_comment("1790000000000002", "gone", "love"),
        ]))
        .await;
    let thread = body["results"][0]["thread_id"].as_i64().unwrap();
    wait_for(
        &s,
        "SELECT COUNT(*) FROM outbox WHERE state IN ('sent', 'dead')",
        2,
    )
    .await;

    let c = browser(&driver).await;
    sign_in_as_owner(&c, &s, "main").await;
    c.goto(&s.url("/outbox")).await.unwrap();
    let page = text_of_css(&c, "main").await;
    assert!(
        page.contains("Thank you <b>lisa</b>!"),
        "hostile text shown as text: {page}"
    );
    assert!(
        page.contains("does not exist"),
        "the platform's reason: {page}"
    );
    assert!(
        page.contains("sent 1") && page.contains("dead 1"),
        "counts by state: {page}"
    );
    shoot(&c, "outbox").await;

    // Dead rows: retried (the platform refuses again), then cancelled.
    click(&c, "nav.tabs a[href='/outbox?state=dead']").await;
    c.wait()
        .for_element(Locator::Css("tr.outbox-row[data-state='dead']"))
        .await
        .unwrap();
    click(&c, "tr.outbox-row form[action$='/retry'] button").await;
    wait_for(
        &s,
        "SELECT COUNT(*) FROM audit_log WHERE action = 'outbox row retried'",
        1,
    )
    .await;
    wait_for(&s, "SELECT COUNT(*) FROM outbox WHERE state = 'dead'", 1).await;
    c.goto(&s.url("/outbox?state=dead")).await.unwrap();
    click(&c, "tr.outbox-row form[action$='/cancel'] button").await;
    c.wait()
        .for_element(Locator::Css(
            "nav.tabs a.state-cancelled[aria-current='page'], p.empty, tr.outbox-row",
        ))
        .await
        .unwrap();
    wait_for(
        &s,
        "SELECT COUNT(*) FROM outbox WHERE state = 'cancelled'",
        1,
    )
    .await;
    c.goto(&s.url("/outbox?state=cancelled")).await.unwrap();
    assert_eq!(
        c.find_all(Locator::Css("tr.outbox-row[data-state='cancelled']"))
            .await
            .unwrap()
            .len(),
        1
    );

    // The channel's health: last sent, the last error, its budgets.
    c.goto(&s.url("/channels")).await.unwrap();
    let health = text_of_css(&c, "td.health").await;
    assert!(
        health.contains("last sent") && !health.contains("last sent never"),
        "{health}"
    );
    assert!(health.contains("does not exist"), "{health}");
    assert!(
        health.contains("private_reply: 750 of 750 left per hour"),
        "{health}"
    );
    shoot(&c, "channels_health").await;

    // A reply typed while the token is refused waits, and the thread page follows it live
    // until new credentials send it.
    sim.world.revoke(IG_TOKEN);
    c.goto(&s.url(&format!("/threads/{thread}"))).await.unwrap();
    let reply = c.find(Locator::Id("reply-text")).await.unwrap();
    reply.send_keys("We ship on Monday").await.unwrap();
    click(&c, "form.reply-box button[type=submit]").await;
    wait_for(
        &s,
        "SELECT COUNT(*) FROM channel_health WHERE token_problem IS NOT NULL",
        1,
    )
    .await;
    c.goto(&s.url(&format!("/threads/{thread}"))).await.unwrap();
    let waiting = text_of_css(&c, "#messages").await;
    assert!(
        waiting.contains("waiting for the channel's credentials"),
        "{waiting}"
    );
    shoot(&c, "thread_waiting").await;
    let admin = s.api_client(&s.token_for(1, Scope::Admin).await);
    sim.world.register("ig-token-renewed-000000", IG);
    let r = admin
        .patch(s.url(&format!("/api/v1/channels/{channel}")))
        .json(&json!({"credentials": {"access_token": "ig-token-renewed-000000"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    // No reload: the conversation refreshes itself until the reply is sent.
    let mut sent = 0;
    for _ in 0..100 {
        sent = c
            .find_all(Locator::Css("#messages .badge.state-sent"))
            .await
            .unwrap()
            .len();
        if sent == 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(sent, 2, "both replies shown as sent");
    shoot(&c, "thread_sent").await;
    assert_eq!(violations(&s).await, 0);
    c.close().await.unwrap();
    s.finish().await;
}
