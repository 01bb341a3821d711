//! Failed-login throttling. Failures are counted per (source IP, user) so one attacker behind a
//! NAT cannot lock out the other users of that address, and per source IP with a higher ceiling
//! so one source cannot spray many user ids. A window starts at a key's first failure; at the
//! limit, logins for that key are refused (70050) until the window passes.
//!
//! Expiry never scans the map: every window start is queued in time order and each call pops at
//! most [`EXPIRE_PER_CALL`] expired entries from the front (a call adds at most two), so the work
//! per login is bounded whatever the number of sources; a window not popped yet is still judged
//! by its start time.

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Most expired queue entries removed by one call (each call queues at most two).
const EXPIRE_PER_CALL: usize = 8;
/// Most windows tracked at once. Beyond it the oldest windows are dropped early (an attacker with
/// that many source addresses can shorten others' windows, but cannot grow the map without bound).
const DEFAULT_MAX_TRACKED: usize = 1_000_000;

/// What a failure is counted against.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Key {
    Source(IpAddr),
    /// Only valid identifiers (at most 32 bytes) are used as users, so keys stay small.
    User(IpAddr, String),
}

#[derive(Debug, Clone, Copy)]
struct Window {
    start: Instant,
    failures: u32,
}

#[derive(Debug, Default)]
struct Inner {
    windows: HashMap<Key, Window>,
    /// (window start, key), oldest first; an entry is stale once its key started a newer window.
    queue: VecDeque<(Instant, Key)>,
    /// Queue entries looked at by expiry, for the bounded-work tests.
    examined: u64,
}

#[derive(Debug)]
pub struct Throttle {
    per_user: u32,
    per_source: u32,
    window: Duration,
    max_tracked: usize,
    inner: Mutex<Inner>,
}

impl Throttle {
    /// `per_user == 0` disables throttling; `per_source == 0` drops the per-source ceiling.
    pub fn new(per_user: u32, per_source: u32, window: Duration) -> Self {
        Throttle {
            per_user,
            per_source,
            window,
            max_tracked: DEFAULT_MAX_TRACKED,
            inner: Mutex::new(Inner::default()),
        }
    }

    #[cfg(test)]
    fn with_max_tracked(mut self, max: usize) -> Self {
        self.max_tracked = max;
        self
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn limit(&self, key: &Key) -> u32 {
        match key {
            Key::Source(_) => self.per_source,
            Key::User(..) => self.per_user,
        }
    }

    fn live(&self, w: &Window, now: Instant) -> bool {
        now.saturating_duration_since(w.start) < self.window
    }

    /// Pops up to [`EXPIRE_PER_CALL`] entries from the front of the queue: expired ones, or the
    /// oldest while more than `max_tracked` windows are tracked.
    fn expire(&self, inner: &mut Inner, now: Instant) {
        for _ in 0..EXPIRE_PER_CALL {
            let Some((start, _)) = inner.queue.front() else {
                break;
            };
            inner.examined += 1;
            let over_capacity = inner.windows.len() > self.max_tracked;
            if now.saturating_duration_since(*start) < self.window && !over_capacity {
                break;
            }
            let Some((start, key)) = inner.queue.pop_front() else {
                break;
            };
            if inner.windows.get(&key).is_some_and(|w| w.start == start) {
                inner.windows.remove(&key);
            }
        }
    }

    fn over(&self, inner: &Inner, key: &Key, now: Instant) -> bool {
        let limit = self.limit(key);
        limit != 0
            && inner
                .windows
                .get(key)
                .is_some_and(|w| self.live(w, now) && w.failures >= limit)
    }

    /// Whether a login for `user` (None: not a valid identifier) from `ip` is refused now.
    pub fn is_throttled(&self, ip: IpAddr, user: Option<&str>, now: Instant) -> bool {
        if self.per_user == 0 {
            return false;
        }
        let mut inner = self.lock();
        self.expire(&mut inner, now);
        self.over(&inner, &Key::Source(ip), now)
            || user.is_some_and(|u| self.over(&inner, &Key::User(ip, u.to_owned()), now))
    }

    /// Counts one failed login for `user` (None: not a valid identifier) from `ip`.
    pub fn record_failure(&self, ip: IpAddr, user: Option<&str>, now: Instant) {
        if self.per_user == 0 {
            return;
        }
        let mut inner = self.lock();
        self.expire(&mut inner, now);
        let mut keys = vec![Key::Source(ip)];
        if let Some(u) = user {
            keys.push(Key::User(ip, u.to_owned()));
        }
        for key in keys {
            let started = match inner.windows.get_mut(&key) {
                Some(w) if now.saturating_duration_since(w.start) < self.window => {
                    w.failures = w.failures.saturating_add(1);
                    false
                }
                // Absent, or expired but not popped yet: its old queue entry is now stale.
                _ => true,
            };
            if started {
                inner.windows.insert(
                    key.clone(),
                    Window {
                        start: now,
                        failures: 1,
                    },
                );
                inner.queue.push_back((now, key));
            }
        }
    }

    /// Tracked windows (sources and (source, user) pairs).
    #[cfg(test)]
    fn tracked(&self) -> usize {
        self.lock().windows.len()
    }

    #[cfg(test)]
    fn examined(&self) -> u64 {
        self.lock().examined
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: Duration = Duration::from_secs(60);

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn throttles_a_user_after_max_failures_until_the_window_passes() {
        let t = Throttle::new(3, 100, MIN);
        let a = ip("10.0.0.1");
        let t0 = Instant::now();
        for _ in 0..2 {
            t.record_failure(a, Some("alice"), t0);
        }
        assert!(!t.is_throttled(a, Some("alice"), t0));
        t.record_failure(a, Some("alice"), t0 + Duration::from_secs(1));
        assert!(t.is_throttled(a, Some("alice"), t0 + Duration::from_secs(2)));
        assert!(!t.is_throttled(ip("10.0.0.2"), Some("alice"), t0));
        assert!(t.is_throttled(a, Some("alice"), t0 + Duration::from_secs(59)));
        assert!(!t.is_throttled(a, Some("alice"), t0 + MIN));
        // A new window starts fresh.
        t.record_failure(a, Some("alice"), t0 + Duration::from_secs(61));
        assert!(!t.is_throttled(a, Some("alice"), t0 + Duration::from_secs(61)));
    }

    #[test]
    fn another_user_behind_the_same_address_is_not_locked_out() {
        let t = Throttle::new(3, 100, MIN);
        let nat = ip("192.0.2.7");
        let now = Instant::now();
        for _ in 0..50 {
            t.record_failure(nat, Some("alice"), now);
        }
        assert!(t.is_throttled(nat, Some("alice"), now));
        assert!(!t.is_throttled(nat, Some("bob"), now));
        assert!(!t.is_throttled(nat, None, now));
    }

    #[test]
    fn per_source_ceiling_stops_a_source_spraying_user_ids() {
        let t = Throttle::new(3, 20, MIN);
        let src = ip("198.51.100.1");
        let now = Instant::now();
        for i in 0..19 {
            t.record_failure(src, Some(&format!("user{i}")), now);
        }
        assert!(!t.is_throttled(src, Some("victim"), now));
        t.record_failure(src, None, now);
        assert!(t.is_throttled(src, Some("victim"), now));
        assert!(t.is_throttled(src, None, now));
        assert!(!t.is_throttled(ip("198.51.100.2"), Some("victim"), now));
        assert!(!t.is_throttled(src, Some("victim"), now + MIN));
    }

    #[test]
    fn work_per_failure_stays_bounded_with_100k_sources() {
        let t = Throttle::new(10, 100, MIN);
        let t0 = Instant::now();
        let src = |i: u32| IpAddr::from(std::net::Ipv4Addr::from(0x0a00_0000 + i));
        let mut worst = 0;
        let mut step = |t: &Throttle, ip: IpAddr, user: &str, now: Instant| {
            let before = t.examined();
            t.record_failure(ip, Some(user), now);
            let _ = t.is_throttled(ip, Some(user), now);
            worst = worst.max(t.examined() - before);
        };
        for i in 0..100_000 {
            step(&t, src(i), "alice", t0 + Duration::from_micros(u64::from(i)));
        }
        assert_eq!(t.tracked(), 200_000);
        // All 200k windows expired at once: each call still examines a bounded number of entries,
        // and the backlog drains (each call removes up to 8 and adds 2).
        let later = t0 + MIN + Duration::from_secs(1);
        for i in 0..40_000 {
            step(&t, src(200_000 + i), "carol", later);
        }
        assert!(worst <= 2 * EXPIRE_PER_CALL as u64 + 2, "{worst}");
        assert_eq!(t.tracked(), 80_000);
        // A source whose window expired but was not popped yet is no longer throttled.
        let s = ip("203.0.113.9");
        for _ in 0..10 {
            t.record_failure(s, Some("erin"), later);
        }
        assert!(t.is_throttled(s, Some("erin"), later));
        assert!(!t.is_throttled(s, Some("erin"), later + MIN));
        t.record_failure(s, Some("erin"), later + MIN);
        assert!(!t.is_throttled(s, Some("erin"), later + MIN));
    }

    #[test]
    fn the_number_of_tracked_windows_is_bounded() {
        let t = Throttle::new(10, 100, MIN).with_max_tracked(1_000);
        let now = Instant::now();
        for i in 0..100_000u32 {
            t.record_failure(IpAddr::from(std::net::Ipv4Addr::from(i)), Some("alice"), now);
            assert!(t.tracked() <= 1_000 + 2, "{}", t.tracked());
        }
        // The newest windows are the ones kept.
        let last = IpAddr::from(std::net::Ipv4Addr::from(99_999u32));
        for _ in 0..9 {
            t.record_failure(last, Some("alice"), now);
        }
        assert!(t.is_throttled(last, Some("alice"), now));
    }

    #[test]
    fn zero_disables() {
        let t = Throttle::new(0, 0, MIN);
        let ip = ip("::1");
        let now = Instant::now();
        for _ in 0..100 {
            t.record_failure(ip, Some("alice"), now);
        }
        assert!(!t.is_throttled(ip, Some("alice"), now));
        assert_eq!(t.tracked(), 0);
    }
}
