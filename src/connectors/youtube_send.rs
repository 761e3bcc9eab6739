//! Sending to YouTube through the Data API: replies under top-level comments (50 quota units
//! each), and finding a reply that may already be there (1 unit).

use serde_json::json;

use super::calls::{
    Answer, Job, Outcome, Platforms, Refusal, by_status, call, id_of, made_since, time_of,
};
use crate::domain::Deed;
use chrono::{DateTime, Utc};

/// Quota units a call costs.
pub fn cost(deed: Deed, listing: bool) -> i64 {
    match (deed, listing) {
        (_, true) => 1,
        _ => 50,
    }
}

/// Does `job` on YouTube.
pub async fn send(p: &Platforms, job: &Job<'_>) -> Outcome {
    let token = match job.token() {
        Ok(t) => t,
        Err(o) => return o,
    };
    if job.deed != Deed::Reply {
        return Outcome::refused(
            Refusal::Invalid,
            "YouTube's API cannot do this to a comment",
        );
    }
    let request = p
        .http
        .post(format!("{}/comments", p.youtube))
        .query(&[("part", "snippet")])
        .bearer_auth(token)
        .json(&json!({"snippet": {"parentId": job.target, "textOriginal": job.text()}}));
    match call(request).await {
        Ok(a) if a.status < 300 => Outcome::Done {
            platform_id: id_of(&a.body["id"]),
        },
        Ok(a) => refusal(&a),
        Err(o) => o,
    }
}

/// YouTube's error reasons (for sends and reads alike).
pub(super) fn refusal(answer: &Answer) -> Outcome {
    let error = &answer.body["error"];
    let why = error["errors"][0]["reason"].as_str().unwrap_or_default();
    let reason = format!(
        "YouTube {} ({why}): {}",
        answer.status,
        error["message"].as_str().unwrap_or("no message")
    );
    match why {
        "quotaExceeded" | "dailyLimitExceeded" => {
            Outcome::limited(Some(until_quota_reset(crate::clock::now())), reason)
        }
        "rateLimitExceeded" | "userRateLimitExceeded" => {
            Outcome::limited(answer.retry_after, reason)
        }
        "authError" | "forbidden" if answer.status == 401 => {
            Outcome::refused(Refusal::Token, reason)
        }
        "commentNotFound" | "parentCommentIsPrivate" | "notFound" => {
            Outcome::refused(Refusal::Gone, reason)
        }
        "commentTextTooLong"
        | "operationNotSupported"
        | "invalidCommentMetadata"
        | "processingFailure" => Outcome::refused(Refusal::Invalid, reason),
        _ => by_status(answer, reason),
    }
}

/// How long until the quota resets: midnight in Pacific time.
pub fn until_quota_reset(now: chrono::DateTime<chrono::Utc>) -> std::time::Duration {
    use chrono::TimeZone;
    let pacific = now.with_timezone(&chrono_tz::America::Los_Angeles);
    let tomorrow = pacific
        .date_naive()
        .succ_opt()
        .unwrap_or(pacific.date_naive());
    let reset = chrono_tz::America::Los_Angeles
        .from_local_datetime(&tomorrow.and_hms_opt(0, 0, 0).unwrap_or_default())
        .earliest()
        .map(|t| t.with_timezone(&chrono::Utc))
        .unwrap_or(now + chrono::Duration::hours(24));
    (reset - now).to_std().unwrap_or_default()
}

/// The Pacific date whose quota a call now counts against.
pub fn quota_day(now: chrono::DateTime<chrono::Utc>) -> String {
    now.with_timezone(&chrono_tz::America::Los_Angeles)
        .date_naive()
        .to_string()
}

/// Looks for our reply with this text under the comment.
pub async fn find(
    p: &Platforms,
    job: &Job<'_>,
    since: DateTime<Utc>,
) -> Result<Vec<String>, Outcome> {
    if job.deed != Deed::Reply {
        return Ok(Vec::new());
    }
    let token = job.token()?;
    let request = p
        .http
        .get(format!("{}/comments", p.youtube))
        .query(&[
            ("part", "snippet"),
            ("parentId", job.target),
            ("maxResults", "100"),
            ("textFormat", "plainText"),
        ])
        .bearer_auth(token);
    let answer = call(request).await?;
    if answer.status >= 300 {
        return Err(refusal(&answer));
    }
    let ours = answer.body["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|c| {
            let s = &c["snippet"];
            let author = s["authorChannelId"]["value"].as_str().unwrap_or_default();
            s["textOriginal"].as_str() == Some(job.text())
                && job.is_us(author)
                && made_since(time_of(&s["publishedAt"]), since)
        });
    Ok(ours.filter_map(|c| id_of(&c["id"])).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_quota_resets_at_midnight_pacific() {
        let now = chrono::DateTime::parse_from_rfc3339("2026-11-26T07:00:00Z")
            .unwrap()
            .with_timezone(&chrono::Utc);
        // 23:00 the day before in Los Angeles (UTC−8): an hour to go.
        assert_eq!(until_quota_reset(now).as_secs(), 3600);
        assert_eq!(quota_day(now), "2026-11-25");
    }
}
