//! Exponential backoff with full jitter (AWS architecture blog; centrifuge-js uses the same).

use std::time::Duration;

/// Small deterministic PRNG (xorshift64*): jitter needs no crypto, and a seed makes the state
/// machine's reconnect schedule reproducible in tests.
#[derive(Debug, Clone)]
pub struct Jitter(u64);

impl Jitter {
    pub fn new(seed: u64) -> Self {
        Jitter(seed | 1)
    }

    /// Uniform-ish value in `[0, 1]`.
    pub fn next_unit(&mut self) -> f64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        (x.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11) as f64 / ((1u64 << 53) - 1) as f64
    }
}

#[derive(Debug, Clone)]
pub struct Backoff {
    min: Duration,
    max: Duration,
    attempt: u32,
    jitter: Jitter,
}

impl Backoff {
    pub fn new(min: Duration, max: Duration, seed: u64) -> Self {
        Backoff {
            min,
            max,
            attempt: 0,
            jitter: Jitter::new(seed),
        }
    }

    /// The ceiling for the next attempt: `min(max, min·2^attempt)`.
    pub fn ceiling(&self) -> Duration {
        let factor = 1u32.checked_shl(self.attempt.min(30)).unwrap_or(u32::MAX);
        self.min.saturating_mul(factor).min(self.max)
    }

    /// Delay before the next attempt, uniformly in `[0, ceiling]`; advances the attempt count.
    pub fn next_delay(&mut self) -> Duration {
        let ceiling = self.ceiling();
        self.attempt = self.attempt.saturating_add(1);
        ceiling.mul_f64(self.jitter.next_unit())
    }

    pub fn attempt(&self) -> u32 {
        self.attempt
    }

    pub fn reset(&mut self) {
        self.attempt = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ceiling_doubles_up_to_the_max_and_delays_stay_below_it() {
        let mut b = Backoff::new(Duration::from_millis(500), Duration::from_secs(20), 42);
        let mut ceilings = vec![];
        for _ in 0..10 {
            let c = b.ceiling();
            let d = b.next_delay();
            assert!(d <= c, "{d:?} > {c:?}");
            ceilings.push(c.as_millis());
        }
        assert_eq!(ceilings[..7], [500, 1000, 2000, 4000, 8000, 16000, 20000]);
        assert!(ceilings[7..].iter().all(|c| *c == 20000));
        b.reset();
        assert_eq!(b.ceiling(), Duration::from_millis(500));
    }

    #[test]
    fn jitter_spreads_over_the_whole_range() {
        let mut j = Jitter::new(7);
        let samples: Vec<f64> = (0..1000).map(|_| j.next_unit()).collect();
        assert!(samples.iter().all(|s| (0.0..=1.0).contains(s)));
        assert!(samples.iter().any(|s| *s < 0.1) && samples.iter().any(|s| *s > 0.9));
    }

    #[test]
    fn huge_attempt_counts_do_not_overflow() {
        let mut b = Backoff::new(Duration::from_secs(1), Duration::from_secs(30), 1);
        for _ in 0..200 {
            assert!(b.next_delay() <= Duration::from_secs(30));
        }
    }
}
