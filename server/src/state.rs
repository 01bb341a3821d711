//! State shared by every connection of one server, and the operations on sessions that more
//! than one handler needs (directory + kick bus together). Handlers depend on this module; it
//! depends on no handler.

use crate::directory::memory::MemoryDirectory;
use crate::directory::{DirectoryError, DirectorySettings, InstanceInfo, KickOrder, NodeId, SessionDirectory};
use crate::kick_bus::{KickBus, LocalBus};
use crate::limits::{SourceLimits, SourceSlot};
use crate::local_sessions::LocalSessions;
use crate::metrics::Metrics;
use crate::throttle::Throttle;
use crate::timed_directory::TimedDirectory;
use crate::verified_sigs::{self, VerifiedSigs};
use crate::{usersig, ServerConfig};
use natter_protocol::KickType;
use std::net::SocketAddr;
use std::sync::atomic::AtomicUsize;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// The engine a server runs on: where sessions are recorded and how kicks travel.
#[derive(Debug, Clone)]
pub(crate) struct Engine {
    pub node: NodeId,
    pub directory: Arc<dyn SessionDirectory>,
    pub sessions: Arc<LocalSessions>,
    pub bus: Arc<dyn KickBus>,
    /// The Redis engine's node duties (heartbeat, kick subscription, failed-login counts).
    pub cluster: Option<Arc<crate::cluster::ClusterNode>>,
}

impl Engine {
    /// One node, everything in this process.
    pub fn memory(config: &ServerConfig) -> Engine {
        let node = crate::node_id::resolve(config.node_id.as_deref());
        let sessions = Arc::new(LocalSessions::new(node.clone()));
        Engine {
            node,
            directory: Arc::new(MemoryDirectory::new(DirectorySettings::from_config(config))),
            bus: Arc::new(LocalBus::new(Arc::clone(&sessions))),
            sessions,
            cluster: None,
        }
    }
}

/// State shared by every connection of one server.
#[derive(Debug)]
pub(crate) struct Shared {
    pub config: ServerConfig,
    pub node: NodeId,
    pub directory: Arc<dyn SessionDirectory>,
    pub sessions: Arc<LocalSessions>,
    pub bus: Arc<dyn KickBus>,
    pub cluster: Option<Arc<crate::cluster::ClusterNode>>,
    pub throttle: Throttle,
    pub limits: Arc<SourceLimits>,
    pub refusals_in_flight: Arc<AtomicUsize>,
    /// UserSigs whose signature passed here: a re-presented one skips the signature work.
    pub verified_sigs: VerifiedSigs,
    pub metrics: Arc<Metrics>,
    pub cancel: CancellationToken,
    pub tracker: TaskTracker,
}

impl Shared {
    /// Fresh state on the memory engine (the fuzz hooks build on it).
    pub(crate) fn new(config: ServerConfig) -> Arc<Shared> {
        let engine = Engine::memory(&config);
        Shared::with_engine(config, engine)
    }

    pub(crate) fn with_engine(config: ServerConfig, engine: Engine) -> Arc<Shared> {
        let metrics = Arc::new(Metrics::new());
        Arc::new(Shared {
            node: engine.node,
            directory: TimedDirectory::wrap(engine.directory, Arc::clone(&metrics)),
            sessions: engine.sessions,
            bus: engine.bus,
            cluster: engine.cluster,
            throttle: Throttle::new(
                config.max_failed_logins,
                config.max_failed_logins_per_source,
                config.failed_login_window,
            ),
            limits: SourceLimits::new(config.max_connections_per_source, config.max_connections),
            refusals_in_flight: Arc::new(AtomicUsize::new(0)),
            verified_sigs: VerifiedSigs::new(verified_sigs::CAPACITY),
            metrics,
            cancel: CancellationToken::new(),
            tracker: TaskTracker::new(),
            config,
        })
    }

    /// Starts the shutdown: the token every accept loop, handshake and HTTP connection waits on,
    /// then the local sessions (each hears it through its control channel, see
    /// `local_sessions`). The one way to stop a node: cancelling the token alone would leave
    /// logged-in sessions open.
    pub fn shut_down(&self) {
        self.cancel.cancel();
        self.sessions.close();
    }

    /// The server's Unix clock in ms, skew included.
    pub fn now_ms(&self) -> i64 {
        let d = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
        (d.as_millis() as i64).saturating_add(self.config.clock_skew_ms)
    }

    pub fn now_unix(&self) -> i64 {
        self.now_ms().div_euclid(1000)
    }

    /// Verifies `user_sig` for `user_id` of this server's app, by this server's clock and
    /// not-before tolerance: the one check behind WS login, sig renewal and the admin REST call.
    pub fn verify_user_sig(&self, user_sig: &str, user_id: &str) -> Result<usersig::Claims, usersig::UserSigError> {
        let cfg = &self.config;
        let check = verified_sigs::Check {
            sdk_app_id: cfg.sdk_app_id,
            secret_key: &cfg.secret_key,
            now_unix: self.now_unix(),
            max_future_secs: cfg.usersig_max_future_secs,
        };
        self.verified_sigs.verify(user_sig, user_id, &check)
    }

    /// Whether a login for `user` (None: not a valid identifier) from `ip` is refused now; counted
    /// across nodes on the Redis engine.
    pub async fn is_throttled(&self, ip: std::net::IpAddr, user: Option<&str>) -> bool {
        match &self.cluster {
            Some(c) => c.is_throttled(ip, user).await,
            None => self.throttle.is_throttled(ip, user, std::time::Instant::now()),
        }
    }

    pub async fn record_failure(&self, ip: std::net::IpAddr, user: Option<&str>) {
        match &self.cluster {
            Some(c) => c.record_failure(ip, user).await,
            None => self.throttle.record_failure(ip, user, std::time::Instant::now()),
        }
    }

    /// Kicks every instance of `user_id` on every node; returns how many.
    pub async fn kick_user(&self, user_id: &str, kick: KickType) -> Result<usize, DirectoryError> {
        let orders = self.directory.kick_user(user_id, kick).await?;
        let n = orders.len();
        self.bus.send(orders).await;
        Ok(n)
    }

    /// Kicks one instance wherever it is; false if it was not online.
    pub async fn kick_instance(
        &self,
        user_id: &str,
        instance_id: &str,
        kick: KickType,
    ) -> Result<bool, DirectoryError> {
        let order: Option<KickOrder> = self.directory.kick_instance(user_id, instance_id, kick).await?;
        let found = order.is_some();
        self.bus.send(order.into_iter().collect()).await;
        Ok(found)
    }

    /// The online instances of `user_id` across the cluster, oldest first.
    pub async fn instances(&self, user_id: &str) -> Result<Vec<InstanceInfo>, DirectoryError> {
        self.directory.instances(user_id).await
    }
}

/// What the router learns about the TCP connection a request came on.
#[derive(Debug, Clone)]
pub(crate) struct ConnInfo {
    pub peer: SocketAddr,
    pub accepted: Instant,
    /// Kept alive by the WebSocket session after the upgrade.
    pub _slot: Arc<SourceSlot>,
}
