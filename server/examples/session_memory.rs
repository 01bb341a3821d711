//! Measurement (not a test): the server's resident memory per session, in stages, so the bytes
//! can be attributed.
//!
//!     cargo run --release -p natter-server --example session_memory -- [--sessions N] [--sources K]
//!
//! N defaults to 10,000 (quick); 100,000 is the full run (needs a hard RLIMIT_NOFILE above N + 64
//! for the server and for this program, and a few GB of memory). The server runs as a child
//! process (this program re-executed with `--serve`), so `/proc/<pid>/status` tells its memory
//! apart from the clients'. Clients connect from 127.0.0.2 … 127.0.0.(K+1) (default: one source
//! per 20,000 sessions; each source address has ~28k ephemeral ports towards one server port).
//!
//! Stages, each the RSS growth over the idle server divided by N:
//!   upgraded  TCP accepted, WebSocket upgraded, no login yet (connection task + WebSocket buffers)
//!   online    logged in (+ registry entry, kick channel, expiry timer, online-loop state)
//!   heartbeat after one ping/pong each (+ whatever the first reply leaves allocated)

use futures_util::{stream, SinkExt, StreamExt};
use natter_server::{ServerConfig, DEV_SDK_APP_ID};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Ipv4Addr, SocketAddr};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use tokio::net::TcpSocket;
use tokio_tungstenite::tungstenite::Message;

type Ws = tokio_tungstenite::WebSocketStream<tokio::net::TcpStream>;

/// Connections or logins in flight at once (the accept queue is 1024 deep).
const IN_FLIGHT: usize = 256;
/// Sessions one source address carries (its ephemeral port range is ~28k).
const PER_SOURCE: usize = 20_000;
/// Descriptors the server needs beyond one per session.
const FD_HEADROOM: u64 = 64;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("--serve") {
        serve();
        return;
    }
    let flag = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .map(|v| {
                v.parse::<usize>()
                    .unwrap_or_else(|_| fail(&format!("{name} needs a number")))
            })
    };
    let sessions = flag("--sessions").unwrap_or(10_000);
    let sources = flag("--sources").unwrap_or(sessions.div_ceil(PER_SOURCE)).max(1);
    if sources > 250 {
        fail("--sources must be at most 250 (127.0.0.2 … 127.0.0.251)");
    }
    let limit = natter_server::fd_limit::raise_to_hard().unwrap_or_else(|e| fail(&format!("RLIMIT_NOFILE: {e}")));
    if limit.soft < sessions as u64 + FD_HEADROOM {
        fail(&format!(
            "{sessions} sessions need a file-descriptor limit of at least {} in this program and in the server, \
             but the hard limit here is {} (raise it: ulimit -Hn / LimitNOFILE=, or run fewer --sessions)",
            sessions as u64 + FD_HEADROOM,
            limit.hard
        ));
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(measure(sessions, sources));
}

fn fail(why: &str) -> ! {
    eprintln!("session_memory: {why}");
    std::process::exit(2);
}

/// The child: a server with every per-source and time limit out of the way, until stdin closes.
fn serve() {
    let _ = natter_server::fd_limit::raise_to_hard();
    let config = ServerConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        max_connections: 0,
        max_connections_per_source: 0,
        max_failed_logins: 0,
        handshake_timeout: Duration::from_secs(3600),
        idle_timeout: Duration::from_secs(3600),
        ..ServerConfig::default()
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let server = natter_server::start(config).await.expect("server starts");
        println!("{}", server.local_addr());
        let _ = std::io::stdout().flush();
        // Stdin closes when the parent exits or is done.
        tokio::task::spawn_blocking(|| {
            let mut sink = Vec::new();
            let _ = std::io::stdin().read_to_end(&mut sink);
        })
        .await
        .unwrap();
        server.shutdown().await;
    });
}

struct Child {
    child: std::process::Child,
    addr: SocketAddr,
    /// Kept open so a wrapper's last words do not meet a closed pipe.
    _stdout: BufReader<std::process::ChildStdout>,
}

impl Child {
    /// `SESSION_MEMORY_WRAP` (e.g. `heaptrack -o /tmp/server`) runs the server child under that
    /// command, to see what holds the bytes; the RSS figures are then the wrapper's, not the
    /// server's.
    fn start() -> Child {
        let exe = std::env::current_exe().unwrap();
        let wrap = std::env::var("SESSION_MEMORY_WRAP").unwrap_or_default();
        let mut words = wrap.split_whitespace();
        let mut command = match words.next() {
            Some(program) => {
                let mut c = Command::new(program);
                c.args(words).arg(&exe);
                c
            }
            None => Command::new(&exe),
        };
        let mut child = command
            .arg("--serve")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("server child starts");
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        // A wrapper may print lines of its own first.
        let addr = loop {
            let mut line = String::new();
            if stdout.read_line(&mut line).unwrap_or(0) == 0 {
                fail("the server child exited before printing its address");
            }
            if let Ok(addr) = line.trim().parse() {
                break addr;
            }
        };
        Child {
            child,
            addr,
            _stdout: stdout,
        }
    }

    /// `VmRSS` of the server, in KiB.
    fn rss_kib(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap();
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .expect("VmRSS")
    }

    /// RSS once it has stopped moving (the server finishes its work a little after the replies).
    async fn settled_rss_kib(&self) -> u64 {
        let mut last = self.rss_kib();
        for _ in 0..50 {
            tokio::time::sleep(Duration::from_millis(100)).await;
            let now = self.rss_kib();
            if now == last {
                return now;
            }
            last = now;
        }
        last
    }
}

impl Drop for Child {
    fn drop(&mut self) {
        drop(self.child.stdin.take());
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Kernel memory the machine's TCP sockets take, in KiB: the socket structures (slab, which the
/// kernel reports machine-wide only) and the TCP buffers in use (`/proc/net/sockstat` `mem`, pages).
/// Both ends of every session are on this machine, so per socket = delta / (2 N); other processes'
/// activity makes it approximate.
fn kernel_kib() -> (u64, u64) {
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let slab = meminfo
        .lines()
        .find_map(|l| l.strip_prefix("Slab:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0);
    let sockstat = std::fs::read_to_string("/proc/net/sockstat").unwrap_or_default();
    let pages: u64 = sockstat
        .lines()
        .find(|l| l.starts_with("TCP:"))
        .and_then(|l| l.split_whitespace().skip_while(|w| *w != "mem").nth(1)?.parse().ok())
        .unwrap_or(0);
    (slab, pages * 4)
}

async fn connect(server: SocketAddr, source: Ipv4Addr) -> Ws {
    let socket = TcpSocket::new_v4().expect("socket");
    socket.bind(SocketAddr::from((source, 0))).expect("bind source");
    let tcp = socket.connect(server).await.expect("connect");
    let url = format!("ws://{server}/ws");
    let (ws, _) = tokio_tungstenite::client_async(url, tcp).await.expect("upgrade");
    ws
}

/// Next text frame (skipping control frames), bounded.
async fn next_text(ws: &mut Ws) -> String {
    loop {
        let msg = tokio::time::timeout(Duration::from_secs(30), ws.next())
            .await
            .expect("reply in time")
            .expect("open")
            .expect("no error");
        if let Message::Text(t) = msg {
            return t.to_string();
        }
    }
}

async fn measure(sessions: usize, sources: usize) {
    let server = Child::start();
    let idle = server.settled_rss_kib().await;
    let kernel_idle = kernel_kib();
    let addr = server.addr;
    let started = Instant::now();
    let source = |i: usize| Ipv4Addr::new(127, 0, 0, 2 + (i % sources) as u8);
    let mut sockets: Vec<Ws> = stream::iter(0..sessions)
        .map(|i| connect(addr, source(i)))
        .buffer_unordered(IN_FLIGHT)
        .collect()
        .await;
    let upgraded = server.settled_rss_kib().await;
    let connect_time = started.elapsed();

    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let started = Instant::now();
    stream::iter(sockets.iter_mut().enumerate())
        .for_each_concurrent(IN_FLIGHT, |(i, ws)| async move {
            let user = format!("u{i}");
            let sig =
                natter_server::usersig::generate(DEV_SDK_APP_ID, natter_server::DEV_SECRET_KEY, &user, 86_400, now)
                    .unwrap();
            let login = serde_json::json!({"type": "login", "id": 1, "version": natter_protocol::PROTOCOL_VERSION,
                "sdkAppId": DEV_SDK_APP_ID, "userId": user, "userSig": sig, "platform": "web",
                "instanceId": format!("i{i}"), "resume": false});
            ws.send(Message::text(login.to_string())).await.expect("send login");
            let reply = next_text(ws).await;
            assert!(reply.contains("\"loginOk\""), "login {i}: {reply}");
        })
        .await;
    let online = server.settled_rss_kib().await;
    let kernel_online = kernel_kib();
    let login_time = started.elapsed();

    stream::iter(sockets.iter_mut())
        .for_each_concurrent(IN_FLIGHT, |ws| async move {
            ws.send(Message::text(r#"{"type":"ping","id":2}"#))
                .await
                .expect("send ping");
            let reply = next_text(ws).await;
            assert!(reply.contains("\"pong\""), "{reply}");
        })
        .await;
    let heartbeat = server.settled_rss_kib().await;

    let per = |kib: u64| (kib.saturating_sub(idle) as f64 * 1024.0 / sessions as f64).round();
    println!("natter-server resident memory, {sessions} sessions from {sources} source address(es)");
    println!("  idle server            {idle:>9} KiB");
    println!(
        "  upgraded, no login     {upgraded:>9} KiB  {:>7} B/session  (connect+upgrade {:.1} s)",
        per(upgraded),
        connect_time.as_secs_f64()
    );
    println!(
        "  online                 {online:>9} KiB  {:>7} B/session  (logins {:.1} s)",
        per(online),
        login_time.as_secs_f64()
    );
    println!(
        "  after one heartbeat    {heartbeat:>9} KiB  {:>7} B/session",
        per(heartbeat)
    );
    println!("  login adds             {:>9} B/session", per(online) - per(upgraded));
    println!(
        "  of which the session task's future (inline, this build) {} B",
        natter_server::session_future_bytes()
    );
    let per_socket = |after: u64, before: u64| after.saturating_sub(before) as f64 * 1024.0 / (2.0 * sessions as f64);
    println!(
        "  kernel, per TCP socket (machine-wide, approximate): slab {:.0} B, buffers in use {:.0} B",
        per_socket(kernel_online.0, kernel_idle.0),
        per_socket(kernel_online.1, kernel_idle.1)
    );
    drop(sockets);
    drop(server);
}
