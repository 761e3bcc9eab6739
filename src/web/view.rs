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

/// A change with its sign, rounded first so that it never reads "-0.00": "+1.25", "-0.40",
/// and "0.00" for anything that rounds to nothing.
pub fn signed(v: f64) -> String {
    let rounded = (v * 100.0).round() / 100.0;
    if rounded == 0.0 {
        "0.00".to_owned()
    } else {
        format!("{rounded:+.2}")
    }
}

/// A change of ER a day, in the unit it is in: "+0.25 percentage points a day", or "—".
pub fn points_a_day(v: Option<f64>) -> String {
    v.map_or_else(
        || "—".to_owned(),
        |v| format!("{} percentage points a day", signed(v)),
    )
}

/// A stretch of time: "40 min", "5 h", "3.5 days".
pub fn span(d: chrono::Duration) -> String {
    let minutes = d.num_minutes();
    match minutes {
        m if m < 120 => format!("{m} min"),
        m if m < 48 * 60 => format!("{} h", m / 60),
        m => format!("{:.1} days", m as f64 / 1440.0),
    }
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
    fn signs_come_after_rounding() {
        assert_eq!(signed(-0.001), "0.00");
        assert_eq!(signed(-0.0), "0.00");
        assert_eq!(signed(0.004), "0.00");
        assert_eq!(signed(-0.006), "-0.01");
        assert_eq!(signed(1.234), "+1.23");
        assert_eq!(signed(-2.5), "-2.50");
        assert_eq!(points_a_day(Some(-0.0004)), "0.00 percentage points a day");
        assert_eq!(points_a_day(None), "—");
        assert_eq!(span(Duration::minutes(40)), "40 min");
        assert_eq!(span(Duration::hours(5)), "5 h");
        assert_eq!(span(Duration::hours(84)), "3.5 days");
    }

    #[test]
    fn query_strings_encode_and_skip_blanks() {
        assert_eq!(query_string(&[("q", "a&b c"), ("label", "")]), "?q=a%26b+c");
        assert_eq!(query_string(&[("q", "")]), "");
    }
}
