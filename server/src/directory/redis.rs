//! The Redis engine: the session directory of a cluster of nodes sharing one Redis.
//!
//! Per user, a sorted set of instance ids ordered by login time (Redis `TIME`, µs) and a hash of
//! instance id → record `node|seq|epoch|platform|connected_at_ms|client_version`, plus a version
//! counter. A login reads a snapshot, lets [`crate::policy::decide`] choose whom to evict, then
//! applies admit-and-evict in ONE Lua script that first checks the version is unchanged (else it
//! reads again): two logins of one user on two nodes can never both win.
//!
//! Fencing: every node holds a heartbeat key `node:{id}` whose value is the node's epoch (a
//! counter taken at registration) with a TTL. A record counts only while its node's key holds the
//! record's epoch, so whatever a dead (or expired, or restarted) node left behind never counts
//! against a later login and is cleaned when the user's entries are next written. Kick memory is
//! one key per kicked instance with the memory's TTL. The key layout is in `docs/deployment.md`.

use super::{
    Admission, AdmitError, ConnId, Control, DirectoryError, DirectorySettings, InstanceInfo, KickOrder, NodeId,
    SessionDirectory,
};
use crate::local_sessions::LocalSessions;
use crate::policy;
use async_trait::async_trait;
use natter_protocol::{KickType, Platform};
use redis::aio::ConnectionManager;
use redis::{AsyncCommands, Script};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// How often an admission re-reads after losing the version race before giving up (a user
/// logging in this often at once is an attack, not a race).
const MAX_ADMIT_ATTEMPTS: usize = 32;
/// A user's version key outlives its last write by this much (it must not restart at 0 while a
/// snapshot of it may still be held, or an old snapshot could pass the check).
const VERSION_TTL_MS: u64 = 24 * 3600 * 1000;
/// Redis calls that take longer fail (the login is refused with 60022 and the client retries).
const RESPONSE_TIMEOUT: Duration = Duration::from_secs(2);

/// Shared by the scripts: `alive(record)` is the fencing check.
const PRELUDE: &str = r#"
local P = ARGV[1]
local function alive(rec)
  local node, seq, epoch = string.match(rec, "^([^|]*)|([^|]*)|([^|]*)|")
  return node ~= nil and redis.call('GET', P .. ':node:' .. node) == epoch
end
local function bump(vkey)
  redis.call('INCR', vkey)
  redis.call('PEXPIRE', vkey, ARGV[2])
end
"#;

/// KEYS: z, h, v. ARGV: P, version ttl. → {version, inst, rec, alive (1/0), ...} oldest first.
const SNAPSHOT: &str = r#"
local out = {redis.call('GET', KEYS[3]) or '0'}
for _, inst in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  local rec = redis.call('HGET', KEYS[2], inst)
  if rec then
    table.insert(out, inst)
    table.insert(out, rec)
    table.insert(out, alive(rec) and '1' or '0')
  end
end
return out
"#;

/// KEYS: z, h, v. ARGV: P, version ttl, user, expected version, mode (login | resume |
/// reregister), instance, record, kick ttl ms, score ('' = now), then pairs (old instance, kick
/// type or '-') to remove. → {'ok', score} | {'retry'} | {'kicked', kick type}.
const ADMIT: &str = r#"
if (redis.call('GET', KEYS[3]) or '0') ~= ARGV[4] then return {'retry'} end
local user, mode, inst = ARGV[3], ARGV[5], ARGV[6]
local kkey = P .. ':k:' .. user .. ':' .. inst
if mode == 'resume' then
  local k = redis.call('GET', kkey)
  if k then return {'kicked', k} end
elseif mode == 'login' then
  redis.call('DEL', kkey)
end
for i = 10, #ARGV, 2 do
  local old, kt = ARGV[i], ARGV[i + 1]
  redis.call('ZREM', KEYS[1], old)
  redis.call('HDEL', KEYS[2], old)
  if kt ~= '-' then redis.call('SET', P .. ':k:' .. user .. ':' .. old, kt, 'PX', ARGV[8]) end
end
local score = ARGV[9]
if score == '' then
  local t = redis.call('TIME')
  score = t[1] .. string.format('%06d', tonumber(t[2]))
end
redis.call('ZADD', KEYS[1], score, inst)
redis.call('HSET', KEYS[2], inst, ARGV[7])
bump(KEYS[3])
return {'ok', score}
"#;

/// KEYS: z, h, v. ARGV: P, version ttl, user, node, seq, kick type or '-', kick ttl ms.
/// Removes the record of connection node/seq; → 1 if it was there.
const REMOVE: &str = r#"
local prefix = ARGV[4] .. '|' .. ARGV[5] .. '|'
local all = redis.call('HGETALL', KEYS[2])
for i = 1, #all, 2 do
  if string.sub(all[i + 1], 1, #prefix) == prefix then
    redis.call('ZREM', KEYS[1], all[i])
    redis.call('HDEL', KEYS[2], all[i])
    if ARGV[6] ~= '-' then redis.call('SET', P .. ':k:' .. ARGV[3] .. ':' .. all[i], ARGV[6], 'PX', ARGV[7]) end
    bump(KEYS[3])
    return 1
  end
end
return 0
"#;

/// KEYS: z, h, v. ARGV: P, version ttl, user, instance ('' = all), kick type, kick ttl ms.
/// → {inst, rec, ...} of the live records kicked (dead ones are just dropped).
const KICK: &str = r#"
local all = redis.call('HGETALL', KEYS[2])
local out = {}
for i = 1, #all, 2 do
  local inst, rec = all[i], all[i + 1]
  if ARGV[4] == '' or inst == ARGV[4] then
    redis.call('ZREM', KEYS[1], inst)
    redis.call('HDEL', KEYS[2], inst)
    if alive(rec) then
      redis.call('SET', P .. ':k:' .. ARGV[3] .. ':' .. inst, ARGV[5], 'PX', ARGV[6])
      table.insert(out, inst)
      table.insert(out, rec)
    end
  end
end
bump(KEYS[3])
return out
"#;

/// KEYS: node key. ARGV: epoch, ttl ms. → 1 if the key still held our epoch (renewed), else 0.
const HEARTBEAT: &str = r#"
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
return 0
"#;

fn script(body: &str) -> Script {
    Script::new(&format!("{PRELUDE}{body}"))
}

#[derive(Debug)]
struct Scripts {
    snapshot: Script,
    admit: Script,
    remove: Script,
    kick: Script,
    heartbeat: Script,
}

/// One instance as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Record {
    instance_id: String,
    conn: ConnId,
    epoch: u64,
    platform: Platform,
    connected_at_ms: i64,
    client_version: String,
    alive: bool,
}

impl Record {
    fn encode(a: &Admission, epoch: u64) -> String {
        format!(
            "{}|{}|{}|{}|{}|{}",
            a.conn.node, a.conn.seq, epoch, a.platform, a.connected_at_ms, a.client_version
        )
    }

    fn decode(instance_id: &str, rec: &str, alive: bool) -> Option<Record> {
        let mut f = rec.splitn(6, '|');
        let node = f.next()?;
        let seq = f.next()?.parse().ok()?;
        let epoch = f.next()?.parse().ok()?;
        let platform = f.next()?.parse().ok()?;
        let connected_at_ms = f.next()?.parse().ok()?;
        let client_version = f.next()?.to_owned();
        Some(Record {
            instance_id: instance_id.to_owned(),
            conn: ConnId {
                node: NodeId(node.into()),
                seq,
            },
            epoch,
            platform,
            connected_at_ms,
            client_version,
            alive,
        })
    }

    fn order(&self, user_id: &str, control: Control) -> KickOrder {
        KickOrder {
            user_id: user_id.to_owned(),
            instance_id: self.instance_id.clone(),
            conn: self.conn.clone(),
            control,
        }
    }
}

fn unavailable(e: redis::RedisError) -> DirectoryError {
    DirectoryError(e.to_string())
}

/// What a snapshot-and-decide found for one login.
struct Plan {
    version: String,
    /// (instance, kick type or '-') to remove in the same script.
    removals: Vec<(String, String)>,
    orders: Vec<KickOrder>,
}

/// Where `user_id`'s keys live.
struct UserKeys {
    z: String,
    h: String,
    v: String,
}

pub struct RedisDirectory {
    settings: DirectorySettings,
    prefix: String,
    node: NodeId,
    node_ttl: Duration,
    epoch: AtomicU64,
    con: ConnectionManager,
    scripts: Scripts,
}

impl std::fmt::Debug for RedisDirectory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisDirectory")
            .field("settings", &self.settings)
            .field("prefix", &self.prefix)
            .field("node", &self.node)
            .field("epoch", &self.epoch)
            .finish_non_exhaustive()
    }
}

/// Opens a managed (auto-reconnecting) connection to `url`.
pub async fn connect(url: &str) -> Result<(redis::Client, ConnectionManager), DirectoryError> {
    let client = redis::Client::open(url).map_err(unavailable)?;
    let config = redis::aio::ConnectionManagerConfig::new()
        .set_response_timeout(RESPONSE_TIMEOUT)
        .set_connection_timeout(RESPONSE_TIMEOUT)
        .set_number_of_retries(2)
        .set_max_delay(500);
    let con = client
        .get_connection_manager_with_config(config)
        .await
        .map_err(unavailable)?;
    Ok((client, con))
}

impl RedisDirectory {
    /// Registers `node` (a fresh epoch and its heartbeat key) under `prefix` (keys start with
    /// `{prefix}:`). Fails if Redis cannot be reached: a node does not start without its directory.
    pub async fn register(
        con: ConnectionManager,
        prefix: String,
        node: NodeId,
        node_ttl: Duration,
        settings: DirectorySettings,
    ) -> Result<RedisDirectory, DirectoryError> {
        let d = RedisDirectory {
            settings,
            prefix,
            node,
            node_ttl,
            epoch: AtomicU64::new(0),
            con,
            scripts: Scripts {
                snapshot: script(SNAPSHOT),
                admit: script(ADMIT),
                remove: script(REMOVE),
                kick: script(KICK),
                heartbeat: script(HEARTBEAT),
            },
        };
        d.new_epoch().await?;
        Ok(d)
    }

    pub fn node(&self) -> &NodeId {
        &self.node
    }

    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    fn node_key(&self, node: &str) -> String {
        format!("{}:node:{node}", self.prefix)
    }

    fn user_keys(&self, user_id: &str) -> UserKeys {
        let base = format!("{}:u:{user_id}", self.prefix);
        UserKeys {
            z: format!("{base}:z"),
            h: format!("{base}:h"),
            v: format!("{base}:v"),
        }
    }

    fn ttl_ms(d: Duration) -> u64 {
        u64::try_from(d.as_millis()).unwrap_or(u64::MAX).max(1)
    }

    /// Takes a new epoch and writes the heartbeat key with it: from now on only records of this
    /// epoch count for this node.
    async fn new_epoch(&self) -> Result<u64, DirectoryError> {
        let mut con = self.con.clone();
        let epoch: u64 = con
            .incr(format!("{}:epoch", self.prefix), 1)
            .await
            .map_err(unavailable)?;
        let () = con
            .pset_ex(self.node_key(&self.node.0), epoch, Self::ttl_ms(self.node_ttl))
            .await
            .map_err(unavailable)?;
        self.epoch.store(epoch, Ordering::Release);
        Ok(epoch)
    }

    /// Renews the heartbeat key. `Ok(false)`: the key was gone or held another epoch (Redis lost
    /// it, or this node stalled past its TTL): the caller must [`Self::reregister`].
    pub async fn heartbeat(&self) -> Result<bool, DirectoryError> {
        let renewed: i64 = self
            .scripts
            .heartbeat
            .key(self.node_key(&self.node.0))
            .arg(self.epoch.load(Ordering::Acquire))
            .arg(Self::ttl_ms(self.node_ttl))
            .invoke_async(&mut self.con.clone())
            .await
            .map_err(unavailable)?;
        Ok(renewed == 1)
    }

    /// After the heartbeat key was lost: takes a new epoch and records every live local session
    /// again, in login order. A session whose place was taken meanwhile (a newer login of the
    /// same instance, or one that would now exceed the limit) is ended on this node instead:
    /// re-registering never evicts anyone. Returns (re-registered, ended).
    pub async fn reregister(&self, sessions: &LocalSessions) -> Result<(usize, usize), DirectoryError> {
        let epoch = self.new_epoch().await?;
        let (mut kept, mut ended) = (0, 0);
        for a in sessions.admissions() {
            match self.reregister_one(&a, epoch).await? {
                None => kept += 1,
                Some(control) => {
                    sessions.deliver_local(a.conn.seq, control);
                    ended += 1;
                }
            }
        }
        Ok((kept, ended))
    }

    /// `None` when recorded again; else how the local session must end.
    async fn reregister_one(&self, a: &Admission, epoch: u64) -> Result<Option<Control>, DirectoryError> {
        for _ in 0..MAX_ADMIT_ATTEMPTS {
            let (version, records) = self.snapshot(&a.user_id).await?;
            let mut removals = Vec::new();
            let mut others = Vec::new();
            for r in records {
                if r.conn == a.conn || !r.alive {
                    removals.push((r.instance_id.clone(), "-".to_owned()));
                } else if r.instance_id == a.instance_id {
                    return Ok(Some(Control::Replaced));
                } else {
                    others.push(r);
                }
            }
            let platforms: Vec<Platform> = others.iter().map(|r| r.platform).collect();
            let decision = policy::decide(
                self.settings.policy,
                self.settings.max_per_group,
                &platforms,
                a.platform,
            );
            if let Some((idx, _)) = decision.last() {
                // A newer login took the place: this one is the displaced one.
                return Ok(Some(Control::Kick(policy::kick_type(
                    a.platform,
                    others[*idx].platform,
                ))));
            }
            let score = (a.connected_at_ms.max(0) as u64).saturating_mul(1000).to_string();
            match self
                .run_admit(a, epoch, &version, "reregister", &score, &removals)
                .await?
            {
                AdmitOutcome::Admitted => return Ok(None),
                AdmitOutcome::Retry => continue,
                AdmitOutcome::Kicked(_) => return Ok(None),
            }
        }
        Err(DirectoryError("re-registration kept losing the race".into()))
    }

    async fn snapshot(&self, user_id: &str) -> Result<(String, Vec<Record>), DirectoryError> {
        let k = self.user_keys(user_id);
        let raw: Vec<String> = self
            .scripts
            .snapshot
            .key(&k.z)
            .key(&k.h)
            .key(&k.v)
            .arg(&self.prefix)
            .arg(VERSION_TTL_MS)
            .invoke_async(&mut self.con.clone())
            .await
            .map_err(unavailable)?;
        let mut it = raw.into_iter();
        let version = it.next().unwrap_or_else(|| "0".to_owned());
        let rest: Vec<String> = it.collect();
        let records = rest
            .chunks_exact(3)
            .filter_map(|c| Record::decode(&c[0], &c[1], c[2] == "1"))
            .collect();
        Ok((version, records))
    }

    /// Snapshot + policy: what admitting `login` must remove, and the orders that follow.
    async fn plan(&self, login: &Admission) -> Result<Plan, DirectoryError> {
        let (version, records) = self.snapshot(&login.user_id).await?;
        let mut removals = Vec::new();
        let mut orders = Vec::new();
        let mut others = Vec::new();
        for r in records {
            if !r.alive {
                removals.push((r.instance_id.clone(), "-".to_owned()));
            } else if r.instance_id == login.instance_id {
                removals.push((r.instance_id.clone(), "-".to_owned()));
                orders.push(r.order(&login.user_id, Control::Replaced));
            } else {
                others.push(r);
            }
        }
        let platforms: Vec<Platform> = others.iter().map(|r| r.platform).collect();
        for (idx, kt) in policy::decide(
            self.settings.policy,
            self.settings.max_per_group,
            &platforms,
            login.platform,
        ) {
            let r = &others[idx];
            removals.push((r.instance_id.clone(), kt.as_str().to_owned()));
            orders.push(r.order(&login.user_id, Control::Kick(kt)));
        }
        Ok(Plan {
            version,
            removals,
            orders,
        })
    }

    async fn run_admit(
        &self,
        a: &Admission,
        epoch: u64,
        version: &str,
        mode: &str,
        score: &str,
        removals: &[(String, String)],
    ) -> Result<AdmitOutcome, DirectoryError> {
        let k = self.user_keys(&a.user_id);
        let mut inv = self.scripts.admit.prepare_invoke();
        inv.key(&k.z).key(&k.h).key(&k.v);
        inv.arg(&self.prefix)
            .arg(VERSION_TTL_MS)
            .arg(&a.user_id)
            .arg(version)
            .arg(mode)
            .arg(&a.instance_id)
            .arg(Record::encode(a, epoch))
            .arg(Self::ttl_ms(self.settings.kick_memory_ttl))
            .arg(score);
        for (inst, kt) in removals {
            inv.arg(inst).arg(kt);
        }
        let out: Vec<String> = inv.invoke_async(&mut self.con.clone()).await.map_err(unavailable)?;
        Ok(match out.first().map(String::as_str) {
            Some("ok") => AdmitOutcome::Admitted,
            Some("kicked") => {
                let kt = out
                    .get(1)
                    .and_then(|k| k.parse().ok())
                    .unwrap_or(KickType::MultipleDevice);
                AdmitOutcome::Kicked(kt)
            }
            _ => AdmitOutcome::Retry,
        })
    }

    async fn remove_conn(&self, user_id: &str, conn: &ConnId, kick: Option<KickType>) -> Result<bool, DirectoryError> {
        let k = self.user_keys(user_id);
        let removed: i64 = self
            .scripts
            .remove
            .key(&k.z)
            .key(&k.h)
            .key(&k.v)
            .arg(&self.prefix)
            .arg(VERSION_TTL_MS)
            .arg(user_id)
            .arg(&*conn.node.0)
            .arg(conn.seq)
            .arg(kick.map_or("-", KickType::as_str))
            .arg(Self::ttl_ms(self.settings.kick_memory_ttl))
            .invoke_async(&mut self.con.clone())
            .await
            .map_err(unavailable)?;
        Ok(removed == 1)
    }

    async fn kick(&self, user_id: &str, instance_id: &str, kick: KickType) -> Result<Vec<KickOrder>, DirectoryError> {
        let k = self.user_keys(user_id);
        let raw: Vec<String> = self
            .scripts
            .kick
            .key(&k.z)
            .key(&k.h)
            .key(&k.v)
            .arg(&self.prefix)
            .arg(VERSION_TTL_MS)
            .arg(user_id)
            .arg(instance_id)
            .arg(kick.as_str())
            .arg(Self::ttl_ms(self.settings.kick_memory_ttl))
            .invoke_async(&mut self.con.clone())
            .await
            .map_err(unavailable)?;
        Ok(raw
            .chunks_exact(2)
            .filter_map(|c| Record::decode(&c[0], &c[1], true))
            .map(|r| r.order(user_id, Control::Kick(kick)))
            .collect())
    }

    /// Test support: makes `node`'s records count as alive in this directory's epoch, for
    /// scenarios that admit on behalf of made-up nodes.
    #[doc(hidden)]
    pub async fn mark_alive_for_tests(&self, node: &str) -> Result<(), DirectoryError> {
        let () = self
            .con
            .clone()
            .set(self.node_key(node), self.epoch.load(Ordering::Acquire))
            .await
            .map_err(unavailable)?;
        Ok(())
    }
}

enum AdmitOutcome {
    Admitted,
    Retry,
    Kicked(KickType),
}

#[async_trait]
impl SessionDirectory for RedisDirectory {
    async fn admit(&self, login: &Arc<Admission>) -> Result<Vec<KickOrder>, AdmitError> {
        let epoch = self.epoch.load(Ordering::Acquire);
        let mode = if login.resume { "resume" } else { "login" };
        for _ in 0..MAX_ADMIT_ATTEMPTS {
            let plan = self.plan(login).await?;
            match self
                .run_admit(login, epoch, &plan.version, mode, "", &plan.removals)
                .await?
            {
                AdmitOutcome::Admitted => return Ok(plan.orders),
                AdmitOutcome::Kicked(kt) => return Err(AdmitError::Kicked(kt)),
                AdmitOutcome::Retry => continue,
            }
        }
        Err(AdmitError::Unavailable(DirectoryError(format!(
            "user {} changed {MAX_ADMIT_ATTEMPTS} times during one login",
            login.user_id
        ))))
    }

    async fn remove(&self, user_id: &str, conn: &ConnId) -> Result<bool, DirectoryError> {
        self.remove_conn(user_id, conn, None).await
    }

    async fn kick_self(&self, user_id: &str, conn: &ConnId, kick: KickType) -> Result<bool, DirectoryError> {
        self.remove_conn(user_id, conn, Some(kick)).await
    }

    async fn kick_user(&self, user_id: &str, kick: KickType) -> Result<Vec<KickOrder>, DirectoryError> {
        self.kick(user_id, "", kick).await
    }

    async fn kick_instance(
        &self,
        user_id: &str,
        instance_id: &str,
        kick: KickType,
    ) -> Result<Option<KickOrder>, DirectoryError> {
        Ok(self.kick(user_id, instance_id, kick).await?.into_iter().next())
    }

    async fn instances(&self, user_id: &str) -> Result<Vec<InstanceInfo>, DirectoryError> {
        let (_, records) = self.snapshot(user_id).await?;
        Ok(records
            .into_iter()
            .filter(|r| r.alive)
            .map(|r| InstanceInfo {
                instance_id: r.instance_id,
                platform: r.platform,
                conn: r.conn,
                connected_at_ms: r.connected_at_ms,
                client_version: r.client_version,
            })
            .collect())
    }

    async fn remembered_kicks(&self) -> Result<usize, DirectoryError> {
        let mut con = self.con.clone();
        let pattern = format!("{}:k:*", self.prefix);
        let mut cursor: u64 = 0;
        let mut n = 0;
        loop {
            let (next, keys): (u64, Vec<String>) = redis::cmd("SCAN")
                .arg(cursor)
                .arg("MATCH")
                .arg(&pattern)
                .arg("COUNT")
                .arg(1000)
                .query_async(&mut con)
                .await
                .map_err(unavailable)?;
            n += keys.len();
            if next == 0 {
                return Ok(n);
            }
            cursor = next;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_round_trip() {
        let a = Admission {
            user_id: "u".into(),
            instance_id: "i".into(),
            platform: Platform::Ipad,
            resume: false,
            conn: ConnId {
                node: NodeId("n-1".into()),
                seq: 42,
            },
            connected_at_ms: 1_700_000_000_001,
            client_version: "natter-protocol/1|x".into(),
        };
        let r = Record::decode("i", &Record::encode(&a, 7), true).unwrap();
        assert_eq!(
            (
                r.conn,
                r.epoch,
                r.platform,
                r.connected_at_ms,
                r.client_version.as_str()
            ),
            (
                a.conn.clone(),
                7,
                Platform::Ipad,
                a.connected_at_ms,
                "natter-protocol/1|x"
            )
        );
        assert_eq!(Record::decode("i", "garbage", true), None);
    }
}
