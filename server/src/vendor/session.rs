//! One vendor-SDK socket: requests before login (ping, telemetry, `wslogin` with a UserSig or
//! an A2Key), then the online session until logout, kick, expiry, idle or shutdown.

use super::commands::{self as cmd, kick_number};
use super::directory::{self, Presence};
use super::envelope::{self, Request};
use super::query::ConnectQuery;
use super::{a2key, ids};
use crate::directory::{AdmitError, Control};
use crate::local_sessions::ControlReceiver;
use crate::log_safe::Escaped;
use crate::login_refusal::LoginRefusal;
use crate::state::{ConnInfo, Shared};
use crate::ws::{authenticate, check_ids};
use axum::extract::ws::{CloseFrame, Message, WebSocket};
use natter_protocol::{identifier, CloseCode, KickType};
use serde_json::{json, Value};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::time::{timeout, timeout_at, Instant};

/// Sent as `HelloInterval` (seconds between the SDK's `wshello`): the SDK's own default. Liveness
/// rides on its `heartbeat.alive` pings (every 10 s without traffic), well inside the idle timeout.
const HELLO_INTERVAL_SECS: u64 = 120;
/// After a kick push the SDK sends `wslogout` (type 1) and waits for the answer before it
/// reports the kick: keep the socket this long for it.
const KICK_GRACE: Duration = Duration::from_secs(5);
const CLOSE_LINGER: Duration = Duration::from_secs(2);
const SEND_TIMEOUT: Duration = Duration::from_secs(10);

/// A logged-in session on this socket.
struct Online {
    user_id: String,
    expires_at: i64,
    /// Cleared once the expiry fired and the directory said a kick order is already on its way,
    /// so the loop waits for that order instead of firing again.
    expiry_armed: bool,
    presence: Presence,
    control: ControlReceiver,
}

enum State {
    Connected,
    Online(Online),
    /// Kick pushed; waiting for the SDK's `wslogout` until the deadline.
    Kicked(Instant),
    /// The UserSig expired: the next request is answered 70001, then the socket closes.
    Expired,
}

struct Socket {
    shared: Arc<Shared>,
    socket: WebSocket,
    info: ConnInfo,
    query: ConnectQuery,
    binary: bool,
}

/// What to do after handling one request.
enum Next {
    Stay(State),
    Close(CloseCode, &'static str),
}

impl Socket {
    async fn send(&mut self, frame: String) -> bool {
        let msg = if self.binary {
            Message::Binary(frame.into_bytes().into())
        } else {
            Message::Text(frame.into())
        };
        matches!(timeout(SEND_TIMEOUT, self.socket.send(msg)).await, Ok(Ok(())))
    }

    /// Close frame, then read on briefly in a detached task so the client gets it (no reset).
    async fn close(mut self, code: CloseCode, reason: &'static str) {
        tracing::debug!(peer = %self.info.peer, code = code.code(), reason, "vendor socket closing");
        let frame = CloseFrame {
            code: code.code(),
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
            while let Ok(Some(Ok(_))) = timeout_at(deadline, socket.recv()).await {}
        });
    }

    fn login_fields(&self, user_id: &str, expires_at: i64) -> Value {
        let cfg = &self.shared.config;
        let a2 = a2key::issue(
            &cfg.secret_key,
            cfg.sdk_app_id,
            user_id,
            &self.query.instance_id,
            expires_at,
        );
        // Seconds with a millisecond fraction: the SDK multiplies by 1000, so getServerTime()
        // is exact to the millisecond (plus its RTT/2 correction).
        let time_stamp = self.shared.now_ms() as f64 / 1000.0;
        json!({
            "A2Key": a2,
            "TinyId": ids::tiny_id(cfg.sdk_app_id, user_id),
            "HelloInterval": HELLO_INTERVAL_SECS,
            "InstId": ids::inst_id(&self.query.instance_id),
            "TimeStamp": time_stamp,
        })
    }

    /// Answers one request in `state`.
    async fn handle(&mut self, req: Request, state: State) -> Option<Next> {
        let s = req.servcmd.as_str();
        let (answer, next) = match state {
            State::Expired => (
                envelope::fail(&req, cmd::EXPIRED, "UserSig expired", Value::Null),
                Next::Close(CloseCode::Kicked, "UserSig expired"),
            ),
            State::Kicked(_) if s == cmd::LOGOUT => (
                envelope::ok(&req, Value::Null),
                Next::Close(CloseCode::Kicked, "kicked"),
            ),
            State::Kicked(deadline) => (
                envelope::fail(&req, cmd::KICKED_OUT, "kicked", Value::Null),
                Next::Stay(State::Kicked(deadline)),
            ),
            State::Connected if s == cmd::LOGIN => match login(&self.shared, self.info.peer, &self.query, &req).await {
                Ok(online) => (
                    envelope::ok(&req, self.login_fields(&online.user_id, online.expires_at)),
                    Next::Stay(State::Online(online)),
                ),
                Err(answer) => (answer, Next::Stay(State::Connected)),
            },
            state @ State::Connected if s == cmd::PING || s == cmd::STAT_REPORT => {
                (envelope::ok(&req, Value::Null), Next::Stay(state))
            }
            state @ State::Connected if s == cmd::LOGOUT || s == cmd::HELLO => (
                envelope::fail(&req, cmd::NOT_LOGGED_IN, "log in first", Value::Null),
                Next::Stay(state),
            ),
            State::Online(online) if s == cmd::LOGOUT => {
                tracing::info!(user = %online.user_id, instance = %self.query.instance_id, "vendor logout");
                // Gone from the directory before the SDK hears the logout succeeded.
                online.presence.release().await;
                (
                    envelope::ok(&req, Value::Null),
                    Next::Close(CloseCode::LoggedOut, "logged out"),
                )
            }
            // The SDK logs in again on a live socket after a `KickOther` push: same session.
            State::Online(online) if s == cmd::LOGIN => (
                envelope::ok(&req, self.login_fields(&online.user_id, online.expires_at)),
                Next::Stay(State::Online(online)),
            ),
            state @ State::Online(_) if s == cmd::PING || s == cmd::HELLO || s == cmd::STAT_REPORT => {
                (envelope::ok(&req, Value::Null), Next::Stay(state))
            }
            state => {
                tracing::debug!(peer = %self.info.peer, servcmd = %Escaped(s), "vendor command not served");
                (
                    envelope::fail(
                        &req,
                        cmd::UNKNOWN_COMMAND,
                        "command not supported by natter-server",
                        Value::Null,
                    ),
                    Next::Stay(state),
                )
            }
        };
        self.send(answer).await.then_some(next)
    }

    /// Turns a directory order into the SDK's kick push (or the expiry state).
    async fn on_control(&mut self, c: Option<Control>, online: Online) -> Next {
        match c {
            Some(Control::Kick(kick)) => {
                tracing::info!(user = %online.user_id, instance = %self.query.instance_id, %kick, "vendor session kicked");
                drop(online);
                let Some(n) = kick_number(kick) else {
                    return Next::Stay(State::Expired);
                };
                let body = json!({"EventArray": [{"Event": 9, "C2cNotifyMsgArray": [
                    {"KickoutMsgNotify": {"KickType": n, "NewInstInfo": {}}}
                ]}]});
                if !self.send(envelope::push(cmd::FORCE_OFFLINE_PUSH, body)).await {
                    return Next::Close(CloseCode::Kicked, "kicked");
                }
                Next::Stay(State::Kicked(Instant::now() + KICK_GRACE))
            }
            Some(Control::Replaced) | None => {
                drop(online);
                Next::Close(CloseCode::LoggedOut, "replaced by a new login of this instance")
            }
        }
    }
}

/// A refused `wslogin`: counted towards the failed-login throttle when `counts`, logged with the
/// claimed id escaped (client input), answered in the vendor's error shape.
async fn refuse(
    shared: &Shared,
    peer: SocketAddr,
    req: &Request,
    code: i32,
    info: &str,
    counts: bool,
    user: Option<&str>,
) -> String {
    if counts {
        let valid = user.filter(|u| identifier::validate(u).is_ok());
        shared.record_failure(peer.ip(), valid).await;
    }
    tracing::info!(peer = %peer, claimed_user = %Escaped(user.unwrap_or("")), code, "vendor login refused");
    envelope::fail(req, code, info, Value::Null)
}

/// `wslogin` on a socket that is not logged in. A free function over owned parts: the socket
/// itself is not `Sync`, so no borrow of it may live across the directory's await.
async fn login(shared: &Arc<Shared>, peer: SocketAddr, query: &ConnectQuery, req: &Request) -> Result<Online, String> {
    let cfg = &shared.config;
    let ip = peer.ip();
    let sdk_app_id = req.sdk_app_id.or(query.sdk_app_id).unwrap_or(0);
    // Silent re-login after a lost link: the SDK sends its A2Key instead of the UserSig.
    let (user_id, expires_at, resume) = match (&req.usersig, &req.a2) {
        (None, Some(a2)) => {
            if sdk_app_id != cfg.sdk_app_id {
                let r = LoginRefusal::UnknownApp(sdk_app_id);
                return Err(refuse(shared, peer, req, r.code(), &r.to_string(), true, None).await);
            }
            match a2key::verify(&cfg.secret_key, a2, sdk_app_id, &query.instance_id, shared.now_unix()) {
                Ok(t) => (t.user_id, t.expires_at, true),
                Err(e) => return Err(refuse(shared, peer, req, e.code(), &e.to_string(), true, None).await),
            }
        }
        _ => {
            let user_id = req.identifier.clone().unwrap_or_default();
            let sig = req.usersig.clone().unwrap_or_default();
            let checked = match check_ids(&user_id, &query.instance_id) {
                Ok(()) => authenticate(shared, ip, sdk_app_id, &user_id, &sig).await,
                Err(r) => Err(r),
            };
            match checked {
                // The vendor session keeps the expiry in Unix seconds.
                Ok(sig) => (user_id, sig.user_sig_expire_time / 1000, false),
                Err(r) => {
                    let counts = r.counts_as_failure();
                    return Err(refuse(shared, peer, req, r.code(), &r.to_string(), counts, Some(&user_id)).await);
                }
            }
        }
    };
    match directory::enter(shared, &user_id, &query.instance_id, query.platform, resume).await {
        Ok((presence, control)) => {
            tracing::info!(peer = %peer, user = %user_id, instance = %query.instance_id, platform = %query.platform, resume, "vendor login ok");
            Ok(Online {
                user_id,
                expires_at,
                expiry_armed: true,
                presence,
                control,
            })
        }
        Err(AdmitError::Kicked(kick)) => {
            tracing::info!(user = %user_id, instance = %query.instance_id, %kick, "vendor re-login refused: instance was kicked");
            Err(match kick_number(kick) {
                Some(n) => envelope::fail(req, cmd::KICKED_OUT, kick.as_str(), json!({"KickType": n})),
                None => envelope::fail(req, cmd::EXPIRED, "UserSig expired", Value::Null),
            })
        }
        Err(AdmitError::Unavailable(e)) => {
            tracing::warn!(user = %user_id, error = %e, "vendor login refused: session directory unavailable");
            let r = LoginRefusal::DirectoryUnavailable;
            Err(refuse(shared, peer, req, r.code(), &r.to_string(), false, Some(&user_id)).await)
        }
    }
}

pub(crate) async fn run(shared: Arc<Shared>, socket: WebSocket, info: ConnInfo, query: ConnectQuery, binary: bool) {
    let login_deadline = info.accepted + shared.config.handshake_timeout;
    let idle_timeout = shared.config.idle_timeout;
    let mut s = Socket {
        shared,
        socket,
        info,
        query,
        binary,
    };
    let mut state = State::Connected;
    let mut idle_deadline = Instant::now() + idle_timeout;
    loop {
        let (deadline, on_deadline) = match &state {
            State::Connected => (
                login_deadline,
                (CloseCode::HandshakeTimeout, "no login within the handshake timeout"),
            ),
            State::Kicked(d) => (*d, (CloseCode::Kicked, "kicked")),
            State::Online(_) | State::Expired => (idle_deadline, (CloseCode::Idle, "idle timeout")),
        };
        let expiry_at = match &state {
            State::Online(o) if o.expiry_armed => {
                let ms = o
                    .expires_at
                    .saturating_mul(1000)
                    .saturating_sub(s.shared.now_ms())
                    .max(0) as u64;
                Some(Instant::now() + Duration::from_millis(ms))
            }
            _ => None,
        };
        let cancel = s.shared.cancel.clone();
        let event = {
            let control = match &mut state {
                State::Online(o) => Some(&mut o.control),
                _ => None,
            };
            tokio::select! {
                biased;
                _ = cancel.cancelled() => Event::Shutdown,
                c = async { control.expect("guarded").await.ok() }, if control.is_some() => match c {
                    // A shutdown closes the local sessions' channels (`LocalSessions::close`).
                    None if cancel.is_cancelled() => Event::Shutdown,
                    c => Event::Control(c),
                },
                _ = async { tokio::time::sleep_until(expiry_at.expect("guarded")).await }, if expiry_at.is_some() => Event::Expired,
                r = timeout_at(deadline, s.socket.recv()) => match r {
                    Err(_) => Event::Deadline,
                    Ok(m) => Event::Frame(m),
                },
            }
        };
        state = match event {
            Event::Shutdown => return s.close(CloseCode::GoingAway, "server shutting down").await,
            Event::Deadline => return s.close(on_deadline.0, on_deadline.1).await,
            Event::Expired => {
                let State::Online(online) = state else { return };
                if online.presence.kick_self(KickType::UserSigExpired).await {
                    tracing::info!(user = %online.user_id, "vendor session: UserSig expired");
                    State::Expired
                } else {
                    State::Online(Online {
                        expiry_armed: false,
                        ..online
                    })
                }
            }
            Event::Control(c) => {
                let State::Online(online) = state else { return };
                match s.on_control(c, online).await {
                    Next::Stay(st) => st,
                    Next::Close(code, reason) => return s.close(code, reason).await,
                }
            }
            Event::Frame(None) => return,
            Event::Frame(Some(Err(e))) => {
                if let Some((code, reason)) = read_error_close(e) {
                    s.close(code, reason).await;
                }
                return;
            }
            Event::Frame(Some(Ok(msg))) => {
                idle_deadline = Instant::now() + idle_timeout;
                let bytes: Vec<u8> = match msg {
                    Message::Text(t) => t.as_str().as_bytes().to_vec(),
                    Message::Binary(b) => b.to_vec(),
                    Message::Close(_) => {
                        let _ = timeout(CLOSE_LINGER, async { while let Some(Ok(_)) = s.socket.recv().await {} }).await;
                        return;
                    }
                    Message::Ping(_) | Message::Pong(_) => continue,
                };
                match envelope::parse(&bytes) {
                    // Nothing to echo, so nothing the SDK could match: a protocol error.
                    Err(e) => {
                        tracing::debug!(peer = %s.info.peer, error = %e, "vendor frame refused");
                        return s.close(CloseCode::ProtocolError, "not a vendor request").await;
                    }
                    Ok(req) => match s.handle(req, state).await {
                        None => return,
                        Some(Next::Stay(st)) => st,
                        Some(Next::Close(code, reason)) => return s.close(code, reason).await,
                    },
                }
            }
        };
    }
}

/// The close a read error calls for: a frame over the limit 4004, broken WebSocket framing 4003;
/// a lost peer gets nothing.
fn read_error_close(err: axum::Error) -> Option<(CloseCode, &'static str)> {
    match err.into_inner().downcast_ref::<tungstenite::Error>() {
        Some(tungstenite::Error::Capacity(_)) => Some((CloseCode::FrameTooLarge, "frame too large")),
        Some(tungstenite::Error::Protocol(_)) | Some(tungstenite::Error::Utf8(_)) => {
            Some((CloseCode::ProtocolError, "websocket protocol error"))
        }
        _ => None,
    }
}

enum Event {
    Shutdown,
    Deadline,
    Expired,
    Control(Option<Control>),
    Frame(Option<Result<Message, axum::Error>>),
}
