//! Turning stored values into what a page shows: names, labels and human times.

use chrono::{DateTime, Utc};

/// "just now", "5 min ago", "3 h ago", "2 d ago", then the date.
pub fn ago(now: DateTime<Utc>, t: DateTime<Utc>) -> String {
    let secs = (now - t).num_seconds();
    match secs {
        s if s < 60 => "just now".to_owned(),
        s if s < 3600 => format!("{} min ago", s / 60),
        s if s < 86_400 => format!("{} h ago", s / 3600),
        s if s < 7 * 86_400 => format!("{} d ago", s / 86_400),
        _ => t.format("%-d %b %Y").to_string(),
    }
}

pub fn full_time(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M:%S UTC").to_string()
}

pub fn iso_time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

pub fn platform_label(platform: &str) -> &'static str {
    platform
        .parse::<crate::domain::Platform>()
        .map(|p| p.label())
        .unwrap_or("Other")
}

pub fn kind_label(kind: crate::domain::Kind) -> &'static str {
    match kind {
        crate::domain::Kind::Dm => "DM",
        crate::domain::Kind::Comment => "Comment",
    }
}

/// Query string for `params`, leaving out empty values.
pub fn query_string(params: &[(&str, &str)]) -> String {
    let kept: Vec<_> = params.iter().filter(|(_, v)| !v.is_empty()).collect();
    if kept.is_empty() {
        return String::new();
    }
    format!("?{}", serde_urlencoded::to_string(kept).unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;

    #[test]
    fn ages_read_naturally() {
        let now = crate::clock::now();
        assert_eq!(ago(now, now - Duration::seconds(5)), "just now");
        assert_eq!(ago(now, now - Duration::minutes(5)), "5 min ago");
        assert_eq!(ago(now, now - Duration::hours(3)), "3 h ago");
    }

    #[test]
    fn query_strings_encode_and_skip_blanks() {
        assert_eq!(query_string(&[("q", "a&b c"), ("label", "")]), "?q=a%26b+c");
        assert_eq!(query_string(&[("q", "")]), "");
    }
}
