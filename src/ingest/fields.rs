//! Reads fields out of one JSON event, collecting a [`Problem`] for everything wrong instead of
//! stopping at the first, so a client learns all it must fix in one round trip.

use std::str::FromStr;

use chrono::{DateTime, Duration, DurationRound, Utc};
use serde_json::{Map, Value};

use crate::domain::{Direction, Kind};
use crate::problem::Problem;

pub const MAX_ID_CHARS: usize = 256;
pub const MAX_NAME_CHARS: usize = 512;
pub const MAX_URL_CHARS: usize = 2048;
pub const MAX_TEXT_BYTES: usize = 65_536;

pub struct Fields<'a> {
    obj: &'a Map<String, Value>,
    index: usize,
    prefix: String,
    pub problems: &'a mut Vec<Problem>,
}

impl<'a> Fields<'a> {
    pub fn new(obj: &'a Map<String, Value>, index: usize, problems: &'a mut Vec<Problem>) -> Self {
        Fields {
            obj,
            index,
            prefix: String::new(),
            problems,
        }
    }

    fn path(&self, name: &str) -> String {
        format!("{}{name}", self.prefix)
    }

    pub fn problem(&mut self, name: &str, message: impl Into<String>) {
        let field = self.path(name);
        self.problems.push(Problem::at(self.index, field, message));
    }

    /// Whether the field is present and not null.
    pub fn has(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    fn get(&self, name: &str) -> Option<&'a Value> {
        self.obj.get(name).filter(|v| !v.is_null())
    }

    /// Runs `read` on the nested object `name`; `None` when it is absent (or not an object,
    /// which is reported).
    pub fn object<T>(&mut self, name: &str, read: impl FnOnce(&mut Fields<'_>) -> T) -> Option<T> {
        let obj = match self.get(name)? {
            Value::Object(obj) => obj,
            _ => {
                self.problem(name, "must be an object");
                return None;
            }
        };
        let mut nested = Fields {
            obj,
            index: self.index,
            prefix: format!("{}{name}.", self.prefix),
            problems: self.problems,
        };
        Some(read(&mut nested))
    }

    pub fn required<T>(&mut self, name: &str, value: Option<T>) -> Option<T> {
        if value.is_none() && self.get(name).is_none() {
            self.problem(name, "is required");
        }
        value
    }

    /// An optional string: checked for NUL characters (PostgreSQL cannot store them) and length.
    pub fn text(&mut self, name: &str, max_bytes: usize) -> Option<String> {
        let value = self.get(name)?;
        let Value::String(s) = value else {
            self.problem(name, "must be a string");
            return None;
        };
        self.checked(name, s, |s| text_problem(s, max_bytes))
    }

    /// An optional short single-line string such as a name (limit in characters).
    pub fn name(&mut self, name: &str, max_chars: usize) -> Option<String> {
        let s = self.text(name, max_chars * 4)?;
        self.checked(name, &s, |s| line_problem(s, max_chars))
    }

    /// An optional identifier: a non-empty string. Numbers are refused because platform ids
    /// exceed 2^53 and lose digits in most JSON encoders.
    pub fn id(&mut self, name: &str) -> Option<String> {
        if let Some(Value::Number(_)) = self.get(name) {
            self.problem(
                name,
                "must be a string: large ids lose digits as JSON numbers",
            );
            return None;
        }
        let s = self.name(name, MAX_ID_CHARS)?;
        self.checked(name, &s, blank_problem)
    }

    /// `s` when `problem` finds nothing wrong with it; else the problem, said at `name`.
    fn checked(
        &mut self,
        name: &str,
        s: &str,
        problem: impl FnOnce(&str) -> Option<String>,
    ) -> Option<String> {
        match problem(s) {
            Some(message) => {
                self.problem(name, message);
                None
            }
            None => Some(s.to_owned()),
        }
    }

    pub fn word<T: FromStr<Err = String>>(&mut self, name: &str) -> Option<T> {
        let s = self.name(name, 64)?;
        match s.parse() {
            Ok(v) => Some(v),
            Err(e) => {
                self.problem(name, e);
                None
            }
        }
    }

    /// An optional count: a whole number from 0 up.
    pub fn count(&mut self, name: &str) -> Option<i64> {
        let value = self.get(name)?;
        match value.as_i64() {
            Some(n) if n >= 0 => Some(n),
            _ => {
                self.problem(name, "must be a whole number, 0 or more");
                None
            }
        }
    }

    /// An optional RFC 3339 time, kept to the microsecond, within [`time_problem`]'s bounds.
    pub fn time(&mut self, name: &str, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let s = self.name(name, 64)?;
        let parsed = match DateTime::parse_from_rfc3339(&s) {
            Ok(t) => t.with_timezone(&Utc),
            Err(_) => {
                self.problem(
                    name,
                    "must be an RFC 3339 time such as 2026-11-24T10:00:00Z",
                );
                return None;
            }
        };
        if let Some(message) = time_problem(parsed, now) {
            self.problem(name, message);
            return None;
        }
        Some(to_microseconds(parsed))
    }
}

/// Why `s` cannot be stored as text of at most `max_bytes`: PostgreSQL cannot store NUL.
pub fn text_problem(s: &str, max_bytes: usize) -> Option<String> {
    if s.contains('\0') {
        return Some("must not contain NUL characters (\\u0000)".to_owned());
    }
    (s.len() > max_bytes).then(|| format!("is {} bytes long; the limit is {max_bytes}", s.len()))
}

/// Why `s` is no short single line of at most `max_chars` characters (past [`text_problem`]).
pub fn line_problem(s: &str, max_chars: usize) -> Option<String> {
    if s.chars().count() > max_chars {
        return Some(format!("is longer than {max_chars} characters"));
    }
    s.chars()
        .any(char::is_control)
        .then(|| "must not contain control characters".to_owned())
}

/// Why `s` is no identifier (past [`line_problem`]): it is blank.
pub fn blank_problem(s: &str) -> Option<String> {
    s.trim().is_empty().then(|| "must not be empty".to_owned())
}

/// Why `t` is refused: a time before 1970 or more than one day from now (a message from the
/// future would sit on top of the inbox forever).
pub fn time_problem(t: DateTime<Utc>, now: DateTime<Utc>) -> Option<&'static str> {
    (t < DateTime::UNIX_EPOCH || t > now + Duration::days(1))
        .then_some("must lie between 1970 and one day from now")
}

/// `t` to the microsecond, what both databases store.
pub fn to_microseconds(t: DateTime<Utc>) -> DateTime<Utc> {
    t.duration_trunc(Duration::microseconds(1)).unwrap_or(t)
}

/// The first rule a message's fields break together, as the field to name and what to say.
pub fn message_conflict(
    kind: Option<Kind>,
    has_video: bool,
    external_id: Option<&str>,
    parent: Option<&str>,
    direction: Option<Direction>,
    has_recipient: bool,
) -> Option<(&'static str, &'static str)> {
    if kind == Some(Kind::Comment) && !has_video {
        Some((
            "video.external_id",
            "is required for comments (the video or post they belong to)",
        ))
    } else if parent.is_some() && parent == external_id {
        Some(("parent_external_id", "must differ from external_id"))
    } else if kind == Some(Kind::Dm) && direction == Some(Direction::Outbound) && !has_recipient {
        Some((
            "recipient.external_id",
            "is required for a DM the account sent itself",
        ))
    } else {
        None
    }
}

/// Only web addresses become links: a `javascript:` URL in a page would run.
pub fn is_web_url(url: &str) -> bool {
    let lower = url.to_ascii_lowercase();
    (lower.starts_with("https://") || lower.starts_with("http://")) && url.len() > "http://".len()
}
