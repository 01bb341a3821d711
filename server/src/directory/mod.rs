//! The session directory: which instances of which users are online, on which node, and which
//! were kicked recently. One trait, two engines: [`memory::MemoryDirectory`] (one process, the
//! default) and [`redis::RedisDirectory`] (a cluster of nodes sharing one Redis). Both take their
//! decisions with [`crate::policy::decide`]; the directory never holds a socket: it answers with
//! [`KickOrder`]s that the [`crate::kick_bus`] delivers to the node holding the connection.

#[doc(hidden)]
pub mod conformance;
pub mod memory;
pub mod redis;

use crate::{Policy, ServerConfig};
use async_trait::async_trait;
use natter_protocol::{KickType, Platform};
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

/// The rules a directory enforces, taken from the server configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DirectorySettings {
    pub policy: Policy,
    /// Instances per user per platform group (0 acts as 1).
    pub max_per_group: u32,
    /// How long a kicked instance's `resume` is refused.
    pub kick_memory_ttl: Duration,
    /// Remembered kicks per user / in total (the memory engine; Redis expires keys by TTL).
    pub kicks_per_user: usize,
    pub kicks_total: usize,
}

impl DirectorySettings {
    pub fn from_config(c: &ServerConfig) -> Self {
        DirectorySettings {
            policy: c.policy,
            max_per_group: c.max_instances_per_platform,
            kick_memory_ttl: c.kick_memory_ttl,
            kicks_per_user: c.kick_memory_per_user,
            kicks_total: c.kick_memory_total,
        }
    }
}

/// Names one server process of a cluster. Unique per process start (see `node_id::generate`).
/// Shared, not owned: every connection id of the node carries it, and a login clones its
/// connection id about seven times (local sessions, directory, kick orders…).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NodeId(pub Arc<str>);

impl fmt::Display for NodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A connection id unique across the cluster: the node holding the socket plus that node's counter.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ConnId {
    pub node: NodeId,
    pub seq: u64,
}

impl fmt::Display for ConnId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.node, self.seq)
    }
}

/// Orders a session task receives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Control {
    /// Send `kicked` and close 4001 (the directory already removed the session).
    Kick(KickType),
    /// The same instance logged in again elsewhere: close 1000, no kick.
    Replaced,
}

/// A login that passed authentication and asks for a place in the directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Admission {
    pub user_id: String,
    pub instance_id: String,
    pub platform: Platform,
    /// A silent re-login: refused with the remembered kick if this instance was kicked recently.
    pub resume: bool,
    pub conn: ConnId,
    /// Wall clock (Unix ms) of the login.
    pub connected_at_ms: i64,
    /// What the client says it runs (today the protocol version, e.g. `natter-protocol/1`).
    pub client_version: String,
}

/// "End connection `conn` of `user_id` this way": the directory already dropped it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KickOrder {
    pub user_id: String,
    pub instance_id: String,
    pub conn: ConnId,
    pub control: Control,
}

/// One online instance, as the admin API lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstanceInfo {
    pub instance_id: String,
    pub platform: Platform,
    pub conn: ConnId,
    pub connected_at_ms: i64,
    pub client_version: String,
}

/// The directory could not answer (the Redis engine lost its server). Never a decision.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("session directory unavailable: {0}")]
pub struct DirectoryError(pub String);

/// Why [`SessionDirectory::admit`] did not admit a login.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AdmitError {
    /// A `resume` of an instance kicked recently: the client is told it was kicked.
    #[error("instance was kicked ({0})")]
    Kicked(KickType),
    #[error(transparent)]
    Unavailable(#[from] DirectoryError),
}

/// The directory of online sessions. Every decision about one user is atomic: two logins of one
/// user, on one node or two, never both win against the instance limit.
#[async_trait]
pub trait SessionDirectory: Send + Sync + fmt::Debug {
    /// Admits a login: replaces a session of the same instance (`Control::Replaced`), kicks the
    /// oldest instances beyond the policy's limit, and returns those orders.
    async fn admit(&self, login: &Arc<Admission>) -> Result<Vec<KickOrder>, AdmitError>;
    /// Drops a session that ended on its own (logout, close, idle). False if already gone.
    async fn remove(&self, user_id: &str, conn: &ConnId) -> Result<bool, DirectoryError>;
    /// Drops a session the server ends itself with `kick` (UserSig expiry) and remembers the kick.
    /// False if it was already gone (then a kick order for it is on its way instead).
    async fn kick_self(&self, user_id: &str, conn: &ConnId, kick: KickType) -> Result<bool, DirectoryError>;
    /// Drops and remembers every instance of `user_id`; returns the orders to deliver.
    async fn kick_user(&self, user_id: &str, kick: KickType) -> Result<Vec<KickOrder>, DirectoryError>;
    /// Drops and remembers one instance; `None` if it is not online.
    async fn kick_instance(
        &self,
        user_id: &str,
        instance_id: &str,
        kick: KickType,
    ) -> Result<Option<KickOrder>, DirectoryError>;
    /// The online instances of `user_id`, oldest first, on every node.
    async fn instances(&self, user_id: &str) -> Result<Vec<InstanceInfo>, DirectoryError>;
    /// Kicked instances currently remembered (bounded by the kick memory limits).
    async fn remembered_kicks(&self) -> Result<usize, DirectoryError>;
}
