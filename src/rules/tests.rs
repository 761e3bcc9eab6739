//! The matcher over rules written as users write them.

use serde_json::{Value, json};

use super::{Matcher, Message, RuleSpec, read_conditions};
use crate::domain::{Kind, Platform};

fn rule(id: i64, conditions: Value) -> RuleSpec {
    let mut problems = Vec::new();
    let conditions = read_conditions(&conditions, "conditions", &mut problems);
    assert!(problems.is_empty(), "{problems:?}");
    RuleSpec::new(id, conditions)
}

fn comment(text: &str) -> Message<'_> {
    Message {
        text,
        kind: Kind::Comment,
        platform: Platform::Tiktok,
        channel: 1,
        video: Some(10),
        is_reply: false,
        first_from_author: false,
        video_age_days: Some(2),
        at: chrono::Utc::now(),
    }
}

fn fires(rules: Vec<RuleSpec>, message: &Message<'_>) -> Vec<i64> {
    Matcher::new(rules).unwrap().decide(message)
}

#[test]
fn keywords_fold_case_and_diacritics_on_word_boundaries() {
    let rules = || {
        vec![rule(
            1,
            json!([{"type": "keywords", "any": ["cafe", "hi"]}]),
        )]
    };
    assert_eq!(fires(rules(), &comment("Is dit CAFÉ open?")), [1]);
    assert_eq!(fires(rules(), &comment("hi!")), [1]);
    assert!(
        fires(rules(), &comment("this is it")).is_empty(),
        "hi is not in this"
    );
    assert!(fires(rules(), &comment("cafeteria")).is_empty());
    let cjk = vec![rule(
        2,
        json!([{"type": "keywords", "any": ["多少钱", "🔥"]}]),
    )];
    assert_eq!(fires(cjk.clone(), &comment("这个多少钱")), [2]);
    assert_eq!(fires(cjk, &comment("so good🔥🔥")), [2]);
}

#[test]
fn any_all_phrase_and_negation() {
    let rules = || {
        vec![rule(
            1,
            json!([
                {"type": "keywords", "all": ["price", "shipping"]},
                {"type": "keywords", "any": ["refund"], "negate": true},
                {"type": "phrase", "text": "to belgium"}
            ]),
        )]
    };
    assert_eq!(
        fires(rules(), &comment("Price and shipping to Belgium?")),
        [1]
    );
    assert!(
        fires(rules(), &comment("Price to Belgium?")).is_empty(),
        "all of them"
    );
    assert!(fires(rules(), &comment("price, shipping to belgium, refund")).is_empty());
    assert!(
        fires(rules(), &comment("price shipping belgium")).is_empty(),
        "the phrase as written"
    );
}

#[test]
fn first_match_wins_unless_a_rule_keeps_going() {
    let mut label = rule(1, json!([{"type": "question"}]));
    let answer = rule(2, json!([{"type": "keywords", "any": ["price"]}]));
    let later = rule(3, json!([{"type": "keywords", "any": ["price"]}]));
    let message = comment("What is the price?");
    assert_eq!(
        fires(vec![label.clone(), answer.clone(), later.clone()], &message),
        [1]
    );
    label.keep_going = true;
    assert_eq!(
        fires(vec![later.clone(), answer.clone(), label.clone()], &message),
        [1, 2]
    );
    let mut off = answer;
    off.enabled = false;
    assert_eq!(fires(vec![label, off, later], &message), [1, 3]);
}

#[test]
fn scope_limits_where_a_rule_applies() {
    let mut r = rule(1, json!([{"type": "keywords", "any": ["price"]}]));
    r.applies_to = vec![Kind::Dm];
    assert!(fires(vec![r.clone()], &comment("price")).is_empty());
    r.applies_to = vec![Kind::Comment];
    r.platforms = vec![Platform::Instagram];
    assert!(fires(vec![r.clone()], &comment("price")).is_empty());
    r.platforms = vec![Platform::Tiktok];
    r.channels = vec![1];
    r.videos = vec![11];
    assert!(fires(vec![r.clone()], &comment("price")).is_empty());
    r.videos = vec![10];
    assert_eq!(fires(vec![r], &comment("price")), [1]);
}

#[test]
fn expressions_ignore_case_unless_asked() {
    let rules = vec![
        rule(
            1,
            json!([{"type": "regex", "pattern": "ORDER-\\d{4}", "case_sensitive": true}]),
        ),
        rule(
            2,
            json!([{"type": "regex", "pattern": "hoeveel (?P<wat>\\w+)"}]),
        ),
    ];
    let matcher = Matcher::new(rules).unwrap();
    assert_eq!(matcher.decide(&comment("order-1234")), Vec::<i64>::new());
    assert_eq!(matcher.decide(&comment("ORDER-1234")), [1]);
    assert_eq!(matcher.decide(&comment("HOEVEEL kost het")), [2]);
}

#[test]
fn languages_by_two_letter_code_or_name_and_a_plain_dutch_sentence() {
    let sentence =
        comment("Ik heb gisteren een jas besteld maar hij is nog steeds niet aangekomen");
    for name in ["nl", "nld", "Dutch"] {
        let rules = vec![rule(1, json!([{"type": "language", "is": [name]}]))];
        assert_eq!(fires(rules, &sentence), [1], "{name}");
    }
    let english = vec![rule(1, json!([{"type": "language", "is": ["en"]}]))];
    assert!(fires(english, &sentence).is_empty());
}

#[test]
fn language_needs_enough_words() {
    let rules = || vec![rule(1, json!([{"type": "language", "is": ["nld"]}]))];
    assert_eq!(
        fires(
            rules(),
            &comment("Waar kan ik deze mooie schoenen kopen in de winkel?")
        ),
        [1]
    );
    assert!(
        fires(
            rules(),
            &comment("Where can I buy these lovely shoes in the shop?")
        )
        .is_empty()
    );
    assert!(
        fires(rules(), &comment("mooi")).is_empty(),
        "too short to tell"
    );
}

#[test]
fn shape_and_facts_of_a_message() {
    let r = |id, c: Value| rule(id, json!([c]));
    assert_eq!(
        fires(vec![r(1, json!({"type": "only_emoji"}))], &comment("😍😍")),
        [1]
    );
    assert_eq!(
        fires(
            vec![r(1, json!({"type": "only_mentions"}))],
            &comment("@sam @lisa")
        ),
        [1]
    );
    assert_eq!(
        fires(
            vec![r(1, json!({"type": "link"}))],
            &comment("buy at https://x.example")
        ),
        [1]
    );
    assert_eq!(
        fires(
            vec![r(1, json!({"type": "email"}))],
            &comment("lisa@example.com")
        ),
        [1]
    );
    assert_eq!(
        fires(
            vec![r(1, json!({"type": "word_count", "min": 2, "max": 3}))],
            &comment("so very nice")
        ),
        [1]
    );
    assert!(
        fires(
            vec![r(1, json!({"type": "word_count", "max": 2}))],
            &comment("so very nice")
        )
        .is_empty()
    );
    let mut reply = comment("me too");
    reply.is_reply = true;
    assert_eq!(fires(vec![r(1, json!({"type": "reply"}))], &reply), [1]);
    assert!(fires(vec![r(1, json!({"type": "top_level"}))], &reply).is_empty());
    let mut first = comment("hello");
    first.first_from_author = true;
    assert_eq!(
        fires(vec![r(1, json!({"type": "first_message"}))], &first),
        [1]
    );
    assert_eq!(
        fires(
            vec![r(1, json!({"type": "video_age", "max_days": 7}))],
            &first
        ),
        [1]
    );
    first.video_age_days = Some(30);
    assert!(
        fires(
            vec![r(1, json!({"type": "video_age", "max_days": 7}))],
            &first
        )
        .is_empty()
    );
}

#[test]
fn expressions_are_never_wrapped_in_text_of_ours() {
    // In verbose mode `#` starts a comment to the end of the line: text appended after the
    // pattern would be swallowed by it.
    let rules = vec![
        rule(
            1,
            json!([{"type": "regex", "pattern": "(?x) price  # a comment"}]),
        ),
        rule(
            2,
            json!([{"type": "regex", "pattern": "(?x) SALE # shouting", "case_sensitive": true}]),
        ),
    ];
    let matcher = Matcher::new(rules).unwrap();
    assert_eq!(matcher.decide(&comment("PRICE please")), [1]);
    assert_eq!(matcher.decide(&comment("big SALE")), [2]);
}

mod properties {
    use proptest::prelude::*;

    use super::{Matcher, comment, rule};
    use serde_json::json;

    proptest! {
        /// Any text, in any script, is decided without a panic, and a keyword written into
        /// it (with its case changed) between spaces is found.
        #[test]
        fn any_text_is_decided(text in "\\PC{0,80}", keyword in "[a-zA-Zàéïõü]{2,8}") {
            let matcher = Matcher::new(vec![
                rule(1, json!([{"type": "keywords", "any": [keyword.clone()]}])),
                rule(2, json!([{"type": "regex", "pattern": "(?x) [0-9]+ # digits"}])),
                rule(3, json!([{"type": "language", "is": ["nld"]}, {"type": "only_emoji", "negate": true}])),
            ]).unwrap();
            let _ = matcher.decide(&comment(&text));
            let with_keyword = format!("{text} {} !", keyword.to_uppercase());
            prop_assert_eq!(matcher.decide(&comment(&with_keyword)).first().copied(), Some(1));
        }
    }
}
