//! The sans-IO session machine (`natter::testing::Session`) fed random sequences of API calls,
//! transport events (for the current and for stale connections) and timeouts on an injected,
//! monotonically advancing clock. A model of a real transport decides which events are possible:
//! per connection `connected` at most once and first, frames only while open, `closed` last.
//!
//! Checked after every step: each call token gets exactly one `Complete`, of the right kind;
//! `SdkReady` only right after the `Complete` of a successful login, at most once per login;
//! `SdkNotReady` / `KickedOut` only while ready; `NetStateChange` only on an actual change and the
//! reported states match the machine's; connections are used only as a transport allows
//! (no `Send` before `connected` or after `Close`, `Close` at most once, fresh ids); a timeout never
//! fires without end at one instant (no spin) and a wake-up with nothing due does nothing;
//! after `SdkDestroy` nothing connects and every call completes at once. At the end, every
//! pending call completes by its deadline with no further input, and a destroy leaves no timer.
//!
//! Input: `arbitrary` bytes for [`Input`], or a readable script (the hand-made seeds) starting
//! with `#session`: one op per line, see [`parse_script`].
#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use natter::testing::{Call, CallOutcome, ConnId, LoginResult, Output, Session, SessionParams, Token};
use natter::ChatEvent;
use natter_protocol::{ClientFrame, KickType, NetState, Platform, ServerFrame};
use std::collections::HashMap;
use std::time::{Duration, Instant};

/// Most consecutive `handle_timeout` calls at one instant before we call it a spin.
const MAX_FIRES_AT_ONE_INSTANT: usize = 32;

#[derive(Arbitrary, Debug)]
struct Params {
    heartbeat_ms: u16,
    request_ms: u16,
    login_ms: u16,
    min_delay_ms: u16,
    extra_max_delay_ms: u16,
    seed: u64,
    platform: u8,
}

impl Params {
    /// Within what `ChatConfig::validate` allows: positive durations, max ≥ min.
    fn session(&self) -> SessionParams {
        let ms = |v: u16| Duration::from_millis(1 + u64::from(v));
        let min = ms(self.min_delay_ms);
        SessionParams {
            sdk_app_id: 1400000001,
            platform: Platform::ALL[self.platform as usize % Platform::ALL.len()],
            instance_id: "fuzz-instance".into(),
            heartbeat_interval: ms(self.heartbeat_ms),
            request_timeout: ms(self.request_ms),
            login_timeout: ms(self.login_ms),
            reconnect_min_delay: min,
            reconnect_max_delay: min + Duration::from_millis(u64::from(self.extra_max_delay_ms)),
            jitter_seed: self.seed,
            probe_timeout: ms(self.request_ms),
            has_user_sig_provider: false,
        }
    }
}

#[derive(Arbitrary, Debug, Clone, Copy)]
enum Conn {
    Latest,
    /// `n + 1` connections before the latest.
    Previous(u8),
}

/// Which id a server frame echoes.
#[derive(Arbitrary, Debug, Clone, Copy)]
enum Echo {
    Login,
    Logout,
    Ping,
    Any(u64),
}

#[derive(Arbitrary, Debug, Clone, Copy)]
enum Code {
    Expired,
    BadSig,
    Throttled,
    Busy,
    Protocol,
    Any(i32),
}

impl Code {
    fn value(self) -> i32 {
        match self {
            Code::Expired => 70001,
            Code::BadSig => 70009,
            Code::Throttled => 70050,
            Code::Busy => 60022,
            Code::Protocol => 60008,
            Code::Any(c) => c,
        }
    }
}

#[derive(Arbitrary, Debug, Clone)]
enum Frame {
    LoginOk {
        id: Echo,
        server_time_ms: i64,
    },
    LogoutOk {
        id: Echo,
    },
    Pong {
        id: Echo,
        server_time_ms: i64,
    },
    Error {
        id: Option<Echo>,
        code: Code,
        message: String,
    },
    Kicked {
        kick: u8,
    },
    Unknown,
}

#[derive(Arbitrary, Debug, Clone, Copy)]
enum CloseCode {
    None,
    LoggedOut,
    GoingAway,
    Kicked,
    AuthFailed,
    Protocol,
    Idle,
    Any(u16),
}

impl CloseCode {
    fn value(self) -> Option<u16> {
        Some(match self {
            CloseCode::None => return None,
            CloseCode::LoggedOut => 1000,
            CloseCode::GoingAway => 1001,
            CloseCode::Kicked => 4001,
            CloseCode::AuthFailed => 4002,
            CloseCode::Protocol => 4003,
            CloseCode::Idle => 4010,
            CloseCode::Any(c) => c,
        })
    }
}

#[derive(Arbitrary, Debug, Clone)]
enum Op {
    Login {
        user: u8,
        empty_sig: bool,
    },
    Logout,
    Destroy,
    Connected(Conn),
    Closed(Conn, CloseCode),
    Frame(Conn, Frame),
    /// Time passes (ms); timers due by then fire.
    Advance(u16),
    /// Jump to the machine's next timeout and fire it.
    NextTimeout,
    /// The driver wakes up with nothing due (a spurious timer).
    SpuriousWake,
}

#[derive(Arbitrary, Debug)]
struct Input {
    params: Params,
    ops: Vec<Op>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Login,
    /// Not generated by the ops yet; mapped so that the checker stays exhaustive.
    UpdateUserSig,
    Logout,
    Destroy,
}

/// What a transport knows about one connection.
#[derive(Debug, Default)]
struct ConnState {
    connected: bool,
    /// The transport reported it closed: it sends no more events.
    transport_closed: bool,
    /// The machine told us to close it: it may not use it any more.
    closed_by_machine: bool,
    login_id: Option<u64>,
    logout_id: Option<u64>,
    ping_id: Option<u64>,
}

struct Checker {
    s: Session,
    params: SessionParams,
    now: Instant,
    next_token: Token,
    outstanding: HashMap<Token, Kind>,
    conns: Vec<ConnId>,
    state: HashMap<ConnId, ConnState>,
    net: NetState,
    ready: bool,
    destroyed: bool,
}

impl Checker {
    fn new(params: SessionParams) -> Self {
        Checker {
            s: Session::new(params.clone()),
            params,
            now: Instant::now(),
            next_token: 0,
            outstanding: HashMap::new(),
            conns: Vec::new(),
            state: HashMap::new(),
            net: NetState::Disconnected,
            ready: false,
            destroyed: false,
        }
    }

    /// Carries out and checks every output; returns how many there were.
    fn drain(&mut self) -> usize {
        let mut count = 0;
        // A successful login's Complete must be followed by SdkReady before anything else.
        let mut ready_due = false;
        let mut kicked = false;
        while let Some(out) = self.s.poll_output() {
            count += 1;
            if ready_due {
                assert_eq!(
                    out,
                    Output::Event(ChatEvent::SdkReady),
                    "SdkReady must follow the login's Complete"
                );
            }
            if kicked {
                assert_eq!(
                    out,
                    Output::Event(ChatEvent::SdkNotReady),
                    "KickedOut must be followed by SdkNotReady"
                );
                kicked = false;
            }
            match out {
                Output::Connect { conn, login } => {
                    assert!(!self.destroyed, "Connect({conn}) after destroy");
                    assert!(
                        self.conns.last().is_none_or(|last| conn > *last),
                        "conn id {conn} reused"
                    );
                    let ClientFrame::Login { id, resume, .. } = login else {
                        panic!("Connect({conn}) with {login:?} instead of a login");
                    };
                    assert_eq!(resume, self.ready, "resume must be set exactly when a session exists");
                    self.conns.push(conn);
                    self.state.insert(
                        conn,
                        ConnState {
                            login_id: Some(id),
                            ..ConnState::default()
                        },
                    );
                }
                Output::Send(conn, frame) => {
                    let st = self.state.get_mut(&conn).expect("Send on a connection never opened");
                    assert!(st.connected, "Send({conn}) before the transport reported it open");
                    assert!(
                        !st.closed_by_machine && !st.transport_closed,
                        "Send({conn}) on a closed connection"
                    );
                    match frame {
                        // The connection sends the login the Connect carries.
                        ClientFrame::Login { .. } => panic!("a login frame sent over Send({conn})"),
                        ClientFrame::Logout { id } => st.logout_id = Some(id),
                        ClientFrame::Ping { id } => st.ping_id = Some(id),
                        ClientFrame::RenewUserSig { .. } => {}
                        ClientFrame::Unknown => panic!("the client sent an Unknown frame"),
                    }
                }
                Output::Close(conn) => {
                    let st = self.state.get_mut(&conn).expect("Close on a connection never opened");
                    assert!(!st.closed_by_machine, "Close({conn}) twice");
                    assert!(
                        !st.transport_closed,
                        "Close({conn}) after the transport reported it closed"
                    );
                    st.closed_by_machine = true;
                }
                Output::Event(ev) => match ev {
                    ChatEvent::SdkReady => {
                        assert!(ready_due, "SdkReady without a successful login just before");
                        assert!(!self.ready, "SdkReady twice");
                        ready_due = false;
                        self.ready = true;
                    }
                    ChatEvent::SdkNotReady => {
                        assert!(self.ready, "SdkNotReady while not ready");
                        self.ready = false;
                    }
                    ChatEvent::KickedOut { .. } => {
                        assert!(self.ready, "KickedOut while not logged in");
                        kicked = true;
                    }
                    ChatEvent::NetStateChange { state, .. } => {
                        assert_ne!(state, self.net, "NetStateChange without a change");
                        self.net = state;
                    }
                    ChatEvent::SdkDestroy => {
                        assert!(!self.destroyed, "SdkDestroy twice");
                        self.destroyed = true;
                    }
                    ChatEvent::Error { .. } | ChatEvent::UserSigExpiring { .. } => {}
                },
                Output::FetchUserSig => panic!("FetchUserSig without a provider"),
                Output::Complete(token, result) => {
                    let kind = self
                        .outstanding
                        .remove(&token)
                        .unwrap_or_else(|| panic!("Complete({token}) for no outstanding call: {result:?}"));
                    match (kind, &result) {
                        (
                            Kind::Login,
                            Ok(CallOutcome::Login(LoginResult {
                                repeat_login: false,
                                error_info,
                            })),
                        ) => {
                            assert!(error_info.is_none());
                            assert!(!self.ready, "a fresh login while already ready");
                            ready_due = true;
                        }
                        (Kind::Login, Ok(CallOutcome::Login(LoginResult { repeat_login: true, .. }))) => {
                            assert!(self.ready, "repeat login reported while not logged in");
                        }
                        (Kind::UpdateUserSig | Kind::Logout | Kind::Destroy, Ok(CallOutcome::Done)) => {}
                        (_, Err(e)) => assert_ne!(e.code(), 0, "{e:?}"),
                        (kind, result) => panic!("{kind:?} completed with {result:?}"),
                    }
                    if kind == Kind::Destroy {
                        assert!(result.is_ok() && self.destroyed, "destroy completed before SdkDestroy");
                    }
                }
            }
        }
        assert!(!ready_due, "successful login without SdkReady");
        assert!(!kicked, "KickedOut without SdkNotReady");
        assert_eq!(
            self.net,
            self.s.net_state(),
            "reported net state differs from the machine's"
        );
        assert_eq!(self.ready, self.s.is_ready());
        assert_eq!(self.destroyed, self.s.is_destroyed());
        count
    }

    fn call(&mut self, call: Call) {
        // The driver numbers tokens from 1 (u64::MAX is the machine's own).
        self.next_token += 1;
        let token = self.next_token;
        let kind = match call {
            Call::Login { .. } => Kind::Login,
            Call::UpdateUserSig { .. } => Kind::UpdateUserSig,
            Call::Logout => Kind::Logout,
            Call::Destroy => Kind::Destroy,
        };
        let was_destroyed = self.destroyed;
        self.outstanding.insert(token, kind);
        self.s.handle_call(token, call, self.now);
        let conns_before = self.conns.len();
        self.drain();
        if was_destroyed {
            assert!(
                !self.outstanding.contains_key(&token),
                "a call after destroy must complete at once"
            );
            assert_eq!(self.conns.len(), conns_before);
        }
    }

    /// Fires every timer due at `now`, like the driver's timer loop.
    fn fire(&mut self) {
        let mut fires = 0;
        while self.s.poll_timeout().is_some_and(|t| t <= self.now) {
            fires += 1;
            assert!(
                fires <= MAX_FIRES_AT_ONE_INSTANT,
                "timeout spin: still due after {fires} fires at one instant"
            );
            self.s.handle_timeout(self.now);
            self.drain();
        }
    }

    fn resolve(&self, conn: Conn) -> Option<ConnId> {
        let n = match conn {
            Conn::Latest => 0,
            Conn::Previous(k) => 1 + k as usize,
        };
        self.conns.len().checked_sub(n + 1).map(|i| self.conns[i])
    }

    fn echo(st: &ConnState, e: Echo) -> u64 {
        match e {
            Echo::Login => st.login_id.unwrap_or(0),
            Echo::Logout => st.logout_id.unwrap_or(0),
            Echo::Ping => st.ping_id.unwrap_or(0),
            Echo::Any(id) => id,
        }
    }

    fn step(&mut self, op: Op) {
        match op {
            Op::Login { user, empty_sig } => {
                let user_id = match user % 6 {
                    0 => String::new(),
                    1 => " ".into(),
                    n => format!("user{}", n % 3),
                };
                let user_sig = if empty_sig { String::new() } else { "sig".into() };
                self.call(Call::Login { user_id, user_sig });
            }
            Op::Logout => self.call(Call::Logout),
            Op::Destroy => self.call(Call::Destroy),
            Op::Connected(c) => {
                let Some(conn) = self.resolve(c) else { return };
                let st = self.state.get_mut(&conn).unwrap();
                if st.connected || st.transport_closed || st.closed_by_machine {
                    return;
                }
                st.connected = true;
                self.s.handle_connected(conn, self.now);
                self.drain();
            }
            Op::Closed(c, code) => {
                let Some(conn) = self.resolve(c) else { return };
                let st = self.state.get_mut(&conn).unwrap();
                if st.transport_closed {
                    return;
                }
                st.transport_closed = true;
                self.s.handle_closed(conn, code.value(), "fuzz", self.now);
                self.drain();
            }
            Op::Frame(c, f) => {
                let Some(conn) = self.resolve(c) else { return };
                let st = &self.state[&conn];
                if !st.connected || st.transport_closed {
                    return;
                }
                let frame = match f {
                    Frame::LoginOk { id, server_time_ms } => ServerFrame::LoginOk {
                        id: Self::echo(st, id),
                        server_time_ms,
                        user_sig: None,
                    },
                    Frame::LogoutOk { id } => ServerFrame::LogoutOk { id: Self::echo(st, id) },
                    Frame::Pong { id, server_time_ms } => ServerFrame::Pong {
                        id: Self::echo(st, id),
                        server_time_ms,
                    },
                    Frame::Error { id, code, message } => ServerFrame::Error {
                        id: id.map(|e| Self::echo(st, e)),
                        code: code.value(),
                        message,
                    },
                    Frame::Kicked { kick } => ServerFrame::Kicked {
                        kick_type: KickType::ALL[kick as usize % KickType::ALL.len()],
                    },
                    Frame::Unknown => ServerFrame::Unknown,
                };
                self.s.handle_frame(conn, frame, self.now);
                self.drain();
                if let Some(clock) = self.s.server_clock() {
                    let _ = clock.now_ms_at(self.now);
                }
            }
            Op::Advance(ms) => {
                self.now += Duration::from_millis(u64::from(ms));
                self.fire();
            }
            Op::NextTimeout => {
                if let Some(t) = self.s.poll_timeout() {
                    self.now = self.now.max(t);
                }
                self.fire();
            }
            Op::SpuriousWake => {
                if self.s.poll_timeout().is_some_and(|t| t <= self.now) {
                    return self.fire();
                }
                self.s.handle_timeout(self.now);
                assert_eq!(self.drain(), 0, "a wake-up with nothing due produced output");
            }
        }
    }

    /// With no more input, every pending call completes by its deadline.
    fn settle_calls(&mut self) {
        let limit = self.now + self.params.login_timeout.max(self.params.request_timeout);
        let mut rounds = 0;
        while !self.outstanding.is_empty() {
            rounds += 1;
            assert!(rounds < 10_000, "calls never complete: {:?}", self.outstanding);
            let t = self
                .s
                .poll_timeout()
                .unwrap_or_else(|| panic!("calls {:?} pending with no timer to complete them", self.outstanding));
            self.now = self.now.max(t);
            assert!(
                self.now <= limit,
                "calls {:?} pending past their deadline",
                self.outstanding
            );
            self.fire();
        }
    }

    /// Destroy ends everything: no timer left, no connection, later calls refused at once.
    fn settle_destroy(&mut self) {
        self.call(Call::Destroy);
        let mut rounds = 0;
        while let Some(t) = self.s.poll_timeout() {
            rounds += 1;
            assert!(rounds < 10_000, "timers keep running after destroy");
            self.now = self.now.max(t);
            self.fire();
        }
        assert!(self.destroyed && self.outstanding.is_empty(), "{:?}", self.outstanding);
        let open: Vec<_> = self
            .state
            .iter()
            .filter(|(_, st)| !st.closed_by_machine && !st.transport_closed)
            .map(|(c, _)| *c)
            .collect();
        assert!(open.is_empty(), "connections {open:?} left open after destroy");
        self.call(Call::Login {
            user_id: "late".into(),
            user_sig: "sig".into(),
        });
        assert!(self.s.poll_timeout().is_none());
    }
}

/// The default client configuration (`ChatConfig::new`), for scripts.
fn default_params() -> SessionParams {
    SessionParams {
        sdk_app_id: 1400000001,
        platform: Platform::Web,
        instance_id: "fuzz-instance".into(),
        heartbeat_interval: Duration::from_secs(10),
        request_timeout: Duration::from_secs(15),
        login_timeout: Duration::from_secs(30),
        reconnect_min_delay: Duration::from_millis(500),
        reconnect_max_delay: Duration::from_secs(20),
        jitter_seed: 7,
        probe_timeout: Duration::from_secs(2),
        has_user_sig_provider: false,
    }
}

/// One op per line; `@N` picks the N-th connection before the latest (default: the latest).
/// `login N` (N as in [`Op::Login`]: 0 empty, 1 blank, else `user{N%3}`), `login-nosig N`,
/// `logout`, `destroy`, `connected`, `closed [CODE]`, `frame loginOk|logoutOk|pong [ECHO]`,
/// `frame error CODE [ECHO]` (no ECHO: no id), `frame kicked KICK_INDEX`, `frame unknown`,
/// `advance MS`, `next`, `wake`. ECHO is `login`, `logout`, `ping` or a number. Other lines are
/// ignored, so mutated scripts stay scripts.
fn parse_script(text: &str) -> Vec<Op> {
    let mut ops = Vec::new();
    for line in text.lines() {
        let mut words: Vec<&str> = line.split_whitespace().collect();
        let mut conn = Conn::Latest;
        if let Some(pos) = words.iter().position(|w| w.starts_with('@')) {
            if let Ok(n) = words[pos][1..].parse::<u8>() {
                conn = if n == 0 { Conn::Latest } else { Conn::Previous(n - 1) };
            }
            words.remove(pos);
        }
        let num = |i: usize| words.get(i).and_then(|w| w.parse::<i64>().ok());
        let echo = |i: usize| match words.get(i) {
            Some(&"login") => Some(Echo::Login),
            Some(&"logout") => Some(Echo::Logout),
            Some(&"ping") => Some(Echo::Ping),
            Some(w) => w.parse().ok().map(Echo::Any),
            None => None,
        };
        let op = match words.as_slice() {
            ["login", ..] => Op::Login {
                user: num(1).unwrap_or(2) as u8,
                empty_sig: false,
            },
            ["login-nosig", ..] => Op::Login {
                user: num(1).unwrap_or(2) as u8,
                empty_sig: true,
            },
            ["logout"] => Op::Logout,
            ["destroy"] => Op::Destroy,
            ["connected"] => Op::Connected(conn),
            ["closed", ..] => Op::Closed(conn, num(1).map_or(CloseCode::None, |c| CloseCode::Any(c as u16))),
            ["frame", "loginOk", ..] => Op::Frame(
                conn,
                Frame::LoginOk {
                    id: echo(2).unwrap_or(Echo::Login),
                    server_time_ms: 1_764_374_400_123,
                },
            ),
            ["frame", "logoutOk", ..] => Op::Frame(
                conn,
                Frame::LogoutOk {
                    id: echo(2).unwrap_or(Echo::Logout),
                },
            ),
            ["frame", "pong", ..] => Op::Frame(
                conn,
                Frame::Pong {
                    id: echo(2).unwrap_or(Echo::Ping),
                    server_time_ms: 1_764_374_410_456,
                },
            ),
            ["frame", "error", ..] => Op::Frame(
                conn,
                Frame::Error {
                    id: echo(3),
                    code: Code::Any(num(2).unwrap_or(70001) as i32),
                    message: "scripted".into(),
                },
            ),
            ["frame", "kicked", ..] => Op::Frame(
                conn,
                Frame::Kicked {
                    kick: num(2).unwrap_or(0) as u8,
                },
            ),
            ["frame", "unknown"] => Op::Frame(conn, Frame::Unknown),
            ["advance", ..] => Op::Advance(num(1).unwrap_or(0).clamp(0, u16::MAX as i64) as u16),
            ["next"] => Op::NextTimeout,
            ["wake"] => Op::SpuriousWake,
            _ => continue,
        };
        ops.push(op);
    }
    ops
}

const SCRIPT_HEADER: &[u8] = b"#session";

fuzz_target!(|data: &[u8]| {
    let (params, ops) = match data.strip_prefix(SCRIPT_HEADER) {
        Some(script) => (default_params(), parse_script(&String::from_utf8_lossy(script))),
        None => {
            let Ok(input) = Input::arbitrary_take_rest(arbitrary::Unstructured::new(data)) else {
                return;
            };
            (input.params.session(), input.ops)
        }
    };
    let mut c = Checker::new(params);
    for op in ops.into_iter().take(256) {
        c.step(op);
    }
    c.settle_calls();
    c.settle_destroy();
});
