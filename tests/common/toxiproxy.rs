//! Shopify's toxiproxy (a fault-injecting TCP proxy) as a child process of the test, driven
//! through its HTTP API. `scripts/install-toxiproxy.sh` installs the binary when it is missing,
//! so a fresh machine runs these tests instead of skipping them.

use natter_server::admin::parse_response;
use serde_json::{json, Value};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const API_TIMEOUT: Duration = Duration::from_secs(10);

/// The path of `toxiproxy-server`: `$TOXIPROXY_SERVER` when set, otherwise whatever the install
/// script prints (it installs the pinned version first when missing; a no-op when present).
pub fn binary() -> PathBuf {
    static BINARY: OnceLock<PathBuf> = OnceLock::new();
    BINARY
        .get_or_init(|| {
            if let Some(path) = std::env::var_os("TOXIPROXY_SERVER") {
                return PathBuf::from(path);
            }
            let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/install-toxiproxy.sh");
            let output = Command::new("bash")
                .arg(&script)
                .stderr(Stdio::inherit())
                .output()
                .unwrap_or_else(|e| panic!("cannot run {}: {e}", script.display()));
            assert!(
                output.status.success(),
                "{} failed ({}): toxiproxy-server is needed by the fault tests",
                script.display(),
                output.status
            );
            let path = PathBuf::from(String::from_utf8_lossy(&output.stdout).trim());
            assert!(
                path.is_file(),
                "install-toxiproxy.sh printed {path:?}, which is not a file"
            );
            path
        })
        .clone()
}

/// One `toxiproxy-server` listening on a loopback port of its own; killed on drop.
pub struct Toxiproxy {
    child: Child,
    api: SocketAddr,
}

impl Toxiproxy {
    pub async fn start() -> Self {
        let binary = binary();
        // toxiproxy cannot be told to pick a port itself: take a free one and hand it over.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free loopback port")
            .port();
        let mut command = Command::new(&binary);
        command
            .args(["-host", "127.0.0.1", "-port", &port.to_string()])
            .stdin(Stdio::null())
            // One JSON line per connection and toxic: noise unless a test is being debugged.
            .stdout(Stdio::null())
            .stderr(if std::env::var_os("TOXIPROXY_LOG").is_some() {
                Stdio::inherit()
            } else {
                Stdio::null()
            });
        super::die_with_parent(&mut command);
        let child = command
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", binary.display()));
        let mut proxy = Toxiproxy {
            child,
            api: SocketAddr::from(([127, 0, 0, 1], port)),
        };
        proxy.wait_until_serving().await;
        proxy
    }

    async fn wait_until_serving(&mut self) {
        let deadline = tokio::time::Instant::now() + API_TIMEOUT;
        loop {
            if let Ok((200, _)) = request(self.api, "GET", "/version", None).await {
                return;
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!(
                    "toxiproxy-server exited at start ({status}); is port {} taken?",
                    self.api.port()
                );
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "toxiproxy-server did not answer on {} within {API_TIMEOUT:?}",
                self.api
            );
            // Poll pacing while the child starts, bounded by the deadline above.
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// A proxy on a fresh loopback port forwarding to `upstream`.
    pub async fn proxy(&self, name: &str, upstream: SocketAddr) -> Proxy {
        let body = json!({"name": name, "listen": "127.0.0.1:0", "upstream": upstream.to_string(), "enabled": true});
        let reply = expect_status(self.api, "POST", "/proxies", Some(body), 201).await;
        let listen = reply["listen"]
            .as_str()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("toxiproxy reported no listen address: {reply}"));
        Proxy {
            api: self.api,
            name: name.to_owned(),
            listen,
        }
    }
}

impl Drop for Toxiproxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Which direction a toxic acts on: `Upstream` is client → server, `Downstream` server → client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    Upstream,
    Downstream,
}

impl Direction {
    pub const BOTH: [Direction; 2] = [Direction::Upstream, Direction::Downstream];

    fn as_str(self) -> &'static str {
        match self {
            Direction::Upstream => "upstream",
            Direction::Downstream => "downstream",
        }
    }
}

/// The toxics the fault tests use, with toxiproxy's attribute units.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Toxic {
    /// Every chunk is held for `ms` (± `jitter_ms`).
    Latency { ms: u64, jitter_ms: u64 },
    /// At most `kb_per_s` KB per second.
    Bandwidth { kb_per_s: u64 },
    /// The first data after `after_ms` is answered with a TCP RST.
    ResetPeer { after_ms: u64 },
    /// Data is dropped on the floor; with `close_after_ms == 0` the socket never closes (a black hole).
    Timeout { close_after_ms: u64 },
    /// Data is cut into segments of `average_bytes` (± `variation_bytes`), `delay_us` apart.
    Slicer {
        average_bytes: u64,
        variation_bytes: u64,
        delay_us: u64,
    },
}

impl Toxic {
    fn kind_and_attributes(self) -> (&'static str, Value) {
        match self {
            Toxic::Latency { ms, jitter_ms } => ("latency", json!({"latency": ms, "jitter": jitter_ms})),
            Toxic::Bandwidth { kb_per_s } => ("bandwidth", json!({"rate": kb_per_s})),
            Toxic::ResetPeer { after_ms } => ("reset_peer", json!({"timeout": after_ms})),
            Toxic::Timeout { close_after_ms } => ("timeout", json!({"timeout": close_after_ms})),
            Toxic::Slicer {
                average_bytes,
                variation_bytes,
                delay_us,
            } => (
                "slicer",
                json!({"average_size": average_bytes, "size_variation": variation_bytes, "delay": delay_us}),
            ),
        }
    }
}

/// One proxy of a [`Toxiproxy`]; clients connect to `listen`.
pub struct Proxy {
    api: SocketAddr,
    name: String,
    pub listen: SocketAddr,
}

impl Proxy {
    pub fn ws_url(&self) -> String {
        format!("ws://{}{}", self.listen, natter_protocol::WS_PATH)
    }

    /// Adds `toxic` on `direction` under `name` (unique per proxy); it acts on open connections too.
    pub async fn add(&self, name: &str, direction: Direction, toxic: Toxic) {
        let (kind, attributes) = toxic.kind_and_attributes();
        let body = json!({
            "name": name,
            "type": kind,
            "stream": direction.as_str(),
            "toxicity": 1.0,
            "attributes": attributes,
        });
        let path = format!("/proxies/{}/toxics", self.name);
        expect_status(self.api, "POST", &path, Some(body), 200).await;
    }

    /// Adds `toxic` on both directions, named `<name>-upstream` and `<name>-downstream`.
    pub async fn add_both(&self, name: &str, toxic: Toxic) {
        for direction in Direction::BOTH {
            self.add(&format!("{name}-{}", direction.as_str()), direction, toxic)
                .await;
        }
    }

    pub async fn remove(&self, name: &str) {
        let path = format!("/proxies/{}/toxics/{name}", self.name);
        expect_status(self.api, "DELETE", &path, None, 204).await;
    }

    pub async fn remove_both(&self, name: &str) {
        for direction in Direction::BOTH {
            self.remove(&format!("{name}-{}", direction.as_str())).await;
        }
    }
}

async fn expect_status(api: SocketAddr, method: &str, path: &str, body: Option<Value>, status: u16) -> Value {
    match request(api, method, path, body).await {
        Ok((got, reply)) if got == status => reply,
        Ok((got, reply)) => panic!("toxiproxy {method} {path}: HTTP {got} (wanted {status}): {reply}"),
        Err(e) => panic!("toxiproxy {method} {path}: {e}"),
    }
}

/// One HTTP/1.1 exchange with `Connection: close`, bounded by [`API_TIMEOUT`].
async fn request(api: SocketAddr, method: &str, path: &str, body: Option<Value>) -> std::io::Result<(u16, Value)> {
    let body = body.map(|b| b.to_string()).unwrap_or_default();
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {api}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    let exchange = async {
        let mut stream = TcpStream::connect(api).await?;
        stream.write_all(head.as_bytes()).await?;
        stream.write_all(body.as_bytes()).await?;
        let mut raw = Vec::new();
        stream.read_to_end(&mut raw).await?;
        parse_response(&raw)
    };
    tokio::time::timeout(API_TIMEOUT, exchange)
        .await
        .map_err(|_| std::io::Error::new(std::io::ErrorKind::TimedOut, "toxiproxy API timed out"))?
}
