//! Sending to TikTok through the API for Business: replies (150 characters at most), likes,
//! hiding and deleting our own comments; and finding a reply that may already be there.
//! Every answer is an envelope `{"code", "message", "request_id", "data"}`; `code` 0 is success.

use serde_json::{Value, json};

use super::calls::{Answer, Job, Outcome, Platforms, Refusal, by_status, call, id_of, made_since};
use crate::domain::Deed;
use chrono::{DateTime, Utc};

/// TikTok's longest reply, in characters.
pub const MAX_REPLY_CHARS: usize = 150;

fn business<'a>(job: &'a Job<'_>) -> &'a str {
    job.credential("business_id").unwrap_or(job.account)
}

/// Does `job` on TikTok.
pub async fn send(p: &Platforms, job: &Job<'_>) -> Outcome {
    let token = match job.token() {
        Ok(t) => t,
        Err(o) => return o,
    };
    let business = business(job);
    let video = job.video.unwrap_or_default();
    let (path, body) = match job.deed {
        Deed::Reply => {
            if job.text().chars().count() > MAX_REPLY_CHARS {
                return Outcome::refused(
                    Refusal::Invalid,
                    format!("TikTok takes replies of at most {MAX_REPLY_CHARS} characters"),
                );
            }
            (
                "comment/reply/create/",
                json!({"business_id": business, "video_id": video, "comment_id": job.target,
                       "text": job.text()}),
            )
        }
        Deed::Like => (
            "comment/like/",
            json!({"business_id": business, "comment_id": job.target, "action": "LIKE"}),
        ),
        Deed::Hide | Deed::Unhide => (
            "comment/hide/",
            json!({"business_id": business, "video_id": video, "comment_id": job.target,
                   "action": if job.deed == Deed::Hide { "HIDE" } else { "UNHIDE" }}),
        ),
        Deed::Delete => (
            "comment/delete/",
            json!({"business_id": business, "comment_id": job.target}),
        ),
        Deed::PrivateReply | Deed::Dm => {
            return Outcome::refused(Refusal::Invalid, "TikTok's API cannot send this");
        }
    };
    let request = p
        .http
        .post(format!("{}/business/{path}", p.tiktok))
        .header("Access-Token", token)
        .json(&body);
    let answer = match call(request).await {
        Ok(a) => a,
        Err(o) => return o,
    };
    match envelope(&answer) {
        // Deleting what is gone is done (an earlier attempt may have deleted it).
        Err(Outcome::Refused {
            why: Refusal::Gone, ..
        }) if job.deed == Deed::Delete => Outcome::Done { platform_id: None },
        Ok(data) => Outcome::Done {
            platform_id: id_of(&data["comment_id"]).or_else(|| id_of(&data["reply_id"])),
        },
        Err(o) => o,
    }
}

/// The envelope's data, or what its code means.
pub(crate) fn envelope(answer: &Answer) -> Result<&Value, Outcome> {
    let code = answer.body["code"].as_i64();
    let reason = format!(
        "TikTok {} (code {}): {}",
        answer.status,
        code.map_or_else(|| "none".to_owned(), |c| c.to_string()),
        answer.body["message"].as_str().unwrap_or("no message")
    );
    match code {
        Some(0) if answer.status < 300 => Ok(&answer.body["data"]),
        _ if answer.status == 429 => Err(Outcome::limited(answer.retry_after, reason)),
        Some(40100) => Err(Outcome::limited(answer.retry_after, reason)),
        Some(40104 | 40105) => Err(Outcome::refused(Refusal::Token, reason)),
        Some(40006 | 40007) => Err(Outcome::refused(Refusal::Gone, reason)),
        Some(50000..) => Err(Outcome::Unknown { reason }),
        Some(_) if answer.status < 300 => Err(Outcome::refused(Refusal::Invalid, reason)),
        _ => Err(by_status(answer, reason)),
    }
}

/// Looks for our reply with this text under the comment (the replies listing).
pub async fn find(
    p: &Platforms,
    job: &Job<'_>,
    since: DateTime<Utc>,
) -> Result<Vec<String>, Outcome> {
    if job.deed != Deed::Reply {
        return Ok(Vec::new());
    }
    let mut found = Vec::new();
    let token = job.token()?;
    let mut cursor = 0_u64;
    // A comment's replies, newest pages first, up to a few hundred.
    for _ in 0..10 {
        let request = p
            .http
            .get(format!("{}/business/comment/reply/list/", p.tiktok))
            .header("Access-Token", token)
            .query(&[
                ("business_id", business(job)),
                ("video_id", job.video.unwrap_or_default()),
                ("comment_id", job.target),
                ("cursor", &cursor.to_string()),
                ("max_count", "30"),
            ]);
        let answer = call(request).await?;
        let data = envelope(&answer)?;
        let ours = data["comments"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|c| {
                let author = id_of(&c["user_id"]).unwrap_or_default();
                let made = c["create_time"]
                    .as_i64()
                    .and_then(|s| DateTime::from_timestamp(s, 0));
                c["text"].as_str() == Some(job.text())
                    && (c["owner"].as_bool() == Some(true) || job.is_us(&author))
                    && made_since(made, since)
            });
        found.extend(ours.filter_map(|c| id_of(&c["comment_id"])));
        if data["has_more"].as_bool() != Some(true) {
            return Ok(found);
        }
        cursor = data["cursor"].as_u64().unwrap_or(cursor + 30);
    }
    Err(Outcome::retry("too many replies to look through"))
}
