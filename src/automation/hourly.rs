//! The hourly cap's count: a channel's automated actions (`auto` runs due or done) in the last
//! hour. Kept per channel and minute as runs are written and skipped, in a ring of [`SLOTS`]
//! rows per channel (`automation_minutes`), so reading it costs at most a ring of rows however
//! busy the channel, where counting the hour's runs cost every batch up to the cap's number of
//! rows while it held its channels' lock. The minute at the window's edge is counted from the
//! runs themselves, so the count is exact to the microsecond, as it was.
//!
//! Instances writing to one database are assumed to agree on the time within the hour.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};

use crate::storage::{Backend, MAX_ROWS, Sql, Tx, table_chunks};

/// Slots per channel: more than the 61 minutes one hour's window can touch.
const SLOTS: i64 = 64;

/// Minutes since the Unix epoch.
fn minute(at: DateTime<Utc>) -> i64 {
    at.timestamp().div_euclid(60)
}

/// The minutes' counts to add for runs at these (channel, decision time)s.
pub struct Counts(BTreeMap<(i64, i64), i64>);

impl Counts {
    pub fn of(runs: impl IntoIterator<Item = (i64, DateTime<Utc>)>) -> Counts {
        Counts(by_minute(runs))
    }

    /// Whether there are some, few enough for one statement ([`Counts::push_add`]).
    pub fn fit_one(&self) -> bool {
        (1..=MAX_ROWS).contains(&self.0.len())
    }

    /// Appends the PostgreSQL statement that adds them all, as [`add`] runs it; only when
    /// [`Counts::fit_one`].
    pub fn push_add(&self, sql: &mut Sql) {
        debug_assert!(self.fit_one());
        let rows: Vec<_> = self.0.iter().collect();
        push_add(sql, Backend::Postgres, &rows);
    }
}

/// Counts each (channel, decision time) of runs that became automated actions.
pub async fn add(tx: &mut Tx, counts: &Counts) -> Result<(), sqlx::Error> {
    let rows: Vec<(&(i64, i64), &i64)> = counts.0.iter().collect();
    for chunk in table_chunks(tx.backend(), &rows) {
        let mut sql = Sql::new("");
        push_add(&mut sql, tx.backend(), chunk);
        tx.execute(sql).await?;
    }
    Ok(())
}

fn push_add(sql: &mut Sql, backend: Backend, rows: &[(&(i64, i64), &i64)]) {
    sql.push("INSERT INTO automation_minutes (channel_id, slot, minute, actions) ");
    sql.bind_table(backend, rows, |r, ((channel, minute), n)| {
        r.bind(*channel)
            .bind(minute.rem_euclid(SLOTS))
            .bind(*minute)
            .bind(**n);
    });
    // A slot still holding a minute an hour gone starts over.
    sql.push(
        " ON CONFLICT (channel_id, slot) DO UPDATE SET actions = CASE \
         WHEN automation_minutes.minute = excluded.minute \
         THEN automation_minutes.actions + excluded.actions ELSE excluded.actions END, \
         minute = excluded.minute",
    );
}

/// Takes back runs counted by [`add`] that will not act after all (skipped when due). A run
/// whose slot has moved on is already out of the window: nothing to take back.
pub async fn withdraw(
    tx: &mut Tx,
    runs: impl IntoIterator<Item = (i64, DateTime<Utc>)>,
) -> Result<(), sqlx::Error> {
    for ((channel, minute), n) in by_minute(runs) {
        let mut sql = Sql::new("UPDATE automation_minutes SET actions = actions - ");
        sql.bind(n)
            .push(" WHERE channel_id = ")
            .bind(channel)
            .push(" AND slot = ")
            .bind(minute.rem_euclid(SLOTS))
            .push(" AND minute = ")
            .bind(minute);
        tx.execute(sql).await?;
    }
    Ok(())
}

fn by_minute(runs: impl IntoIterator<Item = (i64, DateTime<Utc>)>) -> BTreeMap<(i64, i64), i64> {
    let mut counts = BTreeMap::new();
    for (channel, at) in runs {
        *counts.entry((channel, minute(at))).or_default() += 1;
    }
    counts
}

/// Appends to `sql` a select of (channel, actions in the hour before `now`) for `channels`:
/// the whole minutes inside the window from their slots, the minute at its edge from the runs.
pub fn push_counts(sql: &mut Sql, backend: Backend, channels: &[i64], now: DateTime<Utc>) {
    let start = now - Duration::hours(1);
    let first_whole = minute(start) + 1;
    let edge = DateTime::<Utc>::from_timestamp(first_whole * 60, 0).unwrap_or(now);
    sql.push("SELECT channel_id, CAST(SUM(n) AS BIGINT) AS n FROM (SELECT channel_id, actions AS n FROM automation_minutes WHERE channel_id IN ")
        .bind_ids(backend, channels.iter().copied())
        .push(" AND minute >= ")
        .bind(first_whole)
        .push(" UNION ALL SELECT channel_id, 1 AS n FROM rule_runs WHERE channel_id IN ")
        .bind_ids(backend, channels.iter().copied())
        .push(" AND decided_at > ")
        .bind(start)
        .push(" AND decided_at < ")
        .bind(edge)
        .push(" AND mode = 'auto' AND outcome IN ('due', 'done')) counted GROUP BY channel_id");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minutes_count_from_the_epoch_and_group_runs() {
        let at = |s: &str| s.parse::<DateTime<Utc>>().unwrap();
        assert_eq!(minute(at("1970-01-01T00:01:59.999999Z")), 1);
        assert_eq!(minute(at("1969-12-31T23:59:30Z")), -1);
        let counts = by_minute([
            (7, at("2026-11-27T10:00:00Z")),
            (7, at("2026-11-27T10:00:59.9Z")),
            (7, at("2026-11-27T10:01:00Z")),
            (8, at("2026-11-27T10:00:10Z")),
        ]);
        let m = minute(at("2026-11-27T10:00:00Z"));
        assert_eq!(
            counts.into_iter().collect::<Vec<_>>(),
            [((7, m), 2), ((7, m + 1), 1), ((8, m), 1)]
        );
    }
}
