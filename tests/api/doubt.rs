//! A reply whose first try is in doubt is marked sent only on proof this row made: an
//! identical reply of ours written before the row was queued (by a person in the platform's
//! app, or an earlier rule) is not taken for it, and the reply is sent again.

use crate::automation::{create_rule, fresh, number, wait_for};
use crate::common::*;
use crate::outbox::{Sim, connect, thanks_rule};
use serde_json::json;
use unibox::simulate::{Faults, Item};

/// (platform, account, token, comment id, video id)
const ACCOUNTS: [(&str, &str, &str, &str, &str); 3] = [
    (
        "instagram",
        "17841400000000001",
        "ig-token-0123456789abcdef",
        "17900000000009001",
        "18100000000000009",
    ),
    (
        "tiktok",
        "7300000000000000001",
        "tt-token-0123456789abcdef",
        "7385350567722409001",
        "7377694258502880513",
    ),
    (
        "youtube",
        "UCsimulatedchannel0001",
        "yt-token-0123456789abcdef",
        "UgzDoubtComment0001",
        "dQw4w9WgXcQ",
    ),
];

async fn earlier_identical_reply_scenario(s: &TestServer, sim: &Sim) {
    for (platform, account, token, _, _) in ACCOUNTS {
        connect(s, sim, platform, account, token).await;
    }
    create_rule(s, thanks_rule()).await;
    let an_hour_ago = chrono::Utc::now().timestamp() - 3_600;
    for (platform, account, _, comment, video) in ACCOUNTS {
        // The account already answered this comment with the very words the rule will use.
        sim.world.add(Item {
            id: format!("{comment}-earlier"),
            platform,
            by_token: None,
            author_id: account.to_owned(),
            parent: Some(comment.to_owned()),
            video: Some(video.to_owned()),
            text: "Thank you lisa!".to_owned(),
            hidden: false,
            liked: false,
            deleted: false,
            created: an_hour_ago,
        });
    }
    // Every first try answers 500: nobody knows whether it went through.
    sim.world.set_faults(Faults {
        error_rate: 1.0,
        ..Faults::default()
    });
    let events: Vec<_> = ACCOUNTS
        .iter()
        .map(|(platform, account, _, comment, video)| {
            fresh(
                json!({"type": "message", "platform": platform, "channel": account,
                "kind": "comment", "external_id": comment, "video": {"external_id": video},
                "author": {"external_id": format!("fan-{platform}"), "username": "lisa"},
                "text": "I love this"}),
            )
        })
        .collect();
    s.ingest(json!(events)).await;
    wait_for(
        s,
        "SELECT COUNT(*) FROM outbox WHERE state = 'failed' AND in_doubt = TRUE",
        3,
    )
    .await;
    sim.world.set_faults(Faults::default());
    wait_for(s, "SELECT COUNT(*) FROM outbox WHERE state = 'sent'", 3).await;

    let replies = sim.writes("reply");
    for (platform, _, _, comment, _) in ACCOUNTS {
        let made = replies.get(comment).map_or(0, Vec::len);
        assert_eq!(
            made, 1,
            "{platform}: the reply was sent again, once: {replies:?}"
        );
        assert_eq!(
            number(
                s,
                &format!(
                    "SELECT COUNT(*) FROM outbox WHERE target = '{comment}' \
                     AND platform_reply_id = '{comment}-earlier'"
                )
            )
            .await,
            0,
            "{platform}: the earlier reply was taken for this one"
        );
    }
}

simulated_on_both_backends! {
    earlier_identical_reply(s, sim) with sim.config() => earlier_identical_reply_scenario(&s, &sim);
}
