//! Trying one rule on the stored messages of the last N days before trusting it: how many it
//! matches, how many each safeguard would stop, and examples with the reply it would write.
//! Runs on the read pool and writes nothing. Messages are replayed in order, with cool-downs,
//! once-per-video and the hourly cap kept in memory as the live rules keep them in rows.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;
use serde_json::{Value, json};

use super::AutomationError;
use super::book::Plan;
use super::safeguards::in_window;
use super::variants;
use crate::domain::{Direction, Kind, Mode, Platform};
use crate::ids::WorkspaceId;
use crate::problem::Problem;
use crate::rules::action::Action;
use crate::rules::store::StoredRule;
use crate::rules::trial::{Sample, context};
use crate::rules::{Matcher, Message};
use crate::storage::{Db, Sql};

/// Most messages one backtest reads (the newest of the period).
pub const MAX_MESSAGES: i64 = 50_000;
pub const MAX_DAYS: i64 = 365;
const EXAMPLES: usize = 5;

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Backtest {
    pub rule_id: i64,
    pub days: i64,
    pub scanned: usize,
    /// True when the period held more than [`MAX_MESSAGES`]: only the newest were tried.
    pub capped: bool,
    pub matched: usize,
    pub would_act: usize,
    #[schema(value_type = BTreeMap<String, usize>)]
    pub stopped: BTreeMap<&'static str, usize>,
    /// Messages the rule missed because their text was too short to tell its language (only
    /// when the rule has a language condition).
    pub too_short_for_language: usize,
    pub examples: Vec<Value>,
}

#[derive(sqlx::FromRow)]
struct Row {
    id: i64,
    thread_id: i64,
    channel_id: i64,
    platform: Platform,
    handle: String,
    kind: Kind,
    direction: Direction,
    text: String,
    parent_external_id: Option<String>,
    video_id: Option<i64>,
    author_id: Option<i64>,
    username: Option<String>,
    display_name: Option<String>,
    title: Option<String>,
    url: Option<String>,
    published_at: Option<DateTime<Utc>>,
    created_at: DateTime<Utc>,
    received_at: DateTime<Utc>,
}

/// Backtests the workspace's rule `id` over the last `days` (1 to [`MAX_DAYS`]).
pub async fn backtest_rule(
    db: &Db,
    workspace: WorkspaceId,
    id: i64,
    days: i64,
    now: DateTime<Utc>,
) -> Result<(StoredRule, Backtest), AutomationError> {
    if !(1..=MAX_DAYS).contains(&days) {
        return Err(AutomationError::Invalid(vec![Problem::new(
            "days",
            format!("must be a whole number from 1 to {MAX_DAYS}"),
        )]));
    }
    let rule = crate::rules::store::get(db, workspace, id)
        .await?
        .ok_or(AutomationError::NotFound("rule"))?;
    let result = backtest(db, workspace, &rule, days, now).await?;
    Ok((rule, result))
}

pub async fn backtest(
    db: &Db,
    workspace: WorkspaceId,
    rule: &StoredRule,
    days: i64,
    now: DateTime<Utc>,
) -> Result<Backtest, AutomationError> {
    let definition: Value = serde_json::from_str(&rule.definition).unwrap_or_default();
    let plan = Plan::read(rule, &definition);
    let mut spec = rule.spec(&definition);
    spec.enabled = true;
    spec.keep_going = false;
    let matcher = Matcher::new(vec![spec]).map_err(AutomationError::Uncompilable)?;

    let (rows, capped) = read_rows(db, workspace, days, now).await?;

    // Threads answered by us after a given message: the last outbound message per thread.
    let mut last_ours: HashMap<i64, DateTime<Utc>> = HashMap::new();
    for r in rows.iter().filter(|r| r.direction == Direction::Outbound) {
        last_ours.insert(r.thread_id, r.created_at);
    }
    let first_ids = first_ids(db, &rows).await?;
    let mut replay = Replay {
        time_zone: super::pause::settings(db, workspace).await?.zone(),
        ..Replay::default()
    };
    let mut result = Backtest {
        rule_id: rule.id,
        days,
        scanned: rows.len(),
        capped,
        matched: 0,
        would_act: 0,
        stopped: BTreeMap::new(),
        too_short_for_language: 0,
        examples: Vec::new(),
    };
    let asks_language = crate::rules::trial::asks_language(&definition);
    let mut shown_stopped = 0;
    for r in &rows {
        let author = r.author_id.unwrap_or(0);
        let first = first_ids.get(&(r.channel_id, author)) == Some(&r.id);
        let sample = sample_of(r, first);
        let message = message_of(r, &sample);
        if matcher.decide(&message).is_empty() {
            if asks_language
                && r.direction == Direction::Inbound
                && crate::rules::trial::too_short_for_language(&r.text)
            {
                result.too_short_for_language += 1;
            }
            continue;
        }
        result.matched += 1;
        let verdict = if r.direction == Direction::Outbound {
            Err("ours")
        } else if !in_window(r.kind, r.created_at, r.received_at) {
            Err("too_old")
        } else if plan.replies()
            && last_ours
                .get(&r.thread_id)
                .is_some_and(|t| *t > r.created_at)
        {
            Err("answered")
        } else {
            replay.admit(&plan, r)
        };
        match verdict {
            Ok(()) => {
                result.would_act += 1;
                if result.examples.len() - shown_stopped < EXAMPLES {
                    let reply = example_reply(&plan, &sample, &mut replay, author);
                    result
                        .examples
                        .push(json!({"message_id": r.id, "thread_id": r.thread_id,
                        "text": r.text, "verdict": "would act", "reply": reply}));
                }
                replay.acted(&plan, r);
            }
            Err(why) => {
                *result.stopped.entry(why).or_default() += 1;
                if shown_stopped < EXAMPLES {
                    shown_stopped += 1;
                    result
                        .examples
                        .push(json!({"message_id": r.id, "thread_id": r.thread_id,
                        "text": r.text, "verdict": why}));
                }
            }
        }
    }
    Ok(result)
}

/// The workspace's messages of the last `days`, oldest first, at most [`MAX_MESSAGES`]; and
/// whether there were more.
async fn read_rows(
    db: &Db,
    workspace: WorkspaceId,
    days: i64,
    now: DateTime<Utc>,
) -> Result<(Vec<Row>, bool), sqlx::Error> {
    let mut sql = Sql::new(
        "SELECT m.id, m.thread_id, m.channel_id, c.platform, c.handle, m.kind, m.direction, m.text, \
         m.parent_external_id, m.video_id, m.author_id, a.username, a.display_name, v.title, v.url, \
         v.published_at, m.created_at, m.received_at FROM messages m \
         JOIN channels c ON c.id = m.channel_id LEFT JOIN contacts a ON a.id = m.author_id \
         LEFT JOIN videos v ON v.id = m.video_id \
         WHERE m.state NOT IN ('suggested', 'dry_run', 'rejected') AND m.workspace_id = ",
    );
    sql.bind(workspace)
        .push(" AND m.created_at >= ")
        .bind(now - Duration::days(days));
    sql.push(" ORDER BY m.created_at DESC, m.id DESC LIMIT ")
        .bind(MAX_MESSAGES + 1);
    let mut rows: Vec<Row> = db.fetch_all(sql).await?;
    let capped = rows.len() as i64 > MAX_MESSAGES;
    rows.truncate(MAX_MESSAGES as usize);
    rows.reverse();
    Ok((rows, capped))
}

/// "First message" as the live decision sees it: the author's first ever, not the first of
/// the period read; by (channel, author).
async fn first_ids(db: &Db, rows: &[Row]) -> Result<HashMap<(i64, i64), i64>, sqlx::Error> {
    let authors: std::collections::BTreeSet<i64> =
        rows.iter().filter_map(|r| r.author_id).collect();
    let authors: Vec<i64> = authors.into_iter().collect();
    let mut first_ids: HashMap<(i64, i64), i64> = HashMap::new();
    for chunk in crate::storage::sized_chunks(&authors) {
        let mut sql = Sql::new(
            "SELECT channel_id, author_id, MIN(id) FROM messages WHERE direction = 'inbound' AND author_id IN ",
        );
        sql.bind_list(chunk.iter().copied())
            .push(" GROUP BY channel_id, author_id");
        for (channel, author, id) in db.fetch_all::<(i64, i64, i64)>(sql).await? {
            first_ids.insert((channel, author), id);
        }
    }
    Ok(first_ids)
}

/// A row as the templates see it.
fn sample_of(r: &Row, first: bool) -> Sample<'_> {
    Sample {
        platform: r.platform,
        channel: Some(r.channel_id),
        channel_handle: &r.handle,
        kind: r.kind,
        text: &r.text,
        username: r.username.as_deref(),
        display_name: r.display_name.as_deref(),
        is_reply: r.parent_external_id.is_some(),
        first_message: first,
        video_title: r.title.as_deref(),
        video_url: r.url.as_deref(),
        at: r.created_at,
    }
}

/// A row as the matcher sees it.
fn message_of<'a>(r: &'a Row, sample: &Sample<'a>) -> Message<'a> {
    Message {
        text: &r.text,
        kind: r.kind,
        platform: r.platform,
        channel: r.channel_id,
        video: r.video_id,
        is_reply: sample.is_reply,
        first_from_author: sample.first_message,
        video_age_days: r.published_at.map(|p| (r.created_at - p).num_days()),
        at: r.created_at,
    }
}

/// The safeguards' memory while replaying.
#[derive(Default)]
struct Replay {
    time_zone: chrono_tz::Tz,
    last_by_author: HashMap<i64, DateTime<Utc>>,
    answered_on_video: HashSet<(i64, i64)>,
    hour: HashMap<i64, VecDeque<DateTime<Utc>>>,
    last_text: HashMap<i64, String>,
}

impl Replay {
    fn admit(&mut self, plan: &Plan, r: &Row) -> Result<(), &'static str> {
        let author = r.author_id.unwrap_or(0);
        let at = r.received_at;
        if plan.cooldown_hours > 0
            && self
                .last_by_author
                .get(&author)
                .is_some_and(|t| at - *t < Duration::hours(plan.cooldown_hours as i64))
        {
            return Err("cooldown");
        }
        if let (true, true, Some(video)) = (plan.replies(), plan.once_per_video, r.video_id)
            && self.answered_on_video.contains(&(author, video))
        {
            return Err("once_per_video");
        }
        if plan.mode == Mode::Auto {
            let window = self.hour.entry(r.channel_id).or_default();
            while window
                .front()
                .is_some_and(|t| at - *t >= Duration::hours(1))
            {
                window.pop_front();
            }
            if window.len() as u64 >= plan.max_per_hour {
                return Err("cap");
            }
        }
        Ok(())
    }

    fn acted(&mut self, plan: &Plan, r: &Row) {
        let author = r.author_id.unwrap_or(0);
        self.last_by_author.insert(author, r.received_at);
        if let Some(video) = r.video_id.filter(|_| plan.replies()) {
            self.answered_on_video.insert((author, video));
        }
        self.hour
            .entry(r.channel_id)
            .or_default()
            .push_back(r.received_at);
    }
}

fn example_reply(plan: &Plan, sample: &Sample<'_>, replay: &mut Replay, author: i64) -> Value {
    let Some((variants_, weights)) = plan.actions.iter().find_map(|a| match a {
        Action::Reply { variants, weights } | Action::PrivateReply { variants, weights } => {
            Some((variants, weights))
        }
        _ => None,
    }) else {
        return Value::Null;
    };
    let context = context(
        sample,
        &plan.captures,
        plan.greets.then_some(replay.time_zone),
    );
    let avoid: Vec<String> = replay.last_text.get(&author).cloned().into_iter().collect();
    let render = |i: usize| crate::rules::template::render(&variants_[i], &context);
    match variants::pick(variants_.len(), weights, render, None, &avoid) {
        Ok(p) => {
            replay.last_text.insert(author, p.text.clone());
            json!(p.text)
        }
        Err(stop) => json!({"not_sent": stop.reason()}),
    }
}
