//! Deciding, in the transaction that stores new messages, which rules fire for each and what
//! they will do: a durable run per fired rule (due at a time, waiting for a person, recorded
//! as a dry run, or stopped by a named safeguard), and the suggested or dry-run replies as
//! messages in their threads. A crash loses none of it and doubles none of it: it commits
//! with the messages or not at all.

use std::collections::{BTreeSet, HashMap};

use chrono::{DateTime, Duration, Utc};

use super::AutomationError;
use super::act::{Answering, apply, reply_message};
use super::book::{Plan, RuleBook, RuleBooks, Standing, variant_name};
use super::ledger::{Involved, Ledger};
use super::runs::{self, NewRun, Planned};
use super::safeguards::{Stop, Subject};
use super::turns::{Rules, TURNS, lock_channels_reading_rules, were_current};
use super::variants::{self, Picked};
use crate::conversations::{
    self, Automated, Handover, Leased, Outbound, SendNow, Sender, Threads, record_outbound_leasing,
};
use crate::domain::{Kind, Mode, RunOutcome, State};
use crate::ids::{ChannelId, MessageId, ThreadId, WorkspaceId};
use crate::random;
use crate::rules::Message;
use crate::rules::action::Action;
use crate::rules::trial::{Sample, context};
use crate::storage::{Backend, Sql, Tx, padded_chunks};

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
    /// Whether a reply of ours from a person came after it, when the batch alone can tell (its
    /// thread is new and holds only the batch's messages); `None`: the database is asked.
    pub answered_in_batch: Option<bool>,
}

/// One rule's decision for one arrival, before it is written.
struct Decision {
    arrival: usize,
    rule: i64,
    mode: Mode,
    outcome: RunOutcome,
    reason: Option<String>,
    actions: Vec<Planned>,
    picked: Vec<(usize, Picked)>,
    due: DateTime<Utc>,
}

impl Decision {
    /// Whether the run acts now: a rule without delay, decided due.
    fn due_now(&self, now: DateTime<Utc>) -> bool {
        self.outcome == RunOutcome::Due && self.due <= now
    }
}

/// What deciding left for the outbox: replies leased to the courier as they were queued (to
/// hand over once the transaction commits), and whether anything waits for the dispatcher's
/// claim (a reply not leased, a like, hiding or deleting).
#[derive(Default)]
pub struct Decided {
    pub leased: Vec<Leased>,
    pub queued: bool,
}

/// Decides every arrival (see [`Decided`]); without a courier every reply waits for a claim.
pub async fn decide(
    tx: &mut Tx,
    books: &RuleBooks,
    courier: Option<&dyn Handover>,
    workspace: WorkspaceId,
    arrivals: &[Arrival<'_>],
    now: DateTime<Utc>,
) -> Result<Decided, AutomationError> {
    if arrivals.is_empty() {
        return Ok(Decided::default());
    }
    // On PostgreSQL the rules this instance compiled last are assumed, and whether they are
    // still the workspace's is read with the channels' lock, saving a round trip. Rules
    // changed meanwhile: the batch is decided again by the current ones.
    if tx.backend() == Backend::Postgres
        && let Some(book) = books.cached(workspace)
    {
        let rules = Rules::Assumed(book);
        if let Some(decided) =
            decide_by(tx, books, courier, workspace, arrivals, rules, now).await?
        {
            return Ok(decided);
        }
    }
    let rules = Rules::Read(books.current(tx, workspace).await?);
    decide_by(tx, books, courier, workspace, arrivals, rules, now)
        .await?
        .ok_or(AutomationError::StaleRules)
}

/// [`decide`] by `rules`; `None` when the rules assumed are no longer the workspace's.
async fn decide_by(
    tx: &mut Tx,
    books: &RuleBooks,
    courier: Option<&dyn Handover>,
    workspace: WorkspaceId,
    arrivals: &[Arrival<'_>],
    rules: Rules,
    now: DateTime<Utc>,
) -> Result<Option<Decided>, AutomationError> {
    let book = match &rules {
        Rules::Read(standing) => standing.book.clone(),
        Rules::Assumed(book) => book.clone(),
    };
    if book.matcher.is_empty() {
        return Ok(were_current(tx, books, workspace, &rules)
            .await?
            .then(Decided::default));
    }
    let first = if book.needs_first {
        first_messages(tx, arrivals).await?
    } else {
        HashMap::new()
    };
    let fired = fired(&book, arrivals, &first);
    if fired.is_empty() {
        return Ok(were_current(tx, books, workspace, &rules)
            .await?
            .then(Decided::default));
    }
    let involved = involved(&book, arrivals, &fired);
    // Whether a person answered meanwhile matters only to rules acting right now; read before
    // the channels' lock below, which concurrent batches wait for.
    let may_act_now = may_act_now(&book, &fired);
    let answered = answered_later(tx, arrivals, may_act_now.iter().copied()).await?;
    // The channels, as replies sent at once need them (read with the lock on PostgreSQL).
    // Cool-downs and caps count earlier runs: on PostgreSQL concurrent batches on one channel
    // take turns from here to their commit, so two cannot both see room for the last reply of
    // the hour.
    let channels = &involved.channels;
    let (senders, standing) = match rules {
        Rules::Assumed(book) => match lock_channels_reading_rules(tx, channels, book).await? {
            Some(locked) => locked,
            None => return Ok(None),
        },
        Rules::Read(standing) => {
            let mut senders = conversations::delivery::senders();
            senders.bind_ids(tx.backend(), channels.iter().copied());
            let senders: Vec<Sender> = if tx.backend() == Backend::Postgres {
                senders.push(TURNS);
                tx.fetch_all(senders).await?
            } else if courier.is_some() && !may_act_now.is_empty() {
                tx.fetch_all(senders).await?
            } else {
                Vec::new()
            };
            (senders, standing)
        }
    };
    let senders: HashMap<i64, Sender> = senders.into_iter().map(|s| (s.id, s)).collect();
    let mut ledger = Ledger::load(tx, &involved, now).await?;
    let decisions = decide_all(&book, &mut ledger, fired, arrivals, &standing, now);
    // The lease runs from now, not from when the batch arrived (it may have waited).
    let until = crate::clock::now()
        + Duration::from_std(courier.map_or_else(Default::default, |c| c.lease()))
            .unwrap_or_default();
    let reserve = |s: &Sender, deed| courier.and_then(|c| c.reserve(s, deed));
    let send_now = courier.map(|_| SendNow {
        senders: &senders,
        until,
        reserve: &reserve,
    });
    let written = Written {
        arrivals,
        book: &book,
        decisions: &decisions,
        answered: &answered,
    };
    let decided = write(tx, workspace, &written, send_now.as_ref(), now).await?;
    Ok(Some(decided))
}

/// Each arrival some rule fires for, by index, with the rules that fire.
fn fired(
    book: &RuleBook,
    arrivals: &[Arrival<'_>],
    first: &HashMap<i64, i64>,
) -> Vec<(usize, Vec<i64>)> {
    let mut fired = Vec::new();
    for (i, a) in arrivals.iter().enumerate() {
        let message = Message {
            text: a.sample.text,
            kind: a.sample.kind,
            platform: a.sample.platform,
            channel: a.channel.0,
            video: a.video,
            is_reply: a.sample.is_reply,
            first_from_author: first.get(&a.author) == Some(&a.message.0),
            video_age_days: a.video_published_at.map(|p| (a.created_at - p).num_days()),
            at: a.created_at,
        };
        let rules = book.matcher.decide(&message);
        if !rules.is_empty() {
            fired.push((i, rules));
        }
    }
    fired
}

/// Who and what the fired rules involve, as the ledger reads earlier runs.
fn involved(book: &RuleBook, arrivals: &[Arrival<'_>], fired: &[(usize, Vec<i64>)]) -> Involved {
    Involved {
        rules: fired.iter().flat_map(|(_, r)| r.iter().copied()).collect(),
        authors: fired.iter().map(|(i, _)| arrivals[*i].author).collect(),
        videos: fired
            .iter()
            .filter_map(|(i, _)| arrivals[*i].video)
            .collect(),
        pairs: fired
            .iter()
            .filter_map(|(i, _)| Some((arrivals[*i].author, arrivals[*i].video?)))
            .collect(),
        channels: fired.iter().map(|(i, _)| arrivals[*i].channel.0).collect(),
        longest_cooldown: fired
            .iter()
            .flat_map(|(_, r)| r.iter().filter_map(|id| book.plans.get(id)))
            .map(|p| p.cooldown_hours as i64)
            .max()
            .unwrap_or(0),
    }
}

/// The arrivals (by index) a rule acting without delay fired for.
fn may_act_now(book: &RuleBook, fired: &[(usize, Vec<i64>)]) -> Vec<usize> {
    let acting_now = |id: &i64| {
        book.plans
            .get(id)
            .is_some_and(|p| p.mode == Mode::Auto && p.delay.0 == 0)
    };
    fired
        .iter()
        .filter(|(_, rules)| rules.iter().any(acting_now))
        .map(|(i, _)| *i)
        .collect()
}

/// Every fired rule's decision, arrival by arrival, in the rules' order.
fn decide_all(
    book: &RuleBook,
    ledger: &mut Ledger,
    fired: Vec<(usize, Vec<i64>)>,
    arrivals: &[Arrival<'_>],
    standing: &Standing,
    now: DateTime<Utc>,
) -> Vec<Decision> {
    let mut decisions = Vec::new();
    for (i, rules) in fired {
        let mut answered = false;
        for id in rules {
            let Some(plan) = book.plans.get(&id) else {
                continue;
            };
            let d = decide_one(book, ledger, plan, i, &arrivals[i], standing, answered, now);
            // A dry run sends nothing: it does not keep a later rule from answering.
            answered |= d.outcome.answers() && !d.picked.is_empty();
            decisions.push(d);
        }
    }
    decisions
}

/// What [`write`] writes.
struct Written<'a> {
    arrivals: &'a [Arrival<'a>],
    book: &'a RuleBook,
    decisions: &'a [Decision],
    answered: &'a BTreeSet<usize>,
}

#[allow(clippy::too_many_arguments)]
fn decide_one(
    book: &RuleBook,
    ledger: &mut Ledger,
    plan: &Plan,
    index: usize,
    arrival: &Arrival<'_>,
    standing: &Standing,
    answered: bool,
    now: DateTime<Utc>,
) -> Decision {
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
    let mut stop = if standing.paused {
        Some(Stop::Paused)
    } else if let Some(why) = &plan.unreadable {
        Some(Stop::Unrenderable(why.clone()))
    } else {
        ledger.check(plan, &subject, answered, due, now)
    };
    let mut picked: Vec<(usize, Picked)> = Vec::new();
    if stop.is_none() && plan.replies() {
        match write_replies(book, ledger, plan, arrival, standing.time_zone) {
            Ok(p) => picked = p,
            Err(s) => stop = Some(s),
        }
    }
    // What this platform cannot do is left out, and said (a rule for every platform may hide;
    // YouTube comments cannot be hidden).
    let unable: Vec<&str> = plan
        .actions
        .iter()
        .filter(|a| !a.platform_can(arrival.sample.platform))
        .map(Action::name)
        .collect();
    let note = (!unable.is_empty()).then(|| {
        format!(
            "{}: {} cannot do this",
            unable.join(", "),
            arrival.sample.platform.label()
        )
    });
    if stop.is_none() && plan.mode == Mode::Suggest && picked.is_empty() {
        stop = Some(Stop::NothingToSuggest);
    }
    let outcome = match (&stop, plan.mode) {
        (Some(_), _) => RunOutcome::Suppressed,
        (None, Mode::Auto) => RunOutcome::Due,
        (None, Mode::Suggest) => RunOutcome::Suggested,
        (None, Mode::DryRun) => RunOutcome::DryRun,
    };
    if outcome.answers() {
        let reply = picked.first().map(|(_, p)| p.text.as_str());
        ledger.record(plan, &subject, reply, now);
    }
    Decision {
        arrival: index,
        rule: plan.id,
        mode: plan.mode,
        outcome,
        reason: stop.as_ref().map(Stop::reason).or(note),
        actions: runs::planned(&plan.actions, &picked),
        picked,
        due,
    }
}

/// Every reply of `plan` written for `arrival`, or the reason none can be.
fn write_replies(
    book: &RuleBook,
    ledger: &Ledger,
    plan: &Plan,
    arrival: &Arrival<'_>,
    time_zone: chrono_tz::Tz,
) -> Result<Vec<(usize, Picked)>, Stop> {
    let avoid = ledger.avoid(arrival.author, arrival.video);
    let context = context(
        &arrival.sample,
        &plan.captures,
        plan.greets.then_some(time_zone),
    );
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
                if action.platform_can(arrival.sample.platform) =>
            {
                (variants, weights, None)
            }
            _ => continue,
        };
        let render = |i: usize| {
            book.templates
                .render(&variant_name(plan.id, at, i), &context)
        };
        picked.push((
            at,
            variants::pick(variants.len(), weights, render, limit, &avoid)?,
        ));
    }
    Ok(picked)
}

/// Writes the runs, many per statement, and the suggested and dry-run replies as messages.
async fn write(
    tx: &mut Tx,
    workspace: WorkspaceId,
    written: &Written<'_>,
    send_now: Option<&SendNow<'_>>,
    now: DateTime<Utc>,
) -> Result<Decided, sqlx::Error> {
    let Written {
        arrivals,
        decisions,
        answered,
        ..
    } = *written;
    // A rule without delay acts here, in the transaction that stores the message, after the
    // one check the due worker makes that this batch itself can change: a reply of ours (typed
    // in the platform's app, or listed by a poll) after the message, in the same batch.
    let now_acting = |d: &Decision| d.due_now(now) && !answered.contains(&d.arrival);
    let ids = runs::insert_many(tx, &run_rows(workspace, written, now)).await?;
    let mut replies = Vec::new();
    let mut moderated = false;
    for d in decisions.iter().filter(|d| now_acting(d)) {
        let a = &arrivals[d.arrival];
        let run = ids[&(a.message.0, d.rule)];
        let planned = &d.actions;
        moderated |= planned.iter().any(|p| p.moderation().is_some());
        let to = a.answering();
        let notes = apply(
            tx,
            workspace,
            d.rule,
            run,
            &to,
            planned,
            Some(&mut replies),
            now,
        )
        .await?;
        if !notes.is_empty() {
            let reason = [d.reason.clone().unwrap_or_default(), notes.join("; ")]
                .into_iter()
                .filter(|r| !r.is_empty())
                .collect::<Vec<_>>()
                .join("; ");
            runs::settle(tx, run, RunOutcome::Done, Some(reason), now).await?;
        }
    }
    kept_replies(workspace, written, &ids, &mut replies);
    // Every reply goes to an arrival's thread, which this transaction inserted or grew.
    let queued = replies.iter().filter(|r| r.state == State::Queued).count();
    let (_, leased) = record_outbound_leasing(tx, &replies, Threads::Held, send_now, now).await?;
    Ok(Decided {
        queued: moderated || leased.len() < queued,
        leased,
    })
}

/// The suggested and dry-run replies, as messages kept in their threads.
fn kept_replies<'a>(
    workspace: WorkspaceId,
    written: &Written<'a>,
    ids: &HashMap<(i64, i64), i64>,
    replies: &mut Vec<Outbound<'a>>,
) {
    let Written {
        arrivals,
        book,
        decisions,
        ..
    } = *written;
    for d in decisions {
        let state = match d.outcome {
            RunOutcome::Suggested => State::Suggested,
            RunOutcome::DryRun => State::DryRun,
            RunOutcome::Due
            | RunOutcome::Done
            | RunOutcome::Skipped
            | RunOutcome::Suppressed
            | RunOutcome::Approved
            | RunOutcome::Rejected => continue,
        };
        let a = &arrivals[d.arrival];
        let run = ids[&(a.message.0, d.rule)];
        let plan = &book.plans[&d.rule];
        for (at, p) in &d.picked {
            let private = matches!(plan.actions[*at], Action::PrivateReply { .. });
            let automated = Automated {
                rule: d.rule,
                run,
                variant: p.variant as i64,
            };
            replies.push(reply_message(
                workspace,
                &a.answering(),
                private,
                &p.text,
                state,
                automated,
            ));
        }
    }
}

/// A run per decision; one acting now is written done, or skipped when a person answered.
fn run_rows<'a>(
    workspace: WorkspaceId,
    written: &Written<'a>,
    now: DateTime<Utc>,
) -> Vec<NewRun<'a>> {
    let Written {
        arrivals,
        decisions,
        answered,
        ..
    } = *written;
    decisions
        .iter()
        .map(|d| {
            let a = &arrivals[d.arrival];
            let acting = d.due_now(now) && !answered.contains(&d.arrival);
            let skipped = d.due_now(now) && !acting;
            NewRun {
                workspace,
                rule: d.rule,
                message: a.message,
                thread: a.thread,
                channel: a.channel,
                author: a.author,
                video: a.video,
                mode: d.mode,
                outcome: if acting {
                    RunOutcome::Done
                } else if skipped {
                    RunOutcome::Skipped
                } else {
                    d.outcome
                },
                reason: if skipped {
                    Some("answered_by_person".into())
                } else {
                    d.reason.clone()
                },
                actions: &d.actions,
                reply_text: d.picked.first().map(|(_, p)| p.text.as_str()),
                due_at: d.due,
                decided_at: now,
                acted_at: (acting || skipped).then_some(now),
            }
        })
        .collect()
}

impl<'a> Arrival<'a> {
    fn answering(&'a self) -> Answering<'a> {
        Answering {
            message: self.message,
            platform: self.sample.platform,
            channel: self.channel,
            thread: self.thread,
            kind: self.sample.kind,
            external_id: self.external_id,
            parent_external_id: self.parent_external_id,
        }
    }
}

/// Of the arrivals `acting` (by index), those whose thread already holds a later reply of
/// ours from a person (typed here or in the platform's app). Threads the batch made are
/// answered from the batch; only the others are looked up.
async fn answered_later(
    tx: &mut Tx,
    arrivals: &[Arrival<'_>],
    acting: impl Iterator<Item = usize>,
) -> Result<BTreeSet<usize>, sqlx::Error> {
    let mut answered = BTreeSet::new();
    let mut ask = BTreeSet::new();
    for i in acting {
        match arrivals[i].answered_in_batch {
            Some(true) => {
                answered.insert(i);
            }
            Some(false) => {}
            None => {
                ask.insert(i);
            }
        }
    }
    let threads: BTreeSet<i64> = ask.iter().map(|&i| arrivals[i].thread.0).collect();
    let threads: Vec<i64> = threads.into_iter().collect();
    let mut latest = HashMap::new();
    for chunk in padded_chunks(tx.backend(), &threads) {
        let mut sql = Sql::new(
            "SELECT thread_id, MAX(id) FROM messages WHERE direction = 'outbound' \
             AND source IN ('manual', 'platform') AND thread_id IN ",
        );
        sql.bind_ids(tx.backend(), chunk.iter().copied())
            .push(" GROUP BY thread_id");
        for (thread, id) in tx.fetch_all::<(i64, i64)>(sql).await? {
            latest.insert(thread, id);
        }
    }
    answered.extend(ask.into_iter().filter(|&i| {
        latest
            .get(&arrivals[i].thread.0)
            .is_some_and(|&id| id > arrivals[i].message.0)
    }));
    Ok(answered)
}

/// For each author among the arrivals, the id of the author's first inbound message (an author
/// is a contact of one channel). Each author's by a subquery of its own, through the index of
/// authors' inbound messages: a list of authors joined to the messages could be planned, while
/// the table was young, as a read of every inbound message, and such a plan is kept.
async fn first_messages(
    tx: &mut Tx,
    arrivals: &[Arrival<'_>],
) -> Result<HashMap<i64, i64>, sqlx::Error> {
    let authors: BTreeSet<i64> = arrivals.iter().map(|a| a.author).collect();
    let authors: Vec<i64> = authors.into_iter().collect();
    let mut first = HashMap::new();
    for chunk in padded_chunks(tx.backend(), &authors) {
        let mut sql = Sql::new("WITH k(author_id) AS (");
        sql.bind_table(tx.backend(), chunk.iter().copied(), |r, author| {
            r.bind(author);
        });
        sql.push(
            ") SELECT k.author_id, (SELECT MIN(m.id) FROM messages m \
             WHERE m.author_id = k.author_id AND m.direction = 'inbound') FROM k",
        );
        for (author, id) in tx.fetch_all::<(i64, Option<i64>)>(sql).await? {
            if let Some(id) = id {
                first.insert(author, id);
            }
        }
    }
    Ok(first)
}
