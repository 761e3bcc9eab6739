//! Composing a reply longer than the platform takes, in a real browser: the box keeps every
//! character, says how many are too many and holds the button; sent anyway, the server
//! refuses it with the limit named and nothing is queued.

use crate::browser::{browser, shoot, sign_in_as_owner, start_driver, text_of_css};
use crate::common::*;
use fantoccini::Locator;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tiktok_reply_over_150_characters_is_refused_never_cut() {
    let Some(driver) = start_driver() else { return };
    let s = TestServer::sqlite().await;
    s.ingest(json!([comment("c1", "Does it come in blue?")]))
        .await;
    let thread = s.threads("").await[0]["id"].clone();
    let c = browser(&driver).await;
    sign_in_as_owner(&c, &s, "main").await;
    c.goto(&s.url(&format!("/threads/{thread}"))).await.unwrap();
    let long: String = "Yes, it does! ".repeat(15).chars().take(200).collect();
    let area = c.find(Locator::Css("#reply-text")).await.unwrap();
    area.send_keys(&long).await.unwrap();
    let value = area.prop("value").await.unwrap().unwrap_or_default();
    assert_eq!(value.chars().count(), 200, "nothing typed is cut: {value}");
    let hint = c
        .execute(
            "return document.getElementById('reply-hint').getAttribute('data-count')",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(hint, json!("200 / 150 — 50 too many; shorten it to send"));
    let disabled = c
        .find(Locator::Css("form.reply-box button[type=submit]"))
        .await
        .unwrap()
        .prop("disabled")
        .await
        .unwrap();
    assert_eq!(disabled.as_deref(), Some("true"), "the button waits");
    shoot(&c, "reply-too-long").await;

    // Sent anyway (no script, an old page): refused with the limit named, the text kept whole.
    c.execute("document.querySelector('form.reply-box').submit()", vec![])
        .await
        .unwrap();
    c.wait()
        .for_element(Locator::Css("form.reply-box .form-error"))
        .await
        .unwrap();
    let error = text_of_css(&c, "form.reply-box .form-error").await;
    assert!(
        error.contains("200 characters") && error.contains("at most 150"),
        "{error}"
    );
    let kept = c
        .find(Locator::Css("#reply-text"))
        .await
        .unwrap()
        .prop("value")
        .await
        .unwrap()
        .unwrap_or_default();
    assert_eq!(kept, long);
    assert_eq!(
        s.threads("").await[0]["message_count"],
        1,
        "nothing was queued"
    );
    c.close().await.unwrap();
}
