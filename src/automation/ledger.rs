//! What the safeguards need to know about earlier runs, read for a whole batch in a handful of
//! queries and then kept up to date in memory as the batch's own runs are decided: cool-downs,
//! replies per person and video, the channels' hourly counts, the last texts sent.

use std::collections::{BTreeSet, HashMap, HashSet};

use chrono::{DateTime, Duration, Utc};

use super::book::Plan;
use super::hourly;
use super::safeguards::{LIVE, Stop, Subject, in_window};
use crate::domain::Mode;
use crate::storage::{Backend, Sql, Tx, padded_chunks};

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

/// A key set in padded chunks (see [`padded_chunks`]).
fn chunked<T: Copy>(backend: Backend, set: &BTreeSet<T>) -> Vec<Vec<T>> {
    padded_chunks(backend, &set.iter().copied().collect::<Vec<T>>()).collect()
}

/// Round `round`'s chunk of `chunks`, empty once they ran out.
fn share<T>(chunks: &[Vec<T>], round: usize) -> &[T] {
    chunks.get(round).map_or(&[], Vec::as_slice)
}

/// One row of the ledger's read: which part it answers, and that part's columns.
type Row = (
    i64,
    Option<i64>,
    Option<i64>,
    Option<DateTime<Utc>>,
    Option<String>,
);

const COOLDOWN: i64 = 1;
const ON_VIDEO: i64 = 2;
const HOURLY: i64 = 3;
const TO_AUTHOR: i64 = 4;
const ON_VIDEO_TEXT: i64 = 5;

impl Ledger {
    /// Everything the safeguards need about the batch's authors, videos and channels, in one
    /// statement (per 256 of each): every statement is a round trip, and on PostgreSQL this
    /// read happens while the batch holds its channels' lock, which concurrent batches wait for.
    pub async fn load(
        tx: &mut Tx,
        who: &Involved,
        now: DateTime<Utc>,
    ) -> Result<Ledger, sqlx::Error> {
        let mut ledger = Ledger::default();
        let (authors, videos, pairs, channels) = (
            chunked(tx.backend(), &who.authors),
            chunked(tx.backend(), &who.videos),
            chunked(tx.backend(), &who.pairs),
            chunked(tx.backend(), &who.channels),
        );
        let rounds = [authors.len(), videos.len(), pairs.len(), channels.len()];
        for round in 0..rounds.into_iter().max().unwrap_or(0) {
            let (authors, videos, pairs, channels) = (
                share(&authors, round),
                share(&videos, round),
                share(&pairs, round),
                share(&channels, round),
            );
            // Every part reads rule runs by one key at a time (a subquery per row of the
            // batch's rules, authors and (author, video) pairs, the keys given as rows): a
            // plan made while the table was young then stays right as it grows, where a list
            // of ORs would be planned as a scan of the whole table and kept as it grows.
            let mut sql = Sql::new("");
            let cooldowns = who.longest_cooldown > 0 && !authors.is_empty();
            let mut tables = 0;
            let mut table = |sql: &mut Sql, head: &str| {
                sql.push(if tables == 0 { "WITH " } else { ", " })
                    .push(head);
                tables += 1;
            };
            if cooldowns {
                table(&mut sql, "fired (rule) AS (");
                sql.bind_table(tx.backend(), &who.rules, |r, rule| {
                    r.bind(*rule);
                })
                .push(")");
                table(&mut sql, "who (author) AS (");
                sql.bind_table(tx.backend(), authors, |r, author| {
                    r.bind(*author);
                })
                .push(")");
            }
            if !pairs.is_empty() {
                table(&mut sql, "pairs (author, video) AS (");
                sql.bind_table(tx.backend(), pairs, |r, (author, video)| {
                    r.bind(*author).bind(*video);
                })
                .push(")");
            }
            sql.push(" ");
            let mut parts = 0;
            let mut part = |sql: &mut Sql, select: &str| {
                if parts > 0 {
                    sql.push(" UNION ALL ");
                }
                parts += 1;
                sql.push(select);
            };
            if cooldowns {
                part(
                    &mut sql,
                    &format!(
                        "SELECT CAST({COOLDOWN} AS BIGINT), f.rule, w.author, \
                         (SELECT MAX(r.decided_at) FROM rule_runs r WHERE r.rule_id = f.rule \
                         AND r.author_id = w.author AND r.decided_at > "
                    ),
                );
                sql.bind(now - Duration::hours(who.longest_cooldown))
                    .push(" AND r.outcome IN ")
                    .push(LIVE)
                    .push("), CAST(NULL AS TEXT) FROM fired f, who w");
            }
            // Each pair by the author's runs (`+ 0` keeps the video's index out of it: a busy
            // video's runs are many).
            if !pairs.is_empty() {
                part(
                    &mut sql,
                    &format!(
                        "SELECT CAST({ON_VIDEO} AS BIGINT), p.author, p.video, \
                         CAST(NULL AS TIMESTAMPTZ), (SELECT r.reply_text FROM rule_runs r \
                         WHERE r.author_id = p.author AND r.video_id + 0 = p.video \
                         AND r.reply_text IS NOT NULL AND r.outcome IN {LIVE} LIMIT 1) \
                         FROM pairs p"
                    ),
                );
            }
            if !channels.is_empty() {
                part(
                    &mut sql,
                    &format!(
                        "SELECT CAST({HOURLY} AS BIGINT), channel_id, n, \
                         CAST(NULL AS TIMESTAMPTZ), CAST(NULL AS TEXT) FROM ("
                    ),
                );
                hourly::push_counts(&mut sql, tx.backend(), channels, now);
                sql.push(") hourly");
            }
            // The newest reply to each author and under each video: one row each, read backwards
            // from the newest run, however many runs a busy video has had.
            for (what, table, column, ids) in [
                (TO_AUTHOR, "contacts", "author_id", &authors),
                (ON_VIDEO_TEXT, "videos", "video_id", &videos),
            ] {
                if ids.is_empty() {
                    continue;
                }
                part(
                    &mut sql,
                    &format!(
                        "SELECT CAST({what} AS BIGINT), x.id, CAST(NULL AS BIGINT), \
                         CAST(NULL AS TIMESTAMPTZ), (SELECT r.reply_text FROM rule_runs r \
                         WHERE r.{column} = x.id AND r.reply_text IS NOT NULL AND r.outcome IN {LIVE} \
                         ORDER BY r.id DESC LIMIT 1) FROM {table} x WHERE x.id IN "
                    ),
                );
                sql.bind_ids(tx.backend(), ids.iter().copied());
            }
            if parts == 0 {
                continue;
            }
            for row in tx.fetch_all::<Row>(sql).await? {
                ledger.learn(row);
            }
        }
        Ok(ledger)
    }

    fn learn(&mut self, (what, a, b, at, text): Row) {
        match (what, a, b, at, text) {
            (COOLDOWN, Some(rule), Some(author), Some(at), _) => {
                self.answered_author.insert((rule, author), at);
            }
            (ON_VIDEO, Some(author), Some(video), _, Some(_)) => {
                self.replied_on_video.insert((author, video));
            }
            (HOURLY, Some(channel), Some(n), _, _) => {
                self.hourly.insert(channel, n);
            }
            (TO_AUTHOR, Some(author), _, _, Some(text)) => {
                self.last_to_author.insert(author, text);
            }
            (ON_VIDEO_TEXT, Some(video), _, _, Some(text)) => {
                self.last_on_video.insert(video, text);
            }
            _ => {}
        }
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
