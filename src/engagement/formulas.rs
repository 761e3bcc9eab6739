//! The formulas: ER of one video, organic ER, the follower bands of 2025, the rating and the
//! fake-follower warning. Percentages as plain numbers (14.0 means 14 %).

use serde::Serialize;

/// ER = (likes + comments + shares) / views × 100; undefined (not 0) without views.
pub fn er(views: i64, likes: i64, comments: i64, shares: i64) -> Option<f64> {
    // Added as floats (counts come from outside and may be huge); multiplied first, so the
    // worked example comes out at exactly 14.0.
    (views > 0).then(|| (likes as f64 + comments as f64 + shares as f64) * 100.0 / views as f64)
}

/// ER without our own replies in the comment count (platforms count them as comments).
pub fn organic_er(views: i64, likes: i64, comments: i64, shares: i64, own: i64) -> Option<f64> {
    er(views, likes, comments.saturating_sub(own).max(0), shares)
}

/// The shortest span a rate of change a day is taken over: over less, a few hours' wobble
/// of a young video would read as many points a day.
pub const MIN_RATE_SPAN: chrono::Duration = chrono::Duration::days(1);

/// How many ER percentage points a day `to` moved from `from` (each a time and an ER);
/// undefined over less than [`MIN_RATE_SPAN`] or where either ER is.
pub fn er_change_per_day(
    from: (chrono::DateTime<chrono::Utc>, Option<f64>),
    to: (chrono::DateTime<chrono::Utc>, Option<f64>),
) -> Option<f64> {
    let span = to.0 - from.0;
    if span < MIN_RATE_SPAN {
        return None;
    }
    let days = span.num_seconds() as f64 / 86_400.0;
    Some((to.1? - from.1?) / days)
}

/// An ER above this counts as very good.
pub const VERY_GOOD: f64 = 13.0;

/// A follower band and its 2025 average-ER range.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Band {
    pub label: &'static str,
    pub low: f64,
    pub high: f64,
    /// Followers from (included) …
    pub from: i64,
    /// … to (excluded); `None`: no upper end.
    pub to: Option<i64>,
}

pub const BANDS: [Band; 5] = [
    Band {
        label: "1K–5K",
        low: 5.60,
        high: 21.10,
        from: 1_000,
        to: Some(5_000),
    },
    Band {
        label: "5K–20K",
        low: 2.43,
        high: 18.40,
        from: 5_000,
        to: Some(20_000),
    },
    Band {
        label: "20K–100K",
        low: 2.15,
        high: 15.64,
        from: 20_000,
        to: Some(100_000),
    },
    Band {
        label: "100K–1M",
        low: 2.05,
        high: 15.53,
        from: 100_000,
        to: Some(1_000_000),
    },
    Band {
        label: ">1M",
        low: 1.97,
        high: 17.28,
        from: 1_000_000,
        to: None,
    },
];

/// The band of `followers`: a count exactly on an edge belongs to the higher band; below
/// 1,000 followers there is none (no benchmark is extrapolated).
pub fn band(followers: i64) -> Option<Band> {
    BANDS
        .iter()
        .copied()
        .find(|b| followers >= b.from && b.to.is_none_or(|to| followers < to))
}

/// Where an account's ER sits: "very good" above 13 %, else against its band.
pub fn rating(account_er: f64, band: Option<&Band>) -> &'static str {
    if account_er > VERY_GOOD {
        return "very good";
    }
    match band {
        None => "no benchmark below 1,000 followers",
        Some(b) if account_er < b.low => "below the band",
        Some(b) if account_er > b.high => "above the band",
        Some(_) => "within the band",
    }
}

/// The warning is only given from this many followers: small accounts with a low ER are
/// common and say nothing about bought followers.
pub const WARN_FROM_FOLLOWERS: i64 = 5_000;

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct FakeFollowerWarning {
    pub reason: String,
    pub followers: i64,
    pub account_er: f64,
    pub band_low: f64,
}

/// A careful warning when the follower count is high for an ER at or below the band's lower
/// bound; never an accusation.
pub fn fake_follower_warning(followers: i64, account_er: f64) -> Option<FakeFollowerWarning> {
    let b = band(followers)?;
    (followers >= WARN_FROM_FOLLOWERS && account_er <= b.low).then(|| FakeFollowerWarning {
        reason: format!(
            "An average ER of {account_er:.2} % is at or below the lowest average (2025) for accounts with {} followers ({:.2} %). A low ER with many followers can mean that part of the audience is inactive, bought or automated; it can also have other causes, such as a change of topic. Worth a look, not a verdict.",
            b.label, b.low
        ),
        followers,
        account_er,
        band_low: b.low,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_worked_example_is_14_percent() {
        assert_eq!(er(10_000, 1_200, 150, 50), Some(14.0));
        assert_eq!(er(0, 5, 1, 0), None, "undefined at zero views");
        // 20 of the 150 comments were our own replies.
        assert_eq!(organic_er(10_000, 1_200, 150, 50, 20), Some(13.8));
        assert_eq!(
            organic_er(100, 0, 2, 0, 5),
            Some(0.0),
            "never below zero comments"
        );
        assert!(
            er(1, i64::MAX, i64::MAX, 1).unwrap() > 0.0,
            "huge counts do not overflow"
        );
    }

    #[test]
    fn a_rate_of_change_needs_a_day_of_snapshots() {
        let t0 = chrono::Utc::now();
        let at = |hours: i64| t0 + chrono::Duration::hours(hours);
        // 6.0 % to 7.5 % over three days: half a point a day.
        assert_eq!(
            er_change_per_day((at(0), Some(6.0)), (at(72), Some(7.5))),
            Some(0.5)
        );
        // The same change over an hour is not 36 points a day: it is no rate at all.
        assert_eq!(
            er_change_per_day((at(0), Some(6.0)), (at(1), Some(7.5))),
            None
        );
        assert_eq!(
            er_change_per_day((at(0), Some(6.0)), (at(23), Some(7.5))),
            None
        );
        assert_eq!(
            er_change_per_day((at(0), Some(6.0)), (at(24), Some(5.0))),
            Some(-1.0)
        );
        assert_eq!(
            er_change_per_day((at(0), None), (at(48), Some(5.0))),
            None,
            "no views then: no ER to start from"
        );
    }

    #[test]
    fn edges_belong_to_the_higher_band() {
        assert_eq!(band(999), None);
        assert_eq!(band(1_000).unwrap().label, "1K–5K");
        assert_eq!(band(4_999).unwrap().label, "1K–5K");
        assert_eq!(band(5_000).unwrap().label, "5K–20K");
        assert_eq!(band(20_000).unwrap().label, "20K–100K");
        assert_eq!(band(100_000).unwrap().label, "100K–1M");
        assert_eq!(band(999_999).unwrap().label, "100K–1M");
        assert_eq!(band(1_000_000).unwrap().label, ">1M");
        assert_eq!(rating(13.5, band(50_000).as_ref()), "very good");
        assert_eq!(rating(13.0, band(50_000).as_ref()), "within the band");
        assert_eq!(rating(2.0, band(50_000).as_ref()), "below the band");
        assert_eq!(rating(4.0, None), "no benchmark below 1,000 followers");
    }

    #[test]
    fn the_warning_triggers_at_the_lower_bound_and_not_above() {
        let w = fake_follower_warning(250_000, 2.05).unwrap();
        assert_eq!((w.followers, w.band_low), (250_000, 2.05));
        assert!(w.reason.contains("not a verdict"), "{}", w.reason);
        assert_eq!(fake_follower_warning(250_000, 2.06), None);
        assert_eq!(fake_follower_warning(3_000, 1.0), None, "too small to say");
        assert_eq!(fake_follower_warning(500, 0.1), None, "no band");
    }
}
