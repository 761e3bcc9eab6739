//! What a rule does when it fires, read from JSON with every problem named by its path, and
//! checked against what the rule's platforms can do.

use crate::ids::UserId;
use serde::Serialize;
use serde_json::{Map, Value};

use super::template;
use crate::domain::{Deed, Kind, Platform};
use crate::problem::Problem;

/// Most variants one reply may have.
pub const MAX_VARIANTS: usize = 20;

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Action {
    /// Reply in public, with one of the variants picked at random (by weight).
    Reply {
        variants: Vec<String>,
        weights: Vec<u32>,
    },
    /// Answer a comment with a direct message (Instagram and Facebook; once per comment).
    PrivateReply {
        variants: Vec<String>,
        weights: Vec<u32>,
    },
    Like,
    Hide,
    Delete,
    Label {
        label: String,
    },
    RemoveLabel {
        label: String,
    },
    Assign {
        user_id: UserId,
    },
    Close,
}

impl Action {
    pub fn name(&self) -> &'static str {
        match self {
            Action::Reply { .. } => "reply",
            Action::PrivateReply { .. } => "private_reply",
            Action::Like => "like",
            Action::Hide => "hide",
            Action::Delete => "delete",
            Action::Label { .. } => "label",
            Action::RemoveLabel { .. } => "remove_label",
            Action::Assign { .. } => "assign",
            Action::Close => "close",
        }
    }

    /// What the outbox asks a platform to do for this action; `None`: it happens in unibox.
    pub fn deed(&self) -> Option<Deed> {
        match self {
            Action::Reply { .. } => Some(Deed::Reply),
            Action::PrivateReply { .. } => Some(Deed::PrivateReply),
            Action::Like => Some(Deed::Like),
            Action::Hide => Some(Deed::Hide),
            Action::Delete => Some(Deed::Delete),
            Action::Label { .. }
            | Action::RemoveLabel { .. }
            | Action::Assign { .. }
            | Action::Close => None,
        }
    }

    /// Whether `platform` can do this action.
    pub fn platform_can(&self, platform: Platform) -> bool {
        self.deed().is_none_or(|deed| platform_can(deed, platform))
    }

    fn platforms(&self) -> Option<&'static [Platform]> {
        self.deed().and_then(able)
    }
}

/// The platforms that can do `deed` to someone else's message (`None`: every platform).
pub fn able(deed: Deed) -> Option<&'static [Platform]> {
    use Platform::*;
    match deed {
        Deed::PrivateReply => Some(&[Instagram, Facebook]),
        Deed::Like => Some(&[Tiktok, Facebook]),
        Deed::Hide => Some(&[Tiktok, Instagram, Facebook]),
        // TikTok deletes only the account's own comments.
        Deed::Delete => Some(&[Instagram, Facebook]),
        Deed::Reply | Deed::Dm | Deed::Unhide => None,
    }
}

/// Whether `platform` can do `deed`.
pub fn platform_can(deed: Deed, platform: Platform) -> bool {
    able(deed).is_none_or(|p| p.contains(&platform))
}

/// Where a rule applies, as far as its actions care.
pub struct Reach<'a> {
    /// Empty: every platform.
    pub platforms: &'a [Platform],
    pub kinds: &'a [Kind],
}

impl Reach<'_> {
    fn comments(&self) -> bool {
        self.kinds.is_empty() || self.kinds.contains(&Kind::Comment)
    }

    fn may_reach(&self, platform: Platform) -> bool {
        self.platforms.is_empty() || self.platforms.contains(&platform)
    }
}

pub fn read_actions(
    value: Option<&Value>,
    reach: &Reach<'_>,
    problems: &mut Vec<Problem>,
) -> Vec<Action> {
    let Some(items) = value.and_then(Value::as_array).filter(|a| !a.is_empty()) else {
        problems.push(Problem::new("actions", "give at least one action"));
        return Vec::new();
    };
    let mut actions = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let path = format!("actions[{i}]");
        let Some(obj) = item.as_object() else {
            problems.push(Problem::new(&path, "must be an object with a \"type\""));
            continue;
        };
        let before = problems.len();
        let action = read_action(obj, &path, problems);
        if let Some(action) = action.filter(|_| problems.len() == before) {
            check_reach(&action, reach, &path, problems);
            actions.push(action);
        }
    }
    actions
}

fn read_action(
    obj: &Map<String, Value>,
    path: &str,
    problems: &mut Vec<Problem>,
) -> Option<Action> {
    let text =
        |field: &str, problems: &mut Vec<Problem>| match obj.get(field).and_then(Value::as_str) {
            Some(s) if !s.trim().is_empty() => Some(s.trim().to_owned()),
            _ => {
                problems.push(Problem::new(
                    format!("{path}.{field}"),
                    "is required: text that is not blank",
                ));
                None
            }
        };
    let kind = obj.get("type").and_then(Value::as_str).unwrap_or("");
    Some(match kind {
        "reply" | "private_reply" => {
            let (variants, weights) = read_variants(obj, path, problems)?;
            if kind == "reply" {
                Action::Reply { variants, weights }
            } else {
                Action::PrivateReply { variants, weights }
            }
        }
        "like" => Action::Like,
        "hide" => Action::Hide,
        "delete" => Action::Delete,
        "label" => Action::Label {
            label: text("label", problems)?,
        },
        "remove_label" => Action::RemoveLabel {
            label: text("label", problems)?,
        },
        "assign" => match obj.get("user_id").and_then(Value::as_i64) {
            Some(user_id) => Action::Assign {
                user_id: UserId(user_id),
            },
            None => {
                problems.push(Problem::new(
                    format!("{path}.user_id"),
                    "is required: a member's user id",
                ));
                return None;
            }
        },
        "close" => Action::Close,
        other => {
            problems.push(Problem::new(
                format!("{path}.type"),
                format!("“{other}” is no action; use one of reply, private_reply, like, hide, delete, label, remove_label, assign, close"),
            ));
            return None;
        }
    })
}

fn read_variants(
    obj: &Map<String, Value>,
    path: &str,
    problems: &mut Vec<Problem>,
) -> Option<(Vec<String>, Vec<u32>)> {
    let Some(items) = obj
        .get("variants")
        .and_then(Value::as_array)
        .filter(|v| !v.is_empty())
    else {
        problems.push(Problem::new(
            format!("{path}.variants"),
            "give at least one reply text",
        ));
        return None;
    };
    if items.len() > MAX_VARIANTS {
        problems.push(Problem::new(
            format!("{path}.variants"),
            format!("has {} texts; at most {MAX_VARIANTS}", items.len()),
        ));
        return None;
    }
    let mut variants = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let field = format!("{path}.variants[{i}]");
        match item.as_str().map(str::trim).filter(|s| !s.is_empty()) {
            Some(source) => match template::check(source) {
                Ok(()) => variants.push(source.to_owned()),
                Err(e) => problems.push(Problem::new(field, e)),
            },
            None => problems.push(Problem::new(field, "must be text that is not blank")),
        }
    }
    let weights = match obj.get("weights") {
        None | Some(Value::Null) => vec![1; items.len()],
        Some(Value::Array(w)) if w.len() == items.len() => {
            let read: Vec<Option<u32>> = w
                .iter()
                .map(|x| {
                    x.as_u64()
                        .and_then(|n| u32::try_from(n).ok())
                        .filter(|n| *n > 0)
                })
                .collect();
            if read.iter().any(Option::is_none) {
                problems.push(Problem::new(
                    format!("{path}.weights"),
                    "must be whole numbers above 0",
                ));
                return None;
            }
            read.into_iter().flatten().collect()
        }
        Some(_) => {
            problems.push(Problem::new(
                format!("{path}.weights"),
                "must give one weight per variant",
            ));
            return None;
        }
    };
    Some((variants, weights))
}

/// Refuses an action none of the rule's platforms can do, and a public reply that cannot fit a
/// TikTok comment reply when the rule can reach TikTok comments.
fn check_reach(action: &Action, reach: &Reach<'_>, path: &str, problems: &mut Vec<Problem>) {
    if let Some(able) = action.platforms() {
        let unable: Vec<&str> = reach
            .platforms
            .iter()
            .filter(|p| !able.contains(p))
            .map(|p| p.label())
            .collect();
        if !unable.is_empty() {
            problems.push(Problem::new(
                format!("{path}.type"),
                format!("{} is not something {} can do; remove those platforms from the scope or this action", action.name(), unable.join(" and ")),
            ));
            return;
        }
    }
    if let (Action::PrivateReply { .. }, false) = (action, reach.comments()) {
        problems.push(Problem::new(
            format!("{path}.type"),
            "a private reply answers a comment; let the rule apply to comments",
        ));
    }
    if let Action::Reply { variants, .. } = action
        && reach.comments()
        && reach.may_reach(Platform::Tiktok)
        && let Some(max) = Platform::Tiktok.max_reply_chars()
    {
        for (i, source) in variants.iter().enumerate() {
            if let Ok(n) = template::shortest(source)
                && n > max
            {
                problems.push(Problem::new(
                    format!("{path}.variants[{i}]"),
                    format!("is at least {n} characters; TikTok takes at most {max} in a comment reply (or leave TikTok out of the scope)"),
                ));
            }
        }
    }
}
