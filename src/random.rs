//! Randomness for delays and variants: a small generator seeded from the operating system.
//! Nothing here is a secret; it only has to keep automated replies from looking mechanical.

use std::cell::Cell;

thread_local! {
    static STATE: Cell<u64> = Cell::new(seed());
}

fn seed() -> u64 {
    let mut bytes = [0u8; 8];
    // Without the system's randomness the clock still varies the replies enough.
    if getrandom::fill(&mut bytes).is_err() {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0x9e37_79b9_7f4a_7c15);
        bytes = nanos.to_le_bytes();
    }
    u64::from_le_bytes(bytes) | 1
}

/// The next number (xorshift64*).
fn next() -> u64 {
    STATE.with(|s| {
        let mut x = s.get();
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        s.set(x);
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    })
}

/// A number from `lo` to `hi`, both included.
pub fn between(lo: u64, hi: u64) -> u64 {
    if hi <= lo {
        return lo;
    }
    lo + next() % (hi - lo + 1)
}

/// An index among `weights`, each as likely as its weight; `None` when all are zero.
pub fn weighted(weights: &[u32]) -> Option<usize> {
    let total: u64 = weights.iter().map(|w| u64::from(*w)).sum();
    if total == 0 {
        return None;
    }
    let mut pick = next() % total;
    for (i, w) in weights.iter().enumerate() {
        let w = u64::from(*w);
        if pick < w {
            return Some(i);
        }
        pick -= w;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weights_are_honoured_and_zero_is_never_picked() {
        let mut counts = [0u32; 3];
        for _ in 0..10_000 {
            counts[weighted(&[1, 0, 3]).unwrap()] += 1;
        }
        assert_eq!(counts[1], 0);
        assert!(
            (6_800..8_200).contains(&counts[2]),
            "weight 3 of 4: {counts:?}"
        );
        assert_eq!(weighted(&[0, 0]), None);
        for _ in 0..1000 {
            assert!((20..=90).contains(&between(20, 90)));
        }
        assert_eq!(between(5, 5), 5);
    }
}
