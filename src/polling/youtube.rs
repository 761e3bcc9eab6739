//! YouTube's comment threads, newest first, a few pages per round: a sweep goes back until it
//! meets what the previous sweep saw; a sweep stopped by the quota keeps its page token and
//! resumes after the daily reset.

use super::cursors::{self, Cursor};
use super::{Polled, Poller, store};
use crate::connectors::calls::{Outcome, Refusal};
use crate::connectors::channels::Connected;
use crate::connectors::youtube::threads;
use crate::connectors::youtube_send::until_quota_reset;
use crate::outbox::quota;

const SCOPE: &str = "youtube:threads";
/// Pages read per round and channel (a unit each).
const PAGES: usize = 5;

pub async fn comments(p: &Poller, channel: &Connected) -> Polled {
    let token = channel.credential("access_token").unwrap_or_default();
    let db_error = |e: sqlx::Error| Outcome::retry(format!("database: {e}"));
    let mut cursor: Cursor = cursors::load(&p.db, channel.id, SCOPE)
        .await
        .map_err(db_error)?;
    let mut stored = 0;
    for _ in 0..PAGES {
        let now = crate::clock::now();
        if !quota::spend(&p.db, 1, now).await.map_err(db_error)? {
            cursors::save(&p.db, channel.id, SCOPE, &cursor)
                .await
                .map_err(db_error)?;
            return Err(Outcome::limited(
                Some(until_quota_reset(now)),
                "YouTube's daily quota is spent; polling resumes after midnight Pacific time",
            ));
        }
        let page = match threads(
            &p.platforms,
            token,
            &channel.platform_id,
            cursor.page_token.as_deref(),
        )
        .await
        {
            Ok(page) => page,
            Err(o) => {
                // A page token YouTube no longer takes would stop the sweep for good: the
                // next round starts again from the top.
                if matches!(
                    o,
                    Outcome::Refused {
                        why: Refusal::Invalid,
                        ..
                    }
                ) {
                    cursor.page_token = None;
                    cursor.sweep_top = None;
                }
                cursors::save(&p.db, channel.id, SCOPE, &cursor)
                    .await
                    .map_err(db_error)?;
                return Err(o);
            }
        };
        stored += store(p, channel.workspace_id, page.events).await?;
        let newest = page.published.iter().max().copied();
        cursor.sweep_top = cursor.sweep_top.max(newest);
        let reached = cursor
            .high_water
            .is_some_and(|seen| page.published.iter().any(|t| *t <= seen));
        match page.next {
            Some(next) if !reached => cursor.page_token = Some(next),
            _ => {
                cursor.high_water = cursor.high_water.max(cursor.sweep_top.take());
                cursor.page_token = None;
                break;
            }
        }
    }
    cursor.polled_at = Some(crate::clock::now());
    cursors::save(&p.db, channel.id, SCOPE, &cursor)
        .await
        .map_err(db_error)?;
    Ok(stored)
}
