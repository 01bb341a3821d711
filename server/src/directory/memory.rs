//! The in-process engine: online instances per user and the kick memory, under one lock, so
//! concurrent logins of one user cannot both win. What `natter-server` uses without `--redis`.

use super::{
    Admission, AdmitError, ConnId, Control, DirectoryError, DirectorySettings, InstanceInfo, KickOrder,
    SessionDirectory,
};
use crate::kick_memory::KickMemory;
use crate::policy;
use async_trait::async_trait;
use natter_protocol::{KickType, Platform};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

/// The wall clock the kick memory expires by; tests pass their own.
pub type Clock = Arc<dyn Fn() -> SystemTime + Send + Sync>;

#[derive(Debug)]
struct Inner {
    /// Oldest first.
    online: HashMap<String, Vec<Arc<Admission>>>,
    kicked: KickMemory,
}

pub struct MemoryDirectory {
    settings: DirectorySettings,
    clock: Clock,
    inner: Mutex<Inner>,
}

impl std::fmt::Debug for MemoryDirectory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryDirectory")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

fn order(a: &Admission, control: Control) -> KickOrder {
    KickOrder {
        user_id: a.user_id.clone(),
        instance_id: a.instance_id.clone(),
        conn: a.conn.clone(),
        control,
    }
}

fn info(a: &Admission) -> InstanceInfo {
    InstanceInfo {
        instance_id: a.instance_id.clone(),
        platform: a.platform,
        conn: a.conn.clone(),
        connected_at_ms: a.connected_at_ms,
        client_version: a.client_version.clone(),
    }
}

impl MemoryDirectory {
    pub fn new(settings: DirectorySettings) -> Self {
        Self::with_clock(settings, Arc::new(SystemTime::now))
    }

    pub fn with_clock(settings: DirectorySettings, clock: Clock) -> Self {
        let kicked = KickMemory::with_ttl(settings.kick_memory_ttl, settings.kicks_per_user, settings.kicks_total);
        MemoryDirectory {
            settings,
            clock,
            inner: Mutex::new(Inner {
                online: HashMap::new(),
                kicked,
            }),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn admit_now(&self, login: &Arc<Admission>) -> Result<Vec<KickOrder>, AdmitError> {
        let now = (self.clock)();
        let mut inner = self.lock();
        inner.kicked.expire(now);
        if login.resume {
            if let Some(kt) = inner.kicked.get(&login.user_id, &login.instance_id) {
                return Err(AdmitError::Kicked(kt));
            }
        } else {
            inner.kicked.forget(&login.user_id, &login.instance_id);
        }
        let mut orders = Vec::new();
        let list = inner.online.entry(login.user_id.clone()).or_default();
        if let Some(pos) = list.iter().position(|e| e.instance_id == login.instance_id) {
            orders.push(order(&list.remove(pos), Control::Replaced));
        }
        let platforms: Vec<Platform> = list.iter().map(|e| e.platform).collect();
        let decision = policy::decide(
            self.settings.policy,
            self.settings.max_per_group,
            &platforms,
            login.platform,
        );
        let mut kicked = Vec::new();
        // Remove from the back so earlier indices stay valid.
        for (idx, kt) in decision.into_iter().rev() {
            let old = list.remove(idx);
            kicked.push((old.instance_id.clone(), kt));
            orders.push(order(&old, Control::Kick(kt)));
        }
        list.push(Arc::clone(login));
        for (instance, kt) in kicked {
            inner.kicked.remember(&login.user_id, &instance, kt, now);
        }
        Ok(orders)
    }

    /// Removes `pick`ed entries of `user_id`, remembering `kick` for each.
    fn take(&self, user_id: &str, kick: Option<KickType>, pick: impl Fn(&Admission) -> bool) -> Vec<Arc<Admission>> {
        let now = (self.clock)();
        let mut inner = self.lock();
        let Some(list) = inner.online.get_mut(user_id) else {
            return Vec::new();
        };
        // In place, oldest first still: every session's end comes through here.
        let mut taken = Vec::new();
        list.retain(|a| {
            let picked = pick(a);
            if picked {
                taken.push(Arc::clone(a));
            }
            !picked
        });
        if list.is_empty() {
            inner.online.remove(user_id);
        }
        if let Some(kick) = kick {
            inner.kicked.expire(now);
            for a in &taken {
                inner.kicked.remember(user_id, &a.instance_id, kick, now);
            }
        }
        taken
    }
}

#[async_trait]
impl SessionDirectory for MemoryDirectory {
    async fn admit(&self, login: &Arc<Admission>) -> Result<Vec<KickOrder>, AdmitError> {
        self.admit_now(login)
    }

    async fn remove(&self, user_id: &str, conn: &ConnId) -> Result<bool, DirectoryError> {
        Ok(!self.take(user_id, None, |a| a.conn == *conn).is_empty())
    }

    async fn kick_self(&self, user_id: &str, conn: &ConnId, kick: KickType) -> Result<bool, DirectoryError> {
        Ok(!self.take(user_id, Some(kick), |a| a.conn == *conn).is_empty())
    }

    async fn kick_user(&self, user_id: &str, kick: KickType) -> Result<Vec<KickOrder>, DirectoryError> {
        Ok(self
            .take(user_id, Some(kick), |_| true)
            .iter()
            .map(|a| order(a, Control::Kick(kick)))
            .collect())
    }

    async fn kick_instance(
        &self,
        user_id: &str,
        instance_id: &str,
        kick: KickType,
    ) -> Result<Option<KickOrder>, DirectoryError> {
        Ok(self
            .take(user_id, Some(kick), |a| a.instance_id == instance_id)
            .first()
            .map(|a| order(a, Control::Kick(kick))))
    }

    async fn instances(&self, user_id: &str) -> Result<Vec<InstanceInfo>, DirectoryError> {
        Ok(self
            .lock()
            .online
            .get(user_id)
            .map(|l| l.iter().map(|a| info(a)).collect())
            .unwrap_or_default())
    }

    async fn remembered_kicks(&self) -> Result<usize, DirectoryError> {
        Ok(self.lock().kicked.len())
    }
}
