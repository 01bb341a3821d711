//! Server-measured heartbeat round trip. The protocol's heartbeat is client `ping` → server
//! `pong`, so the server never sees its end; instead, with the pong of a client heartbeat it sends
//! a WebSocket ping (RFC 6455 control frame, answered by every WebSocket stack without the app)
//! and times the pong. One probe per heartbeat: no timer of its own, and nothing extra on the
//! wire unless metrics are served.

use axum::body::Bytes;
use std::time::Duration;
use tokio::time::Instant;

/// An unanswered probe is given up after this long (a peer that never answers WebSocket pings
/// would otherwise stop the measurement for good); until then no second probe is sent, so a
/// peer that answers late is measured late rather than never.
const GIVE_UP: Duration = Duration::from_secs(30);

/// The probe in flight on one session, if any.
#[derive(Debug)]
pub(crate) struct RttProbe {
    enabled: bool,
    next: u64,
    pending: Option<(u64, Instant)>,
}

impl RttProbe {
    pub(crate) fn new(enabled: bool) -> RttProbe {
        RttProbe {
            enabled,
            next: 0,
            pending: None,
        }
    }

    /// The payload of a probe to send now, or `None` when off or a probe is still in flight.
    pub(crate) fn start(&mut self) -> Option<Bytes> {
        if !self.enabled || self.pending.is_some_and(|(_, sent)| sent.elapsed() < GIVE_UP) {
            return None;
        }
        self.next = self.next.wrapping_add(1);
        self.pending = Some((self.next, Instant::now()));
        Some(Bytes::copy_from_slice(&self.next.to_be_bytes()))
    }

    /// The round trip, when `payload` answers the probe in flight (a stale or unsolicited pong
    /// does not).
    pub(crate) fn finish(&mut self, payload: &[u8]) -> Option<Duration> {
        let (seq, sent) = self.pending?;
        if payload != seq.to_be_bytes() {
            return None;
        }
        self.pending = None;
        Some(sent.elapsed())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_pong_of_the_probe_in_flight_counts() {
        let mut off = RttProbe::new(false);
        assert!(off.start().is_none());
        let mut p = RttProbe::new(true);
        assert!(p.finish(&1u64.to_be_bytes()).is_none(), "unsolicited");
        let first = p.start().unwrap();
        assert!(p.start().is_none(), "one probe in flight at a time");
        assert!(p.finish(b"junk").is_none());
        assert!(p.finish(&first).is_some());
        assert!(p.finish(&first).is_none(), "answered once");
        let second = p.start().unwrap();
        assert!(p.finish(&first).is_none(), "stale pong");
        assert!(p.finish(&second).is_some());
    }

    #[tokio::test(start_paused = true)]
    async fn an_unanswered_probe_is_given_up() {
        let mut p = RttProbe::new(true);
        let lost = p.start().unwrap();
        tokio::time::advance(GIVE_UP).await;
        let next = p.start().expect("a new probe after the give-up time");
        assert!(p.finish(&lost).is_none());
        assert!(p.finish(&next).is_some());
    }
}
