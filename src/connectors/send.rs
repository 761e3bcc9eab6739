//! Sending a job to whichever platform it is for.

use super::calls::{Job, Outcome, Platforms, Refusal};
use super::{meta_send, tiktok_send, youtube_send};
use crate::domain::Platform;
use chrono::{DateTime, Utc};

/// Does `job` on its platform.
pub async fn send(p: &Platforms, job: &Job<'_>) -> Outcome {
    match job.platform {
        Platform::Instagram | Platform::Facebook => meta_send::send(p, job).await,
        Platform::Tiktok => tiktok_send::send(p, job).await,
        Platform::Youtube => youtube_send::send(p, job).await,
        Platform::Custom => Outcome::refused(
            Refusal::Invalid,
            "a custom channel has no platform to send to; its replies are read through the API",
        ),
    }
}

/// What an earlier attempt at `job` may have made: the ids of everything of ours on the
/// platform that looks like it and was made after `since` (when the row was queued), so that
/// an identical reply written earlier, by a person or a rule, is never taken for this one.
/// The caller leaves out those another send already made. Empty when it is not there, or when
/// doing it again is harmless: the caller then sends again.
pub async fn find(
    p: &Platforms,
    job: &Job<'_>,
    since: DateTime<Utc>,
) -> Result<Vec<String>, Outcome> {
    let since = since - CLOCK_SKEW;
    match job.platform {
        Platform::Instagram | Platform::Facebook => meta_send::find(p, job, since).await,
        Platform::Tiktok => tiktok_send::find(p, job, since).await,
        Platform::Youtube => youtube_send::find(p, job, since).await,
        Platform::Custom => Ok(Vec::new()),
    }
}

/// How far the platforms' clocks (and their whole seconds) may be behind ours.
const CLOCK_SKEW: chrono::Duration = chrono::Duration::seconds(5);
