//! Polling the platforms through the simulator: YouTube's comment threads page by page (our
//! own replies recognised, nothing stored twice, a sweep stopped by the quota resuming where
//! it stopped), TikTok's comments on recent videos, and statistics snapshots from TikTok,
//! YouTube and Instagram.

use std::sync::Arc;

use crate::automation::number;
use crate::common::*;
use crate::outbox::{Sim, connect};
use serde_json::json;
use unibox::polling::{Poller, poll_comments, poll_stats};
use unibox::simulate::world::{Item, Video};
use unibox::storage::Sql;

const YT: &str = "UCsimulatedchannel0001";
const YT_TOKEN: &str = "yt-token-0123456789abcdef";
const TT: &str = "act.tiktok.openid";
const TT_TOKEN: &str = "tt-token-0123456789abcdef";
const IG: &str = "17841400000000001";
const IG_TOKEN: &str = "ig-token-0123456789abcdef";

pub fn comment(
    sim: &Sim,
    platform: &'static str,
    id: &str,
    video: &str,
    author: &str,
    parent: Option<&str>,
    age_s: i64,
) {
    sim.world.add(Item {
        id: id.into(),
        platform,
        by_token: None,
        author_id: author.into(),
        parent: parent.map(str::to_owned),
        video: Some(video.into()),
        text: format!("comment {id}"),
        hidden: false,
        liked: false,
        deleted: false,
        created: chrono::Utc::now().timestamp() - age_s,
    });
}

pub fn video(sim: &Sim, platform: &str, id: &str, account: &str, views: i64) {
    sim.world.set_video(Video {
        platform: platform.into(),
        id: id.into(),
        account: account.into(),
        title: format!("Video {id}"),
        views,
        likes: views / 10,
        comments: views / 100,
        shares: 3,
        saves: 2,
        created: chrono::Utc::now().timestamp() - 3600,
    });
}

/// A poller of the test's own, driven round by round (the server's polls are off in tests).
pub fn poller(s: &TestServer, sim: &Sim) -> (Poller, tokio::sync::watch::Sender<bool>) {
    let mut config = unibox::Config::for_database(&s.database_url);
    sim.config()(&mut config);
    let platforms = unibox::connectors::calls::Platforms::new(
        &config.platforms,
        std::time::Duration::from_secs(2),
    );
    let (stop, stopping) = tokio::sync::watch::channel(false);
    let live = unibox::live::Live::new(s.db.clone());
    let (ingest, writer) =
        unibox::ingest::IngestQueue::new(s.db.clone(), None, stopping, Vec::new(), live, None);
    tokio::spawn(writer);
    let poller = Poller {
        db: s.db.clone(),
        platforms: Arc::new(platforms),
        ingest: Arc::new(ingest),
        limits: Arc::default(),
        heard: Arc::default(),
        comments_every: None,
        stats_every: None,
        names_every: None,
        stopping: stop.subscribe(),
    };
    (poller, stop)
}

async fn scenario(s: &TestServer, sim: &Sim) {
    connect(s, sim, "youtube", YT, YT_TOKEN).await;
    connect(s, sim, "tiktok", TT, TT_TOKEN).await;
    connect(s, sim, "instagram", IG, IG_TOKEN).await;
    video(sim, "youtube", "ytVideo0001", YT, 12_000);
    video(sim, "youtube", "ytVideo0002", YT, 3_000);
    // 130 threads: two pages of 100; one has our own reply under it.
    for i in 0..130 {
        let v = if i % 2 == 0 {
            "ytVideo0001"
        } else {
            "ytVideo0002"
        };
        comment(
            sim,
            "youtube",
            &format!("UgzThread{i:04}"),
            v,
            &format!("UCviewer{i}"),
            None,
            1000 - i,
        );
    }
    comment(
        sim,
        "youtube",
        "UgzThread0000.ourReply",
        "ytVideo0001",
        YT,
        Some("UgzThread0000"),
        10,
    );
    sim.world.set_followers(YT, 4_200);

    // The quota leaves one unit: the sweep reads one page, then stops and keeps its place.
    // (The quota is the app's: one count for every channel, under channel id 0.)
    let mut spent = Sql::new("INSERT INTO platform_quota (channel_id, day, units) VALUES (0, ");
    spent
        .bind(unibox::connectors::youtube_send::quota_day(
            chrono::Utc::now(),
        ))
        .push(", 9999)");
    let mut tx = s.db.begin().await.unwrap();
    tx.execute(spent).await.unwrap();
    tx.commit().await.unwrap();
    let (p, stop) = poller(s, sim);
    poll_comments(&p).await;
    assert_eq!(number(s, "SELECT COUNT(*) FROM messages WHERE channel_id IN (SELECT id FROM channels WHERE platform = 'youtube')").await, 100);
    let token: (Option<String>,) =
        s.db.fetch_optional(Sql::new(
            "SELECT page_token FROM poll_cursors WHERE scope = 'youtube:threads'",
        ))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        token.0.as_deref(),
        Some("p100"),
        "the sweep keeps its place"
    );
    assert!(
        number(
            s,
            "SELECT COUNT(*) FROM channel_health WHERE last_error LIKE '%quota%'"
        )
        .await
            == 1
    );

    // The quota resets: the sweep resumes at its page, and our own reply is ours.
    let mut tx = s.db.begin().await.unwrap();
    tx.execute(Sql::new("DELETE FROM platform_quota"))
        .await
        .unwrap();
    tx.commit().await.unwrap();
    poll_comments(&p).await;
    let youtube = "SELECT COUNT(*) FROM messages WHERE channel_id IN (SELECT id FROM channels WHERE platform = 'youtube')";
    assert_eq!(number(s, youtube).await, 131);
    assert_eq!(number(s, "SELECT COUNT(*) FROM messages WHERE external_id = 'UgzThread0000.ourReply' AND direction = 'outbound'").await, 1);
    assert_eq!(
        number(
            s,
            "SELECT COUNT(*) FROM poll_cursors WHERE page_token IS NULL AND high_water IS NOT NULL"
        )
        .await,
        1
    );
    // A new comment: the next round reads one page and stops at what it had seen.
    comment(
        sim,
        "youtube",
        "UgzThreadNew",
        "ytVideo0001",
        "UCnewviewer",
        None,
        0,
    );
    let units_before = number(
        s,
        "SELECT CAST(COALESCE(SUM(units), 0) AS BIGINT) FROM platform_quota",
    )
    .await;
    poll_comments(&p).await;
    assert_eq!(number(s, youtube).await, 132, "nothing stored twice");
    assert_eq!(
        number(
            s,
            "SELECT CAST(COALESCE(SUM(units), 0) AS BIGINT) FROM platform_quota"
        )
        .await
            - units_before,
        1,
        "one page, one unit"
    );

    // TikTok: comments on a recent video that no webhook brought.
    let tt_video = "7377694258502880513";
    video(sim, "tiktok", tt_video, TT, 50_000);
    for i in 0..40 {
        comment(
            sim,
            "tiktok",
            &format!("73853505677224{i:05}"),
            tt_video,
            &format!("69000000000000{i:05}"),
            None,
            100,
        );
    }
    sim.world.set_followers(TT, 85_000);
    // The video is known (its statistics come first, as they would on a schedule).
    poll_stats(&p).await;
    poll_comments(&p).await;
    assert_eq!(number(s, "SELECT COUNT(*) FROM messages WHERE channel_id IN (SELECT id FROM channels WHERE platform = 'tiktok')").await, 40);
    assert_eq!(
        number(
            s,
            "SELECT COUNT(*) FROM messages WHERE external_id = '7385350567722400039'"
        )
        .await,
        1,
        "ids above 2^53 kept exact"
    );

    // Statistics: snapshots for each platform's videos and accounts.
    video(sim, "instagram", "18100000000000009", IG, 7_000);
    s.ingest(json!([{"type": "message", "platform": "instagram", "channel": IG, "kind": "comment", "external_id": "1790000000000001",
        "video": {"external_id": "18100000000000009"}, "author": {"external_id": "lisa"}, "text": "mooi",
        "created_at": chrono::Utc::now().to_rfc3339()}])).await;
    sim.world.set_followers(IG, 12_345);
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await; // a new capture time
    poll_stats(&p).await;
    let stats = |platform: &str, video: &str| {
        format!(
            "SELECT COUNT(*) FROM video_stats s JOIN videos v ON v.id = s.video_id WHERE v.external_id = '{video}' \
         AND v.channel_id IN (SELECT id FROM channels WHERE platform = '{platform}')"
        )
    };
    assert!(number(s, &stats("youtube", "ytVideo0001")).await >= 1);
    assert_eq!(
        number(s, &stats("tiktok", tt_video)).await,
        2,
        "two rounds, two snapshots: never corrected in place"
    );
    assert_eq!(number(s, &stats("instagram", "18100000000000009")).await, 1);
    let followers = "SELECT COUNT(DISTINCT followers) FROM channel_stats WHERE followers IN (4200, 85000, 12345)";
    assert_eq!(
        number(s, followers).await,
        3,
        "every account's follower count"
    );
    let views: (i64,) = s.db.fetch_optional(Sql::new(
        "SELECT s.views FROM video_stats s JOIN videos v ON v.id = s.video_id WHERE v.external_id = 'ytVideo0001' ORDER BY s.id DESC LIMIT 1",
    )).await.unwrap().unwrap();
    assert_eq!(views.0, 12_000);

    // Shutting down: a round calls nothing more (no units spent for what could not be stored).
    comment(
        sim,
        "youtube",
        "UgzAfterStop",
        "ytVideo0001",
        "UClate",
        None,
        0,
    );
    stop.send(true).unwrap();
    let requests = sim.world.requests();
    poll_comments(&p).await;
    poll_stats(&p).await;
    assert_eq!(sim.world.requests(), requests);
    assert_eq!(
        number(
            s,
            "SELECT COUNT(*) FROM messages WHERE external_id = 'UgzAfterStop'"
        )
        .await,
        0
    );
}

simulated_on_both_backends! {
    polls(s, sim) with sim.config() => scenario(&s, &sim);
}
