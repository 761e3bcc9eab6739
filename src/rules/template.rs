//! Reply templates: minijinja, sandboxed, checked when the rule is saved: a syntax error gets
//! its line, and a variable we do not provide is refused rather than rendered empty.

use minijinja::{Environment, UndefinedBehavior};
use serde_json::Value;

/// The variables a reply may use (`match.N` and `match.NAME` come from the rule's expression).
pub const VARIABLES: [&str; 9] = [
    "author.username",
    "author.display_name",
    "author.first_name",
    "message.text",
    "video.title",
    "video.url",
    "channel.handle",
    "platform",
    "greeting",
];

fn environment() -> Environment<'static> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env
}

/// Checks one reply variant; the message says what to fix.
pub fn check(source: &str) -> Result<(), String> {
    let env = environment();
    let template = env.template_from_str(source).map_err(|e| describe(&e))?;
    let mut unknown: Vec<String> = template
        .undeclared_variables(true)
        .into_iter()
        .filter(|name| !known(name))
        .collect();
    unknown.sort();
    match unknown.first() {
        None => Ok(()),
        Some(name) => Err(format!(
            "uses “{name}”, which replies do not have; use {}, match.1 or match.NAME",
            VARIABLES.join(", ")
        )),
    }
}

fn known(name: &str) -> bool {
    VARIABLES.contains(&name) || name.starts_with("match.") || name == "match"
}

/// The shortest text `source` can render to: every variable empty.
pub fn shortest(source: &str) -> Result<usize, String> {
    let context = serde_json::json!({
        "author": {"username": "", "display_name": "", "first_name": ""},
        "message": {"text": ""}, "video": {"title": "", "url": ""},
        "channel": {"handle": ""}, "platform": "", "greeting": "", "match": {},
    });
    let mut env = environment();
    env.set_undefined_behavior(UndefinedBehavior::Lenient);
    let rendered = env.render_str(source, context).map_err(|e| describe(&e))?;
    Ok(rendered.trim().chars().count())
}

/// Renders `source` with `context`; a missing value is an error, never an empty hole.
pub fn render(source: &str, context: &Value) -> Result<String, String> {
    environment()
        .render_str(source, context)
        .map(|text| text.trim().to_owned())
        .map_err(|e| describe(&e))
}

fn describe(e: &minijinja::Error) -> String {
    let what = e
        .detail()
        .map_or_else(|| e.kind().to_string(), str::to_owned);
    match e.line() {
        Some(line) => format!("line {line}: {what}"),
        None => what,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_are_checked_when_saved() {
        assert!(
            check("Hoi {{ author.first_name | default('daar') }}! De {{ match.wat }} kost €19.")
                .is_ok()
        );
        let err = check("Hoi {{ author.first_name ").unwrap_err();
        assert!(err.starts_with("line 1:"), "{err}");
        let err = check("Dank {{ author.adres }}").unwrap_err();
        assert!(err.contains("author.adres"), "{err}");
        assert_eq!(
            shortest("Dank je {{ author.username }}!").unwrap(),
            "Dank je !".chars().count()
        );
    }

    #[test]
    fn rendering_refuses_holes() {
        let ctx = serde_json::json!({"author": {"username": "lisa"}});
        assert_eq!(
            render("Dank je {{ author.username }}!", &ctx).unwrap(),
            "Dank je lisa!"
        );
        assert!(render("{{ video.title }}", &ctx).is_err());
    }
}
