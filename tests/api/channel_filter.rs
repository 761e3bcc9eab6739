//! Two platforms' accounts with one handle ("lumen.studio" on Instagram and on TikTok) are two
//! channels in the inbox's filter: each its own option, by id; `channel=` keeps its meaning.

use crate::common::*;
use serde_json::{Value, json};

fn twins() -> Value {
    let mut ig = dm("d1", "sam", "Verzenden jullie naar België?");
    ig["channel"] = json!("lumen.studio");
    let mut tt = comment("c1", "Mooi!");
    tt["channel"] = json!("lumen.studio");
    json!([ig, tt])
}

/// The channel ids by platform, as the threads name them.
async fn ids(s: &TestServer) -> (i64, i64) {
    let threads = s.threads("").await;
    let id = |p: &str| {
        threads
            .iter()
            .find(|t| t["platform"] == p && t["channel"] == "lumen.studio")
            .unwrap()["channel_id"]
            .as_i64()
            .unwrap()
    };
    (id("instagram"), id("tiktok"))
}

on_both_backends! {
    async fn channels_sharing_a_handle_are_filtered_apart(s: &TestServer) {
        s.ingest(twins()).await;
        let (ig, tt) = ids(s).await;
        let (_, html) = s.page("/").await;
        let values: Vec<String> = select(&html, "select[name=channel_id] option").iter()
            .map(|o| o.value().attr("value").unwrap_or_default().to_owned()).collect();
        assert_eq!(values, ["", &ig.to_string(), &tt.to_string()], "one option per channel");
        let (_, html) = s.page(&format!("/?channel_id={ig}")).await;
        let subjects: Vec<String> = select(&html, "li.thread .subject").iter().map(text_of).collect();
        assert_eq!(subjects, ["Verzenden jullie naar België?"]);
        let selected = select(&html, "select[name=channel_id] option[selected]");
        assert_eq!(selected[0].value().attr("value"), Some(ig.to_string().as_str()));
        // The API: `channel_id` picks one; `channel` still means every channel of that name.
        let one = s.threads(&format!("?channel_id={tt}")).await;
        assert_eq!(one.len(), 1);
        assert_eq!(one[0]["platform"], "tiktok");
        assert_eq!(s.threads("?channel=lumen.studio").await.len(), 2);
        assert_eq!(s.threads(&format!("?channel=lumen.studio&channel_id={ig}")).await.len(), 1);
        let (status, body) = s.get_json("/api/v1/threads?channel_id=lumen.studio").await;
        assert_eq!(status, 422);
        assert_eq!(body["problems"][0]["field"], "channel_id", "{body}");
    }
}
