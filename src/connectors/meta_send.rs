//! Sending to Instagram and Facebook Pages through the Graph API: public replies, private
//! replies, DMs, likes, hiding and deleting; and finding a reply that may already be there.

use serde_json::{Value, json};

use super::calls::{
    Answer, Job, Outcome, Platforms, Refusal, by_status, call, id_of, made_since, time_of,
};
use crate::domain::{Deed, Platform};
use chrono::{DateTime, Utc};

/// Does `job` on Meta.
pub async fn send(p: &Platforms, job: &Job<'_>) -> Outcome {
    let token = match job.token() {
        Ok(t) => t,
        Err(o) => return o,
    };
    let base = &p.meta;
    let ig = job.platform == Platform::Instagram;
    let request = match job.deed {
        Deed::Reply => {
            let edge = if ig { "replies" } else { "comments" };
            p.http
                .post(format!("{base}/{}/{edge}", job.target))
                .form(&[("message", job.text())])
        }
        Deed::PrivateReply => p
            .http
            .post(format!("{base}/{}/messages", job.account))
            .json(
                &json!({"recipient": {"comment_id": job.target}, "message": {"text": job.text()}}),
            ),
        Deed::Dm => p
            .http
            .post(format!("{base}/{}/messages", job.account))
            .json(
                &json!({"recipient": {"id": job.target}, "message": {"text": job.text()},
                          "messaging_type": "RESPONSE"}),
            ),
        Deed::Hide | Deed::Unhide => {
            let field = if ig { "hide" } else { "is_hidden" };
            let value = if job.deed == Deed::Hide {
                "true"
            } else {
                "false"
            };
            p.http
                .post(format!("{base}/{}", job.target))
                .form(&[(field, value)])
        }
        Deed::Like => p.http.post(format!("{base}/{}/likes", job.target)),
        Deed::Delete => p.http.delete(format!("{base}/{}", job.target)),
    };
    let answer = match call(request.bearer_auth(token)).await {
        Ok(a) => a,
        Err(o) => return o,
    };
    if answer.status < 300 {
        let id = id_of(&answer.body["id"]).or_else(|| id_of(&answer.body["message_id"]));
        return Outcome::Done { platform_id: id };
    }
    refusal(Some(job.deed), &answer)
}

/// Meta's error codes, as the Graph API documents them, for a send of `deed` or (`None`) a
/// read.
pub(super) fn refusal(deed: Option<Deed>, answer: &Answer) -> Outcome {
    let error = &answer.body["error"];
    let code = error["code"].as_i64().unwrap_or_default();
    let sub = error["error_subcode"].as_i64().unwrap_or_default();
    let reason = format!(
        "Meta {} (code {code}{}): {}",
        answer.status,
        if sub != 0 {
            format!(", subcode {sub}")
        } else {
            String::new()
        },
        error["message"].as_str().unwrap_or("no message")
    );
    match code {
        // A private reply allows one per comment: a second one says it was done already.
        10900 if deed == Some(Deed::PrivateReply) => Outcome::Done { platform_id: None },
        100 if sub == 33 && deed == Some(Deed::Delete) => Outcome::Done { platform_id: None },
        190 | 102 => Outcome::refused(Refusal::Token, reason),
        4 | 17 | 32 | 613 | 80001..=80009 => Outcome::limited(answer.retry_after, reason),
        // "Unknown error", "service unavailable": it may have happened.
        1 | 2 => Outcome::Unknown { reason },
        368 => Outcome::refused(Refusal::Spam, reason),
        10 if sub == 2018278 => Outcome::refused(Refusal::Window, reason),
        100 if sub == 33 => Outcome::refused(Refusal::Gone, reason),
        551 => Outcome::refused(Refusal::Gone, reason),
        _ => by_status(answer, reason),
    }
}

/// Looks on Meta for what `job` would make, in case an earlier attempt made it: the ids of our
/// replies with this text under the comment, or our DMs with this text in the conversation.
/// Private replies need no look (the platform refuses a second one, which counts as done),
/// and likes, hiding and deleting may simply be done again.
pub async fn find(
    p: &Platforms,
    job: &Job<'_>,
    since: DateTime<Utc>,
) -> Result<Vec<String>, Outcome> {
    let token = job.token()?;
    let base = &p.meta;
    let ig = job.platform == Platform::Instagram;
    let (request, list): (_, fn(&Value) -> Vec<&Value>) = match job.deed {
        Deed::Reply => {
            let (edge, fields) = if ig {
                ("replies", "id,text,from,timestamp")
            } else {
                ("comments", "id,message,from,created_time")
            };
            let request = p
                .http
                .get(format!("{base}/{}/{edge}", job.target))
                // Newest first: an earlier attempt's reply is recent, and a busy comment's
                // first page would otherwise hold only its oldest replies.
                .query(&[
                    ("fields", fields),
                    ("limit", "100"),
                    ("order", "reverse_chronological"),
                ]);
            (request, |body| items(&body["data"]))
        }
        Deed::Dm => {
            let request = p
                .http
                .get(format!("{base}/{}/conversations", job.account))
                .query(&[
                    ("user_id", job.target),
                    ("fields", "messages{id,message,from,created_time}"),
                ]);
            (request, |body| {
                items(&body["data"])
                    .into_iter()
                    .flat_map(|c| items(&c["messages"]["data"]))
                    .collect()
            })
        }
        _ => return Ok(Vec::new()),
    };
    let answer = call(request.bearer_auth(token)).await?;
    if answer.status >= 300 {
        return Err(refusal(Some(job.deed), &answer));
    }
    let found = list(&answer.body).into_iter().filter(|item| {
        let text = item["text"].as_str().or(item["message"].as_str());
        let from = id_of(&item["from"]["id"]).unwrap_or_default();
        let made = time_of(&item["timestamp"]).or_else(|| time_of(&item["created_time"]));
        text == Some(job.text()) && job.is_us(&from) && made_since(made, since)
    });
    Ok(found.filter_map(|item| id_of(&item["id"])).collect())
}

fn items(value: &Value) -> Vec<&Value> {
    value
        .as_array()
        .map(|a| a.iter().collect())
        .unwrap_or_default()
}
