//! The memory of recently kicked instances: a `resume` login of one is refused for
//! [`KICK_MEMORY`]. Bounded per user and in total (the oldest entry is forgotten first), and
//! expired from the front of a time-ordered queue, so no operation scans all entries. Times are
//! wall-clock, as in the Redis engine, where a kick is a key with a TTL.

use natter_protocol::KickType;
use std::collections::{HashMap, VecDeque};
use std::time::{Duration, SystemTime};

/// How long a kicked instance id is remembered.
pub const KICK_MEMORY: Duration = Duration::from_secs(10 * 60);

#[derive(Debug)]
struct Kick {
    seq: u64,
    instance_id: String,
    kick: KickType,
}

#[derive(Debug)]
pub struct KickMemory {
    ttl: Duration,
    per_user: usize,
    total: usize,
    /// Per user, oldest first (by `seq`), at most `per_user` entries.
    users: HashMap<String, VecDeque<Kick>>,
    /// (seq, when, user), oldest first. An entry whose kick was already forgotten is stale and
    /// skipped when popped.
    queue: VecDeque<(u64, SystemTime, String)>,
    len: usize,
    next_seq: u64,
}

impl KickMemory {
    /// Limits of 0 act as 1. Kicks are remembered for [`KICK_MEMORY`].
    #[cfg(test)]
    pub fn new(per_user: usize, total: usize) -> Self {
        Self::with_ttl(KICK_MEMORY, per_user, total)
    }

    /// Kicks are remembered for `ttl`.
    pub fn with_ttl(ttl: Duration, per_user: usize, total: usize) -> Self {
        KickMemory {
            ttl,
            per_user: per_user.max(1),
            total: total.max(1),
            users: HashMap::new(),
            queue: VecDeque::new(),
            len: 0,
            next_seq: 0,
        }
    }

    /// Remembered kicks.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Entries in the time queue (live and stale); bounded by about twice [`Self::len`].
    #[cfg(test)]
    pub fn queued(&self) -> usize {
        self.queue.len()
    }

    fn remove_seq(&mut self, user: &str, seq: u64) {
        if let Some(list) = self.users.get_mut(user) {
            if let Some(pos) = list.iter().position(|k| k.seq == seq) {
                list.remove(pos);
                self.len -= 1;
            }
            if list.is_empty() {
                self.users.remove(user);
            }
        }
    }

    /// Forgets kicks older than the TTL; work is proportional to what it removes.
    pub fn expire(&mut self, now: SystemTime) {
        while let Some((_, at, _)) = self.queue.front() {
            if now.duration_since(*at).unwrap_or_default() < self.ttl {
                break;
            }
            if let Some((seq, _, user)) = self.queue.pop_front() {
                self.remove_seq(&user, seq);
            }
        }
    }

    /// The remembered kick of `instance_id` of `user`, if any.
    pub fn get(&self, user: &str, instance_id: &str) -> Option<KickType> {
        self.users
            .get(user)?
            .iter()
            .find(|k| k.instance_id == instance_id)
            .map(|k| k.kick)
    }

    /// Forgets the kick of `instance_id` of `user` (a fresh login of it).
    pub fn forget(&mut self, user: &str, instance_id: &str) {
        let seq = self
            .users
            .get(user)
            .and_then(|l| l.iter().find(|k| k.instance_id == instance_id))
            .map(|k| k.seq);
        if let Some(seq) = seq {
            self.remove_seq(user, seq);
        }
    }

    /// Remembers a kick, forgetting the user's oldest beyond `per_user` and the overall oldest
    /// beyond `total`. `now` is the wall clock (kick memory means the same on every node); if it steps
    /// back, entries queued after the step just expire a little late.
    pub fn remember(&mut self, user: &str, instance_id: &str, kick: KickType, now: SystemTime) {
        self.forget(user, instance_id);
        let seq = self.next_seq;
        self.next_seq += 1;
        let list = self.users.entry(user.to_owned()).or_default();
        list.push_back(Kick {
            seq,
            instance_id: instance_id.to_owned(),
            kick,
        });
        self.len += 1;
        if list.len() > self.per_user {
            list.pop_front();
            self.len -= 1;
        }
        self.queue.push_back((seq, now, user.to_owned()));
        while self.len > self.total {
            let Some((seq, _, user)) = self.queue.pop_front() else {
                break;
            };
            self.remove_seq(&user, seq);
        }
        // Forgotten kicks leave stale queue entries; drop them once they outnumber the live ones
        // (linear, but only after as many pushes as there are entries: amortised O(1)).
        if self.queue.len() > 2 * self.len + 1024 {
            let users = &self.users;
            self.queue
                .retain(|(seq, _, user)| users.get(user).is_some_and(|l| l.iter().any(|k| k.seq == *seq)));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use KickType::*;

    #[test]
    fn remembers_forgets_and_expires() {
        let mut m = KickMemory::new(64, 1000);
        let t0 = SystemTime::now();
        m.remember("a", "i1", MultipleAccount, t0);
        m.remember("a", "i2", RestApi, t0 + Duration::from_secs(1));
        assert_eq!(m.get("a", "i1"), Some(MultipleAccount));
        assert_eq!(m.get("a", "i2"), Some(RestApi));
        assert_eq!(m.get("b", "i1"), None);
        m.remember("a", "i1", UserSigExpired, t0 + Duration::from_secs(2));
        assert_eq!((m.get("a", "i1"), m.len()), (Some(UserSigExpired), 2));
        m.forget("a", "i2");
        assert_eq!((m.get("a", "i2"), m.len()), (None, 1));
        m.expire(t0 + KICK_MEMORY);
        assert_eq!(
            m.get("a", "i1"),
            Some(UserSigExpired),
            "re-kicked later, so still remembered"
        );
        m.expire(t0 + KICK_MEMORY + Duration::from_secs(2));
        assert_eq!((m.get("a", "i1"), m.len(), m.queued()), (None, 0, 0));
        assert!(m.users.is_empty());
    }

    #[test]
    fn per_user_bound_forgets_the_users_oldest() {
        let mut m = KickMemory::new(4, 1000);
        let now = SystemTime::now();
        for i in 0..10 {
            m.remember("a", &format!("i{i}"), MultipleDevice, now);
        }
        m.remember("b", "x", MultipleDevice, now);
        assert_eq!(m.len(), 5);
        assert_eq!(m.get("a", "i5"), None);
        assert!((6..10).all(|i| m.get("a", &format!("i{i}")).is_some()));
        assert_eq!(m.get("b", "x"), Some(MultipleDevice));
    }

    #[test]
    fn total_bound_forgets_the_overall_oldest() {
        let mut m = KickMemory::new(64, 100);
        let now = SystemTime::now();
        for i in 0..1000 {
            m.remember(&format!("u{i}"), "i", MultipleAccount, now);
            assert!(m.len() <= 100);
        }
        assert_eq!(m.len(), 100);
        assert_eq!(m.get("u899", "i"), None);
        assert_eq!(m.get("u900", "i"), Some(MultipleAccount));
        assert_eq!(m.users.len(), 100);
        assert!(m.queued() <= 2 * 100 + 1024);
    }

    #[test]
    fn stale_queue_entries_stay_bounded() {
        // Kick, fresh login (forget), kick again...: one live entry, many forgotten ones.
        let mut m = KickMemory::new(64, 100_000);
        let now = SystemTime::now();
        for i in 0..100_000 {
            m.remember("a", "i", MultipleAccount, now + Duration::from_micros(i));
            m.forget("a", "i");
        }
        assert_eq!(m.len(), 0);
        assert!(m.queued() <= 1024 + 1, "{}", m.queued());
    }

    #[test]
    fn expiry_work_is_proportional_to_what_expires() {
        let mut m = KickMemory::new(64, 100_000);
        let t0 = SystemTime::now();
        for i in 0..50_000u64 {
            m.remember(&format!("u{i}"), "i", MultipleAccount, t0 + Duration::from_millis(i));
        }
        // Half expire: the queue front holds exactly the unexpired half afterwards.
        m.expire(t0 + KICK_MEMORY + Duration::from_millis(25_000));
        assert_eq!((m.len(), m.queued()), (24_999, 24_999));
        assert_eq!(m.get("u25000", "i"), None);
        assert_eq!(m.get("u25001", "i"), Some(MultipleAccount));
        // Nothing more expired: a call pops nothing.
        m.expire(t0 + KICK_MEMORY + Duration::from_millis(25_000));
        assert_eq!(m.queued(), 24_999);
    }
}
