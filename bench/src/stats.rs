//! Percentiles of latency samples.

use std::time::Duration;

/// The sample at quantile `q` (0..=1) of `samples` (sorted here), in µs.
pub fn quantile_us(samples: &mut [Duration], q: f64) -> f64 {
    assert!(!samples.is_empty(), "no samples");
    samples.sort_unstable();
    let i = ((samples.len() - 1) as f64 * q).round() as usize;
    samples[i].as_nanos() as f64 / 1000.0
}
