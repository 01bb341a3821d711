use super::{is_plausible_server_ms, Backoff, ServerClock};
use crate::error::{code, ChatError};
use crate::event::ChatEvent;
use natter_protocol::{ClientFrame, CloseCode, KickType, NetState, Platform, ServerFrame, PROTOCOL_VERSION};
use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// Identifies one API call waiting for its outcome.
pub type Token = u64;
/// Identifies one connection attempt; events of an older connection are ignored.
pub type ConnId = u64;

/// What `login` resolves with (`{repeatLogin, errorInfo}` in the reference SDK).
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct LoginResult {
    pub repeat_login: bool,
    /// Set on a repeat login: names the user who is already logged in.
    pub error_info: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Call {
    Login { user_id: String, user_sig: String },
    Logout,
    Destroy,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallOutcome {
    Login(LoginResult),
    Done,
}

/// Work for the driver, in the order it must happen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Output {
    /// Open a WebSocket to the server; report `connected`, `frame` and `closed` with this id.
    Connect(ConnId),
    Send(ConnId, ClientFrame),
    /// Close the connection (politely if it is open) and forget it.
    Close(ConnId),
    Event(ChatEvent),
    Complete(Token, Result<CallOutcome, ChatError>),
}

/// The parts of the configuration the state machine needs.
#[derive(Debug, Clone)]
pub struct SessionParams {
    pub sdk_app_id: u64,
    pub platform: Platform,
    pub instance_id: String,
    pub heartbeat_interval: Duration,
    pub request_timeout: Duration,
    pub login_timeout: Duration,
    pub reconnect_min_delay: Duration,
    pub reconnect_max_delay: Duration,
    pub jitter_seed: u64,
}

#[derive(Debug, Clone)]
struct Credentials {
    user_id: String,
    user_sig: String,
}

#[derive(Debug)]
struct PendingLogin {
    token: Token,
    creds: Credentials,
    deadline: Instant,
}

#[derive(Debug)]
struct PendingLogout {
    tokens: Vec<Token>,
    frame_id: u64,
    deadline: Instant,
}

/// The link to the server, independent of whether a user is logged in.
#[derive(Debug)]
enum Link {
    Down,
    /// Waiting out a reconnect backoff.
    Waiting {
        until: Instant,
    },
    Opening {
        conn: ConnId,
        deadline: Instant,
    },
    Authenticating {
        conn: ConnId,
        frame_id: u64,
        sent: Instant,
        deadline: Instant,
    },
    Up {
        conn: ConnId,
        /// When the login on this link succeeded; the backoff resets once it stayed up long enough.
        up_since: Instant,
        last_rx: Instant,
        next_ping: Instant,
        ping: Option<(u64, Instant)>,
    },
}

impl Link {
    fn conn(&self) -> Option<ConnId> {
        match *self {
            Link::Opening { conn, .. } | Link::Authenticating { conn, .. } | Link::Up { conn, .. } => Some(conn),
            Link::Down | Link::Waiting { .. } => None,
        }
    }
}

/// One client's session. See `docs/architecture.md` for the state diagram.
#[derive(Debug)]
pub struct Session {
    params: SessionParams,
    /// Set while the app is logged in: between `SDK_READY` and `SDK_NOT_READY`.
    session: Option<Credentials>,
    login: Option<PendingLogin>,
    logout: Option<PendingLogout>,
    /// Destroy calls waiting for a logout to finish first.
    destroy_after_logout: Vec<Token>,
    destroyed: bool,
    link: Link,
    net_state: NetState,
    clock: Option<ServerClock>,
    backoff: Backoff,
    next_conn: ConnId,
    next_frame: u64,
    out: VecDeque<Output>,
}

impl Session {
    pub fn new(params: SessionParams) -> Self {
        let backoff = Backoff::new(
            params.reconnect_min_delay,
            params.reconnect_max_delay,
            params.jitter_seed,
        );
        Session {
            params,
            session: None,
            login: None,
            logout: None,
            destroy_after_logout: Vec::new(),
            destroyed: false,
            link: Link::Down,
            net_state: NetState::Disconnected,
            clock: None,
            backoff,
            next_conn: 0,
            next_frame: 0,
            out: VecDeque::new(),
        }
    }

    // ----- queries -------------------------------------------------------------------------

    pub fn is_ready(&self) -> bool {
        self.session.is_some()
    }

    pub fn login_user(&self) -> Option<&str> {
        self.session.as_ref().map(|c| c.user_id.as_str())
    }

    pub fn server_clock(&self) -> Option<ServerClock> {
        self.clock
    }

    pub fn net_state(&self) -> NetState {
        self.net_state
    }

    pub fn is_destroyed(&self) -> bool {
        self.destroyed
    }

    /// Reconnect attempts made since the link was last up (for tests and diagnostics).
    pub fn reconnect_attempt(&self) -> u32 {
        self.backoff.attempt()
    }

    /// Next output for the driver to carry out.
    pub fn poll_output(&mut self) -> Option<Output> {
        self.out.pop_front()
    }

    /// The earliest instant at which `handle_timeout` has something to do.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let link = match self.link {
            Link::Down => None,
            Link::Waiting { until } => Some(until),
            Link::Opening { deadline, .. } | Link::Authenticating { deadline, .. } => Some(deadline),
            Link::Up { last_rx, next_ping, .. } => Some(next_ping.min(last_rx + self.dead_after())),
        };
        [
            link,
            self.login.as_ref().map(|l| l.deadline),
            self.logout.as_ref().map(|l| l.deadline),
        ]
        .into_iter()
        .flatten()
        .min()
    }

    // ----- inputs: API calls ---------------------------------------------------------------

    pub fn handle_call(&mut self, token: Token, call: Call, now: Instant) {
        if self.destroyed {
            // A second destroy is harmless; everything else is refused.
            let result = match call {
                Call::Destroy => Ok(CallOutcome::Done),
                _ => Err(ChatError::Destroyed),
            };
            self.complete(token, result);
            return;
        }
        match call {
            Call::Login { user_id, user_sig } => self.call_login(token, user_id, user_sig, now),
            Call::Logout => self.call_logout(token, now),
            Call::Destroy => self.call_destroy(token, now),
        }
    }

    fn call_login(&mut self, token: Token, user_id: String, user_sig: String, now: Instant) {
        let err = if self.params.sdk_app_id == 0 {
            Some(ChatError::NoSdkAppId)
        } else if user_id.trim().is_empty() {
            Some(ChatError::NoUserId)
        } else if user_sig.trim().is_empty() {
            Some(ChatError::NoUserSig)
        } else if let Err(e) = natter_protocol::identifier::validate(&user_id) {
            // The server refuses such ids too (60003); saying so here names the rule at once.
            Some(ChatError::invalid(format!(
                "userID {e} (1-32 characters of [A-Za-z0-9_-])"
            )))
        } else {
            None
        };
        if let Some(err) = err {
            return self.complete(token, Err(err));
        }
        if let Some(current) = &self.session {
            // The reference resolves a repeat login (any userID) without touching the session.
            let info = format!(
                "user {:?} is already logged in; log out first to switch users",
                current.user_id
            );
            let outcome = CallOutcome::Login(LoginResult {
                repeat_login: true,
                error_info: Some(info),
            });
            return self.complete(token, Ok(outcome));
        }
        if self.login.is_some() || self.logout.is_some() {
            return self.complete(token, Err(ChatError::LoginInProgress));
        }
        let deadline = now + self.params.login_timeout;
        self.login = Some(PendingLogin {
            token,
            creds: Credentials { user_id, user_sig },
            deadline,
        });
        self.backoff.reset();
        self.open_link(now);
    }

    fn call_logout(&mut self, token: Token, now: Instant) {
        if let Some(pending) = &mut self.logout {
            pending.tokens.push(token);
            return;
        }
        if self.session.is_none() {
            return self.complete(token, Err(ChatError::NotLoggedIn));
        }
        match self.link {
            Link::Up { conn, .. } => {
                let frame_id = self.frame_id();
                self.out
                    .push_back(Output::Send(conn, ClientFrame::Logout { id: frame_id }));
                let deadline = now + self.params.request_timeout;
                self.logout = Some(PendingLogout {
                    tokens: vec![token],
                    frame_id,
                    deadline,
                });
            }
            // Reconnecting: stop at once; the server forgets the instance when its socket dies.
            _ => {
                self.logout = Some(PendingLogout {
                    tokens: vec![token],
                    frame_id: 0,
                    deadline: now,
                });
                self.finish_logout();
            }
        }
    }

    fn call_destroy(&mut self, token: Token, now: Instant) {
        if let Some(login) = self.login.take() {
            self.complete(login.token, Err(ChatError::Destroyed));
        }
        if self.session.is_some() && self.logout.is_none() {
            // Log out first (the logout outcome has no caller of its own).
            self.call_logout(DESTROY_LOGOUT, now);
        }
        if self.logout.is_some() {
            self.destroy_after_logout.push(token);
        } else {
            self.finish_destroy(vec![token]);
        }
    }

    // ----- inputs: transport ---------------------------------------------------------------

    /// The WebSocket of `conn` is open.
    pub fn handle_connected(&mut self, conn: ConnId, now: Instant) {
        let Link::Opening { conn: current, .. } = self.link else {
            return;
        };
        if current != conn {
            return;
        }
        let Some(creds) = self.login.as_ref().map(|l| &l.creds).or(self.session.as_ref()).cloned() else {
            // Nobody wants this connection any more (cannot normally happen: logout closes it).
            return self.drop_link();
        };
        let frame_id = self.frame_id();
        let frame = ClientFrame::Login {
            id: frame_id,
            version: PROTOCOL_VERSION,
            sdk_app_id: self.params.sdk_app_id,
            user_id: creds.user_id,
            user_sig: creds.user_sig,
            platform: self.params.platform,
            instance_id: self.params.instance_id.clone(),
            resume: self.session.is_some(),
        };
        self.out.push_back(Output::Send(conn, frame));
        let deadline = self
            .login
            .as_ref()
            .map_or(now + self.params.request_timeout, |l| l.deadline);
        self.link = Link::Authenticating {
            conn,
            frame_id,
            sent: now,
            deadline,
        };
    }

    /// The connection could not be opened, or it closed (`close_code` when the peer sent one).
    pub fn handle_closed(&mut self, conn: ConnId, close_code: Option<u16>, detail: &str, now: Instant) {
        if self.link.conn() != Some(conn) {
            return;
        }
        log::debug!("connection {conn} closed (code {close_code:?}): {detail}");
        self.reset_backoff_if_stable(now);
        // The socket is already gone: forget it without asking the driver to close it again.
        self.link = Link::Down;
        let terminal = close_code
            .and_then(CloseCode::from_code)
            .is_some_and(CloseCode::is_terminal);
        if terminal && self.logout.is_none() && self.login.is_none() && self.session.is_some() {
            // The server ended the session without saying why first: do not reconnect into it.
            let message = format!(
                "the server closed the session (close code {})",
                close_code.unwrap_or_default()
            );
            self.out.push_back(Output::Event(ChatEvent::Error {
                code: code::LOGIN_FAILED,
                message,
            }));
            self.end_session();
            return;
        }
        self.link_lost(ChatError::network(format!("connection lost: {detail}")), now);
    }

    /// The connection could not be opened: TCP, TLS or the HTTP upgrade failed with `error`.
    pub fn handle_connect_failed(&mut self, conn: ConnId, error: ChatError, now: Instant) {
        if self.link.conn() != Some(conn) {
            return;
        }
        log::debug!("connection {conn} could not be opened: {error}");
        self.link = Link::Down;
        self.link_lost(error, now);
    }

    pub fn handle_frame(&mut self, conn: ConnId, frame: ServerFrame, now: Instant) {
        if self.link.conn() != Some(conn) {
            return;
        }
        if let Link::Up { last_rx, .. } = &mut self.link {
            *last_rx = now;
        }
        match frame {
            ServerFrame::LoginOk { id, server_time_ms } => self.on_login_ok(conn, id, server_time_ms, now),
            ServerFrame::Pong { id, server_time_ms } => {
                if let Link::Up { ping, .. } = &mut self.link {
                    if let Some((ping_id, sent)) = *ping {
                        if ping_id == id {
                            *ping = None;
                            self.backoff.reset();
                            self.take_clock_sample(sent, now, server_time_ms);
                        }
                    }
                }
            }
            ServerFrame::LogoutOk { id } => {
                if self.logout.as_ref().is_some_and(|l| l.frame_id == id) {
                    self.finish_logout();
                }
            }
            ServerFrame::Error { id, code, message } => self.on_server_error(id, code, message, now),
            ServerFrame::Kicked { kick_type } => self.on_kicked(kick_type),
            ServerFrame::Unknown => log::info!("ignoring an unknown frame type from the server"),
        }
    }

    fn on_login_ok(&mut self, conn: ConnId, id: u64, server_time_ms: i64, now: Instant) {
        let Link::Authenticating { frame_id, sent, .. } = self.link else {
            return;
        };
        if frame_id != id {
            return;
        }
        self.take_clock_sample(sent, now, server_time_ms);
        let next_ping = now + self.params.heartbeat_interval;
        self.link = Link::Up {
            conn,
            up_since: now,
            last_rx: now,
            next_ping,
            ping: None,
        };
        // The backoff is NOT reset here: a server or proxy that accepts the login and closes at
        // once would otherwise get a re-login every U(0, min_delay) forever. It resets once the
        // link proves itself (first pong, or one heartbeat interval up).
        self.set_net_state(NetState::Connected);
        if let Some(login) = self.login.take() {
            self.session = Some(login.creds);
            let outcome = CallOutcome::Login(LoginResult {
                repeat_login: false,
                error_info: None,
            });
            self.complete(login.token, Ok(outcome));
            self.out.push_back(Output::Event(ChatEvent::SdkReady));
        }
    }

    fn on_server_error(&mut self, id: Option<u64>, code: i32, message: String, now: Instant) {
        // 0 is the success code: a refusal carrying it would reject a call with "OK" (found by
        // the session_machine fuzz target). Report a misbehaving server as a login failure.
        let code = if code == 0 { code::LOGIN_FAILED } else { code };
        let answers_login = match self.link {
            Link::Authenticating { frame_id, .. } => id.is_none() || id == Some(frame_id),
            _ => false,
        };
        if let Some(logout) = &self.logout {
            if id == Some(logout.frame_id) {
                // The reference resolves logout even when the server request fails.
                return self.finish_logout();
            }
        }
        if !answers_login {
            self.out.push_back(Output::Event(ChatEvent::Error { code, message }));
            return;
        }
        self.drop_link();
        if let Some(login) = self.login.take() {
            self.set_net_state(NetState::Disconnected);
            self.complete(login.token, Err(ChatError::Server { code, detail: message }));
        } else if is_transient(code) {
            self.link_lost(ChatError::Server { code, detail: message }, now);
        } else if code == natter_protocol::code::USERSIG_EXPIRED {
            // The stored UserSig expired while we were away: same as the server's expiry kick.
            self.on_kicked(KickType::UserSigExpired);
        } else {
            self.out.push_back(Output::Event(ChatEvent::Error { code, message }));
            self.end_session();
        }
    }

    fn on_kicked(&mut self, kick_type: KickType) {
        self.drop_link();
        if self.session.is_none() {
            if let Some(login) = self.login.take() {
                self.set_net_state(NetState::Disconnected);
                let detail = format!("kicked during login ({kick_type})");
                self.complete(
                    login.token,
                    Err(ChatError::Server {
                        code: kicked_code(kick_type),
                        detail,
                    }),
                );
            }
            return;
        }
        // Reference order: KICKED_OUT, then SDK_NOT_READY. No automatic re-login.
        self.out.push_back(Output::Event(ChatEvent::KickedOut { kick_type }));
        self.end_session();
    }

    // ----- inputs: time --------------------------------------------------------------------

    pub fn handle_timeout(&mut self, now: Instant) {
        if self.login.as_ref().is_some_and(|l| now >= l.deadline) {
            let login = self.login.take().expect("checked above");
            self.drop_link();
            self.set_net_state(NetState::Disconnected);
            self.complete(login.token, Err(ChatError::Timeout));
        }
        if self.logout.as_ref().is_some_and(|l| now >= l.deadline) {
            self.finish_logout();
        }
        match self.link {
            Link::Waiting { until } if now >= until => self.open_link(now),
            Link::Opening { deadline, .. } | Link::Authenticating { deadline, .. } if now >= deadline => {
                self.drop_link();
                self.link_lost(ChatError::Timeout, now);
            }
            Link::Up {
                conn,
                last_rx,
                next_ping,
                ..
            } => {
                self.reset_backoff_if_stable(now);
                if now >= last_rx + self.dead_after() {
                    log::info!("no traffic for two heartbeat intervals: the link is dead");
                    self.drop_link();
                    self.link_lost(ChatError::Timeout, now);
                } else if now >= next_ping {
                    let id = self.frame_id();
                    self.out.push_back(Output::Send(conn, ClientFrame::Ping { id }));
                    if let Link::Up { next_ping, ping, .. } = &mut self.link {
                        *next_ping = now + self.params.heartbeat_interval;
                        *ping = Some((id, now));
                    }
                }
            }
            _ => {}
        }
    }

    // ----- internals -----------------------------------------------------------------------

    /// A link that stayed up for a heartbeat interval was a real recovery: the next loss starts
    /// the backoff from the bottom again.
    fn reset_backoff_if_stable(&mut self, now: Instant) {
        if let Link::Up { up_since, .. } = self.link {
            if now.saturating_duration_since(up_since) >= self.params.heartbeat_interval {
                self.backoff.reset();
            }
        }
    }

    /// Uses a `serverTimeMs` sample unless it cannot be a real clock; then the previous estimate
    /// (or the local clock) stays. The login itself still succeeds: the time is advisory.
    fn take_clock_sample(&mut self, sent: Instant, now: Instant, server_time_ms: i64) {
        if is_plausible_server_ms(server_time_ms) {
            self.clock = Some(ServerClock::from_sample(sent, now, server_time_ms));
        } else {
            log::warn!("ignoring an implausible serverTimeMs from the server: {server_time_ms}");
        }
    }

    fn dead_after(&self) -> Duration {
        self.params.heartbeat_interval * 2
    }

    fn frame_id(&mut self) -> u64 {
        self.next_frame += 1;
        self.next_frame
    }

    fn complete(&mut self, token: Token, result: Result<CallOutcome, ChatError>) {
        if token != DESTROY_LOGOUT {
            self.out.push_back(Output::Complete(token, result));
        }
    }

    fn set_net_state(&mut self, state: NetState) {
        if self.net_state != state {
            self.net_state = state;
            self.out.push_back(Output::Event(ChatEvent::NetStateChange { state }));
        }
    }

    fn open_link(&mut self, now: Instant) {
        self.next_conn += 1;
        let conn = self.next_conn;
        self.out.push_back(Output::Connect(conn));
        self.link = Link::Opening {
            conn,
            deadline: now + self.params.request_timeout,
        };
        self.set_net_state(NetState::Connecting);
    }

    /// Closes the current connection, if any, and marks the link down.
    fn drop_link(&mut self) {
        if let Some(conn) = self.link.conn() {
            self.out.push_back(Output::Close(conn));
        }
        self.link = Link::Down;
    }

    /// The link failed (connect error, close, timeout, dead heartbeat). The caller already
    /// dropped the link.
    fn link_lost(&mut self, cause: ChatError, now: Instant) {
        if self.logout.is_some() {
            // The logout cannot complete on this link; the server drops the instance anyway.
            return self.finish_logout();
        }
        if let Some(login) = self.login.take() {
            self.set_net_state(NetState::Disconnected);
            let err = match cause {
                ChatError::Timeout | ChatError::Server { .. } | ChatError::Network { .. } => cause,
                other => ChatError::network(other),
            };
            return self.complete(login.token, Err(err));
        }
        if self.session.is_some() {
            // Keep the session: reconnect after a jittered backoff and re-login silently.
            self.set_net_state(NetState::Disconnected);
            let delay = self.backoff.next_delay();
            log::info!(
                "link lost ({cause}); reconnect attempt {} in {delay:?}",
                self.backoff.attempt()
            );
            self.link = Link::Waiting { until: now + delay };
        } else {
            self.set_net_state(NetState::Disconnected);
        }
    }

    fn finish_logout(&mut self) {
        let Some(logout) = self.logout.take() else { return };
        self.drop_link();
        // Reference order: SDK_NOT_READY, then the logout promise resolves.
        self.end_session();
        for token in logout.tokens {
            self.complete(token, Ok(CallOutcome::Done));
        }
        let destroys = std::mem::take(&mut self.destroy_after_logout);
        if !destroys.is_empty() {
            self.finish_destroy(destroys);
        }
    }

    /// Clears the login state after a logout or a kick and tells the app.
    fn end_session(&mut self) {
        self.drop_link();
        self.backoff.reset();
        if self.session.take().is_some() {
            self.out.push_back(Output::Event(ChatEvent::SdkNotReady));
        }
        self.set_net_state(NetState::Disconnected);
    }

    fn finish_destroy(&mut self, tokens: Vec<Token>) {
        self.drop_link();
        self.set_net_state(NetState::Disconnected);
        self.destroyed = true;
        self.clock = None;
        self.out.push_back(Output::Event(ChatEvent::SdkDestroy));
        for token in tokens {
            self.complete(token, Ok(CallOutcome::Done));
        }
    }
}

/// Internal token for the logout that `destroy` performs; its outcome is not reported.
const DESTROY_LOGOUT: Token = u64::MAX;

/// Server codes after which a silent re-login is worth retrying.
fn is_transient(code: i32) -> bool {
    matches!(
        code,
        natter_protocol::code::LOGIN_THROTTLED | natter_protocol::code::SERVER_OVERLOADED
    )
}

/// The not-ready reason code the reference SDK uses for a kick type.
pub fn kicked_code(kick_type: KickType) -> i32 {
    match kick_type {
        KickType::MultipleDevice => code::KICKED_OUT_MULT_DEVICE,
        KickType::MultipleAccount => code::KICKED_OUT_MULT_ACCOUNT,
        KickType::UserSigExpired => code::KICKED_OUT_USERSIG_EXPIRED,
        KickType::RestApi => code::KICKED_OUT_REST_API,
    }
}

#[cfg(test)]
#[path = "machine_tests.rs"]
mod tests;
