//! When to renew a UserSig: at the earlier of 5 minutes before it expires or 80 % of its
//! lifetime, but not before half of it (a sig of a few seconds would otherwise be renewed the
//! moment it arrives, in a loop), and how long to wait before retrying a failed renewal (jittered, so many devices
//! whose sigs were minted together do not retry in step).

use super::Jitter;
use natter_protocol::SigLifetime;
use std::time::Duration;

/// Renew no later than this long before expiry.
pub const RENEW_BEFORE_EXPIRY: Duration = Duration::from_secs(5 * 60);
/// Renew no later than this fraction of the sig's lifetime.
pub const RENEW_AT_LIFETIME_FRACTION: f64 = 0.8;
const MIN_RETRY: Duration = Duration::from_millis(200);
const MAX_RETRY: Duration = Duration::from_secs(30);

/// Server-clock Unix ms at which renewal of `sig` should start.
pub fn renew_at_ms(sig: SigLifetime) -> i64 {
    let lifetime = sig.user_sig_expire_time.saturating_sub(sig.user_sig_issue_time).max(0);
    let by_fraction = sig.user_sig_issue_time + (lifetime as f64 * RENEW_AT_LIFETIME_FRACTION) as i64;
    let by_margin = sig.user_sig_expire_time - RENEW_BEFORE_EXPIRY.as_millis() as i64;
    by_fraction.min(by_margin).max(sig.user_sig_issue_time + lifetime / 2)
}

/// Delay before retrying a failed renewal when `left` remains until expiry: about a quarter of
/// what is left (so several retries fit before the kick), 0.5–1.5× jittered, within 200 ms–30 s.
pub fn retry_delay(left: Duration, jitter: &mut Jitter) -> Duration {
    let base = (left / 4).clamp(MIN_RETRY, MAX_RETRY);
    base.mul_f64(0.5 + jitter.next_unit())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sig(issue_s: i64, expire_s: i64) -> SigLifetime {
        SigLifetime {
            user_sig_issue_time: issue_s * 1000,
            user_sig_expire_time: expire_s * 1000,
        }
    }

    #[test]
    fn the_earlier_of_eighty_percent_and_five_minutes_before_wins() {
        // 1 day: 80 % (19.2 h) is earlier than 5 min before.
        assert_eq!(renew_at_ms(sig(0, 86_400)), 69_120_000);
        // 1 hour: 48 min beats 55 min.
        assert_eq!(renew_at_ms(sig(0, 3600)), 2_880_000);
        // 20 minutes: 5 min before (15 min) beats 80 % (16 min).
        assert_eq!(renew_at_ms(sig(0, 1200)), 900_000);
        // 1000 s issued at 100 s: 5 min before (800 s) beats 80 % (900 s).
        assert_eq!(renew_at_ms(sig(100, 1100)), 800_000);
    }

    #[test]
    fn short_sigs_renew_at_half_their_lifetime_not_at_once() {
        // 10 s: 5 min before expiry is before the sig was issued.
        assert_eq!(renew_at_ms(sig(100, 110)), 105_000);
        assert_eq!(renew_at_ms(sig(0, 0)), 0);
    }

    #[test]
    fn retries_are_jittered_and_bounded() {
        let mut j = Jitter::new(7);
        let delays: Vec<Duration> = (0..50).map(|_| retry_delay(Duration::from_secs(8), &mut j)).collect();
        assert!(delays
            .iter()
            .all(|d| *d >= Duration::from_secs(1) && *d <= Duration::from_secs(3)));
        assert!(delays.windows(2).any(|w| w[0] != w[1]), "no jitter: {delays:?}");
        let tiny = retry_delay(Duration::ZERO, &mut j);
        assert!(tiny >= Duration::from_millis(100) && tiny <= Duration::from_millis(300));
        let huge = retry_delay(Duration::from_secs(86_400), &mut j);
        assert!(huge <= Duration::from_secs(45));
    }
}
