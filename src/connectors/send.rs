//! Sending a job to whichever platform it is for.

use super::calls::{Job, Outcome, Platforms, Refusal};
use super::{meta_send, tiktok_send, youtube_send};
use crate::domain::Platform;

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
/// platform that looks like it (the caller leaves out those another send already made).
/// Empty when it is not there, or when doing it again is harmless.
pub async fn find(p: &Platforms, job: &Job<'_>) -> Result<Vec<String>, Outcome> {
    match job.platform {
        Platform::Instagram | Platform::Facebook => meta_send::find(p, job).await,
        Platform::Tiktok => tiktok_send::find(p, job).await,
        Platform::Youtube => youtube_send::find(p, job).await,
        Platform::Custom => Ok(Vec::new()),
    }
}
