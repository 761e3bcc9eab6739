//! Engagement figures through the API, from data built through the ingest API: ER per video
//! with organic ER, the account against its band, the comparisons, and the CSV.

use crate::common::*;
use chrono::{Duration, Utc};
use serde_json::{Value, json};

fn ago(days: f64) -> String {
    (Utc::now() - Duration::seconds((days * 86_400.0) as i64)).to_rfc3339()
}

fn snapshot(video: &str, at: &str, views: i64, likes: i64, comments: i64, shares: i64) -> Value {
    FakeVideoStats::new(views)
        .video(video)
        .engagement(likes, comments, shares, 7)
        .at(at)
        .build()
}

/// A comment on `video` from someone, and (optionally) our reply to it.
fn talk(video: &str, id: &str, at: &str, answered_at: Option<&str>) -> Vec<Value> {
    let mut events = vec![
        FakeMessage::comment(id)
            .video(video)
            .text("love it")
            .at(at)
            .build(),
    ];
    if let Some(t) = answered_at {
        let mut ours = FakeMessage::comment(&format!("{id}-re"))
            .video(video)
            .reply_to(id)
            .text("thanks!")
            .at(t)
            .build();
        ours["direction"] = json!("outbound");
        events.push(ours);
    }
    events
}

async fn video_id(s: &TestServer, external: &str) -> i64 {
    let (id,): (i64,) =
        s.db.fetch_optional(unibox::storage::Sql::new(format!(
            "SELECT id FROM videos WHERE external_id = '{external}'"
        )))
        .await
        .unwrap()
        .unwrap();
    id
}

on_both_backends! {
    async fn a_video_has_its_er_over_time_with_and_without_our_replies(s: &TestServer) {
        let mut events = talk("v1", "c1", &ago(2.0), Some(&ago(1.9)));
        events.extend(talk("v1", "c2", &ago(1.5), None));
        events.push(snapshot("v1", &ago(1.95), 5_000, 500, 40, 10));
        // The worked example: 10,000 views, 1,200 likes, 150 comments (one of them ours), 50 shares.
        events.push(snapshot("v1", &ago(1.0), 10_000, 1_200, 150, 50));
        events.push(snapshot("v0", &ago(1.0), 0, 0, 0, 0));
        // A video with comments and no snapshot yet.
        events.extend(talk("v9", "c9", &ago(0.5), None));
        s.ingest(json!(events)).await;
        let id = video_id(s, "v1").await;
        let (status, body) = s.get_json(&format!("/api/v1/engagement/videos/{id}")).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["latest"]["er"], 14.0, "{body}");
        assert_eq!(body["latest"]["own_replies"], 1);
        assert_eq!(body["latest"]["organic_er"], 13.99, "{body}");
        assert_eq!(body["series"].as_array().unwrap().len(), 2);
        assert_eq!(body["series"][0]["er"], 11.0);
        assert_eq!(body["series"][0]["own_replies"], 0, "our reply came after the first snapshot");
        assert_eq!(body["replies"]["incoming"], 2);
        assert_eq!(body["replies"]["answered"], 1);
        assert_eq!(body["replies"]["manual"], 1, "a reply from the platform counts as ours, not automated");
        assert_eq!(body["replies"]["coverage"], 0.5);
        let wait = body["replies"]["first_response_p50_s"].as_f64().unwrap();
        assert!((wait - 8640.0).abs() < 2.0, "{wait}");
        assert_eq!(body["impact"]["at_first_reply"]["er"], 11.0, "{body}");
        assert_eq!(body["impact"]["kind"], "within this video: before and after its first reply");

        let zero = video_id(s, "v0").await;
        let (_, body) = s.get_json(&format!("/api/v1/engagement/videos/{zero}")).await;
        assert!(body["latest"]["er"].is_null(), "undefined at zero views: {body}");
        assert_eq!(s.get(&format!("/api/v1/engagement/videos/{}", zero + 1000)).await.status(), 404);
        let bare = video_id(s, "v9").await;
        let (_, body) = s.get_json(&format!("/api/v1/engagement/videos/{bare}")).await;
        assert!(body["latest"].is_null() && body["series"] == json!([]), "no snapshot: {body}");
        assert_eq!(body["replies"]["incoming"], 1);

        // The page shows the same figures.
        let (status, page) = s.page(&format!("/videos/{id}")).await;
        assert_eq!(status, 200);
        let shown = text_of(&select(&page, "main")[0]);
        assert!(shown.contains("14.00 %") && shown.contains("13.99 %"), "{shown}");
        assert_eq!(select(&page, "figure.chart polyline").len(), 2);
    }

    async fn a_channel_sits_in_its_band_and_compares_replied_videos(s: &TestServer) {
        let mut events = vec![json!({"type": "channel_stats", "platform": "tiktok", "channel": CHANNEL,
            "followers": 250_000, "captured_at": ago(0.5)})];
        // Twelve videos published ten days ago; six replied to within a day. Each has a
        // snapshot at day six and a half; the replied ones engage more.
        for i in 0..12 {
            let video = format!("w{i}");
            let replied = i % 2 == 0;
            let mut first = FakeMessage::comment(&format!("q{i}")).video(&video).at(&ago(9.5)).build();
            first["video"]["published_at"] = json!(ago(10.0));
            events.push(first);
            if replied {
                let mut ours = FakeMessage::comment(&format!("q{i}-re")).video(&video).reply_to(&format!("q{i}")).at(&ago(9.4)).build();
                ours["direction"] = json!("outbound");
                events.push(ours);
            }
            let likes = if replied { 300 + i * 5 } else { 100 + i * 5 };
            events.push(snapshot(&video, &ago(3.5), 10_000, likes, 10, 0));
        }
        s.ingest(json!(events)).await;
        let (id,): (i64,) = s.db.fetch_optional(unibox::storage::Sql::new("SELECT id FROM channels")).await.unwrap().unwrap();
        let (status, body) = s.get_json(&format!("/api/v1/engagement/channels/{id}?posts=12")).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["followers"], 250_000);
        assert_eq!(body["band"]["label"], "100K–1M");
        assert_eq!(body["posts_counted"], 12);
        let account = body["account_er"].as_f64().unwrap();
        // (likes + 10 comments) / 10,000 views: 1,950 + 780 + 120 over twelve videos.
        assert!((account - 2.375).abs() < 1e-9, "{account}");
        assert_eq!(body["rating"], "within the band");
        assert!(body["fake_follower_warning"].is_null(), "2.375 % is above the band's 2.05 %");
        let c = &body["comparison"];
        assert_eq!((c["replied"]["videos"].as_u64(), c["unreplied"]["videos"].as_u64()), (Some(6), Some(6)), "{c}");
        assert_eq!(c["enough_data"], true);
        assert_eq!(c["kind"], "association");
        let [low, high] = [c["interval"][0].as_f64().unwrap(), c["interval"][1].as_f64().unwrap()];
        let difference = c["difference"].as_f64().unwrap();
        assert!(low <= difference && difference <= high && low > 0.0, "{c}");
        assert_eq!(body["videos"].as_array().unwrap().len(), 12);
        let r = s.get(&format!("/api/v1/engagement/channels/{id}?posts=40")).await;
        assert_eq!(r.status(), 422);

        // With 10,000 followers the same ER is at the 5K–20K band's floor (2.43 %): the warning,
        // with the numbers that triggered it.
        s.ingest(json!([{"type": "channel_stats", "platform": "tiktok", "channel": CHANNEL,
            "followers": 10_000, "captured_at": ago(0.1)}])).await;
        let (_, body) = s.get_json(&format!("/api/v1/engagement/channels/{id}")).await;
        let warning = &body["fake_follower_warning"];
        assert_eq!((warning["followers"].as_i64(), warning["band_low"].as_f64()), (Some(10_000), Some(2.43)), "{body}");
        assert_eq!(body["rating"], "below the band");

        let r = s.get(&format!("/api/v1/engagement/channels/{id}/videos.csv")).await;
        assert_eq!(r.status(), 200);
        assert!(r.headers()["content-type"].to_str().unwrap().starts_with("text/csv"));
        let csv = r.text().await.unwrap();
        assert_eq!(csv.lines().count(), 13, "{csv}");
        assert!(csv.starts_with("id,external_id,title,"), "{csv}");

        let (status, page) = s.page(&format!("/engagement?channel={id}")).await;
        assert_eq!(status, 200);
        let shown = text_of(&select(&page, "main")[0]);
        assert!(shown.contains("2.38 %") && shown.contains("Worth a look"), "{shown}");
        assert!(shown.contains("association across videos"), "{shown}");
        assert_eq!(select(&page, "table.videos tbody tr").len(), 12);
        // The answer leads, in one plain sentence, before its numbers.
        assert_eq!(c["verdict"]["answer"], "first_better", "{c}");
        let answer = text_of(&select(&page, "#replied-vs-unreplied .answer")[0]);
        assert_eq!(answer.trim(), "Replied videos did better, clearly.");
        let details = text_of(&select(&page, "#replied-vs-unreplied p")[1]);
        assert!(details.contains("95 % interval") && details.contains("not proof"), "{details}");
    }

    async fn too_few_videos_say_not_enough_data(s: &TestServer) {
        let mut events = Vec::new();
        for i in 0..3 {
            let mut c = FakeMessage::comment(&format!("f{i}")).video(&format!("few{i}")).at(&ago(9.5)).build();
            c["video"]["published_at"] = json!(ago(10.0));
            events.push(c);
            events.push(snapshot(&format!("few{i}"), &ago(3.5), 1_000, 10, 1, 0));
        }
        s.ingest(json!(events)).await;
        let (id,): (i64,) = s.db.fetch_optional(unibox::storage::Sql::new("SELECT id FROM channels")).await.unwrap().unwrap();
        let (_, body) = s.get_json(&format!("/api/v1/engagement/channels/{id}")).await;
        let c = &body["comparison"];
        assert_eq!(c["enough_data"], false, "{c}");
        assert!(c["interval"].is_null() && c["difference"].is_null(), "{c}");
        assert!(body["followers"].is_null() && body["band"].is_null());
        assert_eq!(c["verdict"], json!({"answer": "not_enough_data", "first": 0, "second": 3, "need": 5}));
        let (_, page) = s.page(&format!("/engagement?channel={id}")).await;
        let answer = text_of(&select(&page, "#replied-vs-unreplied .answer")[0]);
        assert_eq!(answer.trim(), "Not enough data yet: 0 replied and 3 unreplied videos, need 5 of each.");
    }
}

on_both_backends! {
    /// The page's "Download as CSV" link works for whoever sees the page: a viewer signed in
    /// with a session cookie and no API token gets the CSV, not a 401.
    async fn the_csv_link_downloads_for_a_signed_in_viewer(s: &TestServer) {
        let mut events = Vec::new();
        for i in 0..3 {
            events.extend(talk(&format!("csv{i}"), &format!("k{i}"), &ago(2.0), None));
            events.push(snapshot(&format!("csv{i}"), &ago(1.0), 1_000, 50, 5, 1));
        }
        s.ingest(json!(events)).await;
        s.add_user("viewer@example.test", 1, unibox::domain::Role::Viewer).await;
        let viewer = s.sign_in("viewer@example.test").await;
        let (status, page) = viewer.page("/engagement").await;
        assert_eq!(status, 200);
        let links = select(&page, "a[download], a[href$='.csv']");
        assert_eq!(links.len(), 1, "one CSV link");
        let href = links[0].value().attr("href").unwrap().to_owned();
        let r = viewer.get(&href).await;
        assert_eq!(r.status(), 200, "{href}: {}", r.text().await.unwrap());
        assert!(r.headers()["content-type"].to_str().unwrap().starts_with("text/csv"));
        assert!(r.headers()["content-disposition"].to_str().unwrap().starts_with("attachment"));
        let csv = r.text().await.unwrap();
        assert_eq!(csv.lines().count(), 4, "{csv}");
        assert!(csv.starts_with("id,external_id,title,"), "{csv}");
        // Without a session the link leads to the sign-in page, and another workspace's
        // channel is not found.
        let r = s.anonymous().get(s.url(&href)).send().await.unwrap();
        assert_eq!(r.status(), 303);
        let other = s.add_workspace("other").await;
        s.add_user("outsider@example.test", other, unibox::domain::Role::Owner).await;
        let outsider = s.sign_in("outsider@example.test").await;
        assert_eq!(outsider.get(&href).await.status(), 404);
    }
}

on_both_backends! {
    /// The video page's figures hold to their definitions: no rate a day from snapshots an
    /// hour apart, no "-0.00", and the platform's comment count and unibox's labelled apart.
    async fn the_video_page_shows_changes_over_a_sensible_time_and_labels_its_counts(s: &TestServer) {
        let mut events = vec![
            // 7.00 %, then an hour later 7.90 %, just before our first reply.
            snapshot("r1", &ago(3.0), 1_000, 60, 5, 5),
            snapshot("r1", &ago(3.0 - 1.0 / 24.0), 10_000, 770, 10, 10),
        ];
        events.extend(talk("r1", "rc1", &ago(2.95), Some(&ago(2.94))));
        // Two days later 7.898 %: a change of -0.001 points a day.
        events.push(snapshot("r1", &ago(0.94), 100_000, 7_878, 10, 10));
        s.ingest(json!(events)).await;
        let id = video_id(s, "r1").await;
        let (_, body) = s.get_json(&format!("/api/v1/engagement/videos/{id}")).await;
        assert!(body["impact"]["er_per_day_before"].is_null(), "an hour is no basis for a day: {body}");
        let after = body["impact"]["er_per_day_after"].as_f64().unwrap();
        assert!((after - -0.001).abs() < 1e-3, "{after}");
        let (status, page) = s.page(&format!("/videos/{id}")).await;
        assert_eq!(status, 200);
        let shown = text_of(&select(&page, "main")[0]);
        assert!(!shown.contains("-0.00"), "{shown}");
        assert!(!shown.contains("21.6"), "no rate from an hour: {shown}");
        let impact: Vec<String> = select(&page, "ul.impact li").iter().map(text_of).collect();
        assert_eq!(impact.len(), 2, "{shown}");
        assert!(impact[0].contains("from 7.00 % to 7.90 % over 60 min") && impact[0].contains("too short for a rate a day"), "{impact:?}");
        assert!(impact[1].contains("from 7.90 % to 7.90 % over 2.0 days (0.00 percentage points; 0.00 percentage points a day)"), "{impact:?}");
        // The platform's comment count and the comments unibox received, each named.
        let headline = text_of(&select(&page, "p.headline")[0]);
        assert!(headline.contains("the platform's count of 10 comments, less our 1 reply"), "{headline}");
        assert!(shown.contains("1 of the 1 comments unibox received answered"), "{shown}");
    }
}

on_both_backends! {
    /// The video page says in words why a window before or since the first reply shows no
    /// change: no snapshot before the reply, only one before it, or none since.
    async fn the_video_page_says_why_a_window_shows_no_change(s: &TestServer) {
        let mut events = talk("e1", "ec1", &ago(3.0), Some(&ago(2.9)));
        events.push(snapshot("e1", &ago(1.0), 1_000, 60, 5, 5));
        events.extend(talk("e2", "ec2", &ago(2.95), Some(&ago(2.9))));
        events.push(snapshot("e2", &ago(3.0), 1_000, 60, 5, 5));
        s.ingest(json!(events)).await;
        for (video, expected) in [
            ("e1", [
                "Before it: no snapshot was captured before the first reply, so there is no change to show.",
                "Since: no snapshot from before the first reply to measure the change from.",
            ]),
            ("e2", [
                "Before it: only one snapshot was captured before the first reply, so there is no change to show.",
                "Since: no snapshot has been captured since the first reply yet.",
            ]),
        ] {
            let id = video_id(s, video).await;
            let (status, page) = s.page(&format!("/videos/{id}")).await;
            assert_eq!(status, 200);
            let impact: Vec<String> = select(&page, "ul.impact li")
                .iter()
                .map(|li| text_of(li).split_whitespace().collect::<Vec<_>>().join(" "))
                .collect();
            assert_eq!(impact, expected, "{video}");
        }
    }
}

on_both_backends! {
    /// The engagement page counts the videos that came without `video.published_at` and says
    /// what that does to the comparison; once every video carries it, the note is gone.
    async fn the_engagement_page_counts_videos_without_a_publication_time(s: &TestServer) {
        let mut events = Vec::new();
        for i in 0..3 {
            events.extend(talk(&format!("d{i}"), &format!("dc{i}"), &ago(2.0), None));
            events.push(snapshot(&format!("d{i}"), &ago(1.0), 1_000, 50, 5, 1));
        }
        events[0]["video"]["published_at"] = json!(ago(4.0));
        s.ingest(json!(events)).await;
        let note = |page: &scraper::Html| select(page, "#undated").first().map(text_of);
        let (status, page) = s.page("/engagement").await;
        assert_eq!(status, 200);
        let text = note(&page).expect("a note on the videos without a publication time");
        assert!(text.contains("2 of these 3 videos have no publication time (video.published_at)."), "{text}");
        assert!(text.contains("is compared at the wrong age"), "{text}");
        // Statistics that carry the time date the other two.
        let later: Vec<Value> = (1..3)
            .map(|i| {
                let mut e = snapshot(&format!("d{i}"), &ago(0.5), 2_000, 90, 6, 2);
                e["video"]["published_at"] = json!(ago(4.0));
                e
            })
            .collect();
        s.ingest(json!(later)).await;
        let (_, page) = s.page("/engagement").await;
        assert_eq!(select(&page, "#replied-vs-unreplied").len(), 1, "the comparison is shown");
        assert_eq!(note(&page), None);
    }
}
