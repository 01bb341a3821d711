//! Online instances per user and the memory of recent kicks. Every login decision is taken under
//! one lock so that concurrent logins of one user cannot both win.

use crate::kick_memory::KickMemory;
use crate::policy;
use crate::Policy;
use natter_protocol::{KickType, Platform};
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;
use tokio::sync::mpsc;

/// Orders the registry sends to a session task.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Control {
    /// Send `kicked` and close 4001 (the registry already removed the session).
    Kick(KickType),
    /// The same instance logged in again elsewhere: close 1000, no kick.
    Replaced,
}

pub type ConnId = u64;

#[derive(Debug)]
struct Entry {
    conn: ConnId,
    instance_id: String,
    platform: Platform,
    tx: mpsc::UnboundedSender<Control>,
}

#[derive(Debug)]
struct Inner {
    next_conn: ConnId,
    /// Oldest first.
    online: HashMap<String, Vec<Entry>>,
    kicked: KickMemory,
}

#[derive(Debug)]
pub struct Registry {
    policy: Policy,
    max_per_group: u32,
    inner: Mutex<Inner>,
}

/// Login parameters the registry needs.
pub struct LoginRequest<'a> {
    pub user_id: &'a str,
    pub instance_id: &'a str,
    pub platform: Platform,
    pub resume: bool,
}

impl Registry {
    /// `kicks_per_user` / `kicks_total` bound the memory of kicked instances.
    pub fn new(policy: Policy, max_per_group: u32, kicks_per_user: usize, kicks_total: usize) -> Self {
        Registry {
            policy,
            max_per_group,
            inner: Mutex::new(Inner {
                next_conn: 0,
                online: HashMap::new(),
                kicked: KickMemory::new(kicks_per_user, kicks_total),
            }),
        }
    }

    /// Kicked instances currently remembered.
    pub fn remembered_kicks(&self) -> usize {
        self.lock().kicked.len()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Registers a login. `Err(kick)` refuses a `resume` of an instance kicked recently.
    pub fn login(
        &self,
        req: &LoginRequest<'_>,
        tx: mpsc::UnboundedSender<Control>,
        now: Instant,
    ) -> Result<ConnId, KickType> {
        let mut inner = self.lock();
        inner.kicked.expire(now);
        if req.resume {
            if let Some(kt) = inner.kicked.get(req.user_id, req.instance_id) {
                return Err(kt);
            }
        } else {
            inner.kicked.forget(req.user_id, req.instance_id);
        }
        inner.next_conn += 1;
        let conn = inner.next_conn;
        let mut newly_kicked = Vec::new();
        let list = inner.online.entry(req.user_id.to_owned()).or_default();
        if let Some(pos) = list.iter().position(|e| e.instance_id == req.instance_id) {
            let old = list.remove(pos);
            let _ = old.tx.send(Control::Replaced);
        }
        let platforms: Vec<Platform> = list.iter().map(|e| e.platform).collect();
        let decision = policy::decide(self.policy, self.max_per_group, &platforms, req.platform);
        // Remove from the back so earlier indices stay valid.
        for (idx, kt) in decision.into_iter().rev() {
            let old = list.remove(idx);
            let _ = old.tx.send(Control::Kick(kt));
            newly_kicked.push((old.instance_id, kt));
        }
        list.push(Entry {
            conn,
            instance_id: req.instance_id.to_owned(),
            platform: req.platform,
            tx,
        });
        for (instance, kt) in newly_kicked {
            inner.kicked.remember(req.user_id, &instance, kt, now);
        }
        Ok(conn)
    }

    /// Removes a session that ended on its own (logout, close, idle). No-op if already gone.
    pub fn remove(&self, user_id: &str, conn: ConnId) -> bool {
        let mut inner = self.lock();
        let Some(list) = inner.online.get_mut(user_id) else {
            return false;
        };
        let before = list.len();
        list.retain(|e| e.conn != conn);
        let removed = list.len() != before;
        if list.is_empty() {
            inner.online.remove(user_id);
        }
        removed
    }

    /// Removes a session the server ends itself with a kick (e.g. UserSig expiry) and remembers
    /// the kick. Returns false if the session was already gone (then nothing is remembered).
    pub fn kick_self(&self, user_id: &str, conn: ConnId, kick: KickType, now: Instant) -> bool {
        let mut inner = self.lock();
        let Some(list) = inner.online.get_mut(user_id) else {
            return false;
        };
        let Some(pos) = list.iter().position(|e| e.conn == conn) else {
            return false;
        };
        let old = list.remove(pos);
        if list.is_empty() {
            inner.online.remove(user_id);
        }
        inner.kicked.expire(now);
        inner.kicked.remember(user_id, &old.instance_id, kick, now);
        true
    }

    /// Kicks every online instance of `user_id`; returns how many.
    pub fn kick_user(&self, user_id: &str, kick: KickType, now: Instant) -> usize {
        let mut inner = self.lock();
        let list = inner.online.remove(user_id).unwrap_or_default();
        inner.kicked.expire(now);
        for e in &list {
            let _ = e.tx.send(Control::Kick(kick));
            inner.kicked.remember(user_id, &e.instance_id, kick, now);
        }
        list.len()
    }

    /// Platforms of the online instances of `user_id`, oldest first.
    pub fn online(&self, user_id: &str) -> Vec<Platform> {
        self.lock()
            .online
            .get(user_id)
            .map(|l| l.iter().map(|e| e.platform).collect())
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kick_memory::KICK_MEMORY;

    fn req<'a>(user: &'a str, instance: &'a str, platform: Platform, resume: bool) -> LoginRequest<'a> {
        LoginRequest {
            user_id: user,
            instance_id: instance,
            platform,
            resume,
        }
    }

    #[test]
    fn same_instance_replaces_without_kick() {
        let r = Registry::new(Policy::Multi, 1, 64, 100_000);
        let now = Instant::now();
        let (tx1, mut rx1) = mpsc::unbounded_channel();
        let (tx2, mut rx2) = mpsc::unbounded_channel();
        let c1 = r.login(&req("a", "i1", Platform::Web, false), tx1, now).unwrap();
        let c2 = r.login(&req("a", "i1", Platform::Web, true), tx2, now).unwrap();
        assert_ne!(c1, c2);
        assert_eq!(rx1.try_recv().unwrap(), Control::Replaced);
        assert!(rx2.try_recv().is_err());
        assert_eq!(r.online("a"), vec![Platform::Web]);
        assert!(!r.remove("a", c1));
        assert!(r.remove("a", c2));
        assert!(r.online("a").is_empty());
    }

    #[test]
    fn kicks_oldest_and_refuses_its_resume_until_fresh_login() {
        let r = Registry::new(Policy::Multi, 1, 64, 100_000);
        let now = Instant::now();
        let (tx1, mut rx1) = mpsc::unbounded_channel();
        let (tx2, _rx2) = mpsc::unbounded_channel();
        r.login(&req("a", "i1", Platform::Web, false), tx1.clone(), now)
            .unwrap();
        r.login(&req("a", "android", Platform::Android, false), tx2.clone(), now)
            .unwrap();
        r.login(&req("a", "i2", Platform::Web, false), tx2.clone(), now)
            .unwrap();
        assert_eq!(rx1.try_recv().unwrap(), Control::Kick(KickType::MultipleAccount));
        assert_eq!(r.online("a"), vec![Platform::Android, Platform::Web]);
        assert_eq!(
            r.login(&req("a", "i1", Platform::Web, true), tx1.clone(), now),
            Err(KickType::MultipleAccount)
        );
        // Memory expires.
        let later = now + KICK_MEMORY;
        r.login(&req("b", "x", Platform::Web, false), tx1.clone(), now).unwrap();
        r.login(&req("b", "y", Platform::Web, false), tx1.clone(), now).unwrap();
        assert!(r.login(&req("b", "x", Platform::Web, true), tx1.clone(), later).is_ok());
        // A fresh login clears the memory and kicks i2 in turn.
        r.login(&req("a", "i1", Platform::Web, false), tx1.clone(), now)
            .unwrap();
        r.remove("a", 999);
        assert_eq!(
            r.login(&req("a", "i2", Platform::Web, true), tx1, now),
            Err(KickType::MultipleAccount)
        );
    }

    #[test]
    fn kick_user_and_kick_self_are_remembered() {
        let r = Registry::new(Policy::Single, 2, 64, 100_000);
        let now = Instant::now();
        let (tx, mut rx) = mpsc::unbounded_channel();
        let c1 = r.login(&req("a", "i1", Platform::Ios, false), tx.clone(), now).unwrap();
        r.login(&req("a", "i2", Platform::Mac, false), tx.clone(), now).unwrap();
        assert!(rx.try_recv().is_err());
        assert!(r.kick_self("a", c1, KickType::UserSigExpired, now));
        assert!(!r.kick_self("a", c1, KickType::UserSigExpired, now));
        assert_eq!(r.kick_user("a", KickType::RestApi, now), 1);
        assert_eq!(rx.try_recv().unwrap(), Control::Kick(KickType::RestApi));
        assert!(r.online("a").is_empty());
        assert_eq!(
            r.login(&req("a", "i1", Platform::Ios, true), tx.clone(), now),
            Err(KickType::UserSigExpired)
        );
        assert_eq!(
            r.login(&req("a", "i2", Platform::Mac, true), tx.clone(), now),
            Err(KickType::RestApi)
        );
        assert_eq!(r.kick_user("nobody", KickType::RestApi, now), 0);
    }
}
