//! What the safeguards need to know about earlier runs, read for a whole batch in a handful of
//! queries and then kept up to date in memory as the batch's own runs are decided: cool-downs,
//! replies per person and video, the channels' hourly counts, the last texts sent.

use std::collections::{BTreeSet, HashMap, HashSet};

use chrono::{DateTime, Duration, Utc};

use super::book::Plan;
use super::safeguards::{LIVE, Stop, Subject, in_window};
use crate::domain::Mode;
use crate::storage::{Sql, Tx, sized_chunks};

#[derive(Default)]
pub struct Ledger {
    /// (rule, author): when the rule last answered the author.
    answered_author: HashMap<(i64, i64), DateTime<Utc>>,
    /// (author, video) that had an automated reply.
    replied_on_video: HashSet<(i64, i64)>,
    /// Automated actions per channel in the last hour (`auto` rules, due or done).
    hourly: HashMap<i64, i64>,
    last_to_author: HashMap<i64, String>,
    last_on_video: HashMap<i64, String>,
}

/// Who the batch's fired rules are about.
pub struct Involved {
    pub rules: BTreeSet<i64>,
    pub authors: BTreeSet<i64>,
    pub videos: BTreeSet<i64>,
    /// (author, video) of each arrival under a video.
    pub pairs: BTreeSet<(i64, i64)>,
    pub channels: BTreeSet<i64>,
    /// The longest cool-down among the rules, in hours.
    pub longest_cooldown: i64,
}

fn list<T: Copy + Into<crate::storage::Arg>>(set: &BTreeSet<T>) -> Vec<T> {
    set.iter().copied().collect()
}

impl Ledger {
    pub async fn load(
        tx: &mut Tx,
        who: &Involved,
        now: DateTime<Utc>,
    ) -> Result<Ledger, sqlx::Error> {
        let mut ledger = Ledger::default();
        let (authors, videos, channels) =
            (list(&who.authors), list(&who.videos), list(&who.channels));
        if who.longest_cooldown > 0 {
            for chunk in sized_chunks(&authors) {
                let mut sql = Sql::new(
                    "SELECT rule_id, author_id, MAX(decided_at) FROM rule_runs WHERE rule_id IN ",
                );
                sql.bind_list(who.rules.iter().copied())
                    .push(" AND author_id IN ")
                    .bind_list(chunk.iter().copied());
                sql.push(" AND decided_at > ")
                    .bind(now - Duration::hours(who.longest_cooldown))
                    .push(" AND outcome IN ")
                    .push(LIVE)
                    .push(" GROUP BY rule_id, author_id");
                for (rule, author, at) in tx.fetch_all::<(i64, i64, DateTime<Utc>)>(sql).await? {
                    ledger.answered_author.insert((rule, author), at);
                }
            }
        }
        // Only the batch's own (author, video) pairs: a busy video's earlier repliers are many.
        let pairs: Vec<(i64, i64)> = who.pairs.iter().copied().collect();
        for chunk in sized_chunks(&pairs) {
            let mut sql = Sql::new(
                "SELECT DISTINCT author_id, video_id FROM rule_runs WHERE reply_text IS NOT NULL \
                 AND outcome IN ",
            );
            sql.push(LIVE).push(" AND (");
            for (i, (author, video)) in chunk.iter().enumerate() {
                sql.push(if i == 0 {
                    "(author_id = "
                } else {
                    " OR (author_id = "
                })
                .bind(*author)
                .push(" AND video_id = ")
                .bind(*video)
                .push(")");
            }
            sql.push(")");
            for (author, video) in tx.fetch_all::<(i64, i64)>(sql).await? {
                ledger.replied_on_video.insert((author, video));
            }
        }
        for chunk in sized_chunks(&channels) {
            let mut sql =
                Sql::new("SELECT channel_id, COUNT(*) FROM rule_runs WHERE channel_id IN ");
            sql.bind_list(chunk.iter().copied())
                .push(" AND decided_at > ")
                .bind(now - Duration::hours(1));
            sql.push(" AND mode = 'auto' AND outcome IN ('due', 'done') GROUP BY channel_id");
            for (channel, n) in tx.fetch_all::<(i64, i64)>(sql).await? {
                ledger.hourly.insert(channel, n);
            }
        }
        for (column, ids, into) in [
            ("author_id", &authors, &mut ledger.last_to_author),
            ("video_id", &videos, &mut ledger.last_on_video),
        ] {
            for chunk in sized_chunks(ids) {
                let mut sql = Sql::new("SELECT ");
                sql.push(column)
                    .push(", reply_text FROM rule_runs WHERE id IN (SELECT MAX(id) FROM rule_runs WHERE ")
                    .push(column)
                    .push(" IN ");
                sql.bind_list(chunk.iter().copied())
                    .push(" AND reply_text IS NOT NULL AND outcome IN ")
                    .push(LIVE)
                    .push(" GROUP BY ")
                    .push(column)
                    .push(")");
                for (id, text) in tx.fetch_all::<(i64, String)>(sql).await? {
                    into.insert(id, text);
                }
            }
        }
        Ok(ledger)
    }

    /// The first safeguard that stops `plan` from acting on `subject` at `due`, if any.
    pub fn check(
        &self,
        plan: &Plan,
        subject: &Subject,
        answered: bool,
        due: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Option<Stop> {
        if !in_window(subject.kind, subject.created_at, due) {
            return Some(Stop::TooOld);
        }
        let replies = plan.replies();
        if replies && answered {
            return Some(Stop::Answered);
        }
        if plan.cooldown_hours > 0
            && self
                .answered_author
                .get(&(plan.id, subject.author))
                .is_some_and(|at| *at > now - Duration::hours(plan.cooldown_hours as i64))
        {
            return Some(Stop::Cooldown);
        }
        if let (true, true, Some(video)) = (replies, plan.once_per_video, subject.video)
            && self.replied_on_video.contains(&(subject.author, video))
        {
            return Some(Stop::OncePerVideo);
        }
        if plan.mode == Mode::Auto
            && self.hourly.get(&subject.channel.0).copied().unwrap_or(0) >= plan.max_per_hour as i64
        {
            return Some(Stop::HourlyCap);
        }
        None
    }

    /// Every safeguard's verdict on its own (not only the first that stops), for the test box:
    /// (name, what it says, whether it stops the rule).
    pub fn verdicts(
        &self,
        plan: &Plan,
        subject: &Subject,
        now: DateTime<Utc>,
    ) -> Vec<(&'static str, String, bool)> {
        let mut out = Vec::new();
        let cooling = plan.cooldown_hours > 0
            && self
                .answered_author
                .get(&(plan.id, subject.author))
                .is_some_and(|at| *at > now - Duration::hours(plan.cooldown_hours as i64));
        out.push((
            "cooldown",
            match (plan.cooldown_hours, cooling) {
                (0, _) => "off".to_owned(),
                (h, true) => format!("this rule answered this person within {h} hours"),
                (h, false) => format!("not answered by this rule in the last {h} hours"),
            },
            cooling,
        ));
        let replied = subject
            .video
            .is_some_and(|v| self.replied_on_video.contains(&(subject.author, v)));
        out.push((
            "once_per_video",
            match (plan.replies() && plan.once_per_video, replied) {
                (false, _) => "off, or the rule does not reply".to_owned(),
                (true, true) => {
                    "this person already got an automated reply under this video".to_owned()
                }
                (true, false) => {
                    "no automated reply to this person under this video yet".to_owned()
                }
            },
            plan.replies() && plan.once_per_video && replied,
        ));
        let used = self.hourly.get(&subject.channel.0).copied().unwrap_or(0);
        let full = plan.mode == Mode::Auto && used >= plan.max_per_hour as i64;
        out.push((
            "hourly_cap",
            if plan.mode == Mode::Auto {
                format!(
                    "{used} of {} automated actions used on this channel this hour",
                    plan.max_per_hour
                )
            } else {
                "counts auto rules only".to_owned()
            },
            full,
        ));
        out
    }

    /// The texts the next automated reply to `author` (under `video`) must not repeat.
    pub fn avoid(&self, author: i64, video: Option<i64>) -> Vec<String> {
        let by_video = video.and_then(|v| self.last_on_video.get(&v));
        self.last_to_author
            .get(&author)
            .into_iter()
            .chain(by_video)
            .cloned()
            .collect()
    }

    /// Remembers a run just decided that counts (due, suggested, done).
    pub fn record(
        &mut self,
        plan: &Plan,
        subject: &Subject,
        reply: Option<&str>,
        now: DateTime<Utc>,
    ) {
        self.answered_author.insert((plan.id, subject.author), now);
        if plan.mode == Mode::Auto {
            *self.hourly.entry(subject.channel.0).or_default() += 1;
        }
        if let Some(text) = reply {
            self.last_to_author.insert(subject.author, text.to_owned());
            if let Some(video) = subject.video {
                self.replied_on_video.insert((subject.author, video));
                self.last_on_video.insert(video, text.to_owned());
            }
        }
    }
}
