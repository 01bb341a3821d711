//! A node of a cluster on the Redis engine: builds the engine, keeps the node's heartbeat key
//! alive (registering every local session again when Redis lost it), runs the kick
//! subscription, and counts failed logins across nodes.

use crate::directory::redis::{connect, RedisDirectory};
use crate::directory::{DirectoryError, DirectorySettings};
use crate::kick_bus::redis::{subscribe_loop, RedisBus};
use crate::local_sessions::LocalSessions;
use crate::state::Engine;
use crate::ServerConfig;
use redis::aio::ConnectionManager;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// How long `start` waits for the kick subscription before serving anyway (orders sent to this
/// node before it subscribes would be lost).
const SUBSCRIBE_WAIT: Duration = Duration::from_secs(5);

pub(crate) struct ClusterNode {
    pub directory: Arc<RedisDirectory>,
    client: redis::Client,
    con: ConnectionManager,
    prefix: String,
    node_ttl: Duration,
    per_user: u32,
    per_source: u32,
    window: Duration,
    /// Bumped after every (re)subscription of the kick channel.
    subscriptions: watch::Sender<u64>,
}

impl std::fmt::Debug for ClusterNode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClusterNode")
            .field("directory", &self.directory)
            .finish_non_exhaustive()
    }
}

impl ClusterNode {
    /// Connects to `url`, registers this node and builds its engine. Fails when Redis cannot be
    /// reached: a node never serves without its directory.
    pub async fn engine(config: &ServerConfig, url: &str) -> Result<Engine, DirectoryError> {
        let node = crate::node_id::resolve(config.node_id.as_deref());
        let prefix = config.effective_redis_prefix();
        let (client, con) = connect(url).await?;
        let directory = Arc::new(
            RedisDirectory::register(
                con.clone(),
                prefix.clone(),
                node.clone(),
                config.node_ttl,
                DirectorySettings::from_config(config),
            )
            .await?,
        );
        let sessions = Arc::new(LocalSessions::new(node.clone()));
        let cluster = Arc::new(ClusterNode {
            directory: Arc::clone(&directory),
            client,
            con: con.clone(),
            prefix: prefix.clone(),
            node_ttl: config.node_ttl,
            per_user: config.max_failed_logins,
            per_source: config.max_failed_logins_per_source,
            window: config.failed_login_window,
            subscriptions: watch::channel(0).0,
        });
        Ok(Engine {
            node,
            directory,
            bus: Arc::new(RedisBus::new(prefix, Arc::clone(&sessions), con)),
            sessions,
            cluster: Some(cluster),
        })
    }

    /// Starts the heartbeat and the kick subscription; returns once subscribed (or after
    /// [`SUBSCRIBE_WAIT`]).
    pub async fn spawn(
        self: &Arc<Self>,
        sessions: Arc<LocalSessions>,
        cancel: &CancellationToken,
        tracker: &TaskTracker,
    ) {
        let mut subscribed = self.subscriptions.subscribe();
        tracker.spawn(subscribe_loop(
            self.client.clone(),
            self.prefix.clone(),
            Arc::clone(&sessions),
            cancel.clone(),
            self.subscriptions.clone(),
        ));
        tracker.spawn(Arc::clone(self).heartbeat_loop(sessions, cancel.clone()));
        if tokio::time::timeout(SUBSCRIBE_WAIT, subscribed.wait_for(|n| *n > 0))
            .await
            .is_err()
        {
            tracing::warn!("kick channel not subscribed yet; serving anyway");
        }
    }

    async fn heartbeat_loop(self: Arc<Self>, sessions: Arc<LocalSessions>, cancel: CancellationToken) {
        let period = (self.node_ttl / 3).max(Duration::from_millis(50));
        let mut tick = tokio::time::interval(period);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut failing = false;
        loop {
            tokio::select! {
                _ = cancel.cancelled() => return,
                _ = tick.tick() => {}
            }
            match self.directory.heartbeat().await {
                Ok(true) => {
                    if std::mem::take(&mut failing) {
                        tracing::info!("session directory reachable again");
                    }
                }
                Ok(false) => {
                    failing = false;
                    tracing::warn!(
                        "heartbeat key lost (Redis restarted or this node stalled); registering sessions again"
                    );
                    match self.directory.reregister(&sessions).await {
                        Ok((kept, ended)) => tracing::info!(kept, ended, "sessions registered again"),
                        Err(e) => tracing::warn!(error = %e, "registering sessions again failed; will retry"),
                    }
                }
                Err(e) => {
                    if !std::mem::replace(&mut failing, true) {
                        tracing::warn!(error = %e, "heartbeat failed: session directory unreachable");
                    }
                }
            }
        }
    }

    /// Removes the heartbeat key, so this node's sessions stop counting at once (graceful stop).
    pub async fn leave(&self) {
        let mut con = self.con.clone();
        let key = format!("{}:node:{}", self.prefix, self.directory.node());
        let _: Result<i64, _> = redis::AsyncCommands::del(&mut con, key).await;
    }

    fn fail_keys(&self, ip: IpAddr, user: Option<&str>) -> Vec<(String, u32)> {
        let mut keys = vec![(format!("{}:f:s:{ip}", self.prefix), self.per_source)];
        if let Some(u) = user {
            keys.push((format!("{}:f:u:{ip}:{u}", self.prefix), self.per_user));
        }
        keys
    }

    /// The failed-login throttle across nodes (same limits as the memory throttle; each window
    /// is a key with the window's TTL set at its first failure). Fails open if Redis is down:
    /// logins are then refused by the directory anyway.
    pub async fn is_throttled(&self, ip: IpAddr, user: Option<&str>) -> bool {
        if self.per_user == 0 {
            return false;
        }
        let keys = self.fail_keys(ip, user);
        let names: Vec<&str> = keys.iter().map(|(k, _)| k.as_str()).collect();
        let counts: Result<Vec<Option<u32>>, _> =
            redis::cmd("MGET").arg(&names).query_async(&mut self.con.clone()).await;
        match counts {
            Ok(counts) => keys
                .iter()
                .zip(counts)
                .any(|((_, limit), n)| *limit != 0 && n.unwrap_or(0) >= *limit),
            Err(_) => false,
        }
    }

    pub async fn record_failure(&self, ip: IpAddr, user: Option<&str>) {
        if self.per_user == 0 {
            return;
        }
        let window = u64::try_from(self.window.as_millis()).unwrap_or(u64::MAX).max(1);
        let mut pipe = redis::pipe();
        for (key, _) in self.fail_keys(ip, user) {
            // NX: the window starts at the first failure and is not stretched by later ones.
            pipe.incr(&key, 1).ignore();
            pipe.cmd("PEXPIRE").arg(&key).arg(window).arg("NX").ignore();
        }
        let r: Result<(), _> = pipe.query_async(&mut self.con.clone()).await;
        if let Err(e) = r {
            tracing::warn!(error = %e, "could not count a failed login in the session directory");
        }
    }
}
