//! A budget counted as TikTok counts it: at most `capacity` calls in any `per`. The instants
//! of the calls within the last `per` are kept, so no stretch of that length ever holds more
//! (a refilling bucket lets through its capacity at once and its refill on top: twice the
//! budget in the first minute, which TikTok refuses).

use std::collections::VecDeque;
use std::time::{Duration, Instant};

pub struct Window {
    capacity: usize,
    per: Duration,
    calls: VecDeque<Instant>,
}

impl Window {
    pub fn new(capacity: usize, per: Duration) -> Window {
        Window {
            capacity,
            per,
            calls: VecDeque::with_capacity(capacity),
        }
    }

    fn forget(&mut self, now: Instant) {
        while self
            .calls
            .front()
            .is_some_and(|t| now.duration_since(*t) >= self.per)
        {
            self.calls.pop_front();
        }
    }

    /// Calls still allowed now.
    pub fn left(&mut self, now: Instant) -> usize {
        self.forget(now);
        self.capacity.saturating_sub(self.calls.len())
    }

    /// One call, leaving `reserve` calls for others, or how long until there is one.
    pub fn take(&mut self, reserve: usize, now: Instant) -> Result<(), Duration> {
        if self.left(now) > reserve {
            self.calls.push_back(now);
            return Ok(());
        }
        // Enough of the oldest calls must age out to leave `reserve` and one more.
        let keep = self.capacity.saturating_sub(reserve + 1);
        let out = self.calls.len().saturating_sub(keep).max(1);
        Err(self.calls.get(out - 1).map_or(Duration::ZERO, |t| {
            (*t + self.per).saturating_duration_since(now)
        }))
    }

    /// The platform said "too many": count the window as full until `until`.
    pub fn fill_until(&mut self, until: Instant) {
        let at = until.checked_sub(self.per).unwrap_or(until);
        self.calls.clear();
        self.calls.extend(std::iter::repeat_n(at, self.capacity));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Calls every half second for three minutes: no 60 s ever holds more than 40 granted,
    /// and the budget is used (40 in each minute).
    #[test]
    fn no_minute_holds_more_than_the_budget() {
        let mut w = Window::new(40, Duration::from_secs(60));
        let t0 = Instant::now();
        let granted: Vec<Duration> = (0..360)
            .map(|i| Duration::from_millis(500 * i))
            .filter(|at| w.take(0, t0 + *at).is_ok())
            .collect();
        for (i, start) in granted.iter().enumerate() {
            let within = granted[i..]
                .iter()
                .take_while(|t| **t - *start < Duration::from_secs(60))
                .count();
            assert!(within <= 40, "{within} calls in the minute from {start:?}");
        }
        assert_eq!(granted.len(), 120, "three minutes of 40");
    }

    #[test]
    fn a_reserve_is_left_and_the_wait_is_told() {
        let mut w = Window::new(40, Duration::from_secs(60));
        let t0 = Instant::now();
        for i in 0..30 {
            assert!(w.take(10, t0 + Duration::from_secs(i)).is_ok());
        }
        // The 31st would eat into the ten left for others: wait until the first call is a
        // minute old.
        assert_eq!(
            w.take(10, t0 + Duration::from_secs(30)),
            Err(Duration::from_secs(30))
        );
        for _ in 0..10 {
            assert!(w.take(0, t0 + Duration::from_secs(30)).is_ok());
        }
        assert_eq!(
            w.take(0, t0 + Duration::from_secs(31)),
            Err(Duration::from_secs(29))
        );
        w.fill_until(t0 + Duration::from_secs(100));
        assert_eq!(w.left(t0 + Duration::from_secs(99)), 0);
        assert_eq!(w.left(t0 + Duration::from_secs(100)), 40);
    }
}
