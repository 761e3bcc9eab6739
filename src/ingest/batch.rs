//! A batch of events that passed the checks, whichever way it came: read from the API's JSON
//! (`validate.rs`) or made by a connector as typed values (here). Only a [`Batch`] is stored.

use chrono::{DateTime, Utc};

use super::error::IngestError;
use super::event::{AuthorRef, Event, MessageEvent, VideoRef};
use super::fields::{
    MAX_ID_CHARS, MAX_NAME_CHARS, MAX_TEXT_BYTES, MAX_URL_CHARS, blank_problem, is_web_url,
    line_problem, message_conflict, text_problem, time_problem, to_microseconds,
};
use crate::problem::Problem;

/// Events that passed every check, all or nothing.
#[derive(Debug, Clone)]
pub struct Batch(pub(super) Vec<Event>);

impl Batch {
    /// The events, checked as the API checks a batch; every problem found when any is.
    pub fn check(mut events: Vec<Event>, now: DateTime<Utc>) -> Result<Batch, IngestError> {
        let problems = problems(&mut events, now);
        if problems.is_empty() {
            Ok(Batch(events))
        } else {
            Err(IngestError::Invalid(problems))
        }
    }

    /// The events that pass the checks, and the problems of those left out: for a source
    /// whose one bad item must not hold back the rest (a poll).
    pub fn sift(mut events: Vec<Event>, now: DateTime<Utc>) -> (Batch, Vec<Problem>) {
        let problems = problems(&mut events, now);
        let refused: std::collections::BTreeSet<usize> =
            problems.iter().filter_map(|p| p.index).collect();
        let kept = events
            .into_iter()
            .enumerate()
            .filter(|(i, _)| !refused.contains(i))
            .map(|(_, e)| e)
            .collect();
        (Batch(kept), problems)
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// Every problem of `events`, each at its event's index; times are cut to the microsecond.
fn problems(events: &mut [Event], now: DateTime<Utc>) -> Vec<Problem> {
    let mut problems = Vec::new();
    for (index, event) in events.iter_mut().enumerate() {
        let mut at = At {
            index,
            problems: &mut problems,
        };
        match event {
            Event::Message(m) => check_message(&mut at, m, now),
            Event::VideoStats(s) => {
                at.id("channel", &s.channel);
                at.video("video.", &mut s.video, now);
                let counts = [s.views, s.likes, s.comments, s.shares];
                for (name, n) in ["views", "likes", "comments", "shares"].iter().zip(counts) {
                    at.count(name, Some(n));
                }
                at.count("saves", s.saves);
                at.time("captured_at", &mut s.captured_at, now);
            }
            Event::ChannelStats(s) => {
                at.id("channel", &s.channel);
                at.count("followers", Some(s.followers));
                at.count("following", s.following);
                at.count("likes", s.likes);
                at.count("posts", s.posts);
                at.time("captured_at", &mut s.captured_at, now);
            }
        }
    }
    problems
}

fn check_message(at: &mut At<'_>, m: &mut MessageEvent, now: DateTime<Utc>) {
    at.id("channel", &m.channel);
    at.id("external_id", &m.external_id);
    if let Some(parent) = &m.parent_external_id {
        at.id("parent_external_id", parent);
    }
    if let Some(video) = &mut m.video {
        at.video("video.", video, now);
    }
    at.author("author.", &m.author);
    if let Some(recipient) = &m.recipient {
        at.author("recipient.", recipient);
    }
    at.say("text", text_problem(&m.text, MAX_TEXT_BYTES));
    at.time("created_at", &mut m.created_at, now);
    let conflict = message_conflict(
        Some(m.kind),
        m.video.is_some(),
        Some(&m.external_id),
        m.parent_external_id.as_deref(),
        m.direction,
        m.recipient.is_some(),
    );
    if let Some((field, message)) = conflict {
        at.say(field, Some(message.to_owned()));
    }
}

/// Problems of one event, said at its index.
struct At<'a> {
    index: usize,
    problems: &'a mut Vec<Problem>,
}

impl At<'_> {
    fn say(&mut self, field: &str, problem: Option<String>) {
        if let Some(message) = problem {
            self.problems.push(Problem::at(self.index, field, message));
        }
    }

    fn line(&mut self, field: &str, s: &str, max_chars: usize) {
        let problem = text_problem(s, max_chars * 4).or_else(|| line_problem(s, max_chars));
        self.say(field, problem);
    }

    fn id(&mut self, field: &str, s: &str) {
        let problem = text_problem(s, MAX_ID_CHARS * 4)
            .or_else(|| line_problem(s, MAX_ID_CHARS))
            .or_else(|| blank_problem(s));
        self.say(field, problem);
    }

    fn count(&mut self, field: &str, n: Option<i64>) {
        if n.is_some_and(|n| n < 0) {
            self.say(field, Some("must be a whole number, 0 or more".to_owned()));
        }
    }

    fn time(&mut self, field: &str, t: &mut DateTime<Utc>, now: DateTime<Utc>) {
        self.say(field, time_problem(*t, now).map(str::to_owned));
        *t = to_microseconds(*t);
    }

    fn video(&mut self, prefix: &str, v: &mut VideoRef, now: DateTime<Utc>) {
        self.id(&format!("{prefix}external_id"), &v.external_id);
        if let Some(title) = &v.title {
            self.say(
                &format!("{prefix}title"),
                text_problem(title, MAX_NAME_CHARS * 4),
            );
        }
        if let Some(url) = &v.url {
            let field = format!("{prefix}url");
            self.line(&field, url, MAX_URL_CHARS);
            if !is_web_url(url) {
                self.say(
                    &field,
                    Some("must be an http:// or https:// address".into()),
                );
            }
        }
        if let Some(t) = &mut v.published_at {
            self.time(&format!("{prefix}published_at"), t, now);
        }
    }

    fn author(&mut self, prefix: &str, a: &AuthorRef) {
        self.id(&format!("{prefix}external_id"), &a.external_id);
        if let Some(name) = &a.username {
            self.line(&format!("{prefix}username"), name, MAX_ID_CHARS);
        }
        if let Some(name) = &a.display_name {
            self.line(&format!("{prefix}display_name"), name, MAX_NAME_CHARS);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Kind, Platform};

    fn comment(id: &str, text: &str, at: DateTime<Utc>) -> Event {
        Event::Message(MessageEvent {
            platform: Platform::Tiktok,
            channel: "acct".into(),
            kind: Kind::Comment,
            external_id: id.into(),
            parent_external_id: None,
            video: Some(VideoRef::id("v1")),
            author: AuthorRef::id("fan"),
            recipient: None,
            direction: None,
            text: text.into(),
            created_at: at,
        })
    }

    #[test]
    fn typed_events_meet_the_api_checks() {
        let now = crate::clock::now();
        let bad = vec![
            comment("c1", "fine", now),
            comment("c2", "a\0b", now),
            comment(" ", "x", now + chrono::Duration::days(2)),
        ];
        let Err(IngestError::Invalid(problems)) = Batch::check(bad.clone(), now) else {
            panic!("a NUL, a blank id and a time to come are refused");
        };
        let said: Vec<(Option<usize>, &str)> = problems
            .iter()
            .map(|p| (p.index, p.field.as_str()))
            .collect();
        assert_eq!(
            said,
            [
                (Some(1), "text"),
                (Some(2), "external_id"),
                (Some(2), "created_at")
            ]
        );
        let (kept, refused) = Batch::sift(bad, now);
        assert_eq!((kept.len(), refused.len()), (1, 3));
    }

    #[test]
    fn times_are_kept_to_the_microsecond_and_comments_need_a_video() {
        let at = DateTime::from_timestamp(1_764_000_000, 123_456_789).unwrap();
        let batch = Batch::check(vec![comment("c1", "hi", at)], at).unwrap();
        let Event::Message(m) = &batch.0[0] else {
            panic!("a message");
        };
        assert_eq!(m.created_at.timestamp_subsec_nanos(), 123_456_000);
        let mut orphan = comment("c2", "hi", at);
        if let Event::Message(m) = &mut orphan {
            m.video = None;
        }
        let Err(IngestError::Invalid(problems)) = Batch::check(vec![orphan], at) else {
            panic!("a comment without its video is refused");
        };
        assert_eq!(problems[0].field, "video.external_id");
    }
}
