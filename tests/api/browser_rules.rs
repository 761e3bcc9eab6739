//! The rule editor and the suggestions in a real browser: an admin writes a rule in the form
//! (a mistake is shown and fixed without losing what was typed), tries it in the test box,
//! and approves suggestions with the keyboard; a suggestion is rejected from its thread.

use std::time::Duration;

use crate::automation::fresh;
use crate::browser::{
    browser, click, shoot, sign_in_as_owner, start_driver, submit, text_of_css, violations,
};
use crate::common::*;
use fantoccini::actions::{InputSource, KeyAction, KeyActions};
use fantoccini::{Client, Locator};
use serde_json::{Value, json};

async fn press(c: &Client, key: char) {
    let keys = KeyActions::new("keyboard".into())
        .then(KeyAction::Down { value: key })
        .then(KeyAction::Up { value: key });
    c.perform_actions(keys).await.unwrap();
}

async fn fill(c: &Client, css: &str, text: &str) {
    let field = c.find(Locator::Css(css)).await.unwrap();
    field.clear().await.unwrap();
    field.send_keys(text).await.unwrap();
}

async fn choose(c: &Client, css: &str, value: &str) {
    let select = c.find(Locator::Css(css)).await.unwrap();
    select.select_by_value(value).await.unwrap();
}

async fn suggestions(s: &TestServer) -> Vec<Value> {
    let (_, body) = s.get_json("/api/v1/suggestions").await;
    body["suggestions"].as_array().unwrap().clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rules_are_written_tried_and_approved_in_a_browser() {
    let Some(driver) = start_driver() else { return };
    let s = TestServer::sqlite().await;
    let c = browser(&driver).await;
    sign_in_as_owner(&c, &s, "main").await;

    // The editor: a mistake first (an expression that does not compile).
    c.goto(&s.url("/rules/new")).await.unwrap();
    fill(&c, "#rule-name", "Prijsvraag").await;
    choose(&c, "select[name=c0_type]", "keywords").await;
    fill(&c, "input[name=c0_value]", "prijs, price").await;
    choose(&c, "select[name=c1_type]", "regex").await;
    fill(&c, "input[name=c1_value]", "hoeveel (").await;
    choose(&c, "select[name=a0_type]", "reply").await;
    fill(
        &c,
        "textarea[name=a0_text]",
        "Hoi {{ author.username }}, hij kost €19!\nDank je {{ author.username }}: €19 in de shop.",
    )
    .await;
    choose(&c, "select[name=a1_type]", "label").await;
    fill(&c, "textarea[name=a1_text]", "prijs").await;
    click(&c, "form.editor button[type=submit]").await;
    c.wait()
        .for_element(Locator::Css(".form-error"))
        .await
        .unwrap();
    let error = text_of_css(&c, ".form-error").await;
    assert!(error.contains("conditions[1].pattern"), "{error}");
    shoot(&c, "rule-editor").await;
    // What was typed is still there; drop the expression and save.
    let kept = c.find(Locator::Css("input[name=c0_value]")).await.unwrap();
    assert_eq!(
        kept.prop("value").await.unwrap().as_deref(),
        Some("prijs, price")
    );
    choose(&c, "select[name=c1_type]", "").await;
    click(&c, "form.editor button[type=submit]").await;
    c.wait().for_element(Locator::Css("li.rule")).await.unwrap();
    let (_, rules) = s.get_json("/api/v1/rules").await;
    let rule = &rules["rules"][0];
    assert_eq!(rule["name"], "Prijsvraag");
    assert_eq!(rule["mode"], "suggest");
    assert_eq!(
        rule["conditions"],
        json!([{"type": "keywords", "any": ["prijs", "price"]}])
    );
    assert_eq!(
        rule["actions"][1],
        json!({"type": "label", "label": "prijs"})
    );

    // The test box.
    fill(&c, "input[name=username]", "lisa").await;
    submit(
        &c,
        "#try-text",
        "Wat is de prijs?",
        ".try-box button[type=submit]",
        ".try-result",
    )
    .await;
    let tried = text_of_css(&c, ".try-result").await;
    assert!(tried.contains("Hoi lisa, hij kost €19!"), "{tried}");
    assert!(tried.contains("paused: automation is running"), "{tried}");
    shoot(&c, "rules-try").await;

    // Three questions come in: the rule suggests a reply to each.
    s.ingest(json!([
        fresh(comment("q1", "wat is de prijs?")),
        fresh(comment("q2", "price please")),
        fresh(comment("q3", "en de prijs in euro?")),
    ]))
    .await;
    let waiting = suggestions(&s).await;
    assert_eq!(waiting.len(), 3);

    // Keyboard: j to the first, e to edit it, approve; then j and a for the next.
    c.goto(&s.url("/approvals")).await.unwrap();
    shoot(&c, "approvals").await;
    press(&c, 'j').await;
    press(&c, 'e').await;
    let active = c.active_element().await.unwrap();
    assert_eq!(
        active.attr("name").await.unwrap().as_deref(),
        Some("text"),
        "e edits"
    );
    active.send_keys(" Tot snel!").await.unwrap();
    click(&c, "li.suggestion button[data-key=a]").await;
    for _ in 0..50 {
        if suggestions(&s).await.len() == 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    c.wait()
        .for_element(Locator::Css("li.suggestion"))
        .await
        .unwrap();
    press(&c, 'j').await;
    press(&c, 'a').await;
    for _ in 0..50 {
        if suggestions(&s).await.len() == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        suggestions(&s).await.len(),
        1,
        "a approved the focused suggestion"
    );
    let first = waiting[0]["id"].as_i64().unwrap();
    let thread = waiting[0]["thread_id"].as_i64().unwrap();
    let (_, t) = s.get_json(&format!("/api/v1/threads/{thread}")).await;
    let ours: Vec<&Value> = t["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["id"] == first)
        .collect();
    assert_eq!(ours[0]["state"], "queued");
    assert!(
        ours[0]["text"].as_str().unwrap().ends_with("Tot snel!"),
        "{}",
        ours[0]
    );
    assert_eq!(t["thread"]["labels"], json!(["prijs"]));

    // The last one is rejected from its thread.
    let last = &suggestions(&s).await[0];
    c.goto(&s.url(&format!("/threads/{}", last["thread_id"])))
        .await
        .unwrap();
    c.wait()
        .for_element(Locator::Css("form.approve"))
        .await
        .unwrap();
    shoot(&c, "thread-suggestion").await;
    click(&c, "form.approve button.secondary").await;
    for _ in 0..50 {
        if suggestions(&s).await.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(suggestions(&s).await.is_empty());
    c.wait()
        .for_element(Locator::Css(".badge.state-rejected"))
        .await
        .unwrap();

    c.goto(&s.url("/rules")).await.unwrap();
    let record = text_of_css(&c, "li.rule .record").await;
    assert!(
        record.contains("matched 3") && record.contains("acted 2") && record.contains("rejected 1"),
        "{record}"
    );
    shoot(&c, "rules-with-record").await;
    tokio::time::sleep(Duration::from_millis(1000)).await;
    assert_eq!(
        violations(&s).await,
        0,
        "a page broke the content security policy"
    );
    c.close().await.unwrap();
    s.finish().await;
}
