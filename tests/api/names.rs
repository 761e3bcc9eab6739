//! What a reply calls a person: the name their thread shows, and no name at all rather than
//! a platform's default ("User 93", "@245"), through TikTok's webhook and the test box.

use crate::automation::create_rule;
use crate::common::*;
use crate::outbox::{Sim, connect};
use crate::tiktok::{deliver, notice, now, seed, tiktok};
use serde_json::{Value, json};
use unibox::connectors::signature::sign_tiktok;
use unibox::simulate::Person;

const ACCOUNT: &str = "act.example.openid";
const TOKEN: &str = "tt-token-0123456789abcdef";
const SECRET: &str = "tiktok-client-secret";

/// The suggested reply in the thread of the comment `external_id`, and the name the thread
/// shows for its author.
async fn suggestion(s: &TestServer, external_id: &str) -> (String, String) {
    let threads = s.threads("?status=all").await;
    for t in threads {
        let (_, body) = s.get_json(&format!("/api/v1/threads/{}", t["id"])).await;
        let messages = body["messages"].as_array().unwrap();
        if !messages.iter().any(|m| m["external_id"] == external_id) {
            continue;
        }
        let text = messages
            .iter()
            .find(|m| m["state"] == "suggested")
            .map(|m| m["text"].as_str().unwrap().to_owned())
            .unwrap_or_else(|| panic!("no suggestion in {body}"));
        let contact = &body["thread"]["contact"];
        let shown = contact["display_name"]
            .as_str()
            .or(contact["username"].as_str())
            .unwrap_or_default()
            .to_owned();
        return (text, shown);
    }
    panic!("no thread holds {external_id}");
}

async fn names(s: &TestServer, sim: &Sim) {
    connect(s, sim, "tiktok", ACCOUNT, TOKEN).await;
    create_rule(
        s,
        json!({"name": "Complaint", "mode": "suggest",
        "conditions": [{"type": "keywords", "any": ["broken"]}],
        "actions": [{"type": "reply", "variants": ["So sorry {{ author.name | default('there') }}!"]}]}),
    )
    .await;
    // One person chose a name; the other has only TikTok's defaults ("user_93", "User 93").
    sim.world.set_person(Person {
        id: "94".into(),
        username: Some("lucas_194".into()),
        name: Some("Lucas".into()),
    });
    seed(sim, "7385350567722400093", "93", "Arrived broken", None);
    seed(
        sim,
        "7385350567722400094",
        "94",
        "Mine arrived broken too",
        None,
    );
    for id in ["7385350567722400093", "7385350567722400094"] {
        let body = notice(id, "insert");
        let (status, answer) = deliver(s, &body, Some(sign_tiktok(SECRET, &body, now()))).await;
        assert_eq!(status, 200, "{answer}");
    }
    let (text, shown) = suggestion(s, "7385350567722400094").await;
    assert_eq!(shown, "Lucas");
    assert_eq!(text, "So sorry Lucas!", "the name the thread shows");
    let (text, shown) = suggestion(s, "7385350567722400093").await;
    assert_eq!(shown, "User 93");
    assert_eq!(text, "So sorry there!", "no robotic default name");

    // The test box: "@245" (YouTube's default) and a bare number are no names either.
    let admin = s.api_client(&s.token_for(1, unibox::domain::Scope::Admin).await);
    for author in [
        json!({"display_name": "@245"}),
        json!({"username": "245"}),
        json!({"username": "user-x7k2p9"}),
    ] {
        let r = admin
            .post(s.url("/api/v1/rules/test"))
            .json(
                &json!({"platform": "youtube", "channel": "acme", "kind": "comment",
                "text": "it arrived broken", "author": author}),
            )
            .send()
            .await
            .unwrap();
        let body: Value = r.json().await.unwrap();
        assert_eq!(
            body["fired"][0]["actions"][0]["rendered"][0]["text"], "So sorry there!",
            "{author}: {body}"
        );
    }
}

simulated_on_both_backends! {
    suggested_replies_call_people_what_their_thread_does(s, sim) with tiktok(&sim) => names(&s, &sim);
}

on_both_backends! {
    /// A DM's sender of whom nothing but an id is known is named by platform and the id's end.
    async fn a_sender_known_only_by_id_is_no_bare_number(s: &TestServer) {
        s.ingest(json!([{"type": "message", "platform": "instagram", "channel": "acme.ig", "kind": "dm",
            "external_id": "m1", "author": {"external_id": "17841400000532"},
            "text": "Hoi!", "created_at": ts("11:00:00")}])).await;
        let thread = s.threads("").await[0]["id"].clone();
        let (_, html) = s.page(&format!("/threads/{thread}")).await;
        assert_eq!(text_of(&select(&html, "p.author-name")[0]), "Instagram user …0532");
        assert_eq!(text_of(&select(&html, "li.message .who")[0]), "Instagram user …0532");
        // The id itself stays in view for whoever needs it.
        assert_eq!(text_of(&select(&html, "p.muted code")[0]), "17841400000532");
    }
}
