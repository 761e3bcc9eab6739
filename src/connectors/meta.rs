//! Meta webhooks (Instagram and Facebook Pages) in their real format, turned into ingest
//! events: comments (`changes` of field `comments`, `live_comments` or `feed`) and DMs
//! (`messaging`). One POST may carry several entries with several changes or messages each;
//! each becomes its own event. Our own comments and echoes of our own DMs are outbound.

use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::domain::{Direction, Kind, Platform};
use crate::ingest::{AuthorRef, Event, MessageEvent, VideoRef};
use crate::problem::Problem;

/// One event for the account (Instagram account or Page id) it belongs to.
#[derive(Debug, Clone)]
pub struct Delivery {
    pub platform: Platform,
    pub account: String,
    /// The event, whose channel is the account.
    pub event: Event,
}

/// What a webhook carried: the events, and how many items were not messages (reactions,
/// edits, read receipts…), which are acknowledged and left alone.
#[derive(Debug, Default)]
pub struct Translated {
    pub deliveries: Vec<Delivery>,
    pub ignored: usize,
}

fn text_at<'a>(v: &'a Value, field: &str) -> Option<&'a str> {
    v.get(field)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
}

/// Platform ids are strings; some payloads carry them as numbers.
fn id_at(v: &Value, field: &str) -> Option<String> {
    match v.get(field)? {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) if n.is_u64() => Some(n.to_string()),
        _ => None,
    }
}

/// The list at `field`: absent or null is an empty list, anything else but a list a problem.
fn list_at<'a>(v: &'a Value, field: &str, path: &str, problems: &mut Vec<Problem>) -> &'a [Value] {
    match v.get(field) {
        None | Some(Value::Null) => &[],
        Some(Value::Array(items)) => items,
        Some(_) => {
            problems.push(Problem::new(format!("{path}.{field}"), "must be a list"));
            &[]
        }
    }
}

fn time_from_seconds(v: Option<&Value>) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp(v?.as_i64()?, 0)
}

fn time_from_millis(v: Option<&Value>) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp_millis(v?.as_i64()?)
}

pub fn translate(body: &Value) -> Result<Translated, Vec<Problem>> {
    let mut problems = Vec::new();
    let platform = match body.get("object").and_then(Value::as_str) {
        Some("instagram") => Platform::Instagram,
        Some("page") => Platform::Facebook,
        _ => {
            return Err(vec![Problem::new(
                "object",
                "must be \"instagram\" or \"page\"",
            )]);
        }
    };
    let Some(entries) = body.get("entry").and_then(Value::as_array) else {
        return Err(vec![Problem::new("entry", "must be a list of entries")]);
    };
    let mut out = Translated::default();
    for (e, entry) in entries.iter().enumerate() {
        let path = format!("entry[{e}]");
        let Some(account) = id_at(entry, "id") else {
            problems.push(Problem::new(
                format!("{path}.id"),
                "is required: the account's id",
            ));
            continue;
        };
        let entry_time = time_from_seconds(entry.get("time"));
        for (c, change) in list_at(entry, "changes", &path, &mut problems)
            .iter()
            .enumerate()
        {
            let path = format!("{path}.changes[{c}]");
            let field = change.get("field").and_then(Value::as_str).unwrap_or("");
            let value = change.get("value").unwrap_or(&Value::Null);
            let event = match (platform, field) {
                (Platform::Instagram, "comments" | "live_comments") => {
                    instagram_comment(&account, value, entry_time, &path, &mut problems)
                }
                (Platform::Facebook, "feed")
                    if value.get("item").and_then(Value::as_str) == Some("comment")
                        && value.get("verb").and_then(Value::as_str) == Some("add") =>
                {
                    page_comment(&account, value, &path, &mut problems)
                }
                _ => {
                    out.ignored += 1;
                    continue;
                }
            };
            if let Some(event) = event {
                out.deliveries.push(Delivery {
                    platform,
                    account: account.clone(),
                    event: Event::Message(event),
                });
            }
        }
        for (m, item) in list_at(entry, "messaging", &path, &mut problems)
            .iter()
            .enumerate()
        {
            let path = format!("{path}.messaging[{m}]");
            if item.get("message").is_none() {
                // Delivery and read receipts, postbacks, reactions.
                out.ignored += 1;
                continue;
            }
            if let Some(event) = direct_message(platform, &account, item, &path, &mut problems) {
                out.deliveries.push(Delivery {
                    platform,
                    account: account.clone(),
                    event: Event::Message(event),
                });
            }
        }
    }
    if problems.is_empty() {
        Ok(out)
    } else {
        Err(problems)
    }
}

fn require<T>(v: Option<T>, path: &str, field: &str, problems: &mut Vec<Problem>) -> Option<T> {
    if v.is_none() {
        problems.push(Problem::new(format!("{path}.{field}"), "is required"));
    }
    v
}

fn instagram_comment(
    account: &str,
    value: &Value,
    entry_time: Option<DateTime<Utc>>,
    path: &str,
    problems: &mut Vec<Problem>,
) -> Option<MessageEvent> {
    let path = format!("{path}.value");
    let id = require(id_at(value, "id"), &path, "id", problems);
    let text = require(text_at(value, "text"), &path, "text", problems);
    let from = value.get("from").unwrap_or(&Value::Null);
    let author = require(id_at(from, "id"), &path, "from.id", problems);
    let media = value.get("media").unwrap_or(&Value::Null);
    let media_id = require(id_at(media, "id"), &path, "media.id", problems);
    let (id, text, author, media_id) = (id?, text?, author?, media_id?);
    Some(MessageEvent {
        platform: Platform::Instagram,
        channel: account.to_owned(),
        kind: Kind::Comment,
        parent_external_id: id_at(value, "parent_id"),
        external_id: id,
        video: Some(VideoRef::id(media_id)),
        // Our own comments come back too: written by the account itself.
        direction: Some(Direction::ours(author == account)),
        author: AuthorRef {
            username: text_at(from, "username").map(str::to_owned),
            ..AuthorRef::id(author)
        },
        recipient: None,
        text: text.to_owned(),
        created_at: entry_time.unwrap_or_else(crate::clock::now),
    })
}

fn page_comment(
    account: &str,
    value: &Value,
    path: &str,
    problems: &mut Vec<Problem>,
) -> Option<MessageEvent> {
    let path = format!("{path}.value");
    let id = require(id_at(value, "comment_id"), &path, "comment_id", problems);
    let post = require(id_at(value, "post_id"), &path, "post_id", problems);
    let text = require(text_at(value, "message"), &path, "message", problems);
    let from = value.get("from").unwrap_or(&Value::Null);
    let author = require(id_at(from, "id"), &path, "from.id", problems);
    let (id, post, text, author) = (id?, post?, text?, author?);
    let created = time_from_seconds(value.get("created_time")).unwrap_or_else(crate::clock::now);
    Some(MessageEvent {
        platform: Platform::Facebook,
        channel: account.to_owned(),
        kind: Kind::Comment,
        external_id: id,
        // A top-level comment names the post as its parent.
        parent_external_id: id_at(value, "parent_id").filter(|p| *p != post),
        video: Some(VideoRef::id(post)),
        direction: Some(Direction::ours(author == account)),
        author: AuthorRef {
            display_name: text_at(from, "name").map(str::to_owned),
            ..AuthorRef::id(author)
        },
        recipient: None,
        text: text.to_owned(),
        created_at: created,
    })
}

fn direct_message(
    platform: Platform,
    account: &str,
    item: &Value,
    path: &str,
    problems: &mut Vec<Problem>,
) -> Option<MessageEvent> {
    let message = &item["message"];
    let sender = require(id_at(&item["sender"], "id"), path, "sender.id", problems);
    let recipient = require(
        id_at(&item["recipient"], "id"),
        path,
        "recipient.id",
        problems,
    );
    let id = require(id_at(message, "mid"), path, "message.mid", problems);
    let (sender, recipient, id) = (sender?, recipient?, id?);
    let text = match text_at(message, "text") {
        Some(t) => t.to_owned(),
        None => {
            let kinds: Vec<&str> = message["attachments"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|a| a.get("type").and_then(Value::as_str))
                .collect();
            if kinds.is_empty() {
                format!("[{}]", "message without text")
            } else {
                format!("[{}]", kinds.join(", "))
            }
        }
    };
    let echo = message.get("is_echo").and_then(Value::as_bool) == Some(true) || sender == account;
    let created = time_from_millis(item.get("timestamp")).unwrap_or_else(crate::clock::now);
    Some(MessageEvent {
        platform,
        channel: account.to_owned(),
        kind: Kind::Dm,
        external_id: id,
        parent_external_id: None,
        video: None,
        author: AuthorRef::id(sender),
        recipient: echo.then(|| AuthorRef::id(recipient)),
        direction: Some(Direction::ours(echo)),
        text,
        created_at: created,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn message(d: &Delivery) -> &MessageEvent {
        match &d.event {
            Event::Message(m) => m,
            other => panic!("not a message: {other:?}"),
        }
    }

    #[test]
    fn several_entries_and_changes_each_become_an_event() {
        let body = json!({"object": "instagram", "entry": [
            {"id": "1784", "time": 1_764_000_000, "changes": [
                {"field": "comments", "value": {"id": "c1", "text": "Prijs?", "from": {"id": "u1", "username": "lisa"},
                 "media": {"id": "m1", "media_product_type": "REELS"}}},
                {"field": "comments", "value": {"id": "c2", "text": "Staat in de bio", "parent_id": "c1",
                 "from": {"id": "1784", "username": "acme"}, "media": {"id": "m1"}}},
                {"field": "mentions", "value": {}}]},
            {"id": "1784", "time": 1_764_000_100, "messaging": [
                {"sender": {"id": "u2"}, "recipient": {"id": "1784"}, "timestamp": 1_764_000_100_123_i64,
                 "message": {"mid": "mid.1", "text": "Hoi!"}},
                {"sender": {"id": "1784"}, "recipient": {"id": "u2"}, "timestamp": 1_764_000_200_000_i64,
                 "message": {"mid": "mid.2", "text": "Hallo", "is_echo": true}},
                {"sender": {"id": "u2"}, "recipient": {"id": "1784"}, "timestamp": 1_764_000_300_000_i64,
                 "read": {"mid": "mid.2"}}]}]});
        let t = translate(&body).unwrap();
        assert_eq!(t.deliveries.len(), 4);
        assert_eq!(t.ignored, 2);
        let e: Vec<&MessageEvent> = t.deliveries.iter().map(message).collect();
        assert_eq!(e[0].direction, Some(Direction::Inbound));
        assert_eq!(e[1].direction, Some(Direction::Outbound), "our own comment");
        assert_eq!(e[1].parent_external_id.as_deref(), Some("c1"));
        assert_eq!(e[2].kind, Kind::Dm);
        assert_eq!(e[3].direction, Some(Direction::Outbound), "an echo");
        assert_eq!(e[3].recipient.as_ref().unwrap().external_id, "u2");
        assert_eq!(
            e[2].created_at.to_rfc3339(),
            "2025-11-24T16:01:40.123+00:00"
        );
    }

    #[test]
    fn page_comments_and_missing_fields() {
        let body = json!({"object": "page", "entry": [{"id": "p1", "time": 1, "changes": [
            {"field": "feed", "value": {"item": "comment", "verb": "add", "comment_id": "p1_c1", "post_id": "p1_post",
             "parent_id": "p1_post", "from": {"id": "u9", "name": "Sam"}, "message": "Nice", "created_time": 1_764_000_000}},
            {"field": "feed", "value": {"item": "reaction", "verb": "add"}}]}]});
        let t = translate(&body).unwrap();
        assert_eq!(t.deliveries.len(), 1);
        assert!(
            message(&t.deliveries[0]).parent_external_id.is_none(),
            "a top-level comment"
        );
        let broken = json!({"object": "instagram", "entry": [{"id": "1", "changes": [
            {"field": "comments", "value": {"text": "x", "from": {"id": "u"}, "media": {"id": "m"}}}]}]});
        let problems = translate(&broken).unwrap_err();
        assert_eq!(problems[0].field, "entry[0].changes[0].value.id");
        assert!(translate(&json!({"object": "whatsapp"})).is_err());
    }

    #[test]
    fn changes_and_messaging_must_be_lists() {
        for (field, value) in [
            ("changes", json!({"field": "comments"})),
            ("changes", json!("comments")),
            ("messaging", json!({"message": {"mid": "m1"}})),
            ("messaging", json!(7)),
        ] {
            let body = json!({"object": "instagram", "entry": [{"id": "1", field: value}]});
            let problems = translate(&body).unwrap_err();
            assert_eq!(problems[0].field, format!("entry[0].{field}"), "{body}");
            assert_eq!(problems[0].message, "must be a list");
        }
        let empty = json!({"object": "page", "entry": [{"id": "1", "changes": null}]});
        assert_eq!(translate(&empty).unwrap().deliveries.len(), 0);
    }
}
