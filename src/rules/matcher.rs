//! Every enabled rule of a workspace compiled into one matcher: one Aho-Corasick automaton for
//! all keywords and phrases, one `RegexSet` for all expressions, so deciding a message costs
//! about the same for 1,000 rules as for ten. Built once per change of the rules, then shared.

use std::cell::OnceCell;

use aho_corasick::{AhoCorasick, MatchKind};
use regex::RegexSet;

use super::condition::{Condition, LANGUAGE_MIN_WORDS, REGEX_SIZE_LIMIT, Test};
use super::text;
use crate::domain::{Kind, Platform};

/// What a rule matches on, as the matcher needs it.
#[derive(Debug, Clone)]
pub struct RuleSpec {
    pub id: i64,
    /// Rules are tried by position, lowest first.
    pub position: i64,
    pub enabled: bool,
    /// Empty: comments and DMs.
    pub applies_to: Vec<Kind>,
    /// Empty lists mean "all".
    pub platforms: Vec<Platform>,
    pub channels: Vec<i64>,
    pub videos: Vec<i64>,
    pub conditions: Vec<Condition>,
    /// Later rules are tried too when this one fires.
    pub keep_going: bool,
}

impl RuleSpec {
    /// An enabled rule at position `id`, for every kind, platform, channel and video.
    pub fn new(id: i64, conditions: Vec<Condition>) -> RuleSpec {
        RuleSpec {
            id,
            position: id,
            enabled: true,
            applies_to: Vec::new(),
            platforms: Vec::new(),
            channels: Vec::new(),
            videos: Vec::new(),
            conditions,
            keep_going: false,
        }
    }
}

/// The message being decided, with the facts about it the conditions ask for.
#[derive(Debug, Clone)]
pub struct Message<'a> {
    pub text: &'a str,
    pub kind: Kind,
    pub platform: Platform,
    pub channel: i64,
    pub video: Option<i64>,
    pub is_reply: bool,
    pub first_from_author: bool,
    /// Days between the video's publication and the message, when known.
    pub video_age_days: Option<i64>,
    /// When the message was written (business hours are about its time).
    pub at: chrono::DateTime<chrono::Utc>,
}

/// A condition as the matcher runs it: keywords, phrases and expressions point into the
/// shared automaton and sets, languages are looked up once; the rest is the test itself.
enum Check {
    Keywords {
        any: Vec<usize>,
        all: Vec<usize>,
    },
    Phrase(usize),
    Regex(usize, usize),
    Language {
        langs: Vec<whatlang::Lang>,
        min_confidence: f64,
    },
    /// A test read off the message and its facts alone.
    Plain(Test),
}

struct Compiled {
    spec: RuleSpec,
    checks: Vec<(Check, bool)>,
}

pub struct Matcher {
    rules: Vec<Compiled>,
    /// For each pattern, the rules (by index) that cannot fire unless it is in the message:
    /// most rules need one of a few keywords, so a message is tried only against the rules
    /// whose keywords it holds, plus the rules that need none.
    gated_by: Vec<Vec<usize>>,
    ungated: Vec<usize>,
    keywords: Option<AhoCorasick>,
    /// Expressions that ignore case, and those that do not: each set compiled with its flag,
    /// so no pattern is ever wrapped in text of ours (a `(?x)` comment would swallow it).
    regexes: [Option<RegexSet>; 2],
}

/// What is computed about a message at most once, and only if some rule asks.
struct Seen<'m> {
    message: &'m Message<'m>,
    /// The patterns that stand in the message, sorted (a message holds few of them).
    hits: OnceCell<Vec<usize>>,
    regex_hits: OnceCell<[Vec<bool>; 2]>,
    language: OnceCell<Option<(whatlang::Lang, f64)>>,
}

impl Matcher {
    /// Compiles `rules` (their conditions already validated by `read_conditions`).
    pub fn new(mut rules: Vec<RuleSpec>) -> Result<Matcher, String> {
        rules.retain(|r| r.enabled);
        rules.sort_by_key(|r| (r.position, r.id));
        let mut patterns: Vec<String> = Vec::new();
        let mut index = std::collections::HashMap::new();
        let mut intern = |word: &str| -> usize {
            // Conditions refuse words that fold to nothing; an empty pattern would match
            // everywhere, so it is replaced by one that matches nowhere.
            let folded = Some(text::fold(word.trim()))
                .filter(|f| !f.trim().is_empty())
                .unwrap_or_else(|| "\u{0}".to_owned());
            *index.entry(folded.clone()).or_insert_with(|| {
                patterns.push(folded);
                patterns.len() - 1
            })
        };
        // Per set (0: ignore case, 1: case-sensitive), the patterns; a check names (set, index).
        let mut regex_sources: [Vec<String>; 2] = [Vec::new(), Vec::new()];
        let mut compiled = Vec::with_capacity(rules.len());
        for spec in rules {
            let mut checks = Vec::with_capacity(spec.conditions.len());
            for c in &spec.conditions {
                let check = match &c.test {
                    Test::Keywords { any, all } => Check::Keywords {
                        any: any.iter().map(|w| intern(w)).collect(),
                        all: all.iter().map(|w| intern(w)).collect(),
                    },
                    Test::Phrase(p) => Check::Phrase(intern(p)),
                    Test::Regex {
                        pattern,
                        case_sensitive,
                    } => {
                        let set = usize::from(*case_sensitive);
                        regex_sources[set].push(pattern.clone());
                        Check::Regex(set, regex_sources[set].len() - 1)
                    }
                    Test::Language {
                        codes,
                        min_confidence,
                    } => Check::Language {
                        langs: codes.iter().filter_map(whatlang::Lang::from_code).collect(),
                        min_confidence: *min_confidence,
                    },
                    plain => Check::Plain(plain.clone()),
                };
                checks.push((check, c.negate));
            }
            compiled.push(Compiled { spec, checks });
        }
        let mut gated_by = vec![Vec::new(); patterns.len()];
        let mut ungated = Vec::new();
        for (i, rule) in compiled.iter().enumerate() {
            match gate(&rule.checks) {
                Some(needed) => needed.iter().for_each(|&p| gated_by[p].push(i)),
                None => ungated.push(i),
            }
        }
        let keywords = if patterns.is_empty() {
            None
        } else {
            Some(
                AhoCorasick::builder()
                    .match_kind(MatchKind::Standard)
                    .build(&patterns)
                    .map_err(|e| format!("cannot build the keyword matcher: {e}"))?,
            )
        };
        let build =
            |sources: &Vec<String>, ignore_case: bool| -> Result<Option<RegexSet>, String> {
                if sources.is_empty() {
                    return Ok(None);
                }
                regex::RegexSetBuilder::new(sources)
                    .case_insensitive(ignore_case)
                    .size_limit(REGEX_SIZE_LIMIT * sources.len())
                    .build()
                    .map(Some)
                    .map_err(|e| format!("cannot build the expression matcher: {e}"))
            };
        let regexes = [
            build(&regex_sources[0], true)?,
            build(&regex_sources[1], false)?,
        ];
        Ok(Matcher {
            rules: compiled,
            gated_by,
            ungated,
            keywords,
            regexes,
        })
    }

    pub fn len(&self) -> usize {
        self.rules.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// The ids of the rules that fire for `message`, in order: the first that matches, and
    /// after it the next only while the one before says to keep going.
    pub fn decide(&self, message: &Message<'_>) -> Vec<i64> {
        let seen = Seen {
            message,
            hits: OnceCell::new(),
            regex_hits: OnceCell::new(),
            language: OnceCell::new(),
        };
        let mut candidates = self.ungated.clone();
        if self.ungated.len() < self.rules.len() {
            for &pattern in self.keyword_hits(&seen) {
                candidates.extend_from_slice(&self.gated_by[pattern]);
            }
            candidates.sort_unstable();
            candidates.dedup();
        }
        let mut fired = Vec::new();
        for rule in candidates.into_iter().map(|i| &self.rules[i]) {
            if !in_scope(&rule.spec, message) {
                continue;
            }
            if rule
                .checks
                .iter()
                .all(|(check, negate)| self.holds(check, &seen) != *negate)
            {
                fired.push(rule.spec.id);
                if !rule.spec.keep_going {
                    break;
                }
            }
        }
        fired
    }

    fn holds(&self, check: &Check, seen: &Seen<'_>) -> bool {
        let m = seen.message;
        match check {
            Check::Keywords { any, all } => {
                let hits = self.keyword_hits(seen);
                let hit = |k: &usize| hits.binary_search(k).is_ok();
                (any.is_empty() || any.iter().any(hit)) && all.iter().all(hit)
            }
            Check::Phrase(k) => self.keyword_hits(seen).binary_search(k).is_ok(),
            Check::Regex(set, i) => self.regex_hits(seen)[*set][*i],
            Check::Language {
                langs,
                min_confidence,
            } => match seen.language.get_or_init(|| detect(m.text)) {
                Some((lang, confidence)) => *confidence >= *min_confidence && langs.contains(lang),
                None => false,
            },
            Check::Plain(test) => plain(test, m),
        }
    }

    fn keyword_hits<'s>(&self, seen: &'s Seen<'_>) -> &'s Vec<usize> {
        seen.hits.get_or_init(|| {
            let mut found = Vec::new();
            if let Some(ac) = &self.keywords {
                let folded = text::fold(seen.message.text);
                for m in ac.find_overlapping_iter(&folded) {
                    if text::at_boundaries(&folded, m.start(), m.end()) {
                        found.push(m.pattern().as_usize());
                    }
                }
            }
            found.sort_unstable();
            found.dedup();
            found
        })
    }

    fn regex_hits<'s>(&self, seen: &'s Seen<'_>) -> &'s [Vec<bool>; 2] {
        seen.regex_hits.get_or_init(|| {
            self.regexes.each_ref().map(|set| match set {
                Some(set) => {
                    let mut hits = vec![false; set.len()];
                    for i in set.matches(seen.message.text).iter() {
                        hits[i] = true;
                    }
                    hits
                }
                None => Vec::new(),
            })
        })
    }
}

/// The patterns of which a rule needs at least one: those of its first condition that asks
/// for any of some keywords, or for a phrase (not negated). `None`: it needs none.
fn gate(checks: &[(Check, bool)]) -> Option<&[usize]> {
    checks
        .iter()
        .find_map(|(check, negate)| match (check, negate) {
            (Check::Keywords { any, .. }, false) if !any.is_empty() => Some(any.as_slice()),
            (Check::Keywords { all, .. }, false) if !all.is_empty() => Some(&all[..1]),
            (Check::Phrase(p), false) => Some(std::slice::from_ref(p)),
            _ => None,
        })
}

/// The tests that need nothing but the message and its facts.
fn plain(test: &Test, m: &Message<'_>) -> bool {
    match test {
        Test::Question => text::is_question(m.text),
        Test::Link => text::has_link(m.text),
        Test::Email => text::has_email(m.text),
        Test::OnlyMentions => text::only_mentions(m.text),
        Test::OnlyEmoji => text::only_emoji(m.text),
        Test::WordCount { min, max } => {
            let n = text::word_count(m.text);
            min.is_none_or(|lo| n >= lo) && max.is_none_or(|hi| n <= hi)
        }
        Test::FirstMessage => m.first_from_author,
        Test::Reply => m.kind == Kind::Comment && m.is_reply,
        Test::TopLevel => m.kind == Kind::Comment && !m.is_reply,
        Test::VideoAge { max_days } => m.video_age_days.is_some_and(|d| d <= *max_days),
        Test::BusinessHours(schedule) => schedule.contains(m.at),
        // Compiled into the shared matchers in `Matcher::new`.
        Test::Keywords { .. } | Test::Phrase(_) | Test::Regex { .. } | Test::Language { .. } => {
            false
        }
    }
}

fn in_scope(rule: &RuleSpec, m: &Message<'_>) -> bool {
    (rule.applies_to.is_empty() || rule.applies_to.contains(&m.kind))
        && (rule.platforms.is_empty() || rule.platforms.contains(&m.platform))
        && (rule.channels.is_empty() || rule.channels.contains(&m.channel))
        && (rule.videos.is_empty() || m.video.is_some_and(|v| rule.videos.contains(&v)))
}

/// The language of `text` and the detector's confidence; `None` for texts too short to tell.
fn detect(text: &str) -> Option<(whatlang::Lang, f64)> {
    if text::word_count(text) < LANGUAGE_MIN_WORDS {
        return None;
    }
    whatlang::detect(text).map(|info| (info.lang(), info.confidence()))
}
