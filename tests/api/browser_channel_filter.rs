//! Picking one of two channels that share a handle, in a real browser, shows that channel's
//! threads only.

use crate::browser::{browser, click, sign_in_as_owner, start_driver};
use crate::common::*;
use fantoccini::Locator;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn picking_instagrams_lumen_studio_shows_instagram_only() {
    let Some(driver) = start_driver() else { return };
    let s = TestServer::sqlite().await;
    let mut ig = dm("d1", "sam", "Verzenden jullie naar België?");
    ig["channel"] = json!("lumen.studio");
    let mut tt = comment("c1", "Mooi!");
    tt["channel"] = json!("lumen.studio");
    s.ingest(json!([ig, tt])).await;
    let c = browser(&driver).await;
    sign_in_as_owner(&c, &s, "ul.threads").await;
    c.find(Locator::Css("#channel"))
        .await
        .unwrap()
        .select_by_label("lumen.studio (instagram)")
        .await
        .unwrap();
    click(&c, "form.filter-form button[type=submit]").await;
    for _ in 0..50 {
        if c.current_url()
            .await
            .unwrap()
            .as_str()
            .contains("channel_id=")
        {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    c.wait()
        .for_element(Locator::Css("ul.threads"))
        .await
        .unwrap();
    let platforms: Vec<String> = {
        let mut shown = Vec::new();
        for e in c
            .find_all(Locator::Css("li.thread .platform"))
            .await
            .unwrap()
        {
            shown.push(e.text().await.unwrap());
        }
        shown
    };
    assert_eq!(
        platforms,
        ["Instagram"],
        "TikTok's lumen.studio is another channel"
    );
    c.close().await.unwrap();
}
