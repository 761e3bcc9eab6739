//! Reply templates: minijinja, sandboxed, checked when the rule is saved: a syntax error gets
//! its line, and a variable we do not provide is refused rather than rendered empty.

use minijinja::{Environment, UndefinedBehavior};
use serde_json::Value;

/// The variables a reply may use (`match.N` and `match.NAME` come from the rule's expression).
pub const VARIABLES: [&str; 10] = [
    "author.name",
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

/// Instructions one rendering may run: far more than any reply needs, far less than a loop
/// that would hold a worker thread.
const FUEL: u64 = 20_000;

/// The most a reply may render to, in bytes, checked while it renders: above any platform's
/// limit for a comment (Instagram's 2,200 characters of any script fit), far below what would
/// weigh on a batch.
pub const MAX_RENDERED_BYTES: usize = 10 * 1024;

fn environment() -> Environment<'static> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.set_fuel(Some(FUEL));
    env
}

/// Checks one reply variant; the message says what to fix.
pub fn check(source: &str) -> Result<(), String> {
    let env = environment();
    let template = env
        .template_from_str(source)
        .map_err(|e| describe_in(&e, source))?;
    super::syntax::allowed(source)?;
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
        "author": {"name": "", "username": "", "display_name": "", "first_name": ""},
        "message": {"text": ""}, "video": {"title": "", "url": ""},
        "channel": {"handle": ""}, "platform": "", "greeting": "", "match": {},
    });
    let mut env = environment();
    env.set_undefined_behavior(UndefinedBehavior::Lenient);
    let template = env.template_from_str(source).map_err(|e| describe(&e))?;
    Ok(capped(&template, &context)?.chars().count())
}

/// Renders `source` with `context`; a missing value is an error, never an empty hole.
pub fn render(source: &str, context: &Value) -> Result<String, String> {
    let env = environment();
    let template = env.template_from_str(source).map_err(|e| describe(&e))?;
    capped(&template, context)
}

/// Renders into at most [`MAX_RENDERED_BYTES`], stopping as soon as the output would pass
/// them; text with a NUL (which PostgreSQL cannot store) is refused too. Trimmed.
fn capped(template: &minijinja::Template<'_, '_>, context: &Value) -> Result<String, String> {
    let mut out = Capped(Vec::new());
    if let Err(e) = template.render_captured_to(context, &mut out) {
        if e.kind() == minijinja::ErrorKind::WriteFailure {
            return Err(format!("renders to more than {MAX_RENDERED_BYTES} bytes"));
        }
        return Err(describe(&e));
    }
    let text = String::from_utf8_lossy(&out.0);
    if text.contains('\0') {
        return Err("renders a NUL character (\\u0000), which cannot be stored".into());
    }
    Ok(text.trim().to_owned())
}

/// A buffer that refuses to grow past [`MAX_RENDERED_BYTES`].
struct Capped(Vec<u8>);

impl std::io::Write for Capped {
    fn write(&mut self, piece: &[u8]) -> std::io::Result<usize> {
        if self.0.len() + piece.len() > MAX_RENDERED_BYTES {
            return Err(std::io::Error::other("the reply is too long"));
        }
        self.0.extend_from_slice(piece);
        Ok(piece.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Reply templates compiled once (each rule change), rendered many times.
pub struct Compiled {
    env: Environment<'static>,
}

impl Default for Compiled {
    fn default() -> Self {
        Compiled { env: environment() }
    }
}

impl Compiled {
    pub fn add(&mut self, name: String, source: String) -> Result<(), String> {
        self.env
            .add_template_owned(name, source)
            .map_err(|e| describe(&e))
    }

    /// Renders template `name` as [`render`] does.
    pub fn render(&self, name: &str, context: &Value) -> Result<String, String> {
        let template = self.env.get_template(name).map_err(|e| describe(&e))?;
        capped(&template, context)
    }
}

/// Like [`describe`], with the column where the mistake starts when the error knows it.
fn describe_in(e: &minijinja::Error, source: &str) -> String {
    let (Some(line), Some(range)) = (e.line(), e.range()) else {
        return describe(e);
    };
    let start = range.start.min(source.len());
    let line_start = source[..start].rfind('\n').map_or(0, |i| i + 1);
    let column = source[line_start..start].chars().count() + 1;
    let what = e
        .detail()
        .map_or_else(|| e.kind().to_string(), str::to_owned);
    format!("line {line}, column {column}: {what}")
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
    fn a_missing_name_can_be_left_out() {
        let source = "So sorry{% if author.name is defined %} {{ author.name }}{% endif %}!";
        assert!(check(source).is_ok());
        let none = serde_json::json!({"author": {}});
        assert_eq!(render(source, &none).unwrap(), "So sorry!");
        let lucas = serde_json::json!({"author": {"name": "Lucas"}});
        assert_eq!(render(source, &lucas).unwrap(), "So sorry Lucas!");
    }

    #[test]
    fn templates_are_checked_when_saved() {
        assert!(
            check("Hoi {{ author.first_name | default('daar') }}! De {{ match.wat }} kost €19.")
                .is_ok()
        );
        let err = check("Hoi {{ author.first_name ").unwrap_err();
        assert!(err.starts_with("line 1, column"), "{err}");
        let err = check("Hoi!\nDank {{ author.username | }}").unwrap_err();
        assert!(err.starts_with("line 2, column 27: "), "{err}");
        let err = check("Dank {{ author.adres }}").unwrap_err();
        assert!(err.contains("author.adres"), "{err}");
        assert_eq!(
            shortest("Dank je {{ author.username }}!").unwrap(),
            "Dank je !".chars().count()
        );
    }

    #[test]
    fn nothing_that_repeats_or_multiplies() {
        assert!(
            check("{% if author.first_name %}Hoi {{ author.first_name }}{% else %}Hoi{% endif %}!")
                .is_ok()
        );
        for hostile in [
            "{% for a in \"x\"*100000000 %}{% endfor %}",
            "{% set x = 1 %}",
            "{{ \"y\" * 100000000 }}",
            "{%- macro m() %}{% endmacro %}",
        ] {
            assert!(check(hostile).is_err(), "{hostile}");
        }
        assert!(
            check("5 * 3 = 15, {{ author.username }}").is_ok(),
            "a star in plain text is text"
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
