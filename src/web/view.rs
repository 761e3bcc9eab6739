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

/// A percentage as the engagement pages show it: "14.00 %", or "—" when undefined.
pub fn percent(v: Option<f64>) -> String {
    v.map_or_else(|| "—".to_owned(), |v| format!("{v:.2} %"))
}

/// A share from 0 to 1 as a whole percentage: "50 %".
pub fn share(v: Option<f64>) -> String {
    v.map_or_else(|| "—".to_owned(), |v| format!("{:.0} %", v * 100.0))
}

/// A wait in seconds, in the unit that reads best: "45 s", "12 min", "3.5 h".
pub fn wait(seconds: Option<f64>) -> String {
    match seconds {
        None => "—".into(),
        Some(s) if s < 120.0 => format!("{s:.0} s"),
        Some(s) if s < 7200.0 => format!("{:.0} min", s / 60.0),
        Some(s) => format!("{:.1} h", s / 3600.0),
    }
}

/// 48,000 rather than 48000.
pub fn thousands(n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    if n < 0 { format!("-{out}") } else { out }
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
