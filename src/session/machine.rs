use super::renewal;
use super::state::{AppState, LastKick, SessionState};
use super::{is_plausible_server_ms, local_unix_ms, Backoff, Jitter, ServerClock};
use crate::error::{code, ChatError};
use crate::event::{ChatEvent, NetReason};
use natter_protocol::{
    ClientFrame, CloseCode, KickType, NetState, Platform, ServerFrame, SigLifetime, PROTOCOL_VERSION,
};
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
    Login {
        user_id: String,
        user_sig: String,
    },
    /// A new UserSig for the live session (`updateUserSig`).
    UpdateUserSig {
        user_sig: String,
    },
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
    /// Open a WebSocket to the server and log in on it with `login`: in the upgrade request when
    /// the server takes it there, else as the first frame, sent by the connection itself right
    /// after the upgrade (no round trip through the driver). Report `connected` (with the instant
    /// the login left), `frame` and `closed` with this id.
    Connect {
        conn: ConnId,
        login: ClientFrame,
    },
    Send(ConnId, ClientFrame),
    /// Close the connection (politely if it is open) and forget it.
    Close(ConnId),
    Event(ChatEvent),
    Complete(Token, Result<CallOutcome, ChatError>),
    /// Ask the app's UserSig provider for a new sig; answer with `handle_provided_user_sig`.
    /// Only with `has_user_sig_provider`, and never while an earlier request is unanswered.
    FetchUserSig,
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
    /// Deadline of the one ping sent when the app returns to the foreground or the network
    /// comes back: no answer by then and the link is replaced at once.
    pub probe_timeout: Duration,
    /// The app gave a UserSig provider: renew through `FetchUserSig` instead of emitting
    /// `UserSigExpiring`.
    pub has_user_sig_provider: bool,
}

#[derive(Debug, Clone)]
struct Credentials {
    user_id: String,
    /// The newest sig: a silent re-login presents it.
    user_sig: String,
    /// The validity the server reported for the accepted sig (absent from older servers).
    lifetime: Option<SigLifetime>,
}

/// A `renewUserSig` frame waiting for its answer.
#[derive(Debug)]
struct PendingRenewal {
    frame_id: u64,
    user_sig: String,
    /// The `updateUserSig` call to settle; `None` when the provider's sig is being presented.
    token: Option<Token>,
    deadline: Instant,
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
    /// The connection is being opened; it logs in with `frame_id` as soon as it is.
    Opening {
        conn: ConnId,
        frame_id: u64,
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
        /// A liveness probe (foreground, network back, late timer) is out: any frame before
        /// this instant proves the link; none and it is replaced at once, without backoff.
        probe: Option<(Instant, NetReason)>,
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
    app_state: AppState,
    /// False after `set_network_reachable(false)`: no connection attempts until it is true.
    reachable: bool,
    /// When to renew the session's UserSig (or warn that it expires, without a provider).
    renew_at: Option<Instant>,
    /// The provider was asked and has not answered.
    fetching_sig: bool,
    renewals: Vec<PendingRenewal>,
    renew_jitter: Jitter,
    last_kick: Option<(KickType, Instant)>,
}

impl Session {
    pub fn new(params: SessionParams) -> Self {
        let backoff = Backoff::new(
            params.reconnect_min_delay,
            params.reconnect_max_delay,
            params.jitter_seed,
        );
        let renew_jitter = Jitter::new(params.jitter_seed.rotate_left(17) ^ 0x5eed);
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
            app_state: AppState::Active,
            reachable: true,
            renew_at: None,
            fetching_sig: false,
            renewals: Vec::new(),
            renew_jitter,
            last_kick: None,
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

    pub fn app_state(&self) -> AppState {
        self.app_state
    }

    /// What `getSessionState` reports. `now_unix_ms` is the local wall clock at `now`.
    pub fn state(&self, now: Instant, now_unix_ms: i64) -> SessionState {
        let wall = |at: Instant| {
            if at >= now {
                now_unix_ms.saturating_add(at.duration_since(now).as_millis() as i64)
            } else {
                now_unix_ms.saturating_sub(now.duration_since(at).as_millis() as i64)
            }
        };
        SessionState {
            ready: self.is_ready(),
            login_user: self.login_user().unwrap_or_default().to_owned(),
            net_state: self.net_state,
            last_kick: self.last_kick.map(|(kick_type, at)| LastKick {
                kick_type,
                at_ms: wall(at),
            }),
            reconnect_attempt: self.backoff.attempt(),
            next_retry_at_ms: match self.link {
                Link::Waiting { until } => Some(wall(until)),
                _ => None,
            },
            user_sig_expire_time_ms: self
                .session
                .as_ref()
                .and_then(|c| c.lifetime)
                .map(|l| l.user_sig_expire_time),
        }
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
            // While a probe is out it alone decides (the heartbeat timers may be long overdue
            // after the device slept; waking for them would spin until the probe's deadline).
            Link::Up {
                probe: Some((deadline, _)),
                ..
            } => Some(deadline),
            Link::Up { last_rx, next_ping, .. } => Some(next_ping.min(last_rx + self.dead_after())),
        };
        [
            link,
            self.login.as_ref().map(|l| l.deadline),
            self.logout.as_ref().map(|l| l.deadline),
            self.renew_at,
            self.renewals.iter().map(|r| r.deadline).min(),
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
            Call::UpdateUserSig { user_sig } => self.call_update_user_sig(token, user_sig, now),
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
        if !self.reachable {
            // No connection attempts while the app says the network is gone.
            return self.complete(token, Err(ChatError::network("the network is unreachable")));
        }
        let deadline = now + self.params.login_timeout;
        self.login = Some(PendingLogin {
            token,
            creds: Credentials {
                user_id,
                user_sig,
                lifetime: None,
            },
            deadline,
        });
        self.backoff.reset();
        self.open_link(now, NetReason::Login);
    }

    fn call_update_user_sig(&mut self, token: Token, user_sig: String, now: Instant) {
        if user_sig.trim().is_empty() {
            return self.complete(token, Err(ChatError::NoUserSig));
        }
        if self.session.is_none() {
            return self.complete(token, Err(ChatError::NotLoggedIn));
        }
        self.present_user_sig(Some(token), user_sig, now);
    }

    /// Presents a new sig for the session: over the link when it is up; otherwise it becomes the
    /// sig of the coming silent re-login (which the server verifies) and a call settles at once.
    fn present_user_sig(&mut self, token: Option<Token>, user_sig: String, now: Instant) {
        if let Link::Up { conn, .. } = self.link {
            let frame_id = self.frame_id();
            self.out.push_back(Output::Send(
                conn,
                ClientFrame::RenewUserSig {
                    id: frame_id,
                    user_sig: user_sig.clone(),
                },
            ));
            self.renewals.push(PendingRenewal {
                frame_id,
                user_sig,
                token,
                deadline: now + self.params.request_timeout,
            });
            return;
        }
        if let Some(creds) = &mut self.session {
            creds.user_sig = user_sig;
        }
        if let Link::Opening { .. } = self.link {
            // The opening connection carries a login with the older sig: open another one, so
            // the coming re-login presents the newest, as it did when the login was built late.
            self.drop_link();
            self.open_link(now, NetReason::Reconnect);
        }
        if let Some(token) = token {
            self.complete(token, Ok(CallOutcome::Done));
        }
    }

    // ----- inputs: app lifecycle and UserSig provider ----------------------------------------

    /// `setAppState`: returning to the foreground probes the link (and retries a waiting
    /// reconnect at once).
    pub fn handle_app_state(&mut self, state: AppState, now: Instant) {
        let was = std::mem::replace(&mut self.app_state, state);
        if was == AppState::Background && state == AppState::Active {
            self.wake(NetReason::Foreground, now);
        }
    }

    /// `setNetworkReachable`: gone → disconnected at once and no attempts; back → probe or
    /// reconnect at once.
    pub fn handle_network_reachable(&mut self, reachable: bool, now: Instant) {
        let was = std::mem::replace(&mut self.reachable, reachable);
        if was == reachable || self.destroyed {
            return;
        }
        if reachable {
            return self.wake(NetReason::NetworkBack, now);
        }
        self.drop_link();
        if let Some(login) = self.login.take() {
            self.complete(login.token, Err(ChatError::network("the network is unreachable")));
        }
        if self.logout.is_some() {
            // The server forgets the instance when its socket dies.
            return self.finish_logout();
        }
        self.fail_renewals_on_lost_link();
        self.set_net_state(NetState::Disconnected, NetReason::NetworkUnreachable, None);
    }

    /// The provider answered the last `FetchUserSig`.
    pub fn handle_provided_user_sig(&mut self, result: Result<String, ChatError>, now: Instant) {
        if !std::mem::take(&mut self.fetching_sig) || self.session.is_none() {
            return;
        }
        match result {
            Ok(sig) if !sig.trim().is_empty() => self.present_user_sig(None, sig, now),
            Ok(_) => self.retry_renewal(ChatError::NoUserSig, now),
            Err(e) => self.retry_renewal(e, now),
        }
    }

    /// Foreground or network back: a live link gets one probe; a waiting one reconnects now.
    fn wake(&mut self, reason: NetReason, now: Instant) {
        if self.session.is_none() || !self.reachable {
            return;
        }
        match self.link {
            Link::Up { conn, .. } => {
                let id = self.frame_id();
                self.out.push_back(Output::Send(conn, ClientFrame::Ping { id }));
                let deadline = now + self.params.probe_timeout;
                let heartbeat = self.params.heartbeat_interval;
                if let Link::Up {
                    ping, probe, next_ping, ..
                } = &mut self.link
                {
                    *ping = Some((id, now));
                    *probe = Some((deadline, reason));
                    // The probe is this interval's ping.
                    *next_ping = now + heartbeat;
                }
            }
            Link::Down | Link::Waiting { .. } => {
                self.backoff.reset();
                self.open_link(now, reason);
            }
            Link::Opening { .. } | Link::Authenticating { .. } => {}
        }
    }

    /// Sets when the session's sig is renewed, from the lifetime the server reported.
    fn schedule_renewal(&mut self, now: Instant) {
        self.renew_at = None;
        let Some(lifetime) = self.session.as_ref().and_then(|c| c.lifetime) else {
            return;
        };
        let server_now = self.server_now_ms(now);
        let wait = renewal::renew_at_ms(lifetime).saturating_sub(server_now).max(0) as u64;
        self.renew_at = Some(now + Duration::from_millis(wait));
    }

    fn server_now_ms(&self, now: Instant) -> i64 {
        self.clock.map_or_else(local_unix_ms, |c| c.now_ms_at(now))
    }

    /// Renewal time came: ask the provider, or tell the app.
    fn start_renewal(&mut self, now: Instant) {
        self.renew_at = None;
        let Some(creds) = &self.session else { return };
        if !self.params.has_user_sig_provider {
            if let Some(lifetime) = creds.lifetime {
                let expire_time_ms = lifetime.user_sig_expire_time;
                self.out
                    .push_back(Output::Event(ChatEvent::UserSigExpiring { expire_time_ms }));
            }
            return;
        }
        if self.fetching_sig || self.renewals.iter().any(|r| r.token.is_none()) {
            return;
        }
        let _ = now;
        self.fetching_sig = true;
        self.out.push_back(Output::FetchUserSig);
    }

    /// A provider-driven renewal failed: try again after a jittered delay until the sig expires
    /// (then the server's `userSigExpired` kick ends the session as usual).
    fn retry_renewal(&mut self, cause: ChatError, now: Instant) {
        let Some(lifetime) = self.session.as_ref().and_then(|c| c.lifetime) else {
            return;
        };
        let left = lifetime.user_sig_expire_time.saturating_sub(self.server_now_ms(now));
        if left <= 0 {
            // Expired: the server's kick (or a re-login's 70001) ends the session; asking the
            // provider again would only hammer it.
            log::info!("UserSig renewal failed ({cause}) and the sig has expired; no more retries");
            return;
        }
        let delay = renewal::retry_delay(Duration::from_millis(left as u64), &mut self.renew_jitter);
        log::info!("UserSig renewal failed ({cause}); retrying in {delay:?}");
        self.renew_at = Some(now + delay);
    }

    /// The link went away with renewals unanswered: their sigs are the newest, so the silent
    /// re-login presents the last of them, and the calls settle (the re-login verifies it).
    fn fail_renewals_on_lost_link(&mut self) {
        for r in std::mem::take(&mut self.renewals) {
            if let Some(creds) = &mut self.session {
                creds.user_sig = r.user_sig;
            }
            if let Some(token) = r.token {
                self.complete(token, Ok(CallOutcome::Done));
            }
        }
    }

    fn on_user_sig_renewed(&mut self, id: u64, lifetime: SigLifetime, now: Instant) {
        let Some(pos) = self.renewals.iter().position(|r| r.frame_id == id) else {
            return;
        };
        let r = self.renewals.remove(pos);
        if let Some(creds) = &mut self.session {
            creds.user_sig = r.user_sig;
            creds.lifetime = Some(lifetime);
        }
        self.schedule_renewal(now);
        if let Some(token) = r.token {
            self.complete(token, Ok(CallOutcome::Done));
        }
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

    /// The WebSocket of `conn` is open and its login (built with the `Connect`) left at `sent`.
    pub fn handle_connected(&mut self, conn: ConnId, sent: Instant) {
        let Link::Opening {
            conn: current,
            frame_id,
            ..
        } = self.link
        else {
            return;
        };
        if current != conn {
            return;
        }
        let deadline = self
            .login
            .as_ref()
            .map_or(sent + self.params.request_timeout, |l| l.deadline);
        self.link = Link::Authenticating {
            conn,
            frame_id,
            sent,
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
            self.end_session(NetReason::Kicked);
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
        if let Link::Up { last_rx, probe, .. } = &mut self.link {
            // Any frame proves the link is alive, a probe's answer included.
            *last_rx = now;
            *probe = None;
        }
        match frame {
            ServerFrame::LoginOk {
                id,
                server_time_ms,
                user_sig,
            } => self.on_login_ok(conn, id, server_time_ms, user_sig, now),
            ServerFrame::UserSigRenewed { id, user_sig } => self.on_user_sig_renewed(id, user_sig, now),
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
            ServerFrame::Kicked { kick_type } => self.on_kicked(kick_type, now),
            ServerFrame::Unknown => log::info!("ignoring an unknown frame type from the server"),
        }
    }

    fn on_login_ok(&mut self, conn: ConnId, id: u64, server_time_ms: i64, lifetime: Option<SigLifetime>, now: Instant) {
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
            probe: None,
        };
        // The backoff is NOT reset here: a server or proxy that accepts the login and closes at
        // once would otherwise get a re-login every U(0, min_delay) forever. It resets once the
        // link proves itself (first pong, or one heartbeat interval up).
        self.set_net_state(NetState::Connected, NetReason::LoggedIn, None);
        if let Some(login) = self.login.take() {
            self.session = Some(login.creds);
            if let Some(creds) = &mut self.session {
                creds.lifetime = lifetime;
            }
            self.schedule_renewal(now);
            let outcome = CallOutcome::Login(LoginResult {
                repeat_login: false,
                error_info: None,
            });
            self.complete(login.token, Ok(outcome));
            self.out.push_back(Output::Event(ChatEvent::SdkReady));
        } else if let Some(creds) = &mut self.session {
            // A silent re-login: the server verified the newest sig; renew on its schedule.
            // (Without a provider, a sig already past its renewal time warns again.)
            if lifetime.is_some() {
                creds.lifetime = lifetime;
            }
            if !self.fetching_sig {
                self.schedule_renewal(now);
            }
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
        if let Some(pos) = self.renewals.iter().position(|r| Some(r.frame_id) == id) {
            // A refused renewal leaves the session on its current sig.
            let r = self.renewals.remove(pos);
            let err = ChatError::Server { code, detail: message };
            match r.token {
                Some(token) => self.complete(token, Err(err)),
                None => self.retry_renewal(err, now),
            }
            return;
        }
        if !answers_login {
            self.out.push_back(Output::Event(ChatEvent::Error { code, message }));
            return;
        }
        self.drop_link();
        if let Some(login) = self.login.take() {
            self.set_net_state(NetState::Disconnected, NetReason::LoginFailed, None);
            self.complete(login.token, Err(ChatError::Server { code, detail: message }));
        } else if is_transient(code) {
            self.link_lost(ChatError::Server { code, detail: message }, now);
        } else if code == natter_protocol::code::USERSIG_EXPIRED {
            // The stored UserSig expired while we were away: same as the server's expiry kick.
            self.on_kicked(KickType::UserSigExpired, now);
        } else {
            self.out.push_back(Output::Event(ChatEvent::Error { code, message }));
            self.end_session(NetReason::LoginFailed);
        }
    }

    fn on_kicked(&mut self, kick_type: KickType, now: Instant) {
        self.drop_link();
        self.last_kick = Some((kick_type, now));
        if self.session.is_none() {
            if let Some(login) = self.login.take() {
                self.set_net_state(NetState::Disconnected, NetReason::LoginFailed, None);
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
        self.end_session(NetReason::Kicked);
    }

    // ----- inputs: time --------------------------------------------------------------------

    pub fn handle_timeout(&mut self, now: Instant) {
        // A timer firing far later than it was due means the device slept: the backoff built up
        // before says nothing about the network now, and a live-looking link must prove itself.
        let slept = self
            .poll_timeout()
            .is_some_and(|due| now.saturating_duration_since(due) >= self.late_after());
        if slept {
            log::info!("a timer fired far later than due (the device slept): resetting the backoff");
            self.backoff.reset();
        }
        if self.login.as_ref().is_some_and(|l| now >= l.deadline) {
            let login = self.login.take().expect("checked above");
            self.drop_link();
            self.set_net_state(NetState::Disconnected, NetReason::LoginFailed, None);
            self.complete(login.token, Err(ChatError::Timeout));
        }
        if self.renew_at.is_some_and(|at| now >= at) {
            self.start_renewal(now);
        }
        while let Some(pos) = self.renewals.iter().position(|r| now >= r.deadline) {
            let r = self.renewals.remove(pos);
            match r.token {
                Some(token) => self.complete(token, Err(ChatError::Timeout)),
                None => self.retry_renewal(ChatError::Timeout, now),
            }
        }
        if self.logout.as_ref().is_some_and(|l| now >= l.deadline) {
            self.finish_logout();
        }
        match self.link {
            Link::Waiting { until } if now >= until => self.open_link(now, NetReason::Reconnect),
            Link::Opening { deadline, .. } | Link::Authenticating { deadline, .. } if now >= deadline => {
                self.drop_link();
                self.link_lost(ChatError::Timeout, now);
            }
            Link::Up {
                probe: Some((deadline, reason)),
                ..
            } if now >= deadline => {
                log::info!("no answer to the liveness probe: replacing the link at once");
                self.drop_link();
                self.fail_renewals_on_lost_link();
                self.set_net_state(NetState::Disconnected, NetReason::LinkLost, None);
                self.backoff.reset();
                self.open_link(now, reason);
            }
            // A probe is out and not yet due: it alone decides about this link.
            Link::Up { probe: Some(_), .. } => {}
            Link::Up { .. } if slept => self.wake(NetReason::Reconnect, now),
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

    /// How late a timer must fire to count as "the device slept".
    fn late_after(&self) -> Duration {
        self.params.heartbeat_interval.max(Duration::from_secs(5))
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

    fn set_net_state(&mut self, state: NetState, reason: NetReason, retry_in: Option<Duration>) {
        if self.net_state != state {
            self.net_state = state;
            self.out.push_back(Output::Event(ChatEvent::NetStateChange {
                state,
                reason,
                retry_in_ms: retry_in.map(|d| d.as_millis() as u64),
            }));
        }
    }

    /// Opens a connection that logs in (or resumes) with the current credentials.
    fn open_link(&mut self, now: Instant, reason: NetReason) {
        let Some(creds) = self.login.as_ref().map(|l| &l.creds).or(self.session.as_ref()).cloned() else {
            // Nobody to log in (cannot normally happen: every caller has a login or a session).
            log::warn!("not opening a connection: no login and no session");
            return;
        };
        self.next_conn += 1;
        let conn = self.next_conn;
        let frame_id = self.frame_id();
        let login = ClientFrame::Login {
            id: frame_id,
            version: PROTOCOL_VERSION,
            sdk_app_id: self.params.sdk_app_id,
            user_id: creds.user_id,
            user_sig: creds.user_sig,
            platform: self.params.platform,
            instance_id: self.params.instance_id.clone(),
            resume: self.session.is_some(),
        };
        self.out.push_back(Output::Connect { conn, login });
        self.link = Link::Opening {
            conn,
            frame_id,
            deadline: now + self.params.request_timeout,
        };
        self.set_net_state(NetState::Connecting, reason, None);
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
        self.fail_renewals_on_lost_link();
        if let Some(login) = self.login.take() {
            self.set_net_state(NetState::Disconnected, NetReason::LoginFailed, None);
            let err = match cause {
                ChatError::Timeout | ChatError::Server { .. } | ChatError::Network { .. } => cause,
                other => ChatError::network(other),
            };
            return self.complete(login.token, Err(err));
        }
        if self.session.is_some() && self.reachable {
            // Keep the session: reconnect after a jittered backoff and re-login silently.
            let delay = self.backoff.next_delay();
            log::info!(
                "link lost ({cause}); reconnect attempt {} in {delay:?}",
                self.backoff.attempt()
            );
            self.set_net_state(NetState::Disconnected, NetReason::LinkLost, Some(delay));
            self.link = Link::Waiting { until: now + delay };
        } else if self.session.is_some() {
            // Unreachable: wait for `set_network_reachable(true)` instead of trying.
            self.set_net_state(NetState::Disconnected, NetReason::NetworkUnreachable, None);
        } else {
            self.set_net_state(NetState::Disconnected, NetReason::LinkLost, None);
        }
    }

    fn finish_logout(&mut self) {
        let Some(logout) = self.logout.take() else { return };
        self.drop_link();
        // Reference order: SDK_NOT_READY, then the logout promise resolves.
        self.end_session(NetReason::LoggedOut);
        for token in logout.tokens {
            self.complete(token, Ok(CallOutcome::Done));
        }
        let destroys = std::mem::take(&mut self.destroy_after_logout);
        if !destroys.is_empty() {
            self.finish_destroy(destroys);
        }
    }

    /// Clears the login state after a logout or a kick and tells the app.
    fn end_session(&mut self, reason: NetReason) {
        self.drop_link();
        self.backoff.reset();
        self.renew_at = None;
        self.fetching_sig = false;
        for r in std::mem::take(&mut self.renewals) {
            if let Some(token) = r.token {
                self.complete(token, Err(ChatError::NotLoggedIn));
            }
        }
        if self.session.take().is_some() {
            self.out.push_back(Output::Event(ChatEvent::SdkNotReady));
        }
        self.set_net_state(NetState::Disconnected, reason, None);
    }

    fn finish_destroy(&mut self, tokens: Vec<Token>) {
        self.drop_link();
        self.set_net_state(NetState::Disconnected, NetReason::Destroyed, None);
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
