//! Names for the people a platform's webhook named only by id: the senders of Instagram and
//! Messenger DMs. Each round asks the platform's profile API about the newest unnamed
//! contacts of every verified Meta channel, within the account's read budget
//! (`outbox::limits`), and stores the name on the contact, where every page and template
//! reads it. A person who set no name is asked again after a week; a platform that is busy
//! or down is asked again next round.

use std::time::Instant;

use chrono::{DateTime, Utc};

use super::Poller;
use crate::connectors::calls::{Outcome, ReadBudget, Refusal};
use crate::connectors::channels::{Connected, connected};
use crate::connectors::profiles::{PROFILE_READS, Profile, profile};
use crate::domain::Platform;
use crate::storage::Sql;

/// Unnamed contacts asked about per channel and round, newest first.
const PER_ROUND: i64 = 30;
/// How long a contact the platform gave no name for waits before it is asked again.
const ASK_AGAIN: chrono::Duration = chrono::Duration::days(7);

/// One round over every verified Meta channel; how many contacts got a name.
pub async fn name_contacts(p: &Poller) -> usize {
    let mut named = 0;
    for platform in [Platform::Instagram, Platform::Facebook] {
        let channels = match connected(&p.db, platform, None).await {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!(error = %e, "cannot read the channels whose contacts to name");
                return named;
            }
        };
        for channel in &channels {
            if p.stopping() {
                return named;
            }
            match name_channel(p, platform, channel).await {
                Ok(n) => named += n,
                Err(e) => tracing::warn!(error = %e, channel = channel.id, "cannot name contacts"),
            }
        }
    }
    named
}

/// Asks about `channel`'s newest unnamed contacts until its budget or the platform says stop.
async fn name_channel(
    p: &Poller,
    platform: Platform,
    channel: &Connected,
) -> Result<usize, sqlx::Error> {
    let Some(token) = channel.credential("access_token") else {
        return Ok(0);
    };
    let now = crate::clock::now();
    let mut sql = Sql::new("SELECT id, external_id FROM contacts WHERE channel_id = ");
    sql.bind(channel.id)
        .push(" AND username IS NULL AND display_name IS NULL AND (profile_asked_at IS NULL OR profile_asked_at < ")
        .bind(now - ASK_AGAIN)
        .push(") ORDER BY id DESC LIMIT ")
        .bind(PER_ROUND);
    let unnamed: Vec<(i64, String)> = p.db.fetch_all(sql).await?;
    let mut named = 0;
    for (contact, person) in unnamed {
        if p.stopping() {
            break;
        }
        if channel.own_author_id.as_deref() == Some(person.as_str()) {
            continue;
        }
        if p.limits
            .take_read(channel.id, platform, PROFILE_READS, 0, Instant::now())
            .is_err()
        {
            break;
        }
        let asked = profile(&p.platforms, platform, token, &person).await;
        if let Err(outcome) = &asked {
            p.limits
                .observe_read(channel.id, PROFILE_READS, outcome, Instant::now());
        }
        match asked {
            Ok(found) => {
                named += usize::from(found != Profile::default());
                store(p, contact, &found, crate::clock::now()).await?;
            }
            // This person can't be looked up (gone, never wrote to the account): asked again
            // in a week, like one who set no name.
            Err(Outcome::Refused {
                why: Refusal::Gone | Refusal::Invalid,
                ..
            }) => store(p, contact, &Profile::default(), crate::clock::now()).await?,
            // A refused token, a busy or unreachable platform: the next round asks again.
            Err(outcome) => {
                tracing::debug!(channel = channel.id, reason = ?outcome.reason(), "profile look-ups stopped");
                break;
            }
        }
    }
    Ok(named)
}

/// Stores what the platform said of `contact`, never over a name that arrived meanwhile.
async fn store(
    p: &Poller,
    contact: i64,
    found: &Profile,
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    let mut sql = Sql::new("UPDATE contacts SET username = COALESCE(username, ");
    sql.bind(found.username.clone())
        .push("), display_name = COALESCE(display_name, ")
        .bind(found.name.clone())
        .push("), profile_asked_at = ")
        .bind(now)
        .push(" WHERE id = ")
        .bind(contact);
    p.db.execute(sql).await?;
    Ok(())
}
