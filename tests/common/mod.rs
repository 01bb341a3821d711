//! Shared helpers for the integration tests: a real `natter-server` on a loopback port, clients
//! with test-friendly timings, and event waiting with deadlines (never sleeps).
#![allow(dead_code)]

pub mod fake;
pub mod toxiproxy;

use natter::{ChatClient, ChatConfig, ChatEvent, KickType, NetReason, NetState, Platform};
use natter_server::{ServerConfig, ServerHandle};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::mpsc::UnboundedReceiver;

/// Upper bound for anything that should happen "soon" on loopback.
pub const SOON: Duration = Duration::from_secs(10);

pub async fn server() -> ServerHandle {
    server_with(|_| {}).await
}

pub async fn server_with(configure: impl FnOnce(&mut ServerConfig)) -> ServerHandle {
    // RUST_LOG=debug shows the client core's and the server's logs while debugging a test.
    let _ = env_logger::builder().is_test(true).try_init();
    let mut config = ServerConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        ..ServerConfig::default()
    };
    configure(&mut config);
    natter_server::start(config).await.expect("server starts")
}

pub fn config_for(server: &ServerHandle, platform: Platform) -> ChatConfig {
    let mut c = ChatConfig::new(server.config().sdk_app_id)
        .with_server_url(server.ws_url())
        .with_platform(platform);
    c.reconnect_min_delay = Duration::from_millis(50);
    c.reconnect_max_delay = Duration::from_millis(400);
    c.request_timeout = Duration::from_secs(5);
    c.login_timeout = Duration::from_secs(10);
    c
}

/// A client plus the stream of its events, recorded from before its first call.
pub struct TestClient {
    pub client: ChatClient,
    pub events: Events,
}

pub fn client(server: &ServerHandle, platform: Platform) -> TestClient {
    client_with(config_for(server, platform))
}

pub fn client_with(config: ChatConfig) -> TestClient {
    let client = ChatClient::new(config).expect("valid config");
    let events = Events(client.events());
    TestClient { client, events }
}

impl TestClient {
    /// Logs in with a fresh UserSig and waits for `SDK_READY`.
    pub async fn login_ready(&mut self, server: &ServerHandle, user: &str) {
        let result = self
            .client
            .login(user, &server.user_sig(user, 3600))
            .await
            .expect("login succeeds");
        assert!(!result.repeat_login);
        self.events.expect_next(ChatEvent::SdkReady).await;
    }
}

pub struct Events(pub UnboundedReceiver<ChatEvent>);

impl Events {
    /// The next event, a net-state change reduced to its state (see [`plain`]).
    pub async fn next(&mut self) -> ChatEvent {
        plain(self.next_raw().await)
    }

    /// The next event as delivered, `reason` and `retry_in_ms` included.
    pub async fn next_raw(&mut self) -> ChatEvent {
        tokio::time::timeout(SOON, self.0.recv())
            .await
            .expect("an event arrives in time")
            .expect("the event stream stays open")
    }

    /// The next event other than a net-state change must be `expected`.
    pub async fn expect_next(&mut self, expected: ChatEvent) {
        let got = self.next_non_net().await;
        assert_eq!(got, expected);
    }

    pub async fn next_non_net(&mut self) -> ChatEvent {
        loop {
            match self.next().await {
                ChatEvent::NetStateChange { .. } => continue,
                other => return other,
            }
        }
    }

    /// Waits for `wanted`, returning every event seen before it.
    pub async fn until(&mut self, wanted: &ChatEvent) -> Vec<ChatEvent> {
        let mut seen = vec![];
        loop {
            let e = self.next().await;
            if &e == wanted {
                return seen;
            }
            seen.push(e);
        }
    }

    pub async fn expect_kicked(&mut self, kick_type: KickType) {
        self.expect_next(ChatEvent::KickedOut { kick_type }).await;
        self.expect_next(ChatEvent::SdkNotReady).await;
    }

    /// Events already delivered, without waiting (net-state changes reduced, see [`plain`]).
    pub fn drain(&mut self) -> Vec<ChatEvent> {
        std::iter::from_fn(|| self.0.try_recv().ok()).map(plain).collect()
    }
}

/// A net-state change compared by its state only: most tests check the order of states, and
/// the tests of `reason` / `retryInMs` read the raw events.
pub fn net(state: NetState) -> ChatEvent {
    ChatEvent::NetStateChange {
        state,
        reason: NetReason::LinkLost,
        retry_in_ms: None,
    }
}

/// `event` with a net-state change's `reason` and `retry_in_ms` replaced as in [`net`].
pub fn plain(event: ChatEvent) -> ChatEvent {
    match event {
        ChatEvent::NetStateChange { state, .. } => net(state),
        other => other,
    }
}

/// Online status of `user` as the server's admin REST API reports it.
pub async fn online_platforms(server: &ServerHandle, user: &str) -> Vec<String> {
    let reply = natter_server::admin::query_online_status(server, &[user], true)
        .await
        .expect("REST reachable");
    assert_eq!(reply["ActionStatus"], "OK", "{reply}");
    let entry = &reply["QueryResult"][0];
    assert_eq!(entry["To_Account"], user);
    entry["Detail"]
        .as_array()
        .map(|d| {
            d.iter()
                .map(|i| i["Platform"].as_str().unwrap_or_default().to_owned())
                .collect()
        })
        .unwrap_or_default()
}

/// Waits until the server reports exactly `count` online instances of `user`.
pub async fn wait_online_count(server: &ServerHandle, user: &str, count: usize) {
    let deadline = tokio::time::Instant::now() + SOON;
    loop {
        if online_platforms(server, user).await.len() == count {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{user} never reached {count} online instances"
        );
        // Poll pacing for a condition with a deadline, not a stand-in for synchronisation.
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A TCP relay between clients and a server that can black-hole all traffic, keeping sockets
/// open: what a dead mobile link looks like to both ends.
pub struct BlackholeProxy {
    pub addr: std::net::SocketAddr,
    frozen: Arc<AtomicBool>,
    task: tokio::task::JoinHandle<()>,
}

impl BlackholeProxy {
    pub async fn start(target: std::net::SocketAddr) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let frozen = Arc::new(AtomicBool::new(false));
        let flag = frozen.clone();
        let task = tokio::spawn(async move {
            while let Ok((inbound, _)) = listener.accept().await {
                let Ok(outbound) = tokio::net::TcpStream::connect(target).await else {
                    continue;
                };
                let (ri, wi) = inbound.into_split();
                let (ro, wo) = outbound.into_split();
                tokio::spawn(pump(ri, wo, flag.clone()));
                tokio::spawn(pump(ro, wi, flag.clone()));
            }
        });
        BlackholeProxy { addr, frozen, task }
    }

    pub fn set_frozen(&self, frozen: bool) {
        self.frozen.store(frozen, Ordering::SeqCst);
    }
}

/// Copies bytes until either side closes; while frozen, bytes are read and dropped, and a close
/// is swallowed too (a dead network carries no FIN either): the other side stays open.
async fn pump(mut from: impl AsyncRead + Unpin, mut to: impl AsyncWrite + Unpin, frozen: Arc<AtomicBool>) {
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let n = match from.read(&mut buf).await {
            Ok(0) | Err(_) if frozen.load(Ordering::SeqCst) => {
                // Held open until the test's runtime ends.
                std::future::pending::<()>().await;
                drop(to);
                return;
            }
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        if !frozen.load(Ordering::SeqCst) && to.write_all(&buf[..n]).await.is_err() {
            return;
        }
    }
}

impl Drop for BlackholeProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Makes a child process (toxiproxy, a server binary) die with the test instead of outliving a
/// test that panicked or was killed. The signal follows the *thread* that spawned the child, so
/// spawn from the test's own thread, not from a pool thread that may exit early.
pub fn die_with_parent(command: &mut std::process::Command) {
    use std::os::unix::process::CommandExt;
    // SAFETY: prctl is async-signal-safe and touches only the child's own state.
    unsafe {
        command.pre_exec(|| {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) == -1 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
}
