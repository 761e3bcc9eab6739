//! Deciding one message against 1,000 active rules (most keyword-only, one in ten with an
//! expression, as in real use), against the naive loop that runs one regex per rule.
//!
//! Run: `cargo bench --bench rules`. Prints criterion's figures for both, for a message that
//! no rule matches (every rule is tried: the worst case) and for one the last rules match.

use criterion::{Criterion, criterion_group, criterion_main};
use serde_json::{Value, json};
use std::hint::black_box;
use unibox::domain::{Kind, Platform};
use unibox::rules::{Matcher, Message, RuleSpec, read_conditions};

const RULES: usize = 1000;

/// Words a shop's rules listen for, varied per rule.
fn keywords(i: usize) -> Vec<String> {
    let stems = [
        "price",
        "prijs",
        "shipping",
        "verzending",
        "size",
        "maat",
        "color",
        "kleur",
        "stock",
        "voorraad",
    ];
    (0..4)
        .map(|k| format!("{}{}", stems[(i + k) % stems.len()], i))
        .collect()
}

fn conditions(i: usize) -> Value {
    if i.is_multiple_of(10) {
        json!([
            {"type": "keywords", "any": keywords(i)},
            {"type": "regex", "pattern": format!("order\\s*#?{i}\\d{{3}}")}
        ])
    } else if i.is_multiple_of(3) {
        json!([
            {"type": "keywords", "any": keywords(i)},
            {"type": "keywords", "any": [format!("refund{i}")], "negate": true}
        ])
    } else {
        json!([{"type": "keywords", "any": keywords(i)}])
    }
}

fn rules() -> Vec<(RuleSpec, Value)> {
    (0..RULES)
        .map(|i| {
            let raw = conditions(i);
            let mut problems = Vec::new();
            let conditions = read_conditions(&raw, "conditions", &mut problems);
            assert!(problems.is_empty());
            (RuleSpec::new(i as i64, conditions), raw)
        })
        .collect()
}

/// The naive way: each rule's conditions as regexes of their own, tried rule by rule.
struct Naive(Vec<Vec<(regex::Regex, bool)>>);

impl Naive {
    fn new(rules: &[(RuleSpec, Value)]) -> Naive {
        Naive(
            rules
                .iter()
                .map(|(_, raw)| {
                    raw.as_array()
                        .unwrap()
                        .iter()
                        .map(|c| {
                            let negate = c["negate"].as_bool().unwrap_or(false);
                            let source = match c["type"].as_str().unwrap() {
                                "regex" => format!("(?i){}", c["pattern"].as_str().unwrap()),
                                _ => {
                                    let words: Vec<String> = c["any"]
                                        .as_array()
                                        .unwrap()
                                        .iter()
                                        .map(|w| regex::escape(w.as_str().unwrap()))
                                        .collect();
                                    format!("(?i)\\b(?:{})\\b", words.join("|"))
                                }
                            };
                            (regex::Regex::new(&source).unwrap(), negate)
                        })
                        .collect()
                })
                .collect(),
        )
    }

    fn decide(&self, text: &str) -> Option<usize> {
        self.0.iter().position(|conds| {
            conds
                .iter()
                .all(|(re, negate)| re.is_match(text) != *negate)
        })
    }
}

fn message(text: &str) -> Message<'_> {
    Message {
        text,
        kind: Kind::Comment,
        platform: Platform::Tiktok,
        channel: 1,
        video: Some(1),
        is_reply: false,
        first_from_author: false,
        video_age_days: Some(3),
        at: chrono::Utc::now(),
    }
}

fn bench(c: &mut Criterion) {
    let rules = rules();
    let matcher = Matcher::new(rules.iter().map(|(s, _)| s.clone()).collect()).unwrap();
    let naive = Naive::new(&rules);
    let none = "Love this video so much, where did you film it? 😍 Greetings from Gent!";
    let late = "Hoi! Wat is de prijs998 en hoe lang duurt de verzending naar België?";
    assert!(matcher.decide(&message(none)).is_empty());
    assert_eq!(naive.decide(none), None);
    assert_eq!(
        matcher.decide(&message(late)),
        [naive.decide(late).unwrap() as i64]
    );

    c.bench_function("1000 rules, no match (matcher)", |b| {
        b.iter(|| matcher.decide(black_box(&message(none))))
    });
    c.bench_function("1000 rules, no match (naive regex per rule)", |b| {
        b.iter(|| naive.decide(black_box(none)))
    });
    c.bench_function("1000 rules, late match (matcher)", |b| {
        b.iter(|| matcher.decide(black_box(&message(late))))
    });
    c.bench_function("1000 rules, late match (naive regex per rule)", |b| {
        b.iter(|| naive.decide(black_box(late)))
    });
    c.bench_function("compile 1000 rules", |b| {
        b.iter(|| Matcher::new(rules.iter().map(|(s, _)| s.clone()).collect()).unwrap())
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
