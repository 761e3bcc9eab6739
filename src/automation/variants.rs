//! Picking and writing a reply: every variant is rendered, those that cannot be sent (too
//! long, or a value missing) or that would repeat the last text are set aside, and one of the
//! rest is picked by weight.

use super::safeguards::Stop;
use crate::random;

/// The variant picked and its text.
#[derive(Debug, Clone, PartialEq)]
pub struct Picked {
    pub variant: usize,
    pub text: String,
}

/// Picks among `count` variants, each written by `render(i)`.
pub fn pick(
    count: usize,
    weights: &[u32],
    render: impl Fn(usize) -> Result<String, String>,
    max_chars: Option<usize>,
    avoid: &[String],
) -> Result<Picked, Stop> {
    let mut stop = None;
    let mut texts: Vec<Option<String>> = Vec::with_capacity(count);
    for i in 0..count {
        let usable = match render(i) {
            Err(e) => {
                stop.get_or_insert(Stop::Unrenderable(e));
                None
            }
            Ok(text) if text.is_empty() => {
                stop.get_or_insert(Stop::Unrenderable("renders to nothing".into()));
                None
            }
            Ok(text) if max_chars.is_some_and(|max| text.chars().count() > max) => {
                stop = Some(Stop::TooLong);
                None
            }
            Ok(text) if avoid.contains(&text) => {
                stop = Some(Stop::WouldRepeat);
                None
            }
            Ok(text) => Some(text),
        };
        texts.push(usable);
    }
    let weights: Vec<u32> = texts
        .iter()
        .zip(weights.iter().chain(std::iter::repeat(&1)))
        .map(|(t, w)| if t.is_some() { *w } else { 0 })
        .collect();
    match random::weighted(&weights) {
        Some(variant) => Ok(Picked {
            variant,
            text: texts[variant].clone().unwrap_or_default(),
        }),
        None => Err(stop.unwrap_or(Stop::WouldRepeat)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::template;
    use serde_json::{Value, json};

    fn sources(variants: &[String], ctx: &Value) -> impl Fn(usize) -> Result<String, String> {
        let (variants, ctx) = (variants.to_vec(), ctx.clone());
        move |i| template::render(&variants[i], &ctx)
    }

    #[test]
    fn never_the_same_text_twice_in_a_row() {
        let variants = vec![
            "Dank je!".to_owned(),
            "Top, {{ author.username }}!".to_owned(),
        ];
        let ctx = json!({"author": {"username": "lisa"}});
        for _ in 0..200 {
            let p = pick(
                variants.len(),
                &[1, 1],
                sources(&variants, &ctx),
                None,
                &["Dank je!".into()],
            )
            .unwrap();
            assert_eq!(p.text, "Top, lisa!");
            assert_eq!(p.variant, 1);
        }
        let only = vec!["Dank je!".to_owned()];
        assert_eq!(
            pick(
                only.len(),
                &[1],
                sources(&only, &ctx),
                None,
                &["Dank je!".into()]
            ),
            Err(Stop::WouldRepeat)
        );
    }

    #[test]
    fn too_long_and_missing_values_are_reasons() {
        let ctx = json!({"author": {}});
        let long = vec!["x".repeat(151)];
        assert_eq!(
            pick(long.len(), &[1], sources(&long, &ctx), Some(150), &[]),
            Err(Stop::TooLong)
        );
        let hole = vec!["Hoi {{ author.first_name }}".to_owned()];
        assert!(matches!(
            pick(hole.len(), &[1], sources(&hole, &ctx), None, &[]),
            Err(Stop::Unrenderable(_))
        ));
        let fallback = vec!["Hoi {{ author.first_name | default('daar') }}".to_owned()];
        assert_eq!(
            pick(fallback.len(), &[1], sources(&fallback, &ctx), None, &[])
                .unwrap()
                .text,
            "Hoi daar"
        );
    }
}
