//! A rule as the API and the editor give it, read and checked in full: every problem in the
//! body is listed with its path, and nothing is saved unless there are none.

use serde_json::{Map, Value, json};

use super::action::{Action, Reach, read_actions};
use super::condition::read_conditions;
use crate::domain::{Kind, Mode, Platform};
use crate::problem::Problem;

pub const MAX_NAME_CHARS: usize = 100;
/// The longest delay a rule may ask for before acting: a day.
pub const MAX_DELAY_SECONDS: u64 = 86_400;
/// Positions go up to this, so that "after the last" always has room.
pub const MAX_POSITION: i64 = 1_000_000_000;

/// A checked rule, ready to store: its name, place and switch, and the rest of its definition
/// as the JSON the API shows.
#[derive(Debug, Clone)]
pub struct Draft {
    pub name: String,
    pub enabled: bool,
    pub position: Option<i64>,
    pub definition: Value,
    pub actions: Vec<Action>,
}

const FIELDS: [&str; 13] = [
    "id",
    "name",
    "enabled",
    "position",
    "applies_to",
    "scope",
    "conditions",
    "actions",
    "mode",
    "delay_seconds",
    "continue",
    "safeguards",
    "created_at",
];

/// Reads a whole rule (`POST`, `PUT`).
pub fn read_rule(body: &Value) -> Result<Draft, Vec<Problem>> {
    let Some(obj) = body.as_object() else {
        return Err(vec![Problem::new("body", "must be a rule object")]);
    };
    let mut problems = Vec::new();
    for key in obj.keys() {
        // What the API answers with may be sent back as it is.
        if !FIELDS.contains(&key.as_str())
            && !["updated_at", "warnings", "paused_reason", "stats"].contains(&key.as_str())
        {
            problems.push(Problem::new(key, "is not a field of a rule"));
        }
    }
    let name = read_name(obj, &mut problems);
    let enabled = flag(obj, "enabled", true, &mut problems);
    let keep_going = flag(obj, "continue", false, &mut problems);
    let position = read_position(obj, &mut problems);
    let applies_to: Vec<Kind> = words(obj.get("applies_to"), "applies_to", &mut problems);
    let scope = read_scope(obj, &mut problems);
    let platforms: Vec<Platform> = words(scope.get("platforms"), "scope.platforms", &mut problems);
    let channels = ids(scope.get("channels"), "scope.channels", &mut problems);
    let videos = ids(scope.get("videos"), "scope.videos", &mut problems);
    if let Some(extra) = scope.as_object().and_then(|s| {
        s.keys()
            .find(|k| !["platforms", "channels", "videos"].contains(&k.as_str()))
    }) {
        problems.push(Problem::new(
            format!("scope.{extra}"),
            "is not part of a scope (platforms, channels, videos)",
        ));
    }
    let conditions = obj.get("conditions").cloned().unwrap_or_else(|| json!([]));
    read_conditions(&conditions, "conditions", &mut problems);
    let max = super::condition::MAX_CONDITIONS;
    if let Some(n) = conditions.as_array().map(Vec::len).filter(|n| *n > max) {
        problems.push(Problem::new(
            "conditions",
            format!("has {n} conditions; at most {max} in one rule"),
        ));
    }
    let reach = Reach {
        platforms: &platforms,
        kinds: &applies_to,
    };
    let actions = read_actions(obj.get("actions"), &reach, &mut problems);
    let mode = read_mode(obj, &actions, &mut problems);
    let (min, max) = delay(obj.get("delay_seconds"), &mut problems);
    let safeguards = safeguards(obj.get("safeguards"), &mut problems);
    if !problems.is_empty() {
        return Err(problems);
    }
    let definition = json!({
        "applies_to": if applies_to.is_empty() { vec![Kind::Comment, Kind::Dm] } else { applies_to },
        "scope": {"platforms": platforms, "channels": channels, "videos": videos},
        "conditions": conditions,
        "actions": actions,
        "mode": mode,
        "delay_seconds": {"min": min, "max": max},
        "continue": keep_going,
        "safeguards": safeguards,
    });
    Ok(Draft {
        name,
        enabled,
        position,
        definition,
        actions,
    })
}

/// The rule's name: 1 to [`MAX_NAME_CHARS`] characters on one line.
fn read_name(obj: &Map<String, Value>, problems: &mut Vec<Problem>) -> String {
    match obj.get("name").and_then(Value::as_str).map(str::trim) {
        Some(n)
            if !n.is_empty()
                && n.chars().count() <= MAX_NAME_CHARS
                && !n.chars().any(char::is_control) =>
        {
            n.to_owned()
        }
        _ => {
            problems.push(Problem::new(
                "name",
                format!("is required: 1 to {MAX_NAME_CHARS} characters"),
            ));
            String::new()
        }
    }
}

/// Where the rule stands among the workspace's, when the body says.
fn read_position(obj: &Map<String, Value>, problems: &mut Vec<Problem>) -> Option<i64> {
    match obj.get("position") {
        None | Some(Value::Null) => None,
        Some(v) => match v.as_i64() {
            Some(p) if (0..=MAX_POSITION).contains(&p) => Some(p),
            _ => {
                problems.push(Problem::new(
                    "position",
                    format!("must be a whole number from 0 to {MAX_POSITION}"),
                ));
                None
            }
        },
    }
}

/// Where the rule applies: an object, or everywhere when absent.
fn read_scope(obj: &Map<String, Value>, problems: &mut Vec<Problem>) -> Value {
    match obj.get("scope") {
        None | Some(Value::Null) => json!({}),
        Some(scope @ Value::Object(_)) => scope.clone(),
        Some(_) => {
            // Read as "everywhere", a misshapen scope would widen the rule: refuse it.
            problems.push(Problem::new(
                "scope",
                "must be an object: {\"platforms\": […], \"channels\": […], \"videos\": […]}",
            ));
            json!({})
        }
    }
}

/// How the rule acts; a suggest rule needs a reply to suggest.
fn read_mode(obj: &Map<String, Value>, actions: &[Action], problems: &mut Vec<Problem>) -> Mode {
    let mode = match obj.get("mode").and_then(Value::as_str).map(str::parse) {
        None => Mode::Suggest,
        Some(Ok(mode)) => mode,
        Some(Err(_)) => {
            problems.push(Problem::new(
                "mode",
                "must be one of: auto, suggest, dry_run",
            ));
            Mode::Suggest
        }
    };
    let replies = actions
        .iter()
        .any(|a| matches!(a, Action::Reply { .. } | Action::PrivateReply { .. }));
    if mode == Mode::Suggest && !replies && !actions.is_empty() {
        problems.push(Problem::new(
            "mode",
            "suggest waits for a person to approve a reply, and this rule has none; add a reply or use auto or dry_run",
        ));
    }
    mode
}

fn flag(obj: &Map<String, Value>, field: &str, default: bool, problems: &mut Vec<Problem>) -> bool {
    match obj.get(field) {
        None | Some(Value::Null) => default,
        Some(Value::Bool(b)) => *b,
        Some(_) => {
            problems.push(Problem::new(field, "must be true or false"));
            default
        }
    }
}

fn words<T: std::str::FromStr<Err = String> + Ord>(
    value: Option<&Value>,
    field: &str,
    problems: &mut Vec<Problem>,
) -> Vec<T> {
    let Some(value) = value.filter(|v| !v.is_null()) else {
        return Vec::new();
    };
    let Some(items) = value.as_array() else {
        problems.push(Problem::new(field, "must be a list"));
        return Vec::new();
    };
    let mut out = Vec::new();
    for (i, item) in items.iter().enumerate() {
        match item.as_str().map(str::parse::<T>) {
            Some(Ok(word)) => out.push(word),
            Some(Err(e)) => problems.push(Problem::new(format!("{field}[{i}]"), e)),
            None => problems.push(Problem::new(format!("{field}[{i}]"), "must be a word")),
        }
    }
    out.sort();
    out.dedup();
    out
}

fn ids(value: Option<&Value>, field: &str, problems: &mut Vec<Problem>) -> Vec<i64> {
    let Some(value) = value.filter(|v| !v.is_null()) else {
        return Vec::new();
    };
    match value.as_array() {
        Some(items) if items.iter().all(|i| i.as_i64().is_some_and(|n| n > 0)) => {
            items.iter().filter_map(Value::as_i64).collect()
        }
        _ => {
            problems.push(Problem::new(field, "must be a list of ids"));
            Vec::new()
        }
    }
}

/// A fixed number of seconds, or `{"min", "max"}`; by default a human-like 20 to 90.
fn delay(value: Option<&Value>, problems: &mut Vec<Problem>) -> (u64, u64) {
    let within = |n: u64| n <= MAX_DELAY_SECONDS;
    match value {
        None | Some(Value::Null) => (20, 90),
        Some(v) if v.as_u64().is_some_and(within) => {
            let n = v.as_u64().unwrap_or(0);
            (n, n)
        }
        Some(Value::Object(o)) => {
            let min = o.get("min").and_then(Value::as_u64).filter(|n| within(*n));
            let max = o.get("max").and_then(Value::as_u64).filter(|n| within(*n));
            match (min, max) {
                (Some(lo), Some(hi)) if lo <= hi => (lo, hi),
                (Some(lo), Some(hi)) => {
                    problems.push(Problem::new("delay_seconds.max", format!("is below the minimum ({lo} s); the range is upside down, give min ≤ max ({hi} < {lo})")));
                    (0, 0)
                }
                _ => {
                    problems.push(Problem::new(
                        "delay_seconds",
                        format!(
                            "needs \"min\" and \"max\", whole seconds up to {MAX_DELAY_SECONDS}"
                        ),
                    ));
                    (0, 0)
                }
            }
        }
        Some(_) => {
            problems.push(Problem::new(
                "delay_seconds",
                format!("must be seconds (up to {MAX_DELAY_SECONDS}) or {{\"min\", \"max\"}}"),
            ));
            (0, 0)
        }
    }
}

fn safeguards(value: Option<&Value>, problems: &mut Vec<Problem>) -> Value {
    let obj = value.and_then(Value::as_object);
    let mut number = |field: &str, default: u64, max: u64| match obj.and_then(|o| o.get(field)) {
        None | Some(Value::Null) => default,
        Some(v) => match v.as_u64() {
            Some(n) if n <= max => n,
            _ => {
                problems.push(Problem::new(
                    format!("safeguards.{field}"),
                    format!("must be a whole number from 0 to {max}"),
                ));
                default
            }
        },
    };
    let cooldown_hours = number("cooldown_hours", 24, 24 * 365);
    let max_per_hour = number("max_per_hour", 60, 10_000);
    let once_per_video = match obj.and_then(|o| o.get("once_per_video")) {
        None | Some(Value::Null) => true,
        Some(Value::Bool(b)) => *b,
        Some(_) => {
            problems.push(Problem::new(
                "safeguards.once_per_video",
                "must be true or false",
            ));
            true
        }
    };
    if let Some(extra) = obj.and_then(|o| {
        o.keys()
            .find(|k| !["cooldown_hours", "max_per_hour", "once_per_video"].contains(&k.as_str()))
    }) {
        problems.push(Problem::new(
            format!("safeguards.{extra}"),
            "is not a safeguard (cooldown_hours, max_per_hour, once_per_video)",
        ));
    }
    json!({"cooldown_hours": cooldown_hours, "max_per_hour": max_per_hour, "once_per_video": once_per_video})
}
