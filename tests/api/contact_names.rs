//! DM senders get their names from the platforms: Meta's webhooks name a DM's sender only by
//! id, so unibox asks Instagram's and Messenger's profile APIs (through the simulator, in
//! their formats) and the inbox shows the person's name instead of "Instagram user …0532".
//! Look-ups keep to the account's read budget and the platform's `Retry-After`.

use std::time::Duration;

use crate::common::*;
use crate::outbox::{IG, IG_TOKEN, Sim, connect};
use serde_json::{Value, json};
use unibox::simulate::{Faults, Person};

const PAGE: &str = "104500000000001";
const PAGE_TOKEN: &str = "page-token-0123456789abcdef";

fn person(id: &str, username: Option<&str>, name: Option<&str>) -> Person {
    Person {
        id: id.into(),
        username: username.map(str::to_owned),
        name: name.map(str::to_owned),
    }
}

/// A signed Meta delivery of DMs (`messaging`) from `senders` to `account`.
async fn deliver_dms(s: &TestServer, object: &str, account: &str, senders: &[&str]) {
    let now = chrono::Utc::now().timestamp_millis();
    let messaging: Vec<Value> = senders
        .iter()
        .enumerate()
        .map(|(i, sender)| {
            json!({"sender": {"id": sender}, "recipient": {"id": account}, "timestamp": now,
                   "message": {"mid": format!("m_{account}_{sender}_{i}"), "text": "Hoi, is deze nog leverbaar?"}})
        })
        .collect();
    let body = serde_json::to_vec(
        &json!({"object": object, "entry": [{"id": account, "time": now, "messaging": messaging}]}),
    )
    .unwrap();
    let (status, answer) = crate::webhooks::post(s, &body, crate::webhooks::signed(&body)).await;
    assert_eq!(status, 200, "{answer}");
}

/// What the thread page of the DM from `sender` is titled.
async fn dm_title(s: &TestServer, browser: &Browser, sender: &str) -> String {
    let sql = unibox::storage::Sql::new(format!(
        "SELECT t.id FROM threads t JOIN contacts c ON c.id = t.contact_id \
         WHERE c.external_id = '{sender}'"
    ));
    let (thread,): (i64,) = s.db.fetch_optional(sql).await.unwrap().unwrap();
    let (status, page) = browser.page(&format!("/threads/{thread}")).await;
    assert_eq!(status, 200);
    text_of(&select(&page, "h1")[0])
}

async fn named_by_the_server(s: &TestServer, sim: &Sim) {
    connect(s, sim, "instagram", IG, IG_TOKEN).await;
    connect(s, sim, "facebook", PAGE, PAGE_TOKEN).await;
    sim.world
        .set_person(person("5550532", Some("anna.dv"), Some("Anna de Vries")));
    sim.world.set_person(person("5550999", None, None));
    sim.world
        .set_person(person("6660001", None, Some("Sam Jansen")));
    deliver_dms(s, "instagram", IG, &["5550532", "5550999"]).await;
    deliver_dms(s, "page", PAGE, &["6660001"]).await;

    let named = "contacts WHERE (external_id = '5550532' AND display_name = 'Anna de Vries' \
                 AND username = 'anna.dv') OR (external_id = '6660001' AND display_name = 'Sam Jansen')";
    let mut waited = 0;
    while s.count(named).await < 2 {
        assert!(waited < 100, "the DM senders were not named in 10 s");
        tokio::time::sleep(Duration::from_millis(100)).await;
        waited += 1;
    }
    s.add_user("agent@example.test", 1, Role::Agent).await;
    let agent = s.sign_in("agent@example.test").await;
    assert_eq!(
        dm_title(s, &agent, "5550532").await,
        "Direct messages with Anna de Vries"
    );
    assert_eq!(
        dm_title(s, &agent, "6660001").await,
        "Direct messages with Sam Jansen"
    );
    // Someone who set no name keeps the platform's label, and is not asked about every round.
    assert_eq!(
        dm_title(s, &agent, "5550999").await,
        "Direct messages with Instagram user …0999"
    );
    tokio::time::sleep(Duration::from_millis(2_500)).await;
    assert_eq!(sim.world.requests_to("meta/profile"), 3);
}

/// `n` DMs on Instagram from senders the webhook named only by id.
async fn unnamed_dms(s: &TestServer, sim: &Sim, n: usize) {
    let events: Vec<Value> = (0..n)
        .map(|i| {
            let sender = format!("77700{i:03}");
            sim.world
                .set_person(person(&sender, Some(&format!("fan_{i}")), None));
            json!({"type": "message", "platform": "instagram", "channel": IG, "kind": "dm",
                   "external_id": format!("m_budget_{i}"), "author": {"external_id": sender},
                   "text": "hallo", "created_at": chrono::Utc::now().to_rfc3339()})
        })
        .collect();
    s.ingest(json!(events)).await;
}

async fn within_budget_and_retry_after(s: &TestServer, sim: &Sim) {
    connect(s, sim, "instagram", IG, IG_TOKEN).await;
    unnamed_dms(s, sim, 40).await;
    let (poller, _stop) = crate::polling::poller(s, sim);

    // 30 look-ups a minute per account: a round takes 30, the next one at once none.
    assert_eq!(unibox::polling::name_contacts(&poller).await, 30);
    assert_eq!(unibox::polling::name_contacts(&poller).await, 0);
    assert_eq!(sim.world.requests_to("meta/profile"), 30);
    assert_eq!(s.count("contacts WHERE username LIKE 'fan_%'").await, 30);

    // A fresh account meets Meta's "too many requests": nothing is marked as asked, and no
    // call goes before its Retry-After.
    let (poller, _stop) = crate::polling::poller(s, sim);
    sim.world.set_faults(Faults {
        rate_limit_rate: 1.0,
        retry_after_seconds: 120,
        ..Faults::default()
    });
    assert_eq!(unibox::polling::name_contacts(&poller).await, 0);
    assert_eq!(sim.world.requests_to("meta/profile"), 31);
    sim.world.set_faults(Faults::default());
    assert_eq!(unibox::polling::name_contacts(&poller).await, 0);
    assert_eq!(sim.world.requests_to("meta/profile"), 31);
    assert_eq!(s.count("contacts WHERE profile_asked_at IS NULL").await, 10);
    assert!(
        sim.world.violations().is_empty(),
        "{:?}",
        sim.world.violations()
    );
}

simulated_on_both_backends! {
    named_by_the_server(s, sim) with {
        let base = crate::webhooks::meta_at(&sim);
        move |c: &mut unibox::Config| {
            base(c);
            c.polling.contact_names_seconds = 1;
        }
    } => named_by_the_server(&s, &sim);
    within_budget_and_retry_after(s, sim) with sim.config() => within_budget_and_retry_after(&s, &sim);
}
