//! Deciding, in the transaction that stores new messages, which rules fire for each and what
//! they will do: a durable run per fired rule (due at a time, waiting for a person, recorded
//! as a dry run, or stopped by a named safeguard), and the suggested or dry-run replies as
//! messages in their threads. A crash loses none of it and doubles none of it: it commits
//! with the messages or not at all.

use std::collections::{BTreeSet, HashMap};

use chrono::{DateTime, Duration, Utc};

use super::book::{Plan, RuleBooks};
use super::random;
use super::runs::{self, NewRun};
use super::safeguards::{self, Stop, Subject};
use super::variants::{self, Picked};
use crate::conversations::{Automated, Outbound, record_outbound};
use crate::domain::{Kind, Mode, Platform, Source, State};
use crate::ids::{ChannelId, MessageId, ThreadId};
use crate::rules::Message;
use crate::rules::action::{Action, platform_can};
use crate::rules::trial::{Sample, context};
use crate::storage::{Backend, Sql, Tx, sized_chunks};

/// A message just stored, from someone else, with what the rules and replies need to know.
pub struct Arrival<'a> {
    pub message: MessageId,
    pub thread: ThreadId,
    pub channel: ChannelId,
    pub external_id: &'a str,
    pub parent_external_id: Option<&'a str>,
    pub video: Option<i64>,
    pub video_published_at: Option<DateTime<Utc>>,
    pub author: i64,
    pub created_at: DateTime<Utc>,
    pub sample: Sample<'a>,
}

/// Decides every arrival; returns how many runs were written.
pub async fn decide(
    tx: &mut Tx,
    books: &RuleBooks,
    workspace: i64,
    arrivals: &[Arrival<'_>],
    now: DateTime<Utc>,
) -> Result<usize, sqlx::Error> {
    if arrivals.is_empty() {
        return Ok(0);
    }
    let standing = books.current(tx, workspace).await?;
    let book = standing.book;
    if book.matcher.is_empty() {
        return Ok(0);
    }
    let first = if book.needs_first {
        first_messages(tx, arrivals).await?
    } else {
        HashMap::new()
    };
    let mut fired = Vec::new();
    for (i, a) in arrivals.iter().enumerate() {
        let message = Message {
            text: a.sample.text,
            kind: a.sample.kind,
            platform: a.sample.platform,
            channel: a.channel.0,
            video: a.video,
            is_reply: a.sample.is_reply,
            first_from_author: first.get(&(a.channel.0, a.author)) == Some(&a.message.0),
            video_age_days: a.video_published_at.map(|p| (a.created_at - p).num_days()),
            at: a.created_at,
        };
        let rules = book.matcher.decide(&message);
        if !rules.is_empty() {
            fired.push((i, rules));
        }
    }
    if fired.is_empty() {
        return Ok(0);
    }
    if tx.backend() == Backend::Postgres {
        // Cool-downs and caps count earlier runs: concurrent batches on one channel take
        // turns here, so two cannot both see room for the last reply of the hour.
        let channels: BTreeSet<i64> = fired.iter().map(|(i, _)| arrivals[*i].channel.0).collect();
        let mut lock = Sql::new("SELECT id FROM channels WHERE id IN ");
        lock.bind_list(channels).push(" ORDER BY id FOR UPDATE");
        tx.fetch_all::<(i64,)>(lock).await?;
    }
    let mut written = 0;
    for (i, rules) in fired {
        let arrival = &arrivals[i];
        let mut answered = false;
        for id in rules {
            let Some(plan) = book.plans.get(&id) else {
                continue;
            };
            let replied =
                decide_one(tx, workspace, plan, arrival, standing.paused, answered, now).await?;
            answered |= replied;
            written += 1;
        }
    }
    Ok(written)
}

/// Writes the run of `plan` for `arrival`; true if it answers the message.
async fn decide_one(
    tx: &mut Tx,
    workspace: i64,
    plan: &Plan,
    arrival: &Arrival<'_>,
    paused: bool,
    answered: bool,
    now: DateTime<Utc>,
) -> Result<bool, sqlx::Error> {
    let due = match plan.mode {
        Mode::Auto => now + Duration::seconds(random::between(plan.delay.0, plan.delay.1) as i64),
        Mode::Suggest | Mode::DryRun => now,
    };
    let subject = Subject {
        author: arrival.author,
        channel: arrival.channel,
        video: arrival.video,
        kind: arrival.sample.kind,
        created_at: arrival.created_at,
    };
    let mut stop = if paused {
        Some(Stop::Paused)
    } else {
        safeguards::check(tx, plan, &subject, answered, due, now).await?
    };
    let mut picked: Vec<(usize, Picked)> = Vec::new();
    if stop.is_none() && plan.replies() {
        match write_replies(tx, plan, arrival).await? {
            Ok(p) => picked = p,
            Err(s) => stop = Some(s),
        }
    }
    // What this platform cannot do is left out, and said (a rule for every platform may hide;
    // YouTube comments cannot be hidden).
    let unable: Vec<&str> = plan
        .actions
        .iter()
        .map(Action::name)
        .filter(|name| !platform_can(name, arrival.sample.platform))
        .collect();
    let note = (!unable.is_empty()).then(|| {
        format!(
            "{}: {} cannot do this",
            unable.join(", "),
            arrival.sample.platform.label()
        )
    });
    let outcome = match (&stop, plan.mode) {
        (Some(_), _) => "suppressed",
        (None, Mode::Auto) => "due",
        (None, Mode::Suggest) => "suggested",
        (None, Mode::DryRun) => "dry_run",
    };
    let actions = runs::planned(&plan.actions, &picked);
    let run = runs::insert(
        tx,
        &NewRun {
            workspace,
            rule: plan.id,
            message: arrival.message,
            thread: arrival.thread,
            channel: arrival.channel,
            author: arrival.author,
            video: arrival.video,
            mode: plan.mode,
            outcome,
            reason: stop.as_ref().map(Stop::reason).or(note),
            actions: &actions,
            reply_text: picked.first().map(|(_, p)| p.text.as_str()),
            due_at: due,
            decided_at: now,
        },
    )
    .await?;
    let state = match (&stop, plan.mode) {
        (None, Mode::Suggest) => State::Suggested,
        (None, Mode::DryRun) => State::DryRun,
        _ => return Ok(stop.is_none() && !picked.is_empty()),
    };
    for (at, p) in &picked {
        let private = matches!(plan.actions[*at], Action::PrivateReply { .. });
        record_outbound(
            tx,
            &reply_message(
                workspace,
                &arrival.answering(),
                private,
                &p.text,
                state,
                Automated {
                    rule: plan.id,
                    run,
                    variant: p.variant as i64,
                },
            ),
            now,
        )
        .await?;
    }
    Ok(!picked.is_empty())
}

/// Every reply of `plan` written for `arrival`, or the reason none can be.
async fn write_replies(
    tx: &mut Tx,
    plan: &Plan,
    arrival: &Arrival<'_>,
) -> Result<Result<Vec<(usize, Picked)>, Stop>, sqlx::Error> {
    let avoid = safeguards::last_texts(tx, arrival.author, arrival.video).await?;
    let context = context(&arrival.sample, &plan.conditions);
    let mut picked = Vec::new();
    for (at, action) in plan.actions.iter().enumerate() {
        let (variants, weights, limit) = match action {
            Action::Reply { variants, weights } => (
                variants,
                weights,
                (arrival.sample.kind == Kind::Comment)
                    .then(|| arrival.sample.platform.max_reply_chars())
                    .flatten(),
            ),
            Action::PrivateReply { variants, weights }
                if platform_can("private_reply", arrival.sample.platform) =>
            {
                (variants, weights, None)
            }
            _ => continue,
        };
        match variants::pick(variants, weights, &context, limit, &avoid) {
            Ok(p) => picked.push((at, p)),
            Err(stop) => return Ok(Err(stop)),
        }
    }
    Ok(Ok(picked))
}

/// The message a rule's reply answers.
pub struct Answering<'a> {
    pub platform: Platform,
    pub channel: ChannelId,
    pub thread: ThreadId,
    pub kind: Kind,
    pub external_id: &'a str,
    pub parent_external_id: Option<&'a str>,
}

impl<'a> Arrival<'a> {
    fn answering(&'a self) -> Answering<'a> {
        Answering {
            platform: self.sample.platform,
            channel: self.channel,
            thread: self.thread,
            kind: self.sample.kind,
            external_id: self.external_id,
            parent_external_id: self.parent_external_id,
        }
    }
}

/// The outbound message a rule's reply becomes: under the comment it answers (a reply to a
/// reply goes under the same top-level comment), or in the DM conversation; a private reply
/// is a DM about the comment, kept in the comment's thread.
pub fn reply_message<'a>(
    workspace: i64,
    to: &Answering<'a>,
    private: bool,
    text: &'a str,
    state: State,
    automated: Automated,
) -> Outbound<'a> {
    let kind = if private { Kind::Dm } else { to.kind };
    let parent = match to.kind {
        Kind::Comment if private => Some(to.external_id),
        Kind::Comment => Some(to.parent_external_id.unwrap_or(to.external_id)),
        Kind::Dm => None,
    };
    Outbound {
        workspace,
        channel: to.channel,
        thread: to.thread,
        kind,
        parent_external_id: parent,
        text,
        source: Source::Rule,
        state,
        automated: Some(automated),
    }
}

/// For each (channel, author) among the arrivals, the id of the author's first message there.
async fn first_messages(
    tx: &mut Tx,
    arrivals: &[Arrival<'_>],
) -> Result<HashMap<(i64, i64), i64>, sqlx::Error> {
    let authors: BTreeSet<i64> = arrivals.iter().map(|a| a.author).collect();
    let authors: Vec<i64> = authors.into_iter().collect();
    let mut first = HashMap::new();
    for chunk in sized_chunks(&authors) {
        let mut sql = Sql::new(
            "SELECT channel_id, author_id, MIN(id) FROM messages WHERE direction = 'inbound' AND author_id IN ",
        );
        sql.bind_list(chunk.iter().copied())
            .push(" GROUP BY channel_id, author_id");
        for (channel, author, id) in tx.fetch_all::<(i64, i64, i64)>(sql).await? {
            first.insert((channel, author), id);
        }
    }
    Ok(first)
}
