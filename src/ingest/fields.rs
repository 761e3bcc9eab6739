//! Reads fields out of one JSON event, collecting a [`Problem`] for everything wrong instead of
//! stopping at the first, so a client learns all it must fix in one round trip.

use std::str::FromStr;

use chrono::{DateTime, Duration, DurationRound, Utc};
use serde_json::{Map, Value};

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
        if s.contains('\0') {
            self.problem(name, "must not contain NUL characters (\\u0000)");
            return None;
        }
        if s.len() > max_bytes {
            self.problem(
                name,
                format!("is {} bytes long; the limit is {max_bytes}", s.len()),
            );
            return None;
        }
        Some(s.clone())
    }

    /// An optional short single-line string such as a name (limit in characters).
    pub fn name(&mut self, name: &str, max_chars: usize) -> Option<String> {
        let s = self.text(name, max_chars * 4)?;
        if s.chars().count() > max_chars {
            self.problem(name, format!("is longer than {max_chars} characters"));
            return None;
        }
        if s.chars().any(char::is_control) {
            self.problem(name, "must not contain control characters");
            return None;
        }
        Some(s)
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
        if s.trim().is_empty() {
            self.problem(name, "must not be empty");
            return None;
        }
        Some(s)
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

    /// An optional RFC 3339 time, kept to the microsecond (what both databases store),
    /// between 1970 and one day from now: a message from the future would sit on top of
    /// the inbox forever.
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
        if parsed < DateTime::UNIX_EPOCH || parsed > now + Duration::days(1) {
            self.problem(name, "must lie between 1970 and one day from now");
            return None;
        }
        Some(
            parsed
                .duration_trunc(Duration::microseconds(1))
                .unwrap_or(parsed),
        )
    }
}
