//! UserSigs whose signature already checked out on this server. A client presents the same
//! UserSig on every reconnect (and a busy client on every login), and checking one from scratch
//! is the costliest step of a login: base64, inflate, a JSON document, HMAC-SHA256 (≈ 5 µs and
//! ≈ 20 allocations of the ≈ 77 µs of server CPU a login takes, docs/performance.md). Only the
//! signature work is remembered: the identifier, app, not-before and expiry checks run on every
//! call (`usersig::check_claims`), so a remembered sig is refused exactly as a fresh check would
//! refuse it. Only sigs that passed are remembered, so refused input (an attacker's) never takes
//! a place; the secret key and app of a server never change, so a passed signature stays passed.

use crate::usersig::{self, Claims, UserSigError};
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

/// How many sigs are remembered; the oldest is forgotten first. ≈ 350 B each (the sig, its
/// claims, the map's slot): 4,096 hold ≈ 1.4 MB at most.
pub(crate) const CAPACITY: usize = 4096;

#[derive(Debug)]
pub(crate) struct VerifiedSigs {
    capacity: usize,
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    claims: HashMap<Arc<str>, Claims>,
    /// Insertion order, for forgetting the oldest.
    order: VecDeque<Arc<str>>,
}

/// What a check is against: this server's app and clock.
pub(crate) struct Check<'a> {
    pub sdk_app_id: u64,
    pub secret_key: &'a str,
    pub now_unix: i64,
    pub max_future_secs: u64,
}

impl VerifiedSigs {
    pub(crate) fn new(capacity: usize) -> Self {
        Self {
            capacity,
            inner: Mutex::new(Inner::default()),
        }
    }

    /// `usersig::verify_with_skew`, with the signature work skipped for a sig that passed before.
    pub(crate) fn verify(&self, user_sig: &str, user_id: &str, c: &Check<'_>) -> Result<Claims, UserSigError> {
        if let Some(claims) = self.remembered(user_sig) {
            usersig::check_claims(&claims, c.sdk_app_id, user_id, c.now_unix, c.max_future_secs)?;
            return Ok(claims);
        }
        let checked = usersig::verify_with_skew(
            user_sig,
            c.sdk_app_id,
            c.secret_key,
            user_id,
            c.now_unix,
            c.max_future_secs,
        );
        if let Ok(claims) = &checked {
            self.remember(user_sig, claims);
        }
        checked
    }

    fn remembered(&self, user_sig: &str) -> Option<Claims> {
        let inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        inner.claims.get(user_sig).cloned()
    }

    fn remember(&self, user_sig: &str, claims: &Claims) {
        if self.capacity == 0 {
            return;
        }
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        if inner.claims.contains_key(user_sig) {
            return;
        }
        while inner.order.len() >= self.capacity {
            if let Some(oldest) = inner.order.pop_front() {
                inner.claims.remove(&oldest);
            }
        }
        let key: Arc<str> = Arc::from(user_sig);
        inner.order.push_back(Arc::clone(&key));
        inner.claims.insert(key, claims.clone());
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.inner.lock().unwrap().claims.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const APP: u64 = 1400000001;
    const KEY: &str = "k3y";

    fn check(now_unix: i64) -> Check<'static> {
        Check {
            sdk_app_id: APP,
            secret_key: KEY,
            now_unix,
            max_future_secs: 300,
        }
    }

    #[test]
    fn a_remembered_sig_is_judged_exactly_as_a_fresh_check_judges_it() {
        let sig = usersig::generate(APP, KEY, "alice", 100, 1_000).unwrap();
        let other_app = usersig::generate(APP + 1, KEY, "alice", 100, 1_000).unwrap();
        let other_key = usersig::generate(APP, "other", "alice", 100, 1_000).unwrap();
        let cache = VerifiedSigs::new(8);
        // Warm: the sig passed once.
        assert!(cache.verify(&sig, "alice", &check(1_000)).is_ok());
        assert_eq!(cache.len(), 1);
        let cases: [(&str, &str, i64); 9] = [
            (&sig, "alice", 1_000),
            (&sig, "alice", 1_099),
            (&sig, "alice", 1_100),
            (&sig, "alice", 699),
            (&sig, "bob", 1_000),
            (&sig, "not valid!", 1_000),
            (&sig, "", 1_000),
            (&other_app, "alice", 1_000),
            (&other_key, "alice", 1_000),
        ];
        for (s, user, now) in cases {
            let fresh = usersig::verify_with_skew(s, APP, KEY, user, now, 300);
            assert_eq!(cache.verify(s, user, &check(now)), fresh, "{user} at {now}");
        }
        // Refused sigs took no place.
        assert_eq!(cache.len(), 1);
    }

    #[test]
    fn the_oldest_sig_is_forgotten_first_and_a_forgotten_one_is_checked_again() {
        let cache = VerifiedSigs::new(2);
        let sigs: Vec<String> = ["a", "b", "c"]
            .iter()
            .map(|u| usersig::generate(APP, KEY, u, 100, 1_000).unwrap())
            .collect();
        for (s, u) in sigs.iter().zip(["a", "b", "c"]) {
            assert!(cache.verify(s, u, &check(1_000)).is_ok());
        }
        assert_eq!(cache.len(), 2);
        assert!(cache.remembered(&sigs[0]).is_none());
        assert!(cache.remembered(&sigs[2]).is_some());
        assert!(cache.verify(&sigs[0], "a", &check(1_000)).is_ok());
        assert!(cache.remembered(&sigs[1]).is_none());
    }
}
