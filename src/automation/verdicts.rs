//! The safeguards' verdicts for the test box: for a pasted message, what each safeguard would
//! say to each rule that fires, from the same records the live decision reads. Nothing is
//! written (the transaction is rolled back).

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;

use super::AutomationError;
use super::book::Plan;
use super::ledger::{Involved, Ledger};
use super::pause;
use super::safeguards::{COMMENT_WINDOW_DAYS, DM_WINDOW_HOURS, Subject};
use crate::domain::Kind;
use crate::ids::{ChannelId, WorkspaceId};
use crate::rules::store::StoredRule;
use crate::rules::trial::{Fired, Sample, try_rules};
use crate::storage::{Db, Sql};

#[derive(Debug, Serialize)]
pub struct Verdict {
    pub safeguard: &'static str,
    pub says: String,
    pub stops: bool,
}

/// Who the pasted message is from and where, as far as unibox knows them.
pub struct Pasted<'a> {
    pub channel: Option<i64>,
    /// The author's platform id or username on that channel.
    pub author: Option<&'a str>,
    /// The video's platform id.
    pub video: Option<&'a str>,
    pub kind: Kind,
}

/// Per rule (in `rules`' order), each safeguard's verdict.
async fn verdicts(
    db: &Db,
    rules: &[&StoredRule],
    pasted: &Pasted<'_>,
    paused: bool,
    now: DateTime<Utc>,
) -> Result<Vec<Vec<Verdict>>, sqlx::Error> {
    let mut always = vec![
        Verdict {
            safeguard: "paused",
            says: if paused {
                "all automation is paused".into()
            } else {
                "automation is running".into()
            },
            stops: paused,
        },
        Verdict {
            safeguard: "ours",
            says:
                "a pasted message counts as someone else's; our own and echoes are never answered"
                    .into(),
            stops: false,
        },
        Verdict {
            safeguard: "window",
            says: match pasted.kind {
                Kind::Dm => {
                    format!("a DM is answered within {DM_WINDOW_HOURS} hours; this one is new")
                }
                Kind::Comment => {
                    format!(
                        "a comment is answered within {COMMENT_WINDOW_DAYS} days; this one is new"
                    )
                }
            },
            stops: false,
        },
    ];
    let (author, video) = match pasted.channel {
        Some(channel) => known(db, channel, pasted).await?,
        None => (None, None),
    };
    let mut out = Vec::new();
    let Some((channel, author)) = pasted.channel.zip(author) else {
        always.push(Verdict {
            safeguard: "cooldown",
            says: "unknown author on this channel: name a known one to check cool-downs and caps"
                .into(),
            stops: false,
        });
        for _ in rules {
            out.push(always.iter().map(copy).collect());
        }
        return Ok(out);
    };
    let plans: Vec<Plan> = rules
        .iter()
        .map(|r| {
            Plan::read(
                r,
                &serde_json::from_str::<Value>(&r.definition).unwrap_or_default(),
            )
        })
        .collect();
    let involved = Involved {
        rules: plans.iter().map(|p| p.id).collect(),
        authors: [author].into(),
        videos: video.into_iter().collect(),
        pairs: video.map(|v| (author, v)).into_iter().collect(),
        channels: [channel].into(),
        longest_cooldown: plans
            .iter()
            .map(|p| p.cooldown_hours as i64)
            .max()
            .unwrap_or(0),
    };
    let mut tx = db.begin().await?;
    let ledger = Ledger::load(&mut tx, &involved, now).await?;
    drop(tx);
    let subject = Subject {
        author,
        channel: ChannelId(channel),
        video,
        kind: pasted.kind,
        created_at: now,
    };
    for plan in &plans {
        let mut list: Vec<Verdict> = always.iter().map(copy).collect();
        for (safeguard, says, stops) in ledger.verdicts(plan, &subject, now) {
            list.push(Verdict {
                safeguard,
                says,
                stops,
            });
        }
        out.push(list);
    }
    Ok(out)
}

fn copy(v: &Verdict) -> Verdict {
    Verdict {
        safeguard: v.safeguard,
        says: v.says.clone(),
        stops: v.stops,
    }
}

/// The stored author (by platform id or username) and video of the pasted message.
async fn known(
    db: &Db,
    channel: i64,
    pasted: &Pasted<'_>,
) -> Result<(Option<i64>, Option<i64>), sqlx::Error> {
    let mut author = None;
    if let Some(who) = pasted.author.filter(|a| !a.is_empty()) {
        let mut sql = Sql::new("SELECT id FROM contacts WHERE channel_id = ");
        sql.bind(channel)
            .push(" AND (external_id = ")
            .bind(who)
            .push(" OR username = ")
            .bind(who)
            .push(") ORDER BY id LIMIT 1");
        author = db.fetch_optional::<(i64,)>(sql).await?.map(|(id,)| id);
    }
    let mut video = None;
    if let Some(v) = pasted.video.filter(|v| !v.is_empty()) {
        let mut sql = Sql::new("SELECT id FROM videos WHERE channel_id = ");
        sql.bind(channel).push(" AND external_id = ").bind(v);
        video = db.fetch_optional::<(i64,)>(sql).await?.map(|(id,)| id);
    }
    Ok((author, video))
}

/// Which of `rules` fire for `sample` (as the trial says), each with its safeguards' verdicts.
pub async fn try_with_verdicts(
    db: &Db,
    workspace: WorkspaceId,
    rules: &[StoredRule],
    sample: &Sample<'_>,
    pasted: &Pasted<'_>,
) -> Result<Vec<(Fired, Vec<Verdict>)>, AutomationError> {
    let settings = pause::settings(db, workspace).await?;
    let fired = try_rules(rules, sample, settings.zone()).map_err(AutomationError::Uncompilable)?;
    let stored: Vec<&StoredRule> = fired
        .iter()
        .filter_map(|f| rules.iter().find(|r| r.id == f.rule_id))
        .collect();
    let verdicts = verdicts(db, &stored, pasted, settings.paused, sample.at).await?;
    Ok(fired.into_iter().zip(verdicts).collect())
}
