//! One WebSocket session: login within the handshake timeout, then ping/logout until the client
//! leaves, goes idle, is kicked, or the server shuts down.

use crate::directory::{Admission, AdmitError, ConnId, Control};
use crate::heartbeat_rtt::RttProbe;
use crate::local_sessions::{control_channel, ControlReceiver};
use crate::log_safe::Escaped;
use crate::login_refusal::LoginRefusal;
use crate::metrics::SessionGauge;
use crate::prefixed_stream::PrefixedStream;
use crate::request_head;
use crate::sig_renewal;
use crate::state::{ConnInfo, Shared};
use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::WebSocketUpgrade;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use futures_util::{SinkExt, StreamExt};
use natter_protocol::{
    code, header_login, identifier, ClientFrame, CloseCode, KickType, ServerFrame, SigLifetime, PROTOCOL_VERSION,
};
use serde_json::Value;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio::time::{timeout, timeout_at, Instant};
use tokio_tungstenite::WebSocketStream;
use tungstenite::protocol::frame::CloseFrame;
use tungstenite::protocol::{Role, WebSocketConfig};
use tungstenite::Message;

/// How long we keep reading after our close frame so the client gets it (no TCP reset).
const CLOSE_LINGER: Duration = Duration::from_secs(2);
/// A client that does not take a frame within this time is dropped.
const SEND_TIMEOUT: Duration = Duration::from_secs(10);
/// Allocated (and zero-filled) up front for every connection, the largest part of one: 1,000 B
/// holds any login frame (≈ 350 B with a vendor-format UserSig of ≈ 200 characters) or heartbeat;
/// a bigger frame (up to `max_frame_bytes`) grows it for that read (`tests/frame_sizes.rs`).
/// Measured by `examples/session_memory.rs` (release, 10k sessions): 8 KiB → 2 KiB took a
/// logged-in session from ~18.2 KB to ~12.1 KB of server RSS; 2 KiB → 1,000 B from 7.3 to 6.3 KiB.
/// Below 1,008 B glibc also serves it from its small bins, so it does not send every connection
/// through the large-chunk path (`malloc_consolidate` showed in the server's `perf` profile).
const READ_BUFFER: usize = 1000;
/// A flush threshold, not an allocation: the write buffer only grows to the frames queued.
const WRITE_BUFFER: usize = 8 * 1024;
const MAX_WRITE_BUFFER: usize = 128 * 1024;

/// The session's socket: tungstenite straight on the TCP stream (`request_head` took the
/// upgrade before any HTTP stack saw it).
type Socket = WebSocketStream<PrefixedStream>;

/// A WebSocket upgrade `request_head` accepted: answers the 101 and starts the session as a task
/// of its own (the connection's task, which read the head, then ends: the session's task then
/// holds only `run`'s future, the per-session memory measured in `session_size.rs`). A login in
/// the request's `x-natter-login` header (`natter_protocol::header_login`), taken when
/// `header_login` is on, is checked as the first frame; the 101 then says so and leaves in one
/// write with the login's reply. Without one the 101 goes at once: the client waits for it
/// before it sends its login frame.
pub(crate) async fn accept(
    shared: Arc<Shared>,
    mut stream: TcpStream,
    leftover: Vec<u8>,
    upgrade: request_head::Upgrade,
    info: ConnInfo,
) {
    let max = shared.config.max_frame_bytes;
    let header_login = upgrade.login.map(|v| HeaderLogin::decode(&v, max));
    let mut response = format!(
        "HTTP/1.1 101 Switching Protocols\r\nconnection: upgrade\r\nupgrade: websocket\r\nsec-websocket-accept: {}\r\n",
        upgrade.accept
    );
    if header_login.is_some() {
        response.push_str(header_login::LOGIN_ACCEPTED_HEADER);
        response.push_str(": ");
        response.push_str(header_login::LOGIN_ACCEPTED_VALUE);
        response.push_str("\r\n");
    }
    response.push_str("\r\n");
    let io = if header_login.is_some() {
        PrefixedStream::deferring(stream, response.into_bytes())
    } else {
        if !matches!(
            timeout(SEND_TIMEOUT, stream.write_all(response.as_bytes())).await,
            Ok(Ok(()))
        ) {
            return;
        }
        PrefixedStream::replaying(stream, Vec::new())
    };
    let config = WebSocketConfig::default()
        .read_buffer_size(READ_BUFFER)
        .write_buffer_size(WRITE_BUFFER)
        .max_write_buffer_size(MAX_WRITE_BUFFER.max(max * 2))
        .max_message_size(Some(max))
        .max_frame_size(Some(max));
    // Boxed before the session's future captures it: every future on the way (`run`, `online`,
    // `serve`) then carries a pointer, not the stream's few hundred bytes.
    let socket = Box::new(WebSocketStream::from_partially_read(io, leftover, Role::Server, Some(config)).await);
    let tracker = shared.tracker.clone();
    tracker.spawn(run(shared, socket, info, header_login));
}

/// `GET /ws` (and `/`) that reached the router: `request_head` takes every upgrade this server
/// accepts, so this request is not one. Answered with axum's rejection of it (400 with the
/// reason, as before) or, for an upgrade axum would take but we do not (HTTP/1.0, a body), 400.
pub(crate) async fn upgrade_refused(ws: Result<WebSocketUpgrade, WebSocketUpgradeRejection>) -> Response {
    match ws {
        Err(rejection) => rejection.into_response(),
        Ok(_) => (
            StatusCode::BAD_REQUEST,
            "a WebSocket upgrade needs HTTP/1.1 and no request body",
        )
            .into_response(),
    }
}

/// The login frame of an upgrade request's header, checked like a first text frame.
pub(crate) enum HeaderLogin {
    Text(String),
    /// Not base64url of UTF-8: a protocol error.
    Undecodable,
    /// Longer than `max_frame_bytes` once decoded, as a frame would be: close 4004.
    TooLarge,
}

impl HeaderLogin {
    fn decode(value: &[u8], max_frame_bytes: usize) -> HeaderLogin {
        if value.len() / 4 * 3 > max_frame_bytes {
            return HeaderLogin::TooLarge;
        }
        let text = std::str::from_utf8(value)
            .ok()
            .and_then(header_login::decode)
            .and_then(|bytes| String::from_utf8(bytes).ok());
        text.map_or(HeaderLogin::Undecodable, HeaderLogin::Text)
    }
}

pub(crate) enum Bad {
    NotJson,
    Malformed(Option<u64>),
}

/// Every frame that parses goes straight to a [`ClientFrame`] (once: no `Value` tree on the way);
/// only a frame that does not is parsed again, as before, to tell "not JSON" from "malformed"
/// and to find its `id`. A frame parses directly exactly when it did through `Value` (a duplicate
/// key, which `Value` resolves to the last, fails the direct parse and so is judged by the old
/// path), so every frame is answered as before.
pub(crate) fn parse(text: &str) -> Result<ClientFrame, Bad> {
    if let Ok(login) = serde_json::from_str::<DirectLogin>(text) {
        return Ok(login.into());
    }
    if let Ok(frame) = serde_json::from_str(text) {
        return Ok(frame);
    }
    let v: Value = serde_json::from_str(text).map_err(|_| Bad::NotJson)?;
    let id = v.get("id").and_then(Value::as_u64);
    serde_json::from_value(v).map_err(|_| Bad::Malformed(id))
}

/// A login read straight into its fields. `ClientFrame` is internally tagged, so serde first
/// buffers every entry of the object (a `Content` tree: a vector and a copy of each value) to
/// find `type`; the login is the one frame of every connection, so it skips that. A frame this
/// takes is a login with the same fields the tagged path gives (a duplicate key, another `type`
/// or a missing field fails here and goes the general way, which judges it as before).
#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct DirectLogin {
    #[serde(rename = "type")]
    _type: LoginTag,
    id: u64,
    version: u32,
    sdk_app_id: u64,
    user_id: String,
    user_sig: String,
    platform: natter_protocol::Platform,
    instance_id: String,
    #[serde(default)]
    resume: bool,
}

#[derive(serde::Deserialize)]
enum LoginTag {
    #[serde(rename = "login")]
    Login,
}

impl From<DirectLogin> for ClientFrame {
    fn from(l: DirectLogin) -> Self {
        ClientFrame::Login {
            id: l.id,
            version: l.version,
            sdk_app_id: l.sdk_app_id,
            user_id: l.user_id,
            user_sig: l.user_sig,
            platform: l.platform,
            instance_id: l.instance_id,
            resume: l.resume,
        }
    }
}

/// How a session ends (a close, a refusal, a kick): boxed, so that these one-off futures, each
/// holding the `Session` and a send, live on the heap only while they run instead of widening
/// the session task's future, which every idle session carries (`session_size.rs`).
type Ending<'a> = futures_util::future::BoxFuture<'a, ()>;

struct Session {
    shared: Arc<Shared>,
    socket: Box<Socket>,
    info: ConnInfo,
}

/// Why the read side stopped.
enum ReadEnd {
    /// The peer is gone or closed cleanly; nothing more to send.
    Gone,
    /// Send this close code (with a reason) and linger.
    Close(CloseCode, &'static str),
}

fn classify(err: tungstenite::Error) -> ReadEnd {
    match err {
        tungstenite::Error::Capacity(_) => ReadEnd::Close(CloseCode::FrameTooLarge, "frame too large"),
        // The peer closed TCP without a close frame: the connection is closed (RFC 6455 7.1.4), so
        // a 1002 and a linger task would go to nobody (a write, a reset and a task spawn per
        // dropped client).
        tungstenite::Error::Protocol(tungstenite::error::ProtocolError::ResetWithoutClosingHandshake) => ReadEnd::Gone,
        tungstenite::Error::Protocol(_) | tungstenite::Error::Utf8(_) => {
            ReadEnd::Close(CloseCode::ProtocolError, "websocket protocol error")
        }
        _ => ReadEnd::Gone,
    }
}

impl Session {
    async fn send(&mut self, frame: &ServerFrame) -> bool {
        let msg = Message::Text(frame.to_json().into());
        matches!(timeout(SEND_TIMEOUT, self.socket.send(msg)).await, Ok(Ok(())))
    }

    /// Sends a close frame, then keeps reading for a while in a detached task so the client
    /// receives the close (dropping a socket with unread input would reset it).
    fn close(self, code: CloseCode, reason: &'static str) -> Ending<'static> {
        Box::pin(self.close_inline(code, reason))
    }

    async fn close_inline(mut self, code: CloseCode, reason: &'static str) {
        tracing::debug!(peer = %self.info.peer, code = code.code(), reason, "closing");
        let frame = CloseFrame {
            code: code.code().into(),
            reason: reason.into(),
        };
        if !matches!(
            timeout(SEND_TIMEOUT, self.socket.send(Message::Close(Some(frame)))).await,
            Ok(Ok(()))
        ) {
            return;
        }
        let mut socket = self.socket;
        self.shared.tracker.spawn(async move {
            let deadline = Instant::now() + CLOSE_LINGER;
            let mut errors = 0u32;
            loop {
                match timeout_at(deadline, socket.next()).await {
                    Err(_) | Ok(None) => break,
                    Ok(Some(Ok(_))) => {}
                    Ok(Some(Err(_))) => {
                        // Garbage after a protocol error: give the client a moment, then drop.
                        errors += 1;
                        if errors > 64 {
                            tokio::time::sleep_until(deadline.min(Instant::now() + Duration::from_millis(200))).await;
                            break;
                        }
                    }
                }
            }
        });
    }

    fn protocol_error(self, id: Option<u64>, message: &str) -> Ending<'_> {
        Box::pin(self.protocol_error_inline(id, message))
    }

    async fn protocol_error_inline(mut self, id: Option<u64>, message: &str) {
        tracing::debug!(peer = %self.info.peer, message, "protocol error");
        let frame = ServerFrame::Error {
            id,
            code: code::PROTOCOL_ERROR,
            message: message.to_owned(),
        };
        if self.send(&frame).await {
            self.close_inline(CloseCode::ProtocolError, "protocol error").await;
        }
    }

    fn read_end(self, end: ReadEnd) -> Ending<'static> {
        match end {
            ReadEnd::Gone => Box::pin(std::future::ready(())),
            ReadEnd::Close(code, reason) => self.close(code, reason),
        }
    }

    /// Answers a peer's close: keep polling briefly so tungstenite flushes its close reply.
    fn finish(self) -> Ending<'static> {
        Box::pin(self.finish_inline())
    }

    async fn finish_inline(mut self) {
        let _ = timeout(CLOSE_LINGER, async {
            while let Some(Ok(_)) = self.socket.next().await {}
        })
        .await;
    }
}

struct Authed {
    id: u64,
    version: u32,
    user_id: String,
    instance_id: String,
    platform: natter_protocol::Platform,
    resume: bool,
    sig: SigLifetime,
}

/// Checks a first frame: the login, or the protocol error (request id, message) to answer.
fn first_login(text: &str) -> Result<ClientFrame, (Option<u64>, &'static str)> {
    match parse(text) {
        Ok(f @ ClientFrame::Login { .. }) => Ok(f),
        Ok(ClientFrame::Logout { id }) | Ok(ClientFrame::Ping { id }) | Ok(ClientFrame::RenewUserSig { id, .. }) => {
            Err((Some(id), "the first frame must be a login"))
        }
        Ok(ClientFrame::Unknown) => {
            let id = serde_json::from_str::<Value>(text)
                .ok()
                .and_then(|v| v.get("id").and_then(Value::as_u64));
            Err((id, "the first frame must be a login"))
        }
        Err(Bad::NotJson) => Err((None, "frame is not JSON")),
        Err(Bad::Malformed(id)) => Err((id, "malformed frame")),
    }
}

pub(crate) async fn run(shared: Arc<Shared>, socket: Box<Socket>, info: ConnInfo, header_login: Option<HeaderLogin>) {
    let mut s = Session { shared, socket, info };
    let deadline = s.info.accepted + s.shared.config.handshake_timeout;
    let mut from_header = header_login;
    let login = loop {
        // Taken in the upgrade request: checked exactly as a first frame.
        match from_header.take() {
            Some(HeaderLogin::Text(text)) => match first_login(&text) {
                Ok(f) => break f,
                Err((id, message)) => return s.protocol_error(id, message).await,
            },
            Some(HeaderLogin::Undecodable) => {
                return s
                    .protocol_error(None, "the x-natter-login header is not base64url JSON")
                    .await
            }
            Some(HeaderLogin::TooLarge) => return s.close(CloseCode::FrameTooLarge, "frame too large").await,
            None => {}
        }
        let msg = tokio::select! {
            _ = s.shared.cancel.cancelled() => return s.close(CloseCode::GoingAway, "server shutting down").await,
            r = timeout_at(deadline, s.socket.next()) => r,
        };
        let msg = match msg {
            Err(_) => {
                return s
                    .close(CloseCode::HandshakeTimeout, "no login within the handshake timeout")
                    .await
            }
            Ok(None) => return,
            Ok(Some(Err(e))) => return s.read_end(classify(e)).await,
            Ok(Some(Ok(m))) => m,
        };
        match msg {
            Message::Text(t) => match first_login(&t) {
                Ok(f) => break f,
                Err((id, message)) => return s.protocol_error(id, message).await,
            },
            Message::Binary(_) => return s.protocol_error(None, "binary frames are not supported").await,
            Message::Ping(_) | Message::Pong(_) | Message::Frame(_) => {}
            Message::Close(_) => return s.finish().await,
        }
    };
    let ClientFrame::Login {
        id,
        version,
        sdk_app_id,
        user_id,
        user_sig,
        platform,
        instance_id,
        resume,
    } = login
    else {
        return;
    };
    if version != PROTOCOL_VERSION {
        let msg = format!("unsupported protocol version {version} (this server speaks {PROTOCOL_VERSION})");
        s.shared.metrics.login_refused(code::PROTOCOL_ERROR);
        return s.protocol_error(Some(id), &msg).await;
    }
    let checked = match check_ids(&user_id, &instance_id) {
        Ok(()) => authenticate(&s.shared, s.info.peer.ip(), sdk_app_id, &user_id, &user_sig).await,
        Err(e) => Err(e),
    };
    let authed = match checked {
        Ok(sig) => Authed {
            id,
            version,
            user_id,
            instance_id,
            platform,
            resume,
            sig,
        },
        Err(refusal) => return refuse(s, id, &user_id, refusal).await,
    };
    online(s, authed).await;
}

/// Answers a refused login with its `error` frame and closes 4002.
fn refuse(s: Session, id: u64, user_id: &str, refusal: LoginRefusal) -> Ending<'_> {
    Box::pin(refuse_inline(s, id, user_id, refusal))
}

async fn refuse_inline(mut s: Session, id: u64, user_id: &str, refusal: LoginRefusal) {
    let code = refusal.code();
    // The claimed id is client input: escaped, and only used as a throttle key when valid.
    let valid_user = identifier::validate(user_id).is_ok().then_some(user_id);
    tracing::info!(peer = %s.info.peer, claimed_user = %Escaped(user_id), code, "login refused");
    s.shared.metrics.login_refused(code);
    if refusal.counts_as_failure() {
        s.shared.record_failure(s.info.peer.ip(), valid_user).await;
    }
    let frame = ServerFrame::Error {
        id: Some(id),
        code,
        message: refusal.to_string(),
    };
    if s.send(&frame).await {
        s.close_inline(CloseCode::AuthFailed, "login refused").await;
    }
}

/// The identifier rule for the login's `userId` and `instanceId`.
pub(crate) fn check_ids(user_id: &str, instance_id: &str) -> Result<(), LoginRefusal> {
    if let Err(e) = identifier::validate(user_id) {
        return Err(LoginRefusal::InvalidIdentifier {
            field: "userId",
            reason: e.to_string(),
        });
    }
    if let Err(e) = identifier::validate_instance_id(instance_id) {
        return Err(LoginRefusal::InvalidIdentifier {
            field: "instanceId",
            reason: e.to_string(),
        });
    }
    Ok(())
}

/// Checks a login; the UserSig's validity window when it passes.
pub(crate) async fn authenticate(
    shared: &Shared,
    ip: std::net::IpAddr,
    sdk_app_id: u64,
    user_id: &str,
    user_sig: &str,
) -> Result<SigLifetime, LoginRefusal> {
    let cfg = &shared.config;
    if shared.is_throttled(ip, Some(user_id)).await {
        return Err(LoginRefusal::Throttled);
    }
    if sdk_app_id != cfg.sdk_app_id {
        return Err(LoginRefusal::UnknownApp(sdk_app_id));
    }
    if !cfg.app_enabled {
        return Err(LoginRefusal::AppDisabled);
    }
    match shared.verify_user_sig(user_sig, user_id) {
        Ok(claims) => Ok(sig_renewal::lifetime(&claims)),
        Err(e) => Err(LoginRefusal::UserSig(e)),
    }
}

/// The session's place in the directory and in this node's local sessions. Released (awaited)
/// where the task ends; dropping it unreleased (a panic) still removes it, from a spawned task.
struct Registered {
    shared: Arc<Shared>,
    user_id: String,
    conn: ConnId,
    released: bool,
    /// Counts the session in `natter_sessions` exactly as long as it is registered.
    _gauge: SessionGauge,
}

impl Registered {
    async fn release(mut self) {
        self.released = true;
        self.shared.sessions.remove(&self.conn);
        if let Err(e) = self.shared.directory.remove(&self.user_id, &self.conn).await {
            // The directory forgets it anyway once it sees this node's sessions again (re-registration
            // only re-adds live sessions).
            tracing::warn!(user = %self.user_id, conn = %self.conn, error = %e, "could not remove a session from the directory");
        }
    }
}

impl Drop for Registered {
    fn drop(&mut self) {
        if self.released {
            return;
        }
        self.shared.sessions.remove(&self.conn);
        let shared = Arc::clone(&self.shared);
        let (user, conn) = (std::mem::take(&mut self.user_id), self.conn.clone());
        self.shared.tracker.spawn(async move {
            let _ = shared.directory.remove(&user, &conn).await;
        });
    }
}

async fn online(mut s: Session, a: Authed) {
    let (tx, rx) = control_channel();
    let admission = Arc::new(Admission {
        user_id: a.user_id.clone(),
        instance_id: a.instance_id.clone(),
        platform: a.platform,
        resume: a.resume,
        conn: s.shared.sessions.next_conn(),
        connected_at_ms: s.shared.now_ms(),
        client_version: format!("natter-protocol/{}", a.version),
    });
    let conn = admission.conn.clone();
    // Local first: an order for this connection that follows the admission at once must find it.
    s.shared.sessions.insert(Arc::clone(&admission), tx);
    let orders = match s.shared.directory.admit(&admission).await {
        Ok(orders) => orders,
        Err(e) => {
            s.shared.sessions.remove(&conn);
            return match e {
                AdmitError::Kicked(kick) => {
                    tracing::info!(user = %a.user_id, instance = %a.instance_id, %kick, "resume refused: instance was kicked");
                    if s.send(&ServerFrame::Kicked { kick_type: kick }).await {
                        s.close(CloseCode::Kicked, "kicked").await;
                    }
                }
                AdmitError::Unavailable(e) => {
                    tracing::warn!(user = %a.user_id, error = %e, "login refused: session directory unavailable");
                    refuse(s, a.id, &a.user_id, LoginRefusal::DirectoryUnavailable).await
                }
            };
        }
    };
    s.shared.bus.send(orders).await;
    let mut reg = Some(Registered {
        shared: Arc::clone(&s.shared),
        user_id: a.user_id.clone(),
        conn: conn.clone(),
        released: false,
        _gauge: s.shared.metrics.login_ok(a.platform),
    });
    serve(s, &a, &conn, &mut reg, rx).await;
    // Logout already released it (before answering); elsewhere this is where the session ends.
    if let Some(reg) = reg {
        reg.release().await;
    }
}

async fn serve(mut s: Session, a: &Authed, conn: &ConnId, reg: &mut Option<Registered>, mut rx: ControlReceiver) {
    tracing::info!(peer = %s.info.peer, user = %a.user_id, instance = %a.instance_id, platform = %a.platform, resume = a.resume, "login ok");
    if !s
        .send(&ServerFrame::LoginOk {
            id: a.id,
            server_time_ms: s.shared.now_ms(),
            user_sig: Some(a.sig),
        })
        .await
    {
        return;
    }
    let idle_timeout = s.shared.config.idle_timeout;
    let mut idle_deadline = Instant::now() + idle_timeout;
    let expiry = tokio::time::sleep(until_expiry(&s.shared, a.sig));
    tokio::pin!(expiry);
    let mut expiry_armed = true;
    let mut rtt = RttProbe::new(s.shared.config.metrics_listen.is_some());
    loop {
        tokio::select! {
            biased;
            // Also how a shutdown arrives (`LocalSessions::close`): no shared future to poll here.
            c = &mut rx => match c.ok() {
                Some(Control::Kick(kick)) => return kicked(s, a, kick).await,
                None if s.shared.cancel.is_cancelled() => return s.close(CloseCode::GoingAway, "server shutting down").await,
                Some(Control::Replaced) | None => {
                    tracing::info!(user = %a.user_id, instance = %a.instance_id, "replaced by a new login of the same instance");
                    return s.close(CloseCode::LoggedOut, "replaced by a new login of this instance").await;
                }
            },
            _ = &mut expiry, if expiry_armed => {
                expiry_armed = false;
                // If the directory already removed us, a kick order is on its way instead. If it
                // cannot be reached the session still ends (unremembered: nothing else can be done).
                match s.shared.directory.kick_self(&a.user_id, conn, KickType::UserSigExpired).await {
                    Ok(false) => {}
                    Ok(true) | Err(_) => return kicked(s, a, KickType::UserSigExpired).await,
                }
            }
            r = timeout_at(idle_deadline, s.socket.next()) => {
                let msg = match r {
                    Err(_) => {
                        tracing::info!(user = %a.user_id, instance = %a.instance_id, "idle; closing");
                        return s.close(CloseCode::Idle, "idle timeout").await;
                    }
                    Ok(None) => return,
                    Ok(Some(Err(e))) => return s.read_end(classify(e)).await,
                    Ok(Some(Ok(m))) => m,
                };
                idle_deadline = Instant::now() + idle_timeout;
                match msg {
                    Message::Text(t) => match parse(&t) {
                        Ok(ClientFrame::Ping { id }) => {
                            if !s.send(&ServerFrame::Pong { id, server_time_ms: s.shared.now_ms() }).await {
                                return;
                            }
                            if let Some(payload) = rtt.start() {
                                if !matches!(timeout(SEND_TIMEOUT, s.socket.send(Message::Ping(payload))).await, Ok(Ok(()))) {
                                    return;
                                }
                            }
                        }
                        Ok(ClientFrame::Logout { id }) => {
                            if let Some(r) = reg.take() {
                                r.release().await;
                            }
                            tracing::info!(user = %a.user_id, instance = %a.instance_id, "logout");
                            if s.send(&ServerFrame::LogoutOk { id }).await {
                                s.close(CloseCode::LoggedOut, "logged out").await;
                            }
                            return;
                        }
                        Ok(ClientFrame::RenewUserSig { id, user_sig }) => {
                            let reply = match sig_renewal::verify(&s.shared, &a.user_id, &user_sig) {
                                Ok(sig) => {
                                    // The newest accepted sig decides when the session expires.
                                    expiry.as_mut().reset(Instant::now() + until_expiry(&s.shared, sig));
                                    expiry_armed = true;
                                    tracing::info!(user = %a.user_id, instance = %a.instance_id, "UserSig renewed");
                                    ServerFrame::UserSigRenewed { id, user_sig: sig }
                                }
                                Err(r) => {
                                    tracing::info!(user = %a.user_id, instance = %a.instance_id, code = r.code, "UserSig renewal refused");
                                    ServerFrame::Error { id: Some(id), code: r.code, message: r.message }
                                }
                            };
                            if !s.send(&reply).await {
                                return;
                            }
                        }
                        Ok(ClientFrame::Login { id, .. }) => {
                            let e = ServerFrame::Error { id: Some(id), code: code::PROTOCOL_ERROR, message: "already logged in on this connection".into() };
                            if !s.send(&e).await {
                                return;
                            }
                        }
                        Ok(ClientFrame::Unknown) => tracing::debug!(user = %a.user_id, "ignoring unknown frame type"),
                        Err(Bad::NotJson) => return s.protocol_error(None, "frame is not JSON").await,
                        Err(Bad::Malformed(id)) => return s.protocol_error(id, "malformed frame").await,
                    },
                    Message::Binary(_) => return s.protocol_error(None, "binary frames are not supported").await,
                    Message::Pong(payload) => {
                        if let Some(took) = rtt.finish(&payload) {
                            s.shared.metrics.heartbeat_rtt(took);
                        }
                    }
                    Message::Ping(_) | Message::Frame(_) => {}
                    Message::Close(_) => return s.finish().await,
                }
            }
        }
    }
}

/// Time left until `sig` expires by the server's clock (zero if it already has).
fn until_expiry(shared: &Shared, sig: SigLifetime) -> Duration {
    Duration::from_millis(sig.user_sig_expire_time.saturating_sub(shared.now_ms()).max(0) as u64)
}

fn kicked(s: Session, a: &Authed, kick: KickType) -> Ending<'_> {
    Box::pin(kicked_inline(s, a, kick))
}

async fn kicked_inline(mut s: Session, a: &Authed, kick: KickType) {
    tracing::info!(user = %a.user_id, instance = %a.instance_id, %kick, "kicked");
    s.shared.metrics.kicked(kick);
    if s.send(&ServerFrame::Kicked { kick_type: kick }).await {
        s.close_inline(CloseCode::Kicked, "kicked").await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `parse` before it went straight to `ClientFrame`: always through a `Value`.
    fn parse_via_value(text: &str) -> Result<ClientFrame, Bad> {
        let v: Value = serde_json::from_str(text).map_err(|_| Bad::NotJson)?;
        let id = v.get("id").and_then(Value::as_u64);
        serde_json::from_value(v).map_err(|_| Bad::Malformed(id))
    }

    fn outcome(r: Result<ClientFrame, Bad>) -> String {
        match r {
            Ok(f) => format!("ok {f:?}"),
            Err(Bad::NotJson) => "not json".into(),
            Err(Bad::Malformed(id)) => format!("malformed {id:?}"),
        }
    }

    #[test]
    fn a_peer_that_drops_tcp_gets_no_close_frame_but_a_protocol_error_does() {
        use tungstenite::error::ProtocolError;
        let err = classify;
        assert!(matches!(
            err(tungstenite::Error::Protocol(
                ProtocolError::ResetWithoutClosingHandshake
            )),
            ReadEnd::Gone
        ));
        assert!(matches!(
            err(tungstenite::Error::Protocol(ProtocolError::NonZeroReservedBits)),
            ReadEnd::Close(CloseCode::ProtocolError, _)
        ));
        assert!(matches!(err(tungstenite::Error::ConnectionClosed), ReadEnd::Gone));
    }

    #[test]
    fn parsing_once_answers_every_frame_as_before() {
        let login = r#"{"type":"login","id":7,"version":1,"sdkAppId":1400000001,"userId":"alice","userSig":"eJw*","platform":"web","instanceId":"i-1"}"#;
        let frames = [
            login.to_owned(),
            login.replace(
                r#""instanceId":"i-1""#,
                r#""instanceId":"i-1","resume":true,"extra":[1,{"a":null}]"#,
            ),
            login.replace(r#""id":7"#, r#""id":7,"id":8"#),
            login.replace(r#""type":"login""#, r#""type":"login","type":"ping""#),
            login.replace(r#""platform":"web""#, r#""platform":"toaster""#),
            login.replace(r#""userId":"alice""#, r#""userId":"al\u0069ce""#),
            login.replace(r#""version":1"#, r#""version":-1"#),
            login.replace(r#""id":7"#, r#""id":7.0"#),
            login.replace(r#""instanceId":"i-1""#, r#""instanceId":"i-1","resume":null"#),
            login.replace(
                r#""instanceId":"i-1""#,
                r#""instanceId":"i-1","resume":false,"resume":true"#,
            ),
            login.replace(r#""userSig":"eJw*","#, ""),
            login
                .replace(r#""type":"login","#, "")
                .replace('}', r#","type":"login"}"#),
            format!(r#"{{"userId":"bob",{}"#, &login[1..]),
            login.replace(r#""type":"login""#, r#""type":"Login""#),
            login[..login.len() - 1].to_owned(),
            format!("{login} "),
            format!("{login}x"),
            r#"{"type":"ping","id":3}"#.into(),
            r#"{"type":"ping","id":18446744073709551615}"#.into(),
            r#"{"type":"ping","id":18446744073709551616}"#.into(),
            r#"{"type":"ping"}"#.into(),
            r#"{"id":3}"#.into(),
            r#"{"type":"logout","id":4}"#.into(),
            r#"{"type":"renewUserSig","id":5,"userSig":"x"}"#.into(),
            r#"{"type":"renewUserSig","id":5}"#.into(),
            r#"{"type":"somethingNew","id":6}"#.into(),
            r#"{"type":"somethingNew"}"#.into(),
            r#"{"type":5,"id":6}"#.into(),
            r#"["ping"]"#.into(),
            "null".into(),
            "".into(),
            "{".into(),
            r#"{"type":"ping","id":1e400}"#.into(),
            format!("{}1{}", "[".repeat(200), "]".repeat(200)),
        ];
        for f in &frames {
            assert_eq!(outcome(parse(f)), outcome(parse_via_value(f)), "{f}");
        }
        assert!(matches!(parse(login), Ok(ClientFrame::Login { id: 7, .. })));
        assert!(matches!(parse(&frames[2]), Ok(ClientFrame::Login { id: 8, .. })));
    }
}
