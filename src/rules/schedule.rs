//! Business hours: a weekly schedule in a time zone, with holidays. A message is inside when
//! its local time falls in one of its weekday's ranges and its local date is no holiday.

use std::collections::BTreeSet;

use chrono::{DateTime, Datelike, NaiveDate, Timelike, Utc};
use serde_json::{Map, Value};

use crate::problem::Problem;

pub const DAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
const MAX_HOLIDAYS: usize = 400;
const MAX_RANGES: usize = 6;

#[derive(Debug, Clone, PartialEq)]
pub struct Schedule {
    pub time_zone: chrono_tz::Tz,
    /// Per weekday from Monday, minute ranges [start, end) of the local day.
    pub days: [Vec<(u32, u32)>; 7],
    pub holidays: BTreeSet<NaiveDate>,
}

impl Schedule {
    pub fn contains(&self, at: DateTime<Utc>) -> bool {
        let local = at.with_timezone(&self.time_zone);
        if self.holidays.contains(&local.date_naive()) {
            return false;
        }
        let minute = local.hour() * 60 + local.minute();
        self.days[local.weekday().num_days_from_monday() as usize]
            .iter()
            .any(|(start, end)| (*start..*end).contains(&minute))
    }
}

/// "09:00" as minutes of the day; "24:00" ends a day.
fn minutes(text: &str) -> Option<u32> {
    let (h, m) = text.trim().split_once(':')?;
    let (h, m): (u32, u32) = (h.parse().ok()?, m.parse().ok()?);
    (m < 60 && (h < 24 || (h == 24 && m == 0))).then_some(h * 60 + m)
}

/// Reads `{"time_zone", "hours": {"mon": ["09:00-17:00"], …}, "holidays": ["2026-12-25"]}`.
pub fn read(obj: &Map<String, Value>, path: &str, problems: &mut Vec<Problem>) -> Option<Schedule> {
    let mut found: Vec<Problem> = Vec::new();
    let mut problem = |field: &str, message: String| {
        found.push(Problem::new(format!("{path}.{field}"), message));
    };
    let time_zone = match obj.get("time_zone").and_then(Value::as_str) {
        Some(name) => match name.parse::<chrono_tz::Tz>() {
            Ok(tz) => Some(tz),
            Err(_) => {
                problem(
                    "time_zone",
                    format!(
                        "“{name}” is no time zone we know; use a name such as Europe/Amsterdam"
                    ),
                );
                None
            }
        },
        None => {
            problem(
                "time_zone",
                "is required: a time zone such as Europe/Amsterdam".into(),
            );
            None
        }
    };
    let mut days: [Vec<(u32, u32)>; 7] = Default::default();
    match obj.get("hours").and_then(Value::as_object) {
        Some(hours) => {
            for (day, ranges) in hours {
                let Some(d) = DAYS.iter().position(|x| x == day) else {
                    problem(
                        &format!("hours.{day}"),
                        format!("is no day; use {}", DAYS.join(", ")),
                    );
                    continue;
                };
                let list: Vec<&str> = match ranges {
                    Value::String(s) => s.split(',').collect(),
                    Value::Array(a) => a.iter().filter_map(Value::as_str).collect(),
                    _ => Vec::new(),
                };
                if list.len() > MAX_RANGES {
                    problem(
                        &format!("hours.{day}"),
                        format!("at most {MAX_RANGES} ranges a day"),
                    );
                }
                for (i, range) in list.iter().enumerate() {
                    let parsed = range
                        .split_once('-')
                        .and_then(|(a, b)| Some((minutes(a)?, minutes(b)?)))
                        .filter(|(a, b)| a < b);
                    match parsed {
                        Some(r) => days[d].push(r),
                        None => problem(
                            &format!("hours.{day}[{i}]"),
                            format!(
                                "“{}” is no range of the day; write it as 09:00-17:30",
                                range.trim()
                            ),
                        ),
                    }
                }
            }
            let none_given = hours.values().all(|r| {
                r.as_array().is_some_and(Vec::is_empty)
                    || r.as_str().is_some_and(|s| s.trim().is_empty())
            });
            if none_given {
                problem(
                    "hours",
                    "give at least one day with hours, such as {\"mon\": [\"09:00-17:00\"]}".into(),
                );
            }
        }
        None => problem(
            "hours",
            "is required: {\"mon\": [\"09:00-17:00\"], …} (days without hours are closed)".into(),
        ),
    }
    let mut holidays = BTreeSet::new();
    if let Some(list) = obj.get("holidays").filter(|v| !v.is_null()) {
        let items = list.as_array().map(Vec::as_slice).unwrap_or_default();
        if !list.is_array() || items.len() > MAX_HOLIDAYS {
            problem(
                "holidays",
                format!(
                    "must be a list of dates (at most {MAX_HOLIDAYS}), such as [\"2026-12-25\"]"
                ),
            );
        }
        for (i, item) in items.iter().enumerate() {
            match item
                .as_str()
                .and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
            {
                Some(date) => {
                    holidays.insert(date);
                }
                None => problem(
                    &format!("holidays[{i}]"),
                    "must be a date written as 2026-12-25".into(),
                ),
            }
        }
    }
    if !found.is_empty() {
        problems.extend(found);
        return None;
    }
    Some(Schedule {
        time_zone: time_zone?,
        days,
        holidays,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().to_utc()
    }

    #[test]
    fn local_time_weekdays_and_holidays_decide() {
        let obj = json!({"time_zone": "Europe/Amsterdam",
            "hours": {"mon": ["09:00-12:00", "13:00-17:30"], "sat": "10:00-14:00"},
            "holidays": ["2026-12-28"]});
        let mut problems = Vec::new();
        let s = read(obj.as_object().unwrap(), "c", &mut problems).unwrap();
        // Monday 30 Nov 2026, 09:30 in Amsterdam is 08:30 UTC (winter time).
        assert!(s.contains(at("2026-11-30T08:30:00Z")));
        assert!(
            !s.contains(at("2026-11-30T07:30:00Z")),
            "08:30 local: not yet"
        );
        assert!(!s.contains(at("2026-11-30T11:30:00Z")), "lunch");
        assert!(s.contains(at("2026-11-30T16:29:00Z")));
        assert!(!s.contains(at("2026-11-30T16:30:00Z")), "17:30 closes");
        // Summer time: Monday 6 July 2026, 09:30 local is 07:30 UTC.
        assert!(s.contains(at("2026-07-06T07:30:00Z")));
        assert!(!s.contains(at("2026-12-01T09:00:00Z")), "Tuesday is closed");
        assert!(s.contains(at("2026-12-05T12:00:00Z")), "Saturday 13:00");
        assert!(!s.contains(at("2026-12-28T09:00:00Z")), "a holiday Monday");
    }

    #[test]
    fn mistakes_are_named() {
        let obj = json!({"time_zone": "Mars/Olympus", "hours": {"mon": ["17:00-09:00"], "funday": []},
            "holidays": ["25-12-2026"]});
        let mut problems = Vec::new();
        assert!(read(obj.as_object().unwrap(), "conditions[0]", &mut problems).is_none());
        let fields: Vec<&str> = problems.iter().map(|p| p.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "conditions[0].time_zone",
                "conditions[0].hours.funday",
                "conditions[0].hours.mon[0]",
                "conditions[0].holidays[0]"
            ]
        );
    }
}
