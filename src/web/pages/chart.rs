//! Line charts drawn on the server as SVG: the coordinates are computed here, the template
//! draws them; no script, readable without JavaScript, with axes, units and a legend.

use chrono::{DateTime, Utc};

pub const WIDTH: f64 = 720.0;
pub const HEIGHT: f64 = 260.0;
const LEFT: f64 = 56.0;
const RIGHT: f64 = 12.0;
const TOP: f64 = 12.0;
const BOTTOM: f64 = 34.0;

pub struct Series {
    pub name: &'static str,
    /// A CSS class: the stylesheet gives each its colour and dash.
    pub class: &'static str,
    pub points: Vec<(DateTime<Utc>, f64)>,
}

pub struct Line {
    pub name: &'static str,
    pub class: &'static str,
    pub points: String,
    /// Dots at each value, for series of a point or two.
    pub dots: Vec<(f64, f64)>,
}

pub struct Tick {
    pub at: f64,
    pub label: String,
    /// `start`, `middle` or `end`: labels at the ends stay inside the drawing.
    pub anchor: &'static str,
}

pub struct Chart {
    pub lines: Vec<Line>,
    pub x_ticks: Vec<Tick>,
    pub y_ticks: Vec<Tick>,
    /// x positions of marked moments (our replies), with their time for the tooltip.
    pub markers: Vec<(f64, String)>,
    pub left: f64,
    pub right: f64,
    pub top: f64,
    pub bottom: f64,
    pub empty: bool,
}

/// A chart of `series` over time, values in percent, with `markers` on the time axis.
pub fn line_chart(series: &[Series], markers: &[DateTime<Utc>]) -> Chart {
    // The time axis spans the values and the marked moments (a reply before the first
    // snapshot still shows).
    let has_values = series.iter().any(|s| !s.points.is_empty());
    let times = series
        .iter()
        .flat_map(|s| s.points.iter().map(|p| p.0))
        .chain(markers.iter().copied().filter(|_| has_values));
    let (t0, t1) = match (times.clone().min(), times.max()) {
        (Some(a), Some(b)) if a < b => (a, b),
        (Some(a), Some(_)) => (
            a - chrono::Duration::hours(1),
            a + chrono::Duration::hours(1),
        ),
        _ => {
            return Chart {
                lines: Vec::new(),
                x_ticks: Vec::new(),
                y_ticks: Vec::new(),
                markers: Vec::new(),
                left: LEFT,
                right: WIDTH - RIGHT,
                top: TOP,
                bottom: HEIGHT - BOTTOM,
                empty: true,
            };
        }
    };
    let top_value = series
        .iter()
        .flat_map(|s| s.points.iter().map(|p| p.1))
        .fold(0.0_f64, f64::max);
    let y_max = nice_ceiling((top_value * 1.1).max(1.0));
    // A little room at both ends, so a mark on the first moment does not sit on the axis.
    let pad = chrono::Duration::seconds(((t1 - t0).num_seconds() / 40).max(1));
    let (t0, t1) = (t0 - pad, t1 + pad);
    let span = (t1 - t0).num_seconds() as f64;
    let x = |t: DateTime<Utc>| LEFT + (t - t0).num_seconds() as f64 / span * (WIDTH - LEFT - RIGHT);
    let y = |v: f64| HEIGHT - BOTTOM - v / y_max * (HEIGHT - TOP - BOTTOM);
    let lines = series
        .iter()
        .map(|s| {
            let dots: Vec<(f64, f64)> = s.points.iter().map(|(t, v)| (x(*t), y(*v))).collect();
            Line {
                name: s.name,
                class: s.class,
                points: dots
                    .iter()
                    .map(|(a, b)| format!("{a:.1},{b:.1}"))
                    .collect::<Vec<_>>()
                    .join(" "),
                dots,
            }
        })
        .collect();
    let short = span < 2.0 * 86_400.0;
    let x_ticks = (0..=4)
        .map(|i| {
            let t = t0 + chrono::Duration::seconds((span * i as f64 / 4.0) as i64);
            Tick {
                at: x(t),
                anchor: match i {
                    0 => "start",
                    4 => "end",
                    _ => "middle",
                },
                label: if short {
                    t.format("%d %b %H:%M").to_string()
                } else {
                    t.format("%d %b").to_string()
                },
            }
        })
        .collect();
    let y_ticks = (0..=4)
        .map(|i| {
            let v = y_max * i as f64 / 4.0;
            Tick {
                at: y(v),
                label: format!("{v:.1} %"),
                anchor: "end",
            }
        })
        .collect();
    let markers = markers
        .iter()
        .filter(|t| **t >= t0 && **t <= t1)
        .map(|t| (x(*t), t.format("%Y-%m-%d %H:%M UTC").to_string()))
        .collect();
    Chart {
        lines,
        x_ticks,
        y_ticks,
        markers,
        left: LEFT,
        right: WIDTH - RIGHT,
        top: TOP,
        bottom: HEIGHT - BOTTOM,
        empty: false,
    }
}

/// 1, 2 or 5 times a power of ten, at or above `v`.
fn nice_ceiling(v: f64) -> f64 {
    let power = 10f64.powf(v.log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|m| m * power)
        .find(|c| *c >= v)
        .unwrap_or(10.0 * power)
}

/// A horizontal band scale (0 to `max` %): where a value and a range sit, in pixels of `width`.
pub fn scale(value: f64, max: f64, width: f64) -> f64 {
    (value.clamp(0.0, max) / max * width * 10.0).round() / 10.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn axes_fit_the_values_and_the_time() {
        let t = |h: i64| {
            DateTime::parse_from_rfc3339("2026-11-20T00:00:00Z")
                .unwrap()
                .to_utc()
                + chrono::Duration::hours(h)
        };
        let chart = line_chart(
            &[Series {
                name: "ER",
                class: "er",
                points: vec![(t(0), 11.0), (t(24), 14.0)],
            }],
            &[t(12), t(48)],
        );
        assert!(!chart.empty);
        assert_eq!(
            chart.y_ticks.last().unwrap().label,
            "20.0 %",
            "14 × 1.1 rounds up to 20"
        );
        assert_eq!(chart.lines[0].points, "71.5,108.3 382.0,76.2");
        assert_eq!(
            chart.markers.len(),
            2,
            "the axis reaches a reply after the last snapshot"
        );
        assert!(line_chart(&[], &[]).empty);
        assert_eq!(nice_ceiling(0.8), 1.0);
        assert_eq!(nice_ceiling(23.0), 50.0);
    }
}
