//! A rule for an author's first message fires for that message only: the first of a batch, not
//! a later one in the same batch, and not the author's next comment in a later batch.

use crate::automation::{create_rule, fresh};
use crate::common::*;
use serde_json::{Value, json};

/// A comment by `author` (an account on the platform).
fn by(author: &str, id: &str) -> Value {
    let mut e = fresh(comment(id, "nice video"));
    e["author"] = json!({"external_id": author, "username": author, "display_name": author});
    e
}

/// The comments a run of a rule was made for, in order.
async fn fired_for(s: &TestServer) -> Vec<String> {
    let rows: Vec<(String,)> =
        s.db.fetch_all(unibox::storage::Sql::new(
            "SELECT m.external_id FROM rule_runs r JOIN messages m ON m.id = r.message_id \
             ORDER BY m.external_id",
        ))
        .await
        .unwrap();
    rows.into_iter().map(|(id,)| id).collect()
}

on_both_backends! {
    async fn a_first_message_rule_welcomes_each_author_once(s: &TestServer) {
        create_rule(s, json!({
            "name": "Welcome", "mode": "dry_run", "delay_seconds": 0,
            "conditions": [{"type": "first_message"}],
            "actions": [{"type": "reply", "variants": ["Welcome, {{ author.username }}!"]}],
        })).await;
        // Two authors' first comments, and a second one by the first author in the same batch.
        s.ingest(json!([by("anna", "a1"), by("bram", "b1"), by("anna", "a2")])).await;
        assert_eq!(fired_for(s).await, ["a1", "b1"]);
        // Later batches: a newcomer is welcomed; those already here are not, again.
        s.ingest(json!([by("anna", "a3"), by("cas", "c1")])).await;
        s.ingest(json!([by("bram", "b2")])).await;
        assert_eq!(fired_for(s).await, ["a1", "b1", "c1"]);
        // Our own comment fires nothing; cas's second is no first message.
        let mut ours = by("acme_official", "o1");
        ours["direction"] = json!("outbound");
        s.ingest(json!([ours, by("cas", "c2")])).await;
        assert_eq!(fired_for(s).await, ["a1", "b1", "c1"]);
    }
}
