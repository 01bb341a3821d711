//! Server configuration and the dev-app defaults.

use std::fmt;
use std::net::SocketAddr;
use std::str::FromStr;
use std::time::Duration;

/// SDKAppID of the built-in dev app.
pub const DEV_SDK_APP_ID: u64 = 1400000001;
/// Secret key of the built-in dev app. It is public: anyone can mint UserSigs with it.
pub const DEV_SECRET_KEY: &str = "natter-dev-secret-key-not-for-production";

/// Multi-platform login policy: which instances compete for the per-group limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Policy {
    /// Each platform is its own group.
    #[default]
    Multi,
    /// One group for all platforms.
    Single,
    /// Web, and everything else.
    Dual,
    /// Web, mobile (android/ios/ipad), desktop (windows/mac/linux).
    Triple,
}

impl Policy {
    pub const ALL: [Policy; 4] = [Policy::Multi, Policy::Single, Policy::Dual, Policy::Triple];

    pub fn as_str(self) -> &'static str {
        match self {
            Policy::Multi => "multi",
            Policy::Single => "single",
            Policy::Dual => "dual",
            Policy::Triple => "triple",
        }
    }
}

impl fmt::Display for Policy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A string that names no [`Policy`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown policy {0:?} (expected multi, single, dual or triple)")]
pub struct ParsePolicyError(pub String);

impl FromStr for Policy {
    type Err = ParsePolicyError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Policy::ALL
            .into_iter()
            .find(|p| p.as_str() == s)
            .ok_or_else(|| ParsePolicyError(s.to_owned()))
    }
}

/// Everything a server needs. `Default` is the dev app on 127.0.0.1:9800 with all limits on.
#[derive(Clone)]
pub struct ServerConfig {
    pub listen: SocketAddr,
    pub sdk_app_id: u64,
    pub secret_key: String,
    pub admin_identifier: String,
    /// false => every login is refused with 60020.
    pub app_enabled: bool,
    pub max_instances_per_platform: u32,
    pub policy: Policy,
    /// Added to the server clock everywhere (frames and UserSig checks); lets tests fake a skewed server.
    pub clock_skew_ms: i64,
    /// TCP accept -> first valid login frame (also bounds the HTTP header read).
    pub handshake_timeout: Duration,
    /// Take a login carried in the upgrade request (`x-natter-login`, one round trip fewer);
    /// false: ignore that header, clients send the login frame.
    pub header_login: bool,
    /// No frame from a logged-in client for this long => close 4010.
    pub idle_timeout: Duration,
    pub max_frame_bytes: usize,
    /// All TCP connections from one IP (WebSocket and REST).
    pub max_connections_per_source: u32,
    /// Failed logins per (source IP, user) within `failed_login_window` before 70050 for that
    /// user from that source; 0 disables throttling.
    pub max_failed_logins: u32,
    /// Failed logins per source IP (any users) within the window before 70050 for every user
    /// from that source (stops one source spraying many user ids); 0 = no per-source ceiling.
    pub max_failed_logins_per_source: u32,
    pub failed_login_window: Duration,
    /// `TLS.time` may lie at most this many seconds in the future (clock differences between the
    /// backend minting UserSigs and this server); later: 70003 "not valid yet".
    pub usersig_max_future_secs: u64,
    /// All TCP connections at once (WebSocket and REST); over it: HTTP 503 + 60022. 0 = no cap.
    /// Default: the RLIMIT_NOFILE soft limit minus [`FD_RESERVE`] (per file-descriptor table,
    /// see `accept_shards`).
    pub max_connections: u32,
    /// Remembered kicked instances per user (oldest forgotten first).
    pub kick_memory_per_user: usize,
    /// Remembered kicked instances in total (oldest forgotten first).
    pub kick_memory_total: usize,
    /// How long a kicked instance's `resume` login is refused (wall clock, same on every node).
    pub kick_memory_ttl: Duration,
    /// `redis://…` of the shared session directory; `None` = the in-memory engine (one node).
    pub redis_url: Option<String>,
    /// Prefix of every Redis key and channel; `None` = `natter:{sdk_app_id}`. Nodes of one
    /// cluster must share it; distinct prefixes let several clusters (or tests) share one Redis.
    pub redis_prefix: Option<String>,
    /// This node's name in a cluster; `None` = generated at start (unique per process start).
    pub node_id: Option<String>,
    /// A node that has not renewed its heartbeat key for this long is dead: its sessions stop
    /// counting (Redis engine). Renewed every third of it.
    pub node_ttl: Duration,
    /// A REST request body must have arrived this long after its headers (slow bodies).
    pub request_body_timeout: Duration,
    /// Serve `GET /metrics` (Prometheus text) on a separate admin listener here; `None`: off.
    pub metrics_listen: Option<SocketAddr>,
    /// Event-loop threads beside the main runtime, each accepting on its own `SO_REUSEPORT`
    /// listener of the same address and holding its connections in its own file-descriptor table
    /// (Linux only; see `accept_shard`). RLIMIT_NOFILE bounds each table, so a node whose hard
    /// limit cannot be raised holds up to `(1 + accept_shards) x` that many connections.
    /// 0 (default): one listener, one table. Not with `redis_url` (yet).
    pub accept_shards: u32,
}

/// Most [`ServerConfig::accept_shards`] a server starts.
pub const MAX_ACCEPT_SHARDS: u32 = 64;

/// File descriptors kept free below RLIMIT_NOFILE for the listener, logs and refusals.
pub const FD_RESERVE: u32 = 64;
/// Global connection cap when the fd limit cannot be read.
const FALLBACK_MAX_CONNECTIONS: u32 = 4096;

/// The process's soft RLIMIT_NOFILE minus [`FD_RESERVE`] (at least 1).
pub fn default_max_connections() -> u32 {
    #[cfg(unix)]
    {
        let mut lim = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: getrlimit only writes into the struct we pass.
        if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) } == 0 && lim.rlim_cur != libc::RLIM_INFINITY {
            let soft = u32::try_from(lim.rlim_cur).unwrap_or(u32::MAX);
            return soft.saturating_sub(FD_RESERVE).max(1);
        }
    }
    FALLBACK_MAX_CONNECTIONS
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 9800)),
            sdk_app_id: DEV_SDK_APP_ID,
            secret_key: DEV_SECRET_KEY.to_owned(),
            admin_identifier: "administrator".to_owned(),
            app_enabled: true,
            max_instances_per_platform: 1,
            policy: Policy::Multi,
            clock_skew_ms: 0,
            handshake_timeout: Duration::from_secs(10),
            header_login: true,
            idle_timeout: Duration::from_secs(45),
            max_frame_bytes: natter_protocol::MAX_FRAME_BYTES,
            max_connections_per_source: 512,
            max_failed_logins: 10,
            max_failed_logins_per_source: 100,
            failed_login_window: Duration::from_secs(60),
            usersig_max_future_secs: crate::usersig::DEFAULT_MAX_FUTURE_SECS,
            max_connections: default_max_connections(),
            kick_memory_per_user: 64,
            kick_memory_total: 100_000,
            kick_memory_ttl: crate::kick_memory::KICK_MEMORY,
            redis_url: None,
            redis_prefix: None,
            node_id: None,
            node_ttl: Duration::from_secs(3),
            request_body_timeout: Duration::from_secs(30),
            metrics_listen: None,
            accept_shards: 0,
        }
    }
}

impl ServerConfig {
    /// The Redis key prefix in force (see [`ServerConfig::redis_prefix`]).
    pub fn effective_redis_prefix(&self) -> String {
        self.redis_prefix
            .clone()
            .unwrap_or_else(|| format!("natter:{}", self.sdk_app_id))
    }

    /// Why `accept_shards` cannot be served as configured, if it cannot (checked by the CLI and
    /// again by `start`).
    pub fn accept_shards_problem(&self) -> Option<String> {
        if self.accept_shards == 0 {
            None
        } else if self.accept_shards > MAX_ACCEPT_SHARDS {
            Some(format!("accept_shards is at most {MAX_ACCEPT_SHARDS}"))
        } else if !cfg!(target_os = "linux") {
            Some("accept_shards needs Linux (a file-descriptor table per thread)".into())
        } else if self.redis_url.is_some() {
            // The Redis client may reconnect from whichever runtime calls it; until its
            // connections are pinned to the main runtime a shard could open one in its own table.
            Some("accept_shards does not work with a Redis session directory (yet)".into())
        } else {
            None
        }
    }

    /// Whether the secret key is the public dev key.
    pub fn uses_dev_key(&self) -> bool {
        self.secret_key == DEV_SECRET_KEY
    }
}

// Hand-written so the secret key never reaches a log line.
impl fmt::Debug for ServerConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServerConfig")
            .field("listen", &self.listen)
            .field("sdk_app_id", &self.sdk_app_id)
            .field("secret_key", &"<redacted>")
            .field("admin_identifier", &self.admin_identifier)
            .field("app_enabled", &self.app_enabled)
            .field("max_instances_per_platform", &self.max_instances_per_platform)
            .field("policy", &self.policy)
            .field("clock_skew_ms", &self.clock_skew_ms)
            .field("handshake_timeout", &self.handshake_timeout)
            .field("header_login", &self.header_login)
            .field("idle_timeout", &self.idle_timeout)
            .field("max_frame_bytes", &self.max_frame_bytes)
            .field("max_connections_per_source", &self.max_connections_per_source)
            .field("max_failed_logins", &self.max_failed_logins)
            .field("max_failed_logins_per_source", &self.max_failed_logins_per_source)
            .field("failed_login_window", &self.failed_login_window)
            .field("usersig_max_future_secs", &self.usersig_max_future_secs)
            .field("max_connections", &self.max_connections)
            .field("kick_memory_per_user", &self.kick_memory_per_user)
            .field("kick_memory_total", &self.kick_memory_total)
            .field("kick_memory_ttl", &self.kick_memory_ttl)
            .field("redis_url", &self.redis_url.as_deref().map(crate::log_safe::redact_url))
            .field("redis_prefix", &self.redis_prefix)
            .field("node_id", &self.node_id)
            .field("node_ttl", &self.node_ttl)
            .field("request_body_timeout", &self.request_body_timeout)
            .field("metrics_listen", &self.metrics_listen)
            .field("accept_shards", &self.accept_shards)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_hides_the_secret_key() {
        let c = ServerConfig {
            secret_key: "very-secret-123".into(),
            ..Default::default()
        };
        let shown = format!("{c:?} {c:#?}");
        assert!(!shown.contains("very-secret-123"), "{shown}");
        assert!(!format!("{:?}", ServerConfig::default()).contains(DEV_SECRET_KEY));
        assert!(shown.contains("<redacted>"));
    }

    #[test]
    fn policy_parses_and_displays() {
        for p in Policy::ALL {
            assert_eq!(p.to_string().parse::<Policy>().unwrap(), p);
        }
        assert_eq!(Policy::default(), Policy::Multi);
        assert!("quad".parse::<Policy>().is_err());
    }

    #[test]
    fn defaults_are_the_dev_app() {
        let c = ServerConfig::default();
        assert_eq!(c.sdk_app_id, DEV_SDK_APP_ID);
        assert!(c.uses_dev_key());
        assert_eq!(c.listen.port(), 9800);
        assert_eq!(c.max_frame_bytes, natter_protocol::MAX_FRAME_BYTES);
    }

    #[cfg(unix)]
    #[test]
    fn connection_cap_stays_below_the_fd_limit() {
        let cap = default_max_connections();
        assert!(cap >= 1);
        let mut lim = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: getrlimit only writes into the struct we pass.
        assert_eq!(unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) }, 0);
        if lim.rlim_cur != libc::RLIM_INFINITY && lim.rlim_cur > u64::from(FD_RESERVE) {
            assert_eq!(u64::from(cap), lim.rlim_cur - u64::from(FD_RESERVE));
        }
    }
}
