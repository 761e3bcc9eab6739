//! Conditions a rule's message must meet, read from their JSON form with every problem named
//! by its path (`conditions[1].pattern`).

use serde_json::{Map, Value};

use crate::problem::Problem;

/// Most conditions in one rule.
pub const MAX_CONDITIONS: usize = 20;

/// Regular expressions are compiled with this much room at most (the `regex` crate's limit on
/// the compiled program), so no rule can make matching slow or eat memory.
pub const REGEX_SIZE_LIMIT: usize = 256 * 1024;
/// Most keywords in one condition.
pub const MAX_KEYWORDS: usize = 500;
/// Texts shorter than this many words are too short to tell their language.
pub const LANGUAGE_MIN_WORDS: usize = 4;
/// The detector's confidence a language condition asks for unless it says otherwise. The
/// confidence is the gap to the runner-up, small for close languages (a plain 12-word Dutch
/// sentence scores 0.10 against Afrikaans), so the word count above does most of the guarding.
pub const DEFAULT_LANGUAGE_CONFIDENCE: f64 = 0.05;

/// One test; [`Condition::negate`] flips it.
#[derive(Debug, Clone, PartialEq)]
pub enum Test {
    /// At least one of `any` (when given) and every one of `all` appear as words.
    Keywords {
        any: Vec<String>,
        all: Vec<String>,
    },
    /// The phrase appears as written (case and diacritics aside), on word boundaries.
    Phrase(String),
    Regex {
        pattern: String,
        case_sensitive: bool,
    },
    /// The detected language is one of these (ISO 639-3 codes, as `nld`, `eng`, whatever the
    /// rule wrote: `nl`, `nld` or `Dutch`), detected
    /// with at least this confidence; short texts have no language.
    Language {
        codes: Vec<String>,
        min_confidence: f64,
    },
    Question,
    Link,
    Email,
    OnlyMentions,
    OnlyEmoji,
    WordCount {
        min: Option<usize>,
        max: Option<usize>,
    },
    /// The author's first message on this channel.
    FirstMessage,
    /// A comment that answers another comment.
    Reply,
    /// A comment directly under the video.
    TopLevel,
    /// The video was published at most this many days before the message.
    VideoAge {
        max_days: i64,
    },
    /// The message came in during business hours (negate: outside them).
    BusinessHours(super::schedule::Schedule),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Condition {
    pub test: Test,
    pub negate: bool,
}

/// Reads `conditions` (a JSON array); problems go to `problems` with paths under `path`.
pub fn read_conditions(value: &Value, path: &str, problems: &mut Vec<Problem>) -> Vec<Condition> {
    let Some(items) = value.as_array() else {
        problems.push(Problem::new(path, "must be a list of conditions"));
        return Vec::new();
    };
    items
        .iter()
        .enumerate()
        .filter_map(|(i, item)| read_condition(item, &format!("{path}[{i}]"), problems))
        .collect()
}

fn read_condition(value: &Value, path: &str, problems: &mut Vec<Problem>) -> Option<Condition> {
    let Some(obj) = value.as_object() else {
        problems.push(Problem::new(path, "must be an object with a \"type\""));
        return None;
    };
    let mut f = Fields {
        obj,
        path,
        problems,
    };
    let negate = f.flag("negate");
    let kind = f.word("type")?;
    let test = match kind.as_str() {
        "keywords" => f.keywords()?,
        "phrase" => {
            let phrase = f.text("text")?;
            if super::text::fold(&phrase).trim().is_empty() {
                f.problem(
                    "text",
                    "has nothing left to match once case and accents are set aside",
                );
                return None;
            }
            Test::Phrase(phrase)
        }
        "regex" => f.regex()?,
        "language" => f.language()?,
        "question" => Test::Question,
        "link" => Test::Link,
        "email" => Test::Email,
        "only_mentions" => Test::OnlyMentions,
        "only_emoji" => Test::OnlyEmoji,
        "word_count" => f.word_count()?,
        "first_message" => Test::FirstMessage,
        "reply" => Test::Reply,
        "top_level" => Test::TopLevel,
        "video_age" => Test::VideoAge {
            max_days: f.count("max_days")?,
        },
        "business_hours" => Test::BusinessHours(super::schedule::read(f.obj, path, f.problems)?),
        other => {
            f.problem(
                "type",
                format!(
                    "“{other}” is no condition; use one of keywords, phrase, regex, language, \
                     question, link, email, only_mentions, only_emoji, word_count, \
                     first_message, reply, top_level, video_age, business_hours"
                ),
            );
            return None;
        }
    };
    Some(Condition { test, negate })
}

/// One condition object being read.
struct Fields<'a> {
    obj: &'a Map<String, Value>,
    path: &'a str,
    problems: &'a mut Vec<Problem>,
}

impl Fields<'_> {
    fn problem(&mut self, field: &str, message: impl Into<String>) {
        self.problems
            .push(Problem::new(format!("{}.{field}", self.path), message));
    }

    fn flag(&mut self, field: &str) -> bool {
        match self.obj.get(field) {
            None | Some(Value::Null) => false,
            Some(Value::Bool(b)) => *b,
            Some(_) => {
                self.problem(field, "must be true or false");
                false
            }
        }
    }

    fn word(&mut self, field: &str) -> Option<String> {
        match self.obj.get(field) {
            Some(Value::String(s)) => Some(s.clone()),
            _ => {
                self.problem(field, "is required: a word such as \"keywords\"");
                None
            }
        }
    }

    fn text(&mut self, field: &str) -> Option<String> {
        match self.obj.get(field) {
            Some(Value::String(s)) if !s.trim().is_empty() => Some(s.clone()),
            _ => {
                self.problem(field, "is required: text that is not blank");
                None
            }
        }
    }

    fn count(&mut self, field: &str) -> Option<i64> {
        match self.obj.get(field).and_then(Value::as_i64) {
            Some(n) if n >= 0 => Some(n),
            _ => {
                self.problem(field, "must be a whole number, 0 or more");
                None
            }
        }
    }

    fn list(&mut self, field: &str) -> Option<Vec<String>> {
        let value = self.obj.get(field)?;
        let Some(items) = value.as_array() else {
            self.problem(field, "must be a list of texts");
            return Some(Vec::new());
        };
        let mut out = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            match item.as_str().map(str::trim) {
                Some(s) if !super::text::fold(s).trim().is_empty() => out.push(s.to_owned()),
                Some(s) if !s.is_empty() => self.problem(
                    &format!("{field}[{i}]"),
                    "has nothing left to match once case and accents are set aside",
                ),
                _ => self.problem(&format!("{field}[{i}]"), "must be text that is not blank"),
            }
        }
        if out.len() > MAX_KEYWORDS {
            self.problem(
                field,
                format!("has {} entries; at most {MAX_KEYWORDS}", out.len()),
            );
        }
        Some(out)
    }

    fn keywords(&mut self) -> Option<Test> {
        let any = self.list("any").unwrap_or_default();
        let all = self.list("all").unwrap_or_default();
        if any.is_empty() && all.is_empty() {
            self.problem("any", "give at least one keyword in \"any\" or \"all\"");
            return None;
        }
        Some(Test::Keywords { any, all })
    }

    fn regex(&mut self) -> Option<Test> {
        let pattern = self.text("pattern")?;
        let case_sensitive = self.flag("case_sensitive");
        if let Err(e) = build_regex(&pattern, case_sensitive) {
            self.problem("pattern", e);
            return None;
        }
        Some(Test::Regex {
            pattern,
            case_sensitive,
        })
    }

    fn language(&mut self) -> Option<Test> {
        let codes = self.list("is").unwrap_or_default();
        if codes.is_empty() {
            self.problem(
                "is",
                "give the languages as codes or English names, such as [\"nl\", \"eng\", \"German\"]",
            );
            return None;
        }
        let mut known = Vec::with_capacity(codes.len());
        for (i, code) in codes.iter().enumerate() {
            match super::languages::parse(code) {
                Some(lang) => known.push(lang.code().to_owned()),
                None => self.problem(
                    &format!("is[{i}]"),
                    format!("“{code}” is no language we know; write an ISO 639-1 or 639-3 code (nl, nld) or an English name (Dutch)"),
                ),
            }
        }
        let codes = known;
        let min_confidence = match self.obj.get("min_confidence") {
            None | Some(Value::Null) => DEFAULT_LANGUAGE_CONFIDENCE,
            Some(v) => match v.as_f64() {
                Some(c) if (0.0..=1.0).contains(&c) => c,
                _ => {
                    self.problem("min_confidence", "must be a number from 0 to 1");
                    return None;
                }
            },
        };
        Some(Test::Language {
            codes,
            min_confidence,
        })
    }

    fn word_count(&mut self) -> Option<Test> {
        let bound = |f: &mut Self, field: &str| match f.obj.get(field) {
            None | Some(Value::Null) => Some(None),
            Some(v) => match v.as_u64() {
                Some(n) => Some(Some(n as usize)),
                None => {
                    f.problem(field, "must be a whole number, 0 or more");
                    None
                }
            },
        };
        let min = bound(self, "min")?;
        let max = bound(self, "max")?;
        match (min, max) {
            (None, None) => {
                self.problem("min", "give \"min\", \"max\" or both");
                None
            }
            (Some(lo), Some(hi)) if lo > hi => {
                self.problem("max", format!("is below \"min\" ({lo})"));
                None
            }
            _ => Some(Test::WordCount { min, max }),
        }
    }
}

/// The regex as rules run it: case-insensitive unless asked, size-limited.
pub fn build_regex(pattern: &str, case_sensitive: bool) -> Result<regex::Regex, String> {
    regex::RegexBuilder::new(pattern)
        .case_insensitive(!case_sensitive)
        .size_limit(REGEX_SIZE_LIMIT)
        .build()
        .map_err(|e| match e {
            regex::Error::CompiledTooBig(limit) => {
                format!("the expression is too large (over {limit} bytes compiled); simplify it")
            }
            other => format!("is not a valid regular expression: {other}"),
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn read(v: Value) -> (Vec<Condition>, Vec<(String, String)>) {
        let mut problems = Vec::new();
        let c = read_conditions(&v, "conditions", &mut problems);
        (
            c,
            problems.into_iter().map(|p| (p.field, p.message)).collect(),
        )
    }

    #[test]
    fn every_kind_reads() {
        let (c, problems) = read(json!([
            {"type": "keywords", "any": ["prijs", "price"]},
            {"type": "keywords", "any": ["retour"], "negate": true},
            {"type": "regex", "pattern": "hoeveel (?P<wat>\\w+)"},
            {"type": "language", "is": ["nld"]},
            {"type": "word_count", "max": 3},
            {"type": "video_age", "max_days": 7},
            {"type": "question"}, {"type": "reply"}
        ]));
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(c.len(), 8);
        assert!(c[1].negate);
    }

    #[test]
    fn problems_name_their_paths() {
        let (_, problems) = read(json!([
            {"type": "regex", "pattern": "(unclosed"},
            {"type": "keywords"},
            {"type": "word_count", "min": 5, "max": 2},
            {"type": "colour"},
            {"type": "language", "is": ["klingon"]},
            {"type": "regex", "pattern": "\\w{1000}{1000}"}
        ]));
        let fields: Vec<&str> = problems.iter().map(|(f, _)| f.as_str()).collect();
        assert_eq!(
            fields,
            [
                "conditions[0].pattern",
                "conditions[1].any",
                "conditions[2].max",
                "conditions[3].type",
                "conditions[4].is[0]",
                "conditions[5].pattern"
            ]
        );
        assert!(
            problems[0].1.contains("not a valid regular expression"),
            "{}",
            problems[0].1
        );
        assert!(problems[5].1.contains("too large"), "{}", problems[5].1);
    }
}
