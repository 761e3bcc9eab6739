//! The rule editor's form, row by row, and the rule JSON it stands for: a person picks
//! conditions and actions from lists and fills in words and replies; nobody types JSON. The
//! JSON is then read and checked exactly as the API reads it.

use serde_json::{Value, json};

use crate::problem::Problem;
use crate::rules::schedule::DAYS;

/// Blank rows offered below the filled ones.
const SPARE_CONDITIONS: usize = 3;
const SPARE_ACTIONS: usize = 2;
/// Most rows a form may send.
const MAX_ROWS: usize = 40;

/// (value, what the editor calls it, whether it takes a value).
pub const CONDITIONS: [(&str, &str, bool); 17] = [
    ("keywords", "has any of these words", true),
    ("keywords_all", "has all of these words", true),
    ("phrase", "has this phrase", true),
    ("regex", "matches this expression", true),
    ("language", "is written in (nl, nld, Dutch, …)", true),
    ("question", "is a question", false),
    ("link", "contains a link", false),
    ("email", "contains an email address", false),
    ("only_mentions", "only mentions people", false),
    ("only_emoji", "is only emoji", false),
    ("words_min", "has at least this many words", true),
    ("words_max", "has at most this many words", true),
    ("first_message", "is the author's first message", false),
    ("reply", "answers another comment", false),
    ("top_level", "is a comment under the video", false),
    ("video_age", "video is at most this many days old", true),
    (
        "business_hours",
        "came in during business hours (Europe/Amsterdam; mon-fri 09:00-17:00; holidays 2026-12-25)",
        true,
    ),
];

pub const ACTIONS: [(&str, &str); 9] = [
    ("reply", "reply in public (one variant per line)"),
    ("private_reply", "reply by DM (one variant per line)"),
    ("label", "add the label"),
    ("remove_label", "remove the label"),
    ("assign", "assign to member (user id)"),
    ("close", "mark done"),
    ("like", "like it"),
    ("hide", "hide it"),
    ("delete", "delete it"),
];

pub const PLATFORMS: [&str; 5] = ["tiktok", "instagram", "facebook", "youtube", "custom"];

#[derive(Debug, Clone, Default)]
pub struct ConditionRow {
    pub kind: String,
    pub value: String,
    pub negate: bool,
}

#[derive(Debug, Clone, Default)]
pub struct ActionRow {
    pub kind: String,
    pub text: String,
}

#[derive(Debug, Clone)]
pub struct RuleForm {
    pub name: String,
    pub enabled: bool,
    pub comments: bool,
    pub dms: bool,
    pub platforms: Vec<String>,
    pub conditions: Vec<ConditionRow>,
    pub actions: Vec<ActionRow>,
    pub mode: String,
    pub delay_min: String,
    pub delay_max: String,
    pub cooldown_hours: String,
    pub max_per_hour: String,
    pub once_per_video: bool,
    pub keep_going: bool,
    /// Channel and video ids the rule is limited to (set through the API; kept as they are).
    pub scope_channels: String,
    pub scope_videos: String,
}

/// A condition or action the form cannot show as a row without changing it (a weighted
/// reply, a case-sensitive expression…) is kept as written, as this kind of row.
pub const RAW: &str = "raw";

impl Default for RuleForm {
    fn default() -> Self {
        RuleForm {
            name: String::new(),
            enabled: true,
            comments: true,
            dms: true,
            platforms: Vec::new(),
            conditions: Vec::new(),
            actions: Vec::new(),
            mode: "suggest".into(),
            delay_min: "20".into(),
            delay_max: "90".into(),
            cooldown_hours: "24".into(),
            max_per_hour: "60".into(),
            once_per_video: true,
            keep_going: false,
            scope_channels: "[]".into(),
            scope_videos: "[]".into(),
        }
        .padded()
    }
}

/// A row kept as written: its JSON, read back.
fn kept(raw: &str, path: &str, problems: &mut Vec<Problem>) -> Value {
    serde_json::from_str(raw).unwrap_or_else(|_| {
        problems.push(Problem::new(
            path,
            "could not be read back; reload the rule",
        ));
        Value::Null
    })
}

/// Whether the form's rows can show condition `c` exactly.
fn fits_rows(c: &Value) -> bool {
    let has = |f: &str| c[f].as_array().is_some_and(|a| !a.is_empty());
    let negated = c["negate"] == true;
    match c["type"].as_str().unwrap_or_default() {
        "keywords" => !(negated && has("any") && has("all")),
        "word_count" => !(negated && c["min"].is_number() && c["max"].is_number()),
        "regex" => c["case_sensitive"] != true,
        "language" => c.get("min_confidence").is_none_or(Value::is_null),
        _ => true,
    }
}

fn words(v: &Value) -> String {
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .collect::<Vec<_>>()
                .join(", ")
        })
        .unwrap_or_default()
}

fn split(value: &str) -> Vec<String> {
    value
        .split(',')
        .map(str::trim)
        .filter(|w| !w.is_empty())
        .map(str::to_owned)
        .collect()
}

/// A business-hours condition in one line: `Europe/Amsterdam; mon-fri 09:00-17:00;
/// sat 10:00-14:00; holidays 2026-12-25, 2026-12-26`.
fn schedule_text(c: &Value) -> String {
    let mut parts = vec![c["time_zone"].as_str().unwrap_or_default().to_owned()];
    for day in DAYS {
        let ranges = match &c["hours"][day] {
            Value::String(s) => s.clone(),
            Value::Array(a) => a
                .iter()
                .filter_map(Value::as_str)
                .collect::<Vec<_>>()
                .join(", "),
            _ => continue,
        };
        if !ranges.is_empty() {
            parts.push(format!("{day} {ranges}"));
        }
    }
    let holidays = words(&c["holidays"]);
    if !holidays.is_empty() {
        parts.push(format!("holidays {holidays}"));
    }
    parts.join("; ")
}

/// The line above as the condition's JSON; what it cannot read is left for the rule's own
/// checks to name (an unknown day, a range that is no range).
fn schedule_json(text: &str) -> Value {
    let mut parts = text.split(';').map(str::trim).filter(|p| !p.is_empty());
    let time_zone = parts.next().unwrap_or_default();
    let mut hours = serde_json::Map::new();
    let mut holidays = Vec::new();
    for part in parts {
        let (head, rest) = part.split_once(char::is_whitespace).unwrap_or((part, ""));
        if head == "holidays" {
            holidays.extend(split(&rest.replace(char::is_whitespace, ",")));
            continue;
        }
        let ranges = split(&rest.replace(char::is_whitespace, ","));
        let days: Vec<String> = match head.split_once('-') {
            Some((from, to)) => {
                let (a, b) = (
                    DAYS.iter().position(|d| *d == from),
                    DAYS.iter().position(|d| *d == to),
                );
                match (a, b) {
                    (Some(a), Some(b)) if a <= b => {
                        DAYS[a..=b].iter().map(|d| (*d).to_owned()).collect()
                    }
                    _ => vec![head.to_owned()],
                }
            }
            None => split(head),
        };
        for day in days {
            hours.insert(day, json!(ranges));
        }
    }
    json!({"type": "business_hours", "time_zone": time_zone, "hours": hours, "holidays": holidays})
}

impl RuleForm {
    /// With blank rows to add conditions and actions.
    pub fn padded(mut self) -> Self {
        self.conditions.retain(|c| !c.kind.is_empty());
        self.actions.retain(|a| !a.kind.is_empty());
        self.conditions.extend(std::iter::repeat_n(
            ConditionRow::default(),
            SPARE_CONDITIONS,
        ));
        self.actions
            .extend(std::iter::repeat_n(ActionRow::default(), SPARE_ACTIONS));
        self
    }

    /// The form of a stored rule (as the API shows it).
    pub fn from_rule(rule: &Value) -> RuleForm {
        let mut conditions = Vec::new();
        for c in rule["conditions"].as_array().into_iter().flatten() {
            if !fits_rows(c) {
                conditions.push(ConditionRow {
                    kind: RAW.into(),
                    value: c.to_string(),
                    negate: false,
                });
                continue;
            }
            let negate = c["negate"] == true;
            let mut row = |kind: &str, value: String| {
                conditions.push(ConditionRow {
                    kind: kind.into(),
                    value,
                    negate,
                })
            };
            match c["type"].as_str().unwrap_or_default() {
                "keywords" => {
                    if c["any"].as_array().is_some_and(|a| !a.is_empty()) {
                        row("keywords", words(&c["any"]));
                    }
                    if c["all"].as_array().is_some_and(|a| !a.is_empty()) {
                        row("keywords_all", words(&c["all"]));
                    }
                }
                "phrase" => row("phrase", c["text"].as_str().unwrap_or_default().into()),
                "regex" => row("regex", c["pattern"].as_str().unwrap_or_default().into()),
                "language" => row("language", words(&c["is"])),
                "word_count" => {
                    if let Some(n) = c["min"].as_u64() {
                        row("words_min", n.to_string());
                    }
                    if let Some(n) = c["max"].as_u64() {
                        row("words_max", n.to_string());
                    }
                }
                "video_age" => row("video_age", c["max_days"].to_string()),
                "business_hours" => row("business_hours", schedule_text(c)),
                other => row(other, String::new()),
            }
        }
        let actions = rule["actions"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|a| {
                let weighted = a["weights"]
                    .as_array()
                    .is_some_and(|w| w.iter().any(|x| x != 1));
                if weighted {
                    return ActionRow {
                        kind: RAW.into(),
                        text: a.to_string(),
                    };
                }
                let kind = a["type"].as_str().unwrap_or_default().to_owned();
                let text = match kind.as_str() {
                    "reply" | "private_reply" => a["variants"]
                        .as_array()
                        .map(|v| {
                            v.iter()
                                .filter_map(Value::as_str)
                                .collect::<Vec<_>>()
                                .join("\n")
                        })
                        .unwrap_or_default(),
                    "label" | "remove_label" => a["label"].as_str().unwrap_or_default().into(),
                    "assign" => a["user_id"].to_string(),
                    _ => String::new(),
                };
                ActionRow { kind, text }
            })
            .collect();
        let kinds = rule["applies_to"].as_array().cloned().unwrap_or_default();
        let number = |v: &Value| v.as_u64().map(|n| n.to_string()).unwrap_or_default();
        RuleForm {
            name: rule["name"].as_str().unwrap_or_default().into(),
            enabled: rule["enabled"] != false,
            comments: kinds.is_empty() || kinds.contains(&json!("comment")),
            dms: kinds.is_empty() || kinds.contains(&json!("dm")),
            platforms: split(&words(&rule["scope"]["platforms"])),
            conditions,
            actions,
            mode: rule["mode"].as_str().unwrap_or("suggest").into(),
            delay_min: number(&rule["delay_seconds"]["min"]),
            delay_max: number(&rule["delay_seconds"]["max"]),
            cooldown_hours: number(&rule["safeguards"]["cooldown_hours"]),
            max_per_hour: number(&rule["safeguards"]["max_per_hour"]),
            once_per_video: rule["safeguards"]["once_per_video"] != false,
            keep_going: rule["continue"] == true,
            scope_channels: rule["scope"]["channels"].to_string(),
            scope_videos: rule["scope"]["videos"].to_string(),
        }
        .padded()
    }

    /// The form as the browser sent it: fields `c{N}_type`, `c{N}_value`, `c{N}_not`,
    /// `a{N}_type`, `a{N}_text`, and the rule's own fields.
    pub fn from_pairs(pairs: &[(String, String)]) -> RuleForm {
        let get = |key: &str| {
            pairs
                .iter()
                .find(|(k, _)| k == key)
                .map(|(_, v)| v.clone())
                .unwrap_or_default()
        };
        let has = |key: &str| pairs.iter().any(|(k, _)| k == key);
        let conditions = (0..MAX_ROWS)
            .map(|i| ConditionRow {
                kind: get(&format!("c{i}_type")),
                value: get(&format!("c{i}_value")),
                negate: has(&format!("c{i}_not")),
            })
            .collect();
        let actions = (0..MAX_ROWS)
            .map(|i| ActionRow {
                kind: get(&format!("a{i}_type")),
                text: get(&format!("a{i}_text")),
            })
            .collect();
        RuleForm {
            name: get("name"),
            enabled: has("enabled"),
            comments: has("comments"),
            dms: has("dms"),
            platforms: pairs
                .iter()
                .filter(|(k, _)| k == "platform")
                .map(|(_, v)| v.clone())
                .collect(),
            conditions,
            actions,
            mode: get("mode"),
            delay_min: get("delay_min"),
            delay_max: get("delay_max"),
            cooldown_hours: get("cooldown_hours"),
            max_per_hour: get("max_per_hour"),
            once_per_video: has("once_per_video"),
            keep_going: has("continue"),
            scope_channels: get("scope_channels"),
            scope_videos: get("scope_videos"),
        }
        .padded()
    }

    /// The rule JSON, or what is wrong with the numbers typed (the rest is checked as the API
    /// checks it). Paths in problems are those of the rule, so both are shown alike.
    pub fn to_rule(&self) -> Result<Value, Vec<Problem>> {
        let mut problems = Vec::new();
        // Rows kept as written that no longer read (only a changed page could do that).
        let unreadable = std::cell::RefCell::new(Vec::new());
        let mut number = |field: &str, raw: &str| -> Option<u64> {
            match raw.trim().parse::<u64>() {
                Ok(n) => Some(n),
                Err(_) => {
                    problems.push(Problem::new(field, "must be a whole number"));
                    None
                }
            }
        };
        let conditions: Vec<Value> = self
            .conditions
            .iter()
            .filter(|c| !c.kind.is_empty())
            .enumerate()
            .map(|(i, c)| {
                let path = format!("conditions[{i}]");
                let v = c.value.trim();
                if c.kind == RAW {
                    return kept(&c.value, &path, &mut unreadable.borrow_mut());
                }
                let mut cond = match c.kind.as_str() {
                    "keywords" => json!({"type": "keywords", "any": split(v)}),
                    "keywords_all" => json!({"type": "keywords", "all": split(v)}),
                    "phrase" => json!({"type": "phrase", "text": v}),
                    "regex" => json!({"type": "regex", "pattern": v}),
                    "language" => json!({"type": "language", "is": split(v)}),
                    "words_min" => {
                        json!({"type": "word_count", "min": number(&format!("{path}.min"), v)})
                    }
                    "words_max" => {
                        json!({"type": "word_count", "max": number(&format!("{path}.max"), v)})
                    }
                    "video_age" => {
                        json!({"type": "video_age", "max_days": number(&format!("{path}.max_days"), v)})
                    }
                    "business_hours" => schedule_json(v),
                    other => json!({"type": other}),
                };
                if c.negate {
                    cond["negate"] = json!(true);
                }
                cond
            })
            .collect();
        let actions: Vec<Value> = self
            .actions
            .iter()
            .filter(|a| !a.kind.is_empty())
            .enumerate()
            .map(|(i, a)| {
                let t = a.text.trim();
                if a.kind == RAW {
                    return kept(t, &format!("actions[{i}]"), &mut unreadable.borrow_mut());
                }
                match a.kind.as_str() {
                    kind @ ("reply" | "private_reply") => {
                        let variants: Vec<&str> = t
                            .lines()
                            .map(str::trim)
                            .filter(|l| !l.is_empty())
                            .collect();
                        json!({"type": kind, "variants": variants})
                    }
                    kind @ ("label" | "remove_label") => json!({"type": kind, "label": t}),
                    "assign" => {
                        json!({"type": "assign", "user_id": number(&format!("actions[{i}].user_id"), t)})
                    }
                    other => json!({"type": other}),
                }
            })
            .collect();
        let min = number("delay_seconds.min", &self.delay_min);
        let max = number("delay_seconds.max", &self.delay_max);
        let cooldown = number("safeguards.cooldown_hours", &self.cooldown_hours);
        let cap = number("safeguards.max_per_hour", &self.max_per_hour);
        problems.extend(unreadable.into_inner());
        let mut applies_to = Vec::new();
        if self.comments {
            applies_to.push("comment");
        }
        if self.dms {
            applies_to.push("dm");
        }
        if applies_to.is_empty() {
            problems.push(Problem::new("applies_to", "tick comments, DMs or both"));
        }
        if !problems.is_empty() {
            return Err(problems);
        }
        let ids = |raw: &str, field: &str, problems: &mut Vec<Problem>| -> Value {
            match serde_json::from_str::<Value>(if raw.trim().is_empty() { "[]" } else { raw }) {
                Ok(v @ Value::Array(_)) => v,
                _ => {
                    problems.push(Problem::new(
                        field,
                        "could not be read back; reload the rule",
                    ));
                    json!([])
                }
            }
        };
        let channels = ids(&self.scope_channels, "scope.channels", &mut problems);
        let videos = ids(&self.scope_videos, "scope.videos", &mut problems);
        if !problems.is_empty() {
            return Err(problems);
        }
        Ok(json!({
            "name": self.name, "enabled": self.enabled, "applies_to": applies_to,
            "scope": {"platforms": self.platforms, "channels": channels, "videos": videos},
            "conditions": conditions, "actions": actions, "mode": self.mode,
            "delay_seconds": {"min": min, "max": max}, "continue": self.keep_going,
            "safeguards": {"cooldown_hours": cooldown, "max_per_hour": cap,
                           "once_per_video": self.once_per_video},
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The form as a browser would send it back.
    fn sent(form: &RuleForm) -> Vec<(String, String)> {
        let mut pairs: Vec<(String, String)> = vec![
            ("name".into(), form.name.clone()),
            ("enabled".into(), "on".into()),
            ("comments".into(), "on".into()),
            ("mode".into(), form.mode.clone()),
            ("delay_min".into(), form.delay_min.clone()),
            ("delay_max".into(), form.delay_max.clone()),
            ("cooldown_hours".into(), form.cooldown_hours.clone()),
            ("max_per_hour".into(), form.max_per_hour.clone()),
            ("once_per_video".into(), "on".into()),
        ];
        for (i, c) in form.conditions.iter().enumerate() {
            pairs.push((format!("c{i}_type"), c.kind.clone()));
            pairs.push((format!("c{i}_value"), c.value.clone()));
            if c.negate {
                pairs.push((format!("c{i}_not"), "on".into()));
            }
        }
        for (i, a) in form.actions.iter().enumerate() {
            pairs.push((format!("a{i}_type"), a.kind.clone()));
            pairs.push((format!("a{i}_text"), a.text.clone()));
        }
        for p in &form.platforms {
            pairs.push(("platform".into(), p.clone()));
        }
        pairs.push(("scope_channels".into(), form.scope_channels.clone()));
        pairs.push(("scope_videos".into(), form.scope_videos.clone()));
        pairs
    }

    #[test]
    fn a_rule_survives_the_form_both_ways() {
        let rule = json!({
            "name": "Prijs", "enabled": true, "applies_to": ["comment"],
            "scope": {"platforms": ["tiktok", "instagram"], "channels": [], "videos": []},
            "conditions": [{"type": "keywords", "any": ["prijs", "kost"]},
                           {"type": "regex", "pattern": "hoeveel (?P<wat>\\w+)"},
                           {"type": "keywords", "any": ["retour"], "negate": true},
                           {"type": "word_count", "min": 2},
                           {"type": "business_hours", "time_zone": "Europe/Amsterdam",
                            "hours": {"mon": ["09:00-12:00", "13:00-17:00"], "tue": ["09:00-17:00"]},
                            "holidays": ["2026-12-25"], "negate": true}],
            "actions": [{"type": "reply", "variants": ["Hoi {{ author.username }}!", "Dank je!"]},
                        {"type": "label", "label": "price"}],
            "mode": "auto", "delay_seconds": {"min": 20, "max": 90}, "continue": false,
            "safeguards": {"cooldown_hours": 24, "max_per_hour": 60, "once_per_video": true},
        });
        let form = RuleForm::from_rule(&rule);
        assert_eq!(form.conditions.len(), 5 + SPARE_CONDITIONS);
        assert_eq!(
            form.conditions[4].value,
            "Europe/Amsterdam; mon 09:00-12:00, 13:00-17:00; tue 09:00-17:00; holidays 2026-12-25"
        );
        let pairs = sent(&form);
        let back = RuleForm::from_pairs(&pairs).to_rule().unwrap();
        for field in [
            "name",
            "applies_to",
            "conditions",
            "actions",
            "mode",
            "delay_seconds",
            "safeguards",
        ] {
            assert_eq!(back[field], rule[field], "{field}");
        }
        assert_eq!(back["scope"]["platforms"], rule["scope"]["platforms"]);
    }

    #[test]
    fn what_the_rows_cannot_show_is_kept_as_written() {
        let rule = json!({
            "name": "Exact", "enabled": true, "applies_to": ["comment"],
            "scope": {"platforms": [], "channels": [5], "videos": [7, 8]},
            "conditions": [{"type": "regex", "pattern": "SALE", "case_sensitive": true},
                           {"type": "word_count", "min": 2, "max": 10, "negate": true},
                           {"type": "keywords", "any": ["a"], "all": ["b"], "negate": true},
                           {"type": "language", "is": ["nld"], "min_confidence": 0.5}],
            "actions": [{"type": "reply", "variants": ["A", "B"], "weights": [3, 1]}],
            "mode": "auto", "delay_seconds": {"min": 20, "max": 90}, "continue": false,
            "safeguards": {"cooldown_hours": 24, "max_per_hour": 60, "once_per_video": true},
        });
        let form = RuleForm::from_rule(&rule);
        assert!(form.conditions[..4].iter().all(|c| c.kind == RAW));
        let back = RuleForm::from_pairs(&sent(&form)).to_rule().unwrap();
        for field in ["conditions", "actions", "scope"] {
            assert_eq!(back[field], rule[field], "{field}");
        }
    }

    #[test]
    fn typed_numbers_are_checked() {
        let form = RuleForm {
            delay_min: "soon".into(),
            ..RuleForm::default()
        };
        let problems = form.to_rule().unwrap_err();
        assert_eq!(problems[0].field, "delay_seconds.min");
    }
}

#[cfg(test)]
mod schedule_tests {
    use super::*;

    #[test]
    fn a_day_range_covers_its_days() {
        let c = schedule_json(
            "Europe/Amsterdam; mon-fri 09:00-17:00; sat 10:00-14:00 ; holidays 2026-12-25 2026-12-26",
        );
        assert_eq!(c["hours"]["wed"], json!(["09:00-17:00"]));
        assert_eq!(c["hours"]["sat"], json!(["10:00-14:00"]));
        assert!(c["hours"]["sun"].is_null());
        assert_eq!(c["holidays"], json!(["2026-12-25", "2026-12-26"]));
        let mut problems = Vec::new();
        crate::rules::read_conditions(&json!([c]), "conditions", &mut problems);
        assert!(problems.is_empty(), "{problems:?}");
    }
}
