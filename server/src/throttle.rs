//! Failed-login throttling per source IP: after `max` failures within a window that starts at the
//! first failure, logins from that source are refused (70050) until the window passes.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Above this many tracked sources, expired entries are swept on the next failure.
const SWEEP_ABOVE: usize = 1024;

#[derive(Debug)]
pub struct Throttle {
    max: u32,
    window: Duration,
    failures: Mutex<HashMap<IpAddr, (Instant, u32)>>,
}

impl Throttle {
    /// `max == 0` disables throttling.
    pub fn new(max: u32, window: Duration) -> Self {
        Throttle {
            max,
            window,
            failures: Mutex::new(HashMap::new()),
        }
    }

    pub fn is_throttled(&self, ip: IpAddr, now: Instant) -> bool {
        if self.max == 0 {
            return false;
        }
        let map = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        map.get(&ip)
            .is_some_and(|(start, n)| now.duration_since(*start) < self.window && *n >= self.max)
    }

    pub fn record_failure(&self, ip: IpAddr, now: Instant) {
        if self.max == 0 {
            return;
        }
        let mut map = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        if map.len() > SWEEP_ABOVE {
            map.retain(|_, (start, _)| now.duration_since(*start) < self.window);
        }
        let e = map.entry(ip).or_insert((now, 0));
        if now.duration_since(e.0) >= self.window {
            *e = (now, 0);
        }
        e.1 = e.1.saturating_add(1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn throttles_after_max_failures_until_the_window_passes() {
        let t = Throttle::new(3, Duration::from_secs(60));
        let ip: IpAddr = "10.0.0.1".parse().unwrap();
        let other: IpAddr = "10.0.0.2".parse().unwrap();
        let t0 = Instant::now();
        for _ in 0..2 {
            t.record_failure(ip, t0);
        }
        assert!(!t.is_throttled(ip, t0));
        t.record_failure(ip, t0 + Duration::from_secs(1));
        assert!(t.is_throttled(ip, t0 + Duration::from_secs(2)));
        assert!(!t.is_throttled(other, t0));
        assert!(t.is_throttled(ip, t0 + Duration::from_secs(59)));
        assert!(!t.is_throttled(ip, t0 + Duration::from_secs(60)));
        // A new window starts fresh.
        t.record_failure(ip, t0 + Duration::from_secs(61));
        assert!(!t.is_throttled(ip, t0 + Duration::from_secs(61)));
    }

    #[test]
    fn zero_disables() {
        let t = Throttle::new(0, Duration::from_secs(60));
        let ip: IpAddr = "::1".parse().unwrap();
        let now = Instant::now();
        for _ in 0..100 {
            t.record_failure(ip, now);
        }
        assert!(!t.is_throttled(ip, now));
    }
}
