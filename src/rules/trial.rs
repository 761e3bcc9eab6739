//! Trying the stored rules on a message that is not stored: which rule fires, and what each
//! of its replies would say. Nothing is written.

use chrono::Timelike;
use serde::Serialize;
use serde_json::{Map, Value, json};

use super::condition::{Condition, Test, build_regex};
use super::matcher::{Matcher, Message, RuleSpec};
use super::store::StoredRule;
use super::{names, template, text};
use crate::domain::{Kind, Platform};

/// A message's facts as rules and replies see them: one pasted into the test box, or one
/// just stored.
pub struct Sample<'a> {
    pub platform: Platform,
    pub channel: Option<i64>,
    pub channel_handle: &'a str,
    pub kind: Kind,
    pub text: &'a str,
    pub username: Option<&'a str>,
    pub display_name: Option<&'a str>,
    pub is_reply: bool,
    pub first_message: bool,
    pub video_title: Option<&'a str>,
    pub video_url: Option<&'a str>,
    /// When it was written.
    pub at: chrono::DateTime<chrono::Utc>,
}

#[derive(Debug, Serialize)]
pub struct Fired {
    pub rule_id: i64,
    pub name: String,
    pub mode: String,
    pub actions: Vec<Value>,
}

/// Which of `rules` fire for `sample`, in order, with their actions and rendered replies.
/// Greetings follow the time of day in `time_zone` (the workspace's).
pub fn try_rules(
    rules: &[StoredRule],
    sample: &Sample<'_>,
    time_zone: chrono_tz::Tz,
) -> Result<Vec<Fired>, String> {
    let definitions: Vec<Value> = rules
        .iter()
        .map(|r| serde_json::from_str(&r.definition).unwrap_or(Value::Null))
        .collect();
    let specs: Vec<RuleSpec> = rules
        .iter()
        .zip(&definitions)
        .map(|(r, d)| r.spec(d))
        .collect();
    let matcher = Matcher::new(specs.clone())?;
    let message = Message {
        text: sample.text,
        kind: sample.kind,
        platform: sample.platform,
        channel: sample.channel.unwrap_or(0),
        video: None,
        is_reply: sample.is_reply,
        first_from_author: sample.first_message,
        video_age_days: None,
        at: sample.at,
    };
    let mut fired = Vec::new();
    for id in matcher.decide(&message) {
        let Some(i) = rules.iter().position(|r| r.id == id) else {
            continue;
        };
        let context = context(
            sample,
            &capture_regexes(&specs[i].conditions),
            Some(time_zone),
        );
        let limit = match sample.kind {
            Kind::Comment => sample.platform.max_reply_chars(),
            Kind::Dm => None,
        };
        let shown = definitions[i]["actions"]
            .as_array()
            .map(|all| {
                all.iter()
                    .map(|a| render_action(a, &context, sample.platform, limit))
                    .collect()
            })
            .unwrap_or_default();
        fired.push(Fired {
            rule_id: id,
            name: rules[i].name.clone(),
            mode: definitions[i]["mode"]
                .as_str()
                .unwrap_or("suggest")
                .to_owned(),
            actions: shown,
        });
    }
    Ok(fired)
}

/// Why the language conditions of `rules` cannot hold for `text`, when it is too short to
/// tell its language; said beside the trial so that a silent miss is explained.
pub fn language_note(rules: &[StoredRule], text: &str) -> Option<String> {
    let words = text::word_count(text);
    let asks = rules.iter().any(|r| {
        r.enabled && serde_json::from_str::<Value>(&r.definition).is_ok_and(|d| asks_language(&d))
    });
    (asks && too_short_for_language(text)).then(|| {
        format!(
            "The text has {words} word{}: too short to tell its language ({} needed), so no language condition holds.",
            if words == 1 { "" } else { "s" },
            super::condition::LANGUAGE_MIN_WORDS
        )
    })
}

/// Whether a rule's stored `definition` has a language condition.
pub fn asks_language(definition: &Value) -> bool {
    definition["conditions"]
        .as_array()
        .is_some_and(|c| c.iter().any(|c| c["type"] == "language"))
}

/// Whether `text` has too few words to tell its language.
pub fn too_short_for_language(text: &str) -> bool {
    text::word_count(text) < super::condition::LANGUAGE_MIN_WORDS
}

/// An action as stored, with each reply variant rendered (or the reason it cannot be), and a
/// warning on a public reply longer than `limit`, which the rule would not send (never cut).
fn render_action(
    action: &Value,
    context: &Value,
    platform: Platform,
    limit: Option<usize>,
) -> Value {
    let mut shown = action.clone();
    let public = action["type"].as_str() == Some("reply");
    if let Some(variants) = action["variants"].as_array() {
        let rendered: Vec<Value> = variants
            .iter()
            .map(
                |v| match template::render(v.as_str().unwrap_or(""), context) {
                    Ok(text) => {
                        let n = text.chars().count();
                        match limit.filter(|max| public && n > *max) {
                            Some(max) => json!({"text": text, "warning": format!(
                                "is {n} characters; {} takes at most {max} in a comment reply, so this one would not be sent",
                                platform.label())}),
                            None => json!({"text": text}),
                        }
                    }
                    Err(e) => json!({"error": e}),
                },
            )
            .collect();
        shown["rendered"] = json!(rendered);
    }
    shown
}

/// The compiled expressions of a rule's conditions (those not negated), whose captures its
/// replies may use as `match.N` and `match.NAME`.
pub fn capture_regexes(conditions: &[Condition]) -> Vec<regex::Regex> {
    conditions
        .iter()
        .filter(|c| !c.negate)
        .filter_map(|c| match &c.test {
            Test::Regex {
                pattern,
                case_sensitive,
            } => build_regex(pattern, *case_sensitive).ok(),
            _ => None,
        })
        .collect()
}

/// The template variables for `sample`, with the captures of the first of `captures` that
/// matches; `greeting` only when asked for (telling a language costs a little), by the
/// message's language and the time of day in the workspace's `time_zone`. `author.name` is
/// the display name, else the username (without `@`): the name the thread shows; names a
/// platform makes up for accounts that chose none are left out (`names::chosen`).
pub fn context(
    sample: &Sample<'_>,
    captures: &[regex::Regex],
    greeting_in: Option<chrono_tz::Tz>,
) -> Value {
    // A platform's default name ("User 93", "@245") is no name: left out, like a missing one.
    let username = names::chosen(sample.username);
    let display_name = names::chosen(sample.display_name);
    let first_name = display_name.and_then(|n| n.split_whitespace().next());
    let name = display_name.or(username);
    let mut found_captures = Map::new();
    if let Some((re, found)) = captures
        .iter()
        .find_map(|re| re.captures(sample.text).map(|f| (re, f)))
    {
        for (i, name) in re.capture_names().enumerate().skip(1) {
            if let Some(m) = found.get(i) {
                found_captures.insert(i.to_string(), json!(m.as_str()));
                if let Some(name) = name {
                    found_captures.insert(name.to_owned(), json!(m.as_str()));
                }
            }
        }
    }
    // A value we do not have is left out, not null: `default(…)` then applies, and without a
    // default the reply cannot render (rather than saying "None").
    let present = |pairs: &[(&str, Option<&str>)]| -> Value {
        Value::Object(
            pairs
                .iter()
                .filter_map(|(k, v)| v.map(|v| ((*k).to_owned(), json!(v))))
                .collect(),
        )
    };
    json!({
        "author": present(&[("username", username), ("display_name", display_name),
                            ("first_name", first_name), ("name", name)]),
        "message": {"text": sample.text},
        "video": present(&[("title", sample.video_title), ("url", sample.video_url)]),
        "channel": {"handle": sample.channel_handle},
        "platform": sample.platform.as_str(),
        "greeting": greeting_in.map_or("Hi", |tz| greeting(sample.text, sample.at.with_timezone(&tz).hour())),
        "match": found_captures,
    })
}

/// "Good morning" in the message's language at `hour` (local), when the message is long
/// enough to tell its language; else a neutral "Hi". At night, a plain hello.
pub fn greeting(message: &str, hour: u32) -> &'static str {
    use whatlang::Lang;
    if text::word_count(message) < super::condition::LANGUAGE_MIN_WORDS {
        return "Hi";
    }
    // Morning, afternoon, evening, night.
    let part = match hour {
        6..=11 => 0,
        12..=17 => 1,
        18..=23 => 2,
        _ => 3,
    };
    let words: [&str; 4] = match whatlang::detect(message).map(|i| i.lang()) {
        Some(Lang::Nld) => ["Goedemorgen", "Goedemiddag", "Goedenavond", "Hoi"],
        Some(Lang::Eng) => ["Good morning", "Good afternoon", "Good evening", "Hi"],
        Some(Lang::Deu) => ["Guten Morgen", "Guten Tag", "Guten Abend", "Hallo"],
        Some(Lang::Fra) => ["Bonjour", "Bonjour", "Bonsoir", "Bonsoir"],
        Some(Lang::Spa) => ["Buenos días", "Buenas tardes", "Buenas noches", "Hola"],
        _ => ["Hi"; 4],
    };
    words[part]
}

#[cfg(test)]
mod tests {
    use super::greeting;

    #[test]
    fn greetings_follow_the_language_and_the_local_hour() {
        let dutch = "Wat kost deze mooie jas eigenlijk in de winkel?";
        assert_eq!(greeting(dutch, 9), "Goedemorgen");
        assert_eq!(greeting(dutch, 14), "Goedemiddag");
        assert_eq!(greeting(dutch, 20), "Goedenavond");
        assert_eq!(greeting(dutch, 3), "Hoi");
        let english = "Where can I buy this lovely jacket in the shop?";
        assert_eq!(greeting(english, 9), "Good morning");
        assert_eq!(
            greeting("prijs?", 9),
            "Hi",
            "too short to tell its language"
        );
    }
}
