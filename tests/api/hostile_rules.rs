//! One workspace's rules cannot spoil another's: a reply that would write a NUL or megabytes is
//! held back as unrenderable while the whole delivery is stored and every other workspace's
//! rules answer; a heavy rule book is refused at save, and one stored before the bounds is
//! compiled outside the ingest writer, so only its own workspace waits for it.

use crate::automation::{fresh, number};
use crate::common::*;
use crate::outbox::Sim;
use crate::webhooks::{meta_at, post, signed};
use serde_json::{Value, json};
use unibox::rules::definition::read_rule;
use unibox::storage::Sql;

const IG_A: &str = "17841400000000101";
const IG_B: &str = "17841400000000202";

/// The workspace's first message on `account`, which connects it there.
async fn connect(s: &TestServer, client: &reqwest::Client, account: &str) {
    let setup = json!([fresh(
        json!({"type": "message", "platform": "instagram", "channel": account,
        "kind": "dm", "external_id": format!("setup-{account}"), "author": {"external_id": "5559999"},
        "text": "hello"})
    )]);
    let r = client
        .post(s.url("/api/v1/events"))
        .json(&setup)
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "{}", r.text().await.unwrap());
}

/// Connects `account` in the workspace of `admin` with a token the platform says is its own,
/// so that its webhooks reach that workspace.
async fn connect_verified(s: &TestServer, sim: &Sim, admin: &reqwest::Client, account: &str) {
    let token = format!("ig-token-{account}");
    sim.world.register(&token, account);
    let r = admin
        .post(s.url("/api/v1/channels"))
        .json(
            &json!({"platform": "instagram", "handle": format!("acme.{account}"),
            "platform_id": account, "credentials": {"access_token": token}}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
}

async fn create(s: &TestServer, admin: &reqwest::Client, rule: Value) -> (u16, Value) {
    let r = admin
        .post(s.url("/api/v1/rules"))
        .json(&rule)
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.json().await.unwrap())
}

/// A rule as stored before today's checks: `variant` written straight into the database.
async fn stored_before_the_checks(
    s: &TestServer,
    workspace: i64,
    name: &str,
    variant: &str,
) -> i64 {
    let body = json!({"name": name, "mode": "suggest", "continue": true,
        "conditions": [{"type": "keywords", "any": ["prijs"]}],
        "actions": [{"type": "reply", "variants": ["placeholder"]}]});
    let mut definition = read_rule(&body).unwrap().definition;
    definition["actions"][0]["variants"][0] = json!(variant);
    legacy_insert(s, workspace, name, &definition).await
}

async fn legacy_insert(s: &TestServer, workspace: i64, name: &str, definition: &Value) -> i64 {
    let now = chrono::Utc::now();
    let mut sql = Sql::new(
        "INSERT INTO rules (workspace_id, name, enabled, position, definition, created_at, updated_at) VALUES (",
    );
    sql.bind(workspace)
        .push(", ")
        .bind(name)
        .push(", ")
        .bind(true)
        .push(", 5, ")
        .bind(definition.to_string())
        .push(", ")
        .bind(now)
        .push(", ")
        .bind(now)
        .push(") RETURNING id");
    let id = s.db.insert_id(sql).await.unwrap();
    let mut moved = Sql::new("UPDATE workspaces SET rules_version = rules_version + 1 WHERE id = ");
    moved.bind(workspace);
    s.db.execute(moved).await.unwrap();
    id
}

fn comment_on(account: &str, id: &str, text: &str) -> Value {
    json!({"id": account, "time": chrono::Utc::now().timestamp(), "changes": [
        {"field": "comments", "value": {"id": id, "text": text,
         "from": {"id": "5550001", "username": "lisa"}, "media": {"id": format!("media-{account}")}}}]})
}

async fn unwritable_replies_are_held_back(s: &TestServer, sim: &Sim) {
    // B is the workspace stored first in a delivery (the lower id); A answers the price.
    let b = 1;
    let a = s.add_workspace("answers").await;
    let (admin_a, admin_b) = (
        s.api_client(&s.token_for(a, Scope::Admin).await),
        s.api_client(&s.token_for(b, Scope::Admin).await),
    );
    connect_verified(s, sim, &admin_a, IG_A).await;
    connect_verified(s, sim, &admin_b, IG_B).await;
    let (status, body) = create(
        s,
        &admin_a,
        json!({"name": "Prijs", "mode": "suggest",
        "conditions": [{"type": "keywords", "any": ["prijs"]}],
        "actions": [{"type": "reply", "variants": ["Dank je {{ author.username }}!"]}]}),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    let answering = body["id"].as_i64().unwrap();

    // A NUL is refused at save; one saved before that check is kept as it was.
    let nul = "Hoi{{ '\\u0000' }}";
    let (status, body) = create(
        s,
        &admin_b,
        json!({"name": "NUL", "conditions": [{"type": "keywords", "any": ["prijs"]}],
        "actions": [{"type": "reply", "variants": [nul]}]}),
    )
    .await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(
        body["problems"][0]["field"], "actions[0].variants[0]",
        "{body}"
    );
    let writes_nul = stored_before_the_checks(s, b, "NUL", nul).await;
    // Text and variables only, yet 200 copies of the comment: far past any reply's size.
    let (status, body) = create(
        s,
        &admin_b,
        json!({"name": "Echo", "mode": "suggest",
        "conditions": [{"type": "keywords", "any": ["prijs"]}],
        "actions": [{"type": "reply", "variants": ["{{ message.text }} ".repeat(200)]}]}),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    let echoes = body["id"].as_i64().unwrap();

    // One delivery, a comment for each workspace.
    let long = format!("Wat is de prijs? {}", "Echt waar. ".repeat(20));
    let delivery = serde_json::to_vec(&json!({"object": "instagram", "entry": [
        comment_on(IG_B, "18000000000000777", &long), comment_on(IG_A, "18000000000000888", "Wat is de prijs?")]})).unwrap();
    let (status, answer) = post(s, &delivery, signed(&delivery)).await;
    assert_eq!(
        (status, answer["created"].as_i64()),
        (200, Some(2)),
        "{answer}"
    );

    // A's comment is stored and answered.
    let sql = format!(
        "SELECT COUNT(*) FROM rule_runs WHERE rule_id = {answering} AND outcome = 'suggested'"
    );
    assert_eq!(number(s, &sql).await, 1);
    let (text,): (String,) =
        s.db.fetch_optional(Sql::new(format!(
            "SELECT text FROM messages WHERE workspace_id = {a} AND state = 'suggested'"
        )))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(text, "Dank je lisa!");

    // B's comment is stored, its rules held back as unrenderable, on the rules' own figures.
    let sql = format!(
        "SELECT COUNT(*) FROM messages WHERE workspace_id = {b} AND external_id = '18000000000000777'"
    );
    assert_eq!(number(s, &sql).await, 1);
    let sql = format!(
        "SELECT COUNT(*) FROM messages WHERE workspace_id = {b} AND direction = 'outbound'"
    );
    assert_eq!(number(s, &sql).await, 0, "no reply of B's was written");
    let rules = admin_b
        .get(s.url("/api/v1/rules"))
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap();
    for id in [writes_nul, echoes] {
        let rule = rules["rules"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["id"] == id)
            .unwrap();
        assert_eq!(
            rule["stats"]["suppressed"],
            json!({"unrenderable": 1}),
            "{rule}"
        );
    }
    let reasons: Vec<(String,)> =
        s.db.fetch_all(Sql::new(format!(
            "SELECT reason FROM rule_runs WHERE workspace_id = {b} ORDER BY rule_id"
        )))
        .await
        .unwrap();
    assert!(reasons[0].0.contains("NUL"), "{reasons:?}");
    assert!(reasons[1].0.contains("more than"), "{reasons:?}");
}

simulated_on_both_backends! {
    a_reply_that_cannot_be_stored_spoils_no_delivery(s, sim) with meta_at(&sim) => unwritable_replies_are_held_back(&s, &sim);
}

on_both_backends! {
    /// Rules whose keywords, phrases and expressions together pass the workspace's bound are
    /// refused, naming the field and the bound.
    async fn a_workspace_s_rules_are_bounded_together(s: &TestServer) {
        let admin = s.api_client(&s.token_for(1, Scope::Admin).await);
        let rule = |i: usize| json!({"name": format!("Long {i}"), "mode": "dry_run",
            "conditions": [{"type": "keywords", "any": (0..500).map(|k| format!("{i}-{k}-{}", "woord".repeat(9))).collect::<Vec<_>>()}],
            "actions": [{"type": "label", "label": "lang"}]});
        for i in 0..2 {
            let (status, body) = create(s, &admin, rule(i)).await;
            assert_eq!(status, 201, "{body}");
        }
        let (status, body) = create(s, &admin, rule(2)).await;
        assert_eq!(status, 422, "{body}");
        assert_eq!(body["problems"][0]["field"], "conditions", "{body}");
        assert!(body["problems"][0]["message"].as_str().unwrap().contains("at most 65536"), "{body}");
        assert_eq!(s.count("rules").await, 2);
    }

    /// A rule book stored before the bounds, with 400 expressions, takes seconds to compile:
    /// only its own workspace's batch waits for it. A's batch is sent once B's is on its way,
    /// and is stored while B's rules are still compiling.
    async fn a_heavy_rule_book_stalls_only_its_own_workspace(s: &TestServer) {
        let a = s.add_workspace("quick").await;
        let (client_a, client_b) = (
            s.api_client(&s.token_for(a, Scope::Write).await),
            s.client.clone(),
        );
        connect(s, &client_a, IG_A).await;
        connect(s, &client_b, IG_B).await;
        let conditions: Vec<Value> = (0..400)
            .map(|i| json!({"type": "regex", "pattern": format!(r"\bfoo{i}\w+bar\b")}))
            .collect();
        let body = json!({"name": "Heavy", "mode": "dry_run", "conditions": [{"type": "question"}],
            "actions": [{"type": "label", "label": "zwaar"}]});
        let mut definition = read_rule(&body).unwrap().definition;
        definition["conditions"] = json!(conditions);
        legacy_insert(s, 1, "Heavy", &definition).await;

        let batch = |account: &str, id: &str| json!([fresh(json!({"type": "message", "platform": "instagram",
            "channel": account, "kind": "dm", "external_id": id, "author": {"external_id": "5550003"}, "text": "hoi"}))]);
        let url = s.url("/api/v1/events");
        let b_batch = batch(IG_B, "b-1");
        let b_stored = tokio::spawn(async move { client_b.post(url).json(&b_batch).send().await.unwrap().status() });
        // B's batch is on its way (its rules take seconds to compile) before A's is sent.
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
        let r = client_a.post(s.url("/api/v1/events")).json(&batch(IG_A, "a-1")).send().await.unwrap();
        assert!(r.status().is_success(), "{}", r.text().await.unwrap());
        assert!(!b_stored.is_finished(), "A's batch waited for B's rules to compile");
        assert!(b_stored.await.unwrap().is_success());
        assert_eq!(number(s, "SELECT COUNT(*) FROM messages WHERE external_id IN ('a-1', 'b-1')").await, 2);
    }
}
