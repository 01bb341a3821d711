//! Command line and config file: flags override the TOML file, which overrides the dev defaults.

use crate::{usersig, Policy, ServerConfig, DEV_SECRET_KEY};
use clap::{Args, Parser, Subcommand};
use serde::Deserialize;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Default lifetime of a UserSig minted by the `usersig` subcommand: 7 days.
pub const DEFAULT_USERSIG_EXPIRE_SECS: u64 = 7 * 24 * 3600;

#[derive(Debug, Parser)]
#[command(
    name = "natter-server",
    version,
    about = "Natter reference server (WebSocket sessions + admin REST API)"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    #[command(flatten)]
    pub options: Options,
}

#[derive(Debug, Subcommand, PartialEq, Eq)]
pub enum Command {
    /// Print a UserSig for a user of the configured app (and nothing else) on stdout.
    Usersig {
        #[arg(long)]
        user: String,
        /// Lifetime in seconds.
        #[arg(long, default_value_t = DEFAULT_USERSIG_EXPIRE_SECS)]
        expire: u64,
    },
}

/// Server options; usable before or after a subcommand.
#[derive(Debug, Default, Clone, Args, PartialEq, Eq)]
pub struct Options {
    /// Address to listen on [default: 127.0.0.1:9800]
    #[arg(long, global = true, value_name = "ADDR")]
    pub listen: Option<SocketAddr>,
    /// SDKAppID served [default: the dev app 1400000001]
    #[arg(long, global = true, value_name = "N")]
    pub sdk_app_id: Option<u64>,
    /// Secret key of the app [default: the public dev key]
    #[arg(long, global = true, value_name = "K")]
    pub secret_key: Option<String>,
    /// Admin account for the REST API [default: administrator]
    #[arg(long, global = true, value_name = "ID")]
    pub admin: Option<String>,
    /// TOML config file; flags override its values
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Instances per user per platform group [default: 1]
    #[arg(long, global = true, value_name = "N")]
    pub max_instances_per_platform: Option<u32>,
    /// multi | single | dual | triple [default: multi]
    #[arg(long, global = true, value_name = "POLICY")]
    pub policy: Option<Policy>,
    /// Added to the server clock, in ms (may be negative) [default: 0]
    #[arg(long, global = true, value_name = "N", allow_negative_numbers = true)]
    pub clock_skew_ms: Option<i64>,
    /// Serve Prometheus `GET /metrics` on this separate admin address [default: off]
    #[arg(long, global = true, value_name = "ADDR")]
    pub metrics_listen: Option<SocketAddr>,
    /// Join a cluster: keep the session directory in this Redis (redis://HOST:PORT[/DB])
    /// [default: in memory, one node]
    #[arg(long, global = true, value_name = "URL")]
    pub redis: Option<String>,
    /// This node's id in the cluster [default: generated at each start]
    #[arg(long, global = true, value_name = "ID")]
    pub node_id: Option<String>,
    /// Prefix of the cluster's Redis keys [default: natter:SDKAPPID]
    #[arg(long, global = true, value_name = "P")]
    pub redis_prefix: Option<String>,
    /// Milliseconds without a heartbeat after which a node counts as dead [default: 3000]
    #[arg(long, global = true, value_name = "MS")]
    pub node_ttl_ms: Option<u64>,
    /// Event-loop threads beside the main one, each with its own SO_REUSEPORT listener and
    /// file-descriptor table (Linux): holds more connections than RLIMIT_NOFILE [default: 0]
    #[arg(long, global = true, value_name = "N")]
    pub accept_shards: Option<u32>,
}

/// The TOML file: keys mirror the flags in snake_case, plus the limits (durations in seconds).
#[derive(Debug, Default, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    pub listen: Option<SocketAddr>,
    pub sdk_app_id: Option<u64>,
    pub secret_key: Option<String>,
    pub admin: Option<String>,
    pub max_instances_per_platform: Option<u32>,
    pub policy: Option<String>,
    pub clock_skew_ms: Option<i64>,
    pub app_enabled: Option<bool>,
    pub handshake_timeout_secs: Option<f64>,
    pub header_login: Option<bool>,
    pub idle_timeout_secs: Option<f64>,
    pub max_frame_bytes: Option<usize>,
    pub max_connections_per_source: Option<u32>,
    pub max_failed_logins: Option<u32>,
    pub max_failed_logins_per_source: Option<u32>,
    pub failed_login_window_secs: Option<f64>,
    pub usersig_max_future_secs: Option<u64>,
    pub max_connections: Option<u32>,
    pub kick_memory_per_user: Option<usize>,
    pub kick_memory_total: Option<usize>,
    pub request_body_timeout_secs: Option<f64>,
    pub metrics_listen: Option<SocketAddr>,
    pub kick_memory_secs: Option<f64>,
    pub redis: Option<String>,
    pub redis_prefix: Option<String>,
    pub node_id: Option<String>,
    pub node_ttl_secs: Option<f64>,
    pub accept_shards: Option<u32>,
}

#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error("cannot read config file {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("invalid config file {path}: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("invalid setting: {0}")]
    Invalid(String),
}

fn secs(name: &str, v: f64) -> Result<Duration, CliError> {
    Duration::try_from_secs_f64(v)
        .map_err(|_| CliError::Invalid(format!("{name} must be a non-negative number of seconds")))
}

impl FileConfig {
    pub fn parse(text: &str) -> Result<Self, String> {
        toml::from_str(text).map_err(|e| e.to_string())
    }

    /// Applies every key present in the file to `c`.
    pub fn apply(&self, c: &mut ServerConfig) -> Result<(), CliError> {
        if let Some(v) = self.listen {
            c.listen = v;
        }
        if let Some(v) = self.sdk_app_id {
            c.sdk_app_id = v;
        }
        if let Some(v) = &self.secret_key {
            c.secret_key = v.clone();
        }
        if let Some(v) = &self.admin {
            c.admin_identifier = v.clone();
        }
        if let Some(v) = self.max_instances_per_platform {
            c.max_instances_per_platform = v;
        }
        if let Some(v) = &self.policy {
            c.policy = v
                .parse()
                .map_err(|e: crate::ParsePolicyError| CliError::Invalid(e.to_string()))?;
        }
        if let Some(v) = self.clock_skew_ms {
            c.clock_skew_ms = v;
        }
        if let Some(v) = self.app_enabled {
            c.app_enabled = v;
        }
        if let Some(v) = self.handshake_timeout_secs {
            c.handshake_timeout = secs("handshake_timeout_secs", v)?;
        }
        if let Some(v) = self.header_login {
            c.header_login = v;
        }
        if let Some(v) = self.idle_timeout_secs {
            c.idle_timeout = secs("idle_timeout_secs", v)?;
        }
        if let Some(v) = self.max_frame_bytes {
            c.max_frame_bytes = v;
        }
        if let Some(v) = self.max_connections_per_source {
            c.max_connections_per_source = v;
        }
        if let Some(v) = self.max_failed_logins {
            c.max_failed_logins = v;
        }
        if let Some(v) = self.max_failed_logins_per_source {
            c.max_failed_logins_per_source = v;
        }
        if let Some(v) = self.failed_login_window_secs {
            c.failed_login_window = secs("failed_login_window_secs", v)?;
        }
        if let Some(v) = self.usersig_max_future_secs {
            c.usersig_max_future_secs = v;
        }
        if let Some(v) = self.max_connections {
            c.max_connections = v;
        }
        if let Some(v) = self.kick_memory_per_user {
            c.kick_memory_per_user = v;
        }
        if let Some(v) = self.kick_memory_total {
            c.kick_memory_total = v;
        }
        if let Some(v) = self.request_body_timeout_secs {
            c.request_body_timeout = secs("request_body_timeout_secs", v)?;
        }
        if let Some(v) = self.metrics_listen {
            c.metrics_listen = Some(v);
        }
        if let Some(v) = self.kick_memory_secs {
            c.kick_memory_ttl = secs("kick_memory_secs", v)?;
        }
        if let Some(v) = &self.redis {
            c.redis_url = Some(v.clone());
        }
        if let Some(v) = &self.redis_prefix {
            c.redis_prefix = Some(v.clone());
        }
        if let Some(v) = &self.node_id {
            c.node_id = Some(v.clone());
        }
        if let Some(v) = self.node_ttl_secs {
            c.node_ttl = secs("node_ttl_secs", v)?;
        }
        if let Some(v) = self.accept_shards {
            c.accept_shards = v;
        }
        Ok(())
    }
}

impl Options {
    /// Applies the flags that were given to `c`.
    pub fn apply(&self, c: &mut ServerConfig) -> Result<(), CliError> {
        if let Some(v) = &self.redis {
            c.redis_url = Some(v.clone());
        }
        if let Some(v) = &self.node_id {
            c.node_id = Some(v.clone());
        }
        if let Some(v) = &self.redis_prefix {
            c.redis_prefix = Some(v.clone());
        }
        if let Some(v) = self.node_ttl_ms {
            c.node_ttl = std::time::Duration::from_millis(v);
        }
        if let Some(v) = self.listen {
            c.listen = v;
        }
        if let Some(v) = self.sdk_app_id {
            c.sdk_app_id = v;
        }
        if let Some(v) = &self.secret_key {
            c.secret_key = v.clone();
        }
        if let Some(v) = &self.admin {
            c.admin_identifier = v.clone();
        }
        if let Some(v) = self.max_instances_per_platform {
            c.max_instances_per_platform = v;
        }
        if let Some(v) = self.policy {
            c.policy = v;
        }
        if let Some(v) = self.clock_skew_ms {
            c.clock_skew_ms = v;
        }
        if let Some(v) = self.metrics_listen {
            c.metrics_listen = Some(v);
        }
        if let Some(v) = self.accept_shards {
            c.accept_shards = v;
        }
        Ok(())
    }
}

/// Defaults, then the config file (if any), then the flags.
pub fn resolve(options: &Options) -> Result<ServerConfig, CliError> {
    let mut config = ServerConfig::default();
    let mut cap_configured = false;
    if let Some(path) = &options.config {
        let text = std::fs::read_to_string(path).map_err(|source| CliError::Read {
            path: path.clone(),
            source,
        })?;
        let file = FileConfig::parse(&text).map_err(|message| CliError::Parse {
            path: path.clone(),
            message,
        })?;
        file.apply(&mut config)?;
        cap_configured = file.max_connections.is_some();
    }
    options.apply(&mut config)?;
    if let Some(why) = config.accept_shards_problem() {
        return Err(CliError::Invalid(why));
    }
    if !cap_configured {
        // The default cap is per file-descriptor table; every shard brings one.
        config.max_connections = config.max_connections.saturating_mul(1 + config.accept_shards);
    }
    if let Some(id) = &config.node_id {
        natter_protocol::identifier::validate(id).map_err(|e| CliError::Invalid(format!("node id {e}")))?;
    }
    if let Some(p) = &config.redis_prefix {
        if p.is_empty() || p.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(CliError::Invalid(
                "redis prefix must be non-empty, without spaces".into(),
            ));
        }
    }
    if config.node_ttl < std::time::Duration::from_millis(300) {
        return Err(CliError::Invalid("node TTL must be at least 0.3 s".into()));
    }
    if config.secret_key.is_empty() {
        return Err(CliError::Invalid("secret key must not be empty".into()));
    }
    if let Err(e) = natter_protocol::identifier::validate(&config.admin_identifier) {
        return Err(CliError::Invalid(format!("admin identifier {e}")));
    }
    Ok(config)
}

/// A UserSig for `user` issued now on the configured (skewed) clock; refuses a `user` outside
/// the identifier rule.
pub fn mint(config: &ServerConfig, user: &str, expire_secs: u64) -> Result<String, usersig::UserSigError> {
    let now_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_millis() as i64;
    let now = now_ms.saturating_add(config.clock_skew_ms).div_euclid(1000);
    usersig::generate(config.sdk_app_id, &config.secret_key, user, expire_secs, now)
}

/// The start-up banner printed on stdout (other tools parse the `ws://` URL from it).
pub fn banner(config: &ServerConfig, addr: SocketAddr) -> String {
    let key = if config.secret_key == DEV_SECRET_KEY {
        "the PUBLIC dev key (natter_server::DEV_SECRET_KEY) - anyone can mint UserSigs; never use it in production"
    } else {
        "(custom, not shown)"
    };
    format!(
        "natter-server listening\n  SDKAppID:   {}\n  secret key: {key}\n  admin:      {}\n  policy:     {} (max {} per group)\n  WebSocket:  ws://{addr}{}\n  REST:       http://{addr}/v4/...\n",
        config.sdk_app_id,
        config.admin_identifier,
        config.policy,
        config.max_instances_per_platform,
        natter_protocol::WS_PATH,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Cli {
        Cli::try_parse_from(std::iter::once("natter-server").chain(args.iter().copied())).unwrap()
    }

    #[test]
    fn no_arguments_is_the_dev_app() {
        let cli = parse(&[]);
        assert_eq!(cli.command, None);
        let c = resolve(&cli.options).unwrap();
        assert_eq!(c.sdk_app_id, crate::DEV_SDK_APP_ID);
        assert_eq!(c.secret_key, DEV_SECRET_KEY);
        assert_eq!(c.listen, "127.0.0.1:9800".parse().unwrap());
    }

    #[test]
    fn flags_parse() {
        let cli = parse(&[
            "--listen",
            "0.0.0.0:1234",
            "--sdk-app-id",
            "7",
            "--secret-key",
            "k",
            "--admin",
            "root",
            "--max-instances-per-platform",
            "3",
            "--policy",
            "triple",
            "--clock-skew-ms",
            "-5000",
            "--metrics-listen",
            "127.0.0.1:9100",
        ]);
        let c = resolve(&cli.options).unwrap();
        assert_eq!(c.listen, "0.0.0.0:1234".parse().unwrap());
        assert_eq!(
            (c.sdk_app_id, c.secret_key.as_str(), c.admin_identifier.as_str()),
            (7, "k", "root")
        );
        assert_eq!(
            (c.max_instances_per_platform, c.policy, c.clock_skew_ms),
            (3, Policy::Triple, -5000)
        );
        assert_eq!(c.metrics_listen, Some("127.0.0.1:9100".parse().unwrap()));
        assert_eq!(resolve(&parse(&[]).options).unwrap().metrics_listen, None);
        assert!(Cli::try_parse_from(["natter-server", "--policy", "quad"]).is_err());
    }

    #[test]
    fn cluster_flags_and_keys() {
        let c = resolve(&parse(&[]).options).unwrap();
        assert!(c.redis_url.is_none(), "the memory engine by default");
        let cli = parse(&[
            "--redis",
            "redis://127.0.0.1:6379",
            "--node-id",
            "node-a",
            "--redis-prefix",
            "prod",
            "--node-ttl-ms",
            "1500",
        ]);
        let c = resolve(&cli.options).unwrap();
        assert_eq!(
            (c.redis_url.as_deref(), c.node_id.as_deref(), c.redis_prefix.as_deref()),
            (Some("redis://127.0.0.1:6379"), Some("node-a"), Some("prod"))
        );
        assert_eq!(c.node_ttl, Duration::from_millis(1500));
        assert_eq!(c.effective_redis_prefix(), "prod");
        assert_eq!(ServerConfig::default().effective_redis_prefix(), "natter:1400000001");
        let file = FileConfig::parse(
            "redis = \"redis://h:1\"\nnode_id = \"b\"\nredis_prefix = \"x\"\nnode_ttl_secs = 2.5\nkick_memory_secs = 30\n",
        )
        .unwrap();
        let mut c = ServerConfig::default();
        file.apply(&mut c).unwrap();
        assert_eq!(
            (c.redis_url.as_deref(), c.node_id.as_deref()),
            (Some("redis://h:1"), Some("b"))
        );
        assert_eq!(
            (c.node_ttl, c.kick_memory_ttl),
            (Duration::from_millis(2500), Duration::from_secs(30))
        );
        for bad in [
            &["--node-id", "bad id"][..],
            &["--redis-prefix", "a b"],
            &["--node-ttl-ms", "10"],
        ] {
            assert!(
                matches!(resolve(&parse(bad).options), Err(CliError::Invalid(_))),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn accept_shards_scale_the_default_cap_and_refuse_what_they_cannot_do() {
        let one = resolve(&parse(&[]).options).unwrap();
        assert_eq!(one.accept_shards, 0);
        let c = resolve(&parse(&["--accept-shards", "3"]).options).unwrap();
        assert_eq!(c.accept_shards, 3);
        // One table's worth per table: the main runtime's and each shard's.
        assert_eq!(c.max_connections, one.max_connections.saturating_mul(4));
        let mut from_file = ServerConfig::default();
        FileConfig::parse("accept_shards = 2\n")
            .unwrap()
            .apply(&mut from_file)
            .unwrap();
        assert_eq!(from_file.accept_shards, 2);
        let dir = std::env::temp_dir().join(format!("natter-cli-shards-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("natter.toml");
        std::fs::write(&path, "accept_shards = 5\nmax_connections = 1000\n").unwrap();
        let c = resolve(&parse(&["--config", path.to_str().unwrap()]).options).unwrap();
        assert_eq!(
            (c.accept_shards, c.max_connections),
            (5, 1000),
            "a configured cap is kept as given"
        );
        let _ = std::fs::remove_dir_all(&dir);
        for bad in [
            &["--accept-shards", "65"][..],
            &["--accept-shards", "1", "--redis", "redis://127.0.0.1:6379"],
        ] {
            assert!(
                matches!(resolve(&parse(bad).options), Err(CliError::Invalid(_))),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn usersig_subcommand_with_options_after_it() {
        let cli = parse(&["usersig", "--user", "alice", "--sdk-app-id", "9", "--secret-key", "s"]);
        assert_eq!(
            cli.command,
            Some(Command::Usersig {
                user: "alice".into(),
                expire: DEFAULT_USERSIG_EXPIRE_SECS
            })
        );
        let c = resolve(&cli.options).unwrap();
        let sig = mint(&c, "alice", 60).unwrap();
        assert_eq!(
            mint(&c, "alice\nTLS.time:0", 60),
            Err(usersig::UserSigError::InvalidIdentifier)
        );
        let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs() as i64;
        assert!(usersig::verify(&sig, 9, "s", "alice", now).is_ok());
        let cli = parse(&["--policy", "single", "usersig", "--user", "bob", "--expire", "10"]);
        assert_eq!(
            cli.command,
            Some(Command::Usersig {
                user: "bob".into(),
                expire: 10
            })
        );
        assert_eq!(cli.options.policy, Some(Policy::Single));
    }

    #[test]
    fn flags_override_the_file_which_overrides_defaults() {
        let dir = std::env::temp_dir().join(format!("natter-cli-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("natter.toml");
        std::fs::write(
            &path,
            "listen = \"127.0.0.1:9999\"\nsdk_app_id = 5\nsecret_key = \"file-key\"\nadmin = \"boss\"\npolicy = \"dual\"\n\
             max_instances_per_platform = 2\nclock_skew_ms = 100\napp_enabled = false\nhandshake_timeout_secs = 0.5\n\
             header_login = false\nidle_timeout_secs = 30\nmax_frame_bytes = 4096\nmax_connections_per_source = 8\nmax_failed_logins = 3\n\
             failed_login_window_secs = 5\nmax_failed_logins_per_source = 30\nusersig_max_future_secs = 7\n\
             max_connections = 99\nkick_memory_per_user = 4\nkick_memory_total = 50\nrequest_body_timeout_secs = 2\n\
             metrics_listen = \"127.0.0.1:9101\"\n",
        )
        .unwrap();
        let p = path.to_str().unwrap();
        let c = resolve(&parse(&["--config", p]).options).unwrap();
        assert_eq!(c.listen.port(), 9999);
        assert_eq!(
            (c.sdk_app_id, c.secret_key.as_str(), c.admin_identifier.as_str()),
            (5, "file-key", "boss")
        );
        assert_eq!(
            (c.policy, c.max_instances_per_platform, c.clock_skew_ms, c.app_enabled),
            (Policy::Dual, 2, 100, false)
        );
        assert_eq!(
            (c.handshake_timeout, c.idle_timeout, c.header_login),
            (Duration::from_millis(500), Duration::from_secs(30), false)
        );
        assert_eq!(
            (c.max_frame_bytes, c.max_connections_per_source, c.max_failed_logins),
            (4096, 8, 3)
        );
        assert_eq!(c.failed_login_window, Duration::from_secs(5));
        assert_eq!(
            (
                c.max_failed_logins_per_source,
                c.usersig_max_future_secs,
                c.max_connections
            ),
            (30, 7, 99)
        );
        assert_eq!((c.kick_memory_per_user, c.kick_memory_total), (4, 50));
        assert_eq!(c.request_body_timeout, Duration::from_secs(2));
        assert_eq!(c.metrics_listen, Some("127.0.0.1:9101".parse().unwrap()));
        let c = resolve(
            &parse(&[
                "--config",
                p,
                "--sdk-app-id",
                "6",
                "--policy",
                "multi",
                "--clock-skew-ms",
                "0",
            ])
            .options,
        )
        .unwrap();
        assert_eq!((c.sdk_app_id, c.policy, c.clock_skew_ms), (6, Policy::Multi, 0));
        assert_eq!(c.secret_key, "file-key");

        std::fs::write(&path, "nonsense_key = 1\n").unwrap();
        assert!(matches!(
            resolve(&parse(&["--config", p]).options),
            Err(CliError::Parse { .. })
        ));
        std::fs::write(&path, "policy = \"quad\"\n").unwrap();
        assert!(matches!(
            resolve(&parse(&["--config", p]).options),
            Err(CliError::Invalid(_))
        ));
        std::fs::write(&path, "idle_timeout_secs = -1\n").unwrap();
        assert!(matches!(
            resolve(&parse(&["--config", p]).options),
            Err(CliError::Invalid(_))
        ));
        assert!(matches!(
            resolve(&parse(&["--config", "/nonexistent/natter.toml"]).options),
            Err(CliError::Read { .. })
        ));
        let _ = std::fs::remove_file(&path);
        let _ = std::fs::remove_dir(&dir);
    }

    #[test]
    fn banner_shape() {
        let c = ServerConfig::default();
        let b = banner(&c, "127.0.0.1:4321".parse().unwrap());
        assert!(b.starts_with("natter-server listening\n"));
        assert!(b.contains("  WebSocket:  ws://127.0.0.1:4321/ws\n"));
        assert!(b.contains("the PUBLIC dev key"));
        assert!(b.contains("  policy:     multi (max 1 per group)\n"));
        let custom = ServerConfig {
            secret_key: "s3cr3t".into(),
            ..Default::default()
        };
        let b = banner(&custom, "127.0.0.1:1".parse().unwrap());
        assert!(b.contains("secret key: (custom, not shown)") && !b.contains("s3cr3t"));
    }
}
