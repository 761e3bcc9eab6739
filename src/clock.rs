use chrono::{DateTime, Duration, DurationRound, Utc};

/// The current time at the precision both databases store (microseconds), so a value read
/// back equals the value written and cursors built from it match exactly.
pub fn now() -> DateTime<Utc> {
    let t = Utc::now();
    t.duration_trunc(Duration::microseconds(1)).unwrap_or(t)
}
