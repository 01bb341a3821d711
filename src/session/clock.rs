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
