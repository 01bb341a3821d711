//! NTP-style estimate of the server's clock, anchored on the monotonic clock so that a device
//! clock that is hours off (or jumps) does not matter.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServerClock {
    /// Monotonic instant at which the server's clock read `server_ms`.
    anchor: Instant,
    server_ms: i64,
    /// Round trip of the sample this estimate came from.
    rtt: Duration,
}

impl ServerClock {
    /// A reply carrying `server_ms` arrived at `received` for a request sent at `sent`: the server
    /// stamped it about half a round trip before it arrived.
    pub fn from_sample(sent: Instant, received: Instant, server_ms: i64) -> Self {
        let rtt = received.saturating_duration_since(sent);
        ServerClock {
            anchor: received,
            server_ms: server_ms.saturating_add(half_ms(rtt)),
            rtt,
        }
    }

    pub fn now_ms_at(&self, now: Instant) -> i64 {
        let elapsed = now.saturating_duration_since(self.anchor).as_millis() as i64;
        self.server_ms.saturating_add(elapsed)
    }

    pub fn rtt(&self) -> Duration {
        self.rtt
    }
}

/// 2020-01-01T00:00:00Z: no server answering today has a clock before this.
pub const EARLIEST_SERVER_MS: i64 = 1_577_836_800_000;
/// 2200-01-01T00:00:00Z: far enough for any real clock, near enough to catch garbage.
pub const LATEST_SERVER_MS: i64 = 7_258_118_400_000;

/// Whether a `serverTimeMs` from the wire can be a real clock reading. Anything else (negative,
/// zero, seconds instead of milliseconds, garbage) is ignored rather than shown to the app.
pub fn is_plausible_server_ms(ms: i64) -> bool {
    (EARLIEST_SERVER_MS..=LATEST_SERVER_MS).contains(&ms)
}

fn half_ms(d: Duration) -> i64 {
    (d.as_micros() / 2000) as i64
}

/// The device's Unix clock in milliseconds (used before the first login).
pub fn local_unix_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plausible_server_times_are_accepted() {
        for ok in [EARLIEST_SERVER_MS, 1_764_633_600_000, LATEST_SERVER_MS] {
            assert!(is_plausible_server_ms(ok), "{ok}");
        }
        for bad in [
            i64::MIN,
            -1,
            0,
            1_764_633_600,
            EARLIEST_SERVER_MS - 1,
            LATEST_SERVER_MS + 1,
            i64::MAX,
        ] {
            assert!(!is_plausible_server_ms(bad), "{bad}");
        }
    }

    #[test]
    fn estimate_adds_half_the_round_trip_and_advances_monotonically() {
        let sent = Instant::now();
        let received = sent + Duration::from_millis(40);
        let c = ServerClock::from_sample(sent, received, 1_000_000);
        assert_eq!(c.now_ms_at(received), 1_000_020);
        assert_eq!(c.now_ms_at(received + Duration::from_secs(3)), 1_003_020);
        assert_eq!(c.rtt(), Duration::from_millis(40));
        // An instant before the anchor never moves the clock backwards past the sample.
        assert_eq!(c.now_ms_at(sent), 1_000_020);
    }
}
