//! Comparing two groups of videos (replied against unreplied, high against low coverage): the
//! difference of their median ERs with a bootstrap interval, and "not enough data" below a
//! minimum sample rather than a confident-looking number. Across videos this is an
//! association, never called an effect.

use serde::Serialize;

/// Fewer videos than this in either group: not enough data.
pub const MIN_VIDEOS: usize = 5;
/// Bootstrap resamples.
pub const RESAMPLES: usize = 2_000;
/// The interval's coverage.
pub const LEVEL: f64 = 0.95;

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Group {
    pub videos: usize,
    pub median_er: Option<f64>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Comparison {
    pub replied: Group,
    pub unreplied: Group,
    /// Median of the first group minus median of the second, in ER percentage points.
    pub difference: Option<f64>,
    /// 95 % bootstrap interval around the difference.
    #[schema(value_type = Option<Vec<f64>>)]
    pub interval: Option<[f64; 2]>,
    pub enough_data: bool,
    /// What the numbers allow one to say, in one word.
    pub verdict: Verdict,
    pub kind: &'static str,
}

/// The answer a comparison gives, read from its interval and its sample sizes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case", tag = "answer")]
pub enum Verdict {
    /// Fewer than `need` videos in a group.
    NotEnoughData {
        first: usize,
        second: usize,
        need: usize,
    },
    /// The interval holds zero: no difference can be told apart from chance.
    NoClearDifference,
    /// The whole interval is above zero.
    FirstBetter,
    /// The whole interval is below zero.
    FirstWorse,
}

impl Verdict {
    fn of(first: usize, second: usize, interval: Option<[f64; 2]>) -> Verdict {
        match interval {
            Some([low, _]) if first >= MIN_VIDEOS && second >= MIN_VIDEOS && low > 0.0 => {
                Verdict::FirstBetter
            }
            Some([_, high]) if first >= MIN_VIDEOS && second >= MIN_VIDEOS && high < 0.0 => {
                Verdict::FirstWorse
            }
            Some(_) if first >= MIN_VIDEOS && second >= MIN_VIDEOS => Verdict::NoClearDifference,
            _ => Verdict::NotEnoughData {
                first,
                second,
                need: MIN_VIDEOS,
            },
        }
    }
}

/// A small deterministic generator (xorshift64*), seeded: the same data give the same interval.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed.max(1))
    }
    pub fn draw(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.draw() % n as u64) as usize
    }
    /// Uniform in (0, 1).
    pub fn unit(&mut self) -> f64 {
        ((self.draw() >> 11) as f64 + 0.5) / (1u64 << 53) as f64
    }
}

pub fn median(values: &mut [f64]) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    values.sort_by(f64::total_cmp);
    let n = values.len();
    Some(if n % 2 == 1 {
        values[n / 2]
    } else {
        (values[n / 2 - 1] + values[n / 2]) / 2.0
    })
}

fn resample_median(values: &[f64], rng: &mut Rng, scratch: &mut Vec<f64>) -> f64 {
    scratch.clear();
    scratch.extend((0..values.len()).map(|_| values[rng.below(values.len())]));
    median(scratch).unwrap_or(0.0)
}

/// Compares the ERs of `first` (replied, or high coverage) with `second`.
pub fn compare(first: &[f64], second: &[f64], seed: u64) -> Comparison {
    let group = |v: &[f64]| Group {
        videos: v.len(),
        median_er: median(&mut v.to_vec()),
    };
    let (a, b) = (group(first), group(second));
    let enough = first.len() >= MIN_VIDEOS && second.len() >= MIN_VIDEOS;
    let (difference, interval) = if enough {
        let mut rng = Rng::new(seed);
        let mut scratch = Vec::with_capacity(first.len().max(second.len()));
        let mut diffs: Vec<f64> = (0..RESAMPLES)
            .map(|_| {
                resample_median(first, &mut rng, &mut scratch)
                    - resample_median(second, &mut rng, &mut scratch)
            })
            .collect();
        diffs.sort_by(f64::total_cmp);
        let tail = (1.0 - LEVEL) / 2.0;
        let at = |q: f64| diffs[((q * RESAMPLES as f64) as usize).min(RESAMPLES - 1)];
        (
            a.median_er.zip(b.median_er).map(|(x, y)| x - y),
            Some([at(tail), at(1.0 - tail)]),
        )
    } else {
        (None, None)
    };
    let verdict = Verdict::of(a.videos, b.videos, interval);
    Comparison {
        replied: a,
        unreplied: b,
        difference,
        interval,
        enough_data: enough,
        verdict,
        kind: "association",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Normal(mean, sd) by Box–Muller.
    fn normal(rng: &mut Rng, mean: f64, sd: f64) -> f64 {
        let (u, v) = (rng.unit(), rng.unit());
        mean + sd * (-2.0 * u.ln()).sqrt() * (2.0 * std::f64::consts::PI * v).cos()
    }

    #[test]
    fn the_interval_is_fixed_by_its_seed() {
        let a = [9.0, 10.5, 8.2, 11.0, 9.7, 10.1];
        let b = [7.0, 8.5, 6.9, 7.7, 8.1, 7.2];
        let one = compare(&a, &b, 42);
        let two = compare(&a, &b, 42);
        assert_eq!(one.interval, two.interval);
        let difference = one.difference.unwrap();
        assert!((difference - (9.9 - 7.45)).abs() < 1e-9, "{difference}");
        let [low, high] = one.interval.unwrap();
        assert!(low < difference && difference < high, "{low} {high}");
        assert_eq!(one.kind, "association");
    }

    #[test]
    fn too_few_videos_is_not_enough_data() {
        let c = compare(&[9.0, 10.0, 11.0], &[7.0, 8.0, 6.0, 7.5, 8.2], 1);
        assert!(!c.enough_data);
        assert_eq!((c.difference, c.interval), (None, None));
        assert_eq!(c.replied.videos, 3);
        assert_eq!(
            c.verdict,
            Verdict::NotEnoughData {
                first: 3,
                second: 5,
                need: MIN_VIDEOS
            }
        );
    }

    /// The answer follows the interval: above zero better, below zero worse, across zero no
    /// difference we can tell.
    #[test]
    fn the_verdict_follows_the_interval() {
        let high = [9.0, 10.5, 8.2, 11.0, 9.7, 10.1];
        let low = [7.0, 8.5, 6.9, 7.7, 8.1, 7.2];
        assert_eq!(compare(&high, &low, 42).verdict, Verdict::FirstBetter);
        assert_eq!(compare(&low, &high, 42).verdict, Verdict::FirstWorse);
        let mixed = [7.0, 10.5, 8.2, 11.0, 6.9, 9.1];
        let c = compare(&mixed, &high, 42);
        let [a, b] = c.interval.unwrap();
        assert!(a < 0.0 && b > 0.0, "{a} {b}");
        assert_eq!(c.verdict, Verdict::NoClearDifference);
        assert_eq!(
            Verdict::of(5, 5, Some([0.0, 1.0])),
            Verdict::NoClearDifference
        );
        assert_eq!(Verdict::of(5, 5, Some([0.01, 1.0])), Verdict::FirstBetter);
    }

    /// Synthetic channels with a known true difference (zero included): the interval covers
    /// the truth in at least 90 of 100 seeded runs.
    #[test]
    fn the_interval_recovers_the_true_difference() {
        for truth in [0.0, 1.5, -2.0] {
            let mut covered = 0;
            for seed in 1..=100u64 {
                let mut rng = Rng::new(seed * 7919);
                let replied: Vec<f64> = (0..30)
                    .map(|_| normal(&mut rng, 8.0 + truth, 2.0))
                    .collect();
                let unreplied: Vec<f64> = (0..30).map(|_| normal(&mut rng, 8.0, 2.0)).collect();
                let [low, high] = compare(&replied, &unreplied, seed).interval.unwrap();
                if low <= truth && truth <= high {
                    covered += 1;
                }
            }
            assert!(
                covered >= 90,
                "true difference {truth}: covered in {covered} of 100 runs"
            );
        }
    }
}
