//! The listener and accept loop. One TCP listener serves both the REST API and the WebSocket
//! endpoint: each accepted connection takes a per-source slot; its first request head is read
//! here (`request_head`): a Natter WebSocket upgrade is answered on the stream directly, anything
//! else goes to hyper (HTTP/1.1, with upgrades) and the axum router.

use crate::accept_shard;
use crate::cluster::ClusterNode;
use crate::fd_table::Ended;
use crate::limits::Refusal;
use crate::metrics::ConnectionRefusal;
use crate::prefixed_stream::PrefixedStream;
use crate::request_head::{self, HeadRead};
use crate::state::{ConnInfo, Engine, Shared};
use crate::{metrics_listener, router, usersig, ws, ServerConfig};
use hyper::body::Incoming;
use hyper::Request;
use hyper_util::rt::{TokioIo, TokioTimer};
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::time::{timeout_at, Instant};
use tower::ServiceExt;

/// Lifetime of the admin UserSig minted by [`ServerHandle::admin_sig`].
const ADMIN_SIG_SECS: u64 = 24 * 3600;
/// Refusals (429/503) answered at once; beyond that a refused connection is just closed, so a
/// flood cannot pin file descriptors in the 1 s refusal linger.
const MAX_REFUSALS_IN_FLIGHT: usize = 32;

/// A running server. Dropping it without [`ServerHandle::shutdown`] stops it without waiting.
#[derive(Debug)]
pub struct ServerHandle {
    shared: Arc<Shared>,
    local_addr: SocketAddr,
    metrics_addr: Option<SocketAddr>,
    /// The accept shards' threads (empty without `accept_shards`).
    shards: Vec<Ended>,
}

/// Binds `config.listen` and starts serving in the background.
pub async fn start(config: ServerConfig) -> std::io::Result<ServerHandle> {
    check_accept_shards(&config)?;
    // Before anything is bound: each shard's table is a copy of this one.
    let detached = accept_shard::detach(config.accept_shards)?;
    let listener = bind(config.listen, config.accept_shards > 0)?;
    let local_addr = listener.local_addr()?;
    let engine = match config.redis_url.clone() {
        None => Engine::memory(&config),
        Some(url) => ClusterNode::engine(&config, &url)
            .await
            .map_err(|e| std::io::Error::other(format!("cannot reach the Redis session directory: {e}")))?,
    };
    let shared = Shared::with_engine(config, engine);
    if let Some(cluster) = &shared.cluster {
        cluster
            .spawn(Arc::clone(&shared.sessions), &shared.cancel, &shared.tracker)
            .await;
        tracing::info!(node = %shared.node, prefix = %shared.config.effective_redis_prefix(), "joined the cluster (Redis session directory)");
    }
    let metrics_addr = match shared.config.metrics_listen {
        Some(addr) => {
            let limits = Arc::clone(&shared.limits);
            let open = Arc::new(move || limits.total());
            let cancel = shared.cancel.clone();
            Some(metrics_listener::start(addr, Arc::clone(&shared.metrics), open, cancel, &shared.tracker).await?)
        }
        None => None,
    };
    tracing::info!(%local_addr, node = %shared.node, sdk_app_id = shared.config.sdk_app_id, policy = %shared.config.policy, "natter-server listening");
    shared.tracker.spawn(accept_loop(Arc::clone(&shared), listener));
    let shards = match detached.listen(&shared, local_addr) {
        Ok(shards) => shards,
        Err(e) => {
            shared.shut_down();
            shared.tracker.close();
            return Err(e);
        }
    };
    if !shards.is_empty() {
        tracing::info!(
            shards = shards.len(),
            "accept shards listening (one file-descriptor table each)"
        );
    }
    Ok(ServerHandle {
        shared,
        local_addr,
        metrics_addr,
        shards,
    })
}

/// What `accept_shards` needs, checked before anything binds.
fn check_accept_shards(config: &ServerConfig) -> std::io::Result<()> {
    match config.accept_shards_problem() {
        None => Ok(()),
        Some(why) => Err(std::io::Error::new(std::io::ErrorKind::InvalidInput, why)),
    }
}

// SO_REUSEADDR so a restarted server can take the port back while old sockets sit in TIME_WAIT;
// SO_REUSEPORT (accept shards only) so every shard listens on the same port.
pub(crate) fn bind(addr: SocketAddr, reuse_port: bool) -> std::io::Result<TcpListener> {
    let socket = if addr.is_ipv4() {
        TcpSocket::new_v4()?
    } else {
        TcpSocket::new_v6()?
    };
    socket.set_reuseaddr(true)?;
    #[cfg(unix)]
    if reuse_port {
        socket.set_reuseport(true)?;
    }
    #[cfg(not(unix))]
    let _ = reuse_port;
    socket.bind(addr)?;
    socket.listen(1024)
}

pub(crate) async fn accept_loop(shared: Arc<Shared>, listener: TcpListener) {
    let router = router::router(Arc::clone(&shared));
    // Accept first: under load a connection is usually waiting, and the cancellation future
    // (a mutex every task of the node shares) is then never polled; the flag check keeps a
    // stream of connections from hiding a shutdown.
    while !shared.cancel.is_cancelled() {
        let accepted = tokio::select! {
            biased;
            r = listener.accept() => r,
            _ = shared.cancel.cancelled() => break,
        };
        match accepted {
            Ok((stream, peer)) => match shared.limits.try_acquire(peer.ip()) {
                Ok(slot) => {
                    shared.metrics.connection_accepted();
                    let info = ConnInfo {
                        peer,
                        accepted: Instant::now(),
                        _slot: Arc::new(slot),
                    };
                    shared
                        .tracker
                        .spawn(serve_connection(Arc::clone(&shared), router.clone(), stream, info));
                }
                Err(refusal) => {
                    shared.metrics.connection_refused(match refusal {
                        Refusal::Source => ConnectionRefusal::Source,
                        Refusal::Global => ConnectionRefusal::Global,
                    });
                    if refusal == Refusal::Global {
                        tracing::warn!(%peer, max = shared.config.max_connections, "connection cap reached; answering 503");
                    } else {
                        tracing::warn!(%peer, "too many connections from this source; answering 429");
                    }
                    let in_flight = Arc::clone(&shared.refusals_in_flight);
                    if in_flight.fetch_add(1, Ordering::AcqRel) < MAX_REFUSALS_IN_FLIGHT {
                        shared.tracker.spawn(async move {
                            refuse_busy(stream, refusal).await;
                            in_flight.fetch_sub(1, Ordering::AcqRel);
                        });
                    } else {
                        in_flight.fetch_sub(1, Ordering::AcqRel);
                        drop(stream);
                    }
                }
            },
            Err(e) => {
                // Usually fd exhaustion: back off instead of spinning.
                tracing::warn!(error = %e, "accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
    tracing::debug!("accept loop stopped");
}

async fn serve_connection(shared: Arc<Shared>, router: axum::Router, mut stream: TcpStream, info: ConnInfo) {
    let _ = stream.set_nodelay(true);
    // The whole first head within the handshake timeout, or the connection is cut (slowloris;
    // also a connection that sends nothing at all).
    let deadline = info.accepted + shared.config.handshake_timeout;
    let mut buf = Vec::new();
    let read = tokio::select! {
        _ = shared.cancel.cancelled() => return,
        r = timeout_at(deadline, request_head::read(&mut stream, &mut buf, shared.config.header_login)) => r,
    };
    match read {
        Err(_) => tracing::debug!("no request within the handshake timeout; closing"),
        Ok(Err(_)) | Ok(Ok(HeadRead::Closed)) => {}
        Ok(Ok(HeadRead::Complete {
            head_len,
            upgrade: Some(upgrade),
        })) => {
            let leftover = buf.split_off(head_len);
            drop(buf);
            ws::accept(shared, stream, leftover, upgrade, info).await;
        }
        Ok(Ok(HeadRead::Complete { upgrade: None, .. } | HeadRead::ForHyper)) => {
            Box::pin(serve_http(shared, router, PrefixedStream::replaying(stream, buf), info)).await
        }
    }
}

/// Everything but the Natter upgrade: hyper (HTTP/1.1 keep-alive, upgrades for the vendor wire)
/// and the router, from the first head's bytes on.
async fn serve_http(shared: Arc<Shared>, router: axum::Router, stream: PrefixedStream, info: ConnInfo) {
    let svc = hyper::service::service_fn(move |mut req: Request<Incoming>| {
        req.extensions_mut().insert(info.clone());
        router.clone().oneshot(req)
    });
    let conn = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(shared.config.handshake_timeout)
        .serve_connection(TokioIo::new(stream), svc)
        .with_upgrades();
    tokio::pin!(conn);
    tokio::select! {
        r = conn.as_mut() => {
            if let Err(e) = r {
                tracing::debug!(error = %e, "http connection ended with an error");
            }
            return;
        }
        _ = shared.cancel.cancelled() => conn.as_mut().graceful_shutdown(),
    }
    if let Err(e) = conn.await {
        tracing::debug!(error = %e, "http connection ended with an error");
    }
}

// Refused before any HTTP parsing: answer 429 (this source) or 503 (the whole server) with the
// 60022 body and linger briefly so the client reads it.
async fn refuse_busy(mut stream: TcpStream, refusal: Refusal) {
    let (status, info) = match refusal {
        Refusal::Source => ("429 Too Many Requests", "too many connections from this source"),
        Refusal::Global => ("503 Service Unavailable", "server at its connection limit"),
    };
    let body = format!(r#"{{"ActionStatus":"FAIL","ErrorCode":60022,"ErrorInfo":"{info}"}}"#);
    let resp = format!(
        "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let linger = async {
        stream.write_all(resp.as_bytes()).await?;
        stream.shutdown().await?;
        let mut buf = [0u8; 1024];
        while stream.read(&mut buf).await? > 0 {}
        Ok::<_, std::io::Error>(())
    };
    let _ = tokio::time::timeout(Duration::from_secs(1), linger).await;
}

impl ServerHandle {
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// `ws://HOST:PORT/ws`.
    pub fn ws_url(&self) -> String {
        format!("ws://{}{}", self.local_addr, natter_protocol::WS_PATH)
    }

    pub fn config(&self) -> &ServerConfig {
        &self.shared.config
    }

    /// Where `GET /metrics` is served, when `metrics_listen` is set.
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics_addr
    }

    /// The server's Unix clock in ms, skew included.
    pub fn server_time_ms(&self) -> i64 {
        self.shared.now_ms()
    }

    /// A UserSig for `user_id` of this server's app, issued at the server's (skewed) now; refuses
    /// a `user_id` outside the identifier rule.
    pub fn try_user_sig(&self, user_id: &str, expire_secs: u64) -> Result<String, usersig::UserSigError> {
        let c = &self.shared.config;
        usersig::generate(
            c.sdk_app_id,
            &c.secret_key,
            user_id,
            expire_secs,
            self.shared.now_unix(),
        )
    }

    /// [`Self::try_user_sig`] for callers (tests, tools) that only pass valid identifiers.
    ///
    /// # Panics
    /// If `user_id` is not 1–32 characters of `[A-Za-z0-9_-]` (a bug in the caller).
    pub fn user_sig(&self, user_id: &str, expire_secs: u64) -> String {
        self.try_user_sig(user_id, expire_secs)
            .unwrap_or_else(|e| panic!("cannot mint a UserSig for {user_id:?}: {e}"))
    }

    /// Kicked instances the directory currently remembers (bounded by the kick memory limits;
    /// with Redis, across the cluster). 0 if the directory cannot be reached.
    pub async fn remembered_kicks(&self) -> usize {
        self.shared.directory.remembered_kicks().await.unwrap_or(0)
    }

    /// This node's id in the cluster (generated per start unless configured).
    pub fn node_id(&self) -> &str {
        &self.shared.node.0
    }

    /// WebSocket sessions whose socket this node holds.
    pub fn local_sessions(&self) -> usize {
        self.shared.sessions.len()
    }

    /// TCP connections currently holding a slot (REST, WebSocket, not yet identified).
    pub fn open_connections(&self) -> u32 {
        self.shared.limits.total()
    }

    /// A UserSig for the admin account (valid one day).
    pub fn admin_sig(&self) -> String {
        self.user_sig(&self.shared.config.admin_identifier, ADMIN_SIG_SECS)
    }

    /// Closes every client with 1001, stops accepting and waits for every task to end.
    pub async fn shutdown(mut self) {
        tracing::info!(addr = %self.local_addr, "shutting down");
        self.shared.shut_down();
        self.shared.tracker.close();
        self.shared.tracker.wait().await;
        for shard in std::mem::take(&mut self.shards) {
            shard.wait().await;
        }
        if let Some(cluster) = &self.shared.cluster {
            cluster.leave().await;
        }
    }
}

impl Drop for ServerHandle {
    fn drop(&mut self) {
        self.shared.shut_down();
        self.shared.tracker.close();
    }
}
