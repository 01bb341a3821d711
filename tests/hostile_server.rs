//! The client against a hostile server (a fake server inside the test): garbage, absurd fields,
//! 10 MB frames, silence, every close code, resets mid-frame, and a server that accepts the
//! login and then closes on every connection. The client must never panic (no 9003, calls keep
//! settling), never hang (every call settles within a bound) and never spin (connection
//! attempts per window stay under the backoff bound). `docs/reliability.md` has the table.

mod common;

use common::fake::*;
use futures_util::future::join_all;
use futures_util::{stream, StreamExt};
use natter::{code, ChatClient, ChatConfig, ChatError, ChatEvent, NetState};
use natter_protocol::ServerFrame;
use std::time::{Duration, Instant};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

/// Heartbeat before the login (short, so silent cases settle fast) and after it (longer, so a
/// loaded 2-core machine running many cases at once does not look like a dead link).
const HB: Duration = Duration::from_millis(200);
const HB_AFTER_LOGIN: Duration = Duration::from_millis(500);
/// How many cases run at once.
const PARALLEL: usize = 8;
const MIN_DELAY: Duration = Duration::from_millis(20);
const MAX_DELAY: Duration = Duration::from_secs(1);
/// Every call against a hostile server settles within this (the longest login timeout, 5 s,
/// plus slack).
const SETTLE: Duration = Duration::from_secs(8);

fn hostile_config(url: String, heartbeat: Duration, login_timeout: Duration) -> ChatConfig {
    let mut c = ChatConfig::new(1400000001).with_server_url(url);
    c.heartbeat_interval = heartbeat;
    c.request_timeout = Duration::from_secs(1);
    c.login_timeout = login_timeout;
    c.reconnect_min_delay = MIN_DELAY;
    c.reconnect_max_delay = MAX_DELAY;
    c
}

/// A client whose failed logins settle fast (2 s login timeout).
fn new_client(url: String) -> (ChatClient, common::Events) {
    client_with(hostile_config(url, HB, Duration::from_secs(2)))
}

/// A client for cases that start with a successful login (tolerant of a loaded machine).
fn logged_in_client(url: String) -> (ChatClient, common::Events) {
    client_with(hostile_config(url, HB_AFTER_LOGIN, Duration::from_secs(5)))
}

fn client_with(config: ChatConfig) -> (ChatClient, common::Events) {
    // RUST_LOG=natter=debug shows what the client made of each case.
    let _ = env_logger::builder().is_test(true).try_init();
    let client = ChatClient::new(config).unwrap();
    let events = common::Events(client.events());
    (client, events)
}

async fn settled<T>(what: &str, f: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(SETTLE, f)
        .await
        .unwrap_or_else(|_| panic!("{what}: did not settle within {SETTLE:?}"))
}

fn now_ms() -> i64 {
    natter::local_unix_ms()
}

/// A raw WebSocket frame from the server (unmasked), so a case can send what tungstenite
/// would refuse to (reserved close codes, truncated frames).
fn raw_frame(opcode: u8, payload: &[u8]) -> Vec<u8> {
    let mut f = vec![0x80 | opcode];
    match payload.len() {
        n if n < 126 => f.push(n as u8),
        n if n <= 0xFFFF => {
            f.push(126);
            f.extend_from_slice(&(n as u16).to_be_bytes());
        }
        n => {
            f.push(127);
            f.extend_from_slice(&(n as u64).to_be_bytes());
        }
    }
    f.extend_from_slice(payload);
    f
}

fn close_frame(code: u16) -> Vec<u8> {
    let mut payload = code.to_be_bytes().to_vec();
    payload.extend_from_slice(b"hostile");
    raw_frame(0x8, &payload)
}

async fn write_raw(ws: &mut Ws, bytes: &[u8]) {
    let _ = ws.get_mut().write_all(bytes).await;
    let _ = ws.get_mut().flush().await;
}

/// Keeps a socket open, reading and dropping whatever the client sends (a silent server).
async fn hold(mut ws: Ws) {
    while let Some(Ok(_)) = ws.next().await {}
}

// ----- before the login completes ----------------------------------------------------------

/// Declares the enum and `ALL`, its every case in declaration order, from one list: a case added
/// to the enum is run by the test without a second list to keep in step.
macro_rules! cases {
    ($name:ident { $($case:ident),* $(,)? }) => {
        #[derive(Clone, Copy, Debug)]
        enum $name { $($case),* }
        impl $name {
            const ALL: &'static [$name] = &[$($name::$case),*];
        }
    };
}

cases!(BeforeLogin {
    GarbageHead,
    BinaryNoTerminator,
    EndlessHead,
    SilentTcp,
    CloseAtAccept,
    ResetAtAccept,
    WrongAcceptKey,
    GarbageTextFrames,
    BinaryFrame,
    TenMegabyteFrame,
    LoginOkWrongId,
    LoginOkIdAsString,
    LoginOkTimeBeyondI64,
    LoginOkNegativeTime,
    KickedUnknownType,
    ErrorHugeCode,
    ErrorCodeWrongType,
    CloseAuthFailedNoFrame,
    ResetMidFrame,
});

/// What the login must end with: `Ok` or the error code.
fn expected(case: BeforeLogin) -> Result<(), i32> {
    use BeforeLogin::*;
    match case {
        LoginOkNegativeTime => Ok(()),
        SilentTcp | GarbageTextFrames | BinaryFrame | LoginOkWrongId | LoginOkIdAsString | LoginOkTimeBeyondI64
        | KickedUnknownType | ErrorCodeWrongType => Err(code::NETWORK_TIMEOUT),
        ErrorHugeCode => Err(i32::MAX),
        _ => Err(code::NETWORK_ERROR),
    }
}

async fn before_login_script(case: BeforeLogin, mut stream: TcpStream) {
    use BeforeLogin::*;
    match case {
        GarbageHead => {
            let _ = read_upgrade_request(&mut stream).await;
            let _ = stream.write_all(b"garbage garbage\r\n\r\n").await;
            return;
        }
        BinaryNoTerminator => {
            let _ = read_upgrade_request(&mut stream).await;
            let _ = stream.write_all(&[0xff, 0x00, 0x13, 0x37, 0x0d, 0x0a]).await;
            return;
        }
        EndlessHead => {
            let _ = read_upgrade_request(&mut stream).await;
            let mut head = b"HTTP/1.1 101 Switching Protocols\r\n".to_vec();
            head.extend(std::iter::repeat_n(b'x', 64 * 1024));
            let _ = stream.write_all(&head).await;
            return hold_tcp(stream).await;
        }
        SilentTcp => return hold_tcp(stream).await,
        CloseAtAccept => return,
        ResetAtAccept => return reset(stream),
        WrongAcceptKey => {
            let _ = read_upgrade_request(&mut stream).await;
            let _ = stream.write_all(switching_protocols("not-the-key").as_bytes()).await;
            return hold_tcp(stream).await;
        }
        _ => {}
    }
    let Some(mut ws) = accept_ws(stream).await else { return };
    let Some((id, _)) = read_login(&mut ws).await else {
        return;
    };
    let text = |s: String| raw_frame(0x1, s.as_bytes());
    match case {
        GarbageTextFrames => {
            for g in [
                "",
                "{",
                "null",
                "[1,2]",
                "{\"type\":42}",
                "\u{0}\u{1}",
                "{\"type\":\"loginOk\"}",
            ] {
                write_raw(&mut ws, &text(g.into())).await;
            }
        }
        BinaryFrame => write_raw(&mut ws, &raw_frame(0x2, &[0, 1, 2, 3])).await,
        TenMegabyteFrame => {
            let big = format!(
                "{{\"type\":\"error\",\"code\":1,\"message\":\"{}\"}}",
                "x".repeat(10 << 20)
            );
            write_raw(&mut ws, &text(big)).await;
        }
        LoginOkWrongId => {
            let f = ServerFrame::LoginOk {
                id: u64::MAX,
                server_time_ms: now_ms(),
                user_sig: None,
            };
            write_raw(&mut ws, &text(f.to_json())).await;
        }
        LoginOkIdAsString => {
            write_raw(
                &mut ws,
                &text(format!(r#"{{"type":"loginOk","id":"{id}","serverTimeMs":1}}"#)),
            )
            .await
        }
        LoginOkTimeBeyondI64 => {
            write_raw(
                &mut ws,
                &text(format!(r#"{{"type":"loginOk","id":{id},"serverTimeMs":1e30}}"#)),
            )
            .await
        }
        LoginOkNegativeTime => {
            let f = ServerFrame::LoginOk {
                id,
                server_time_ms: -123_456,
                user_sig: None,
            };
            write_raw(&mut ws, &text(f.to_json())).await;
        }
        KickedUnknownType => write_raw(&mut ws, &text(r#"{"type":"kicked","kickType":"meteor"}"#.into())).await,
        ErrorHugeCode => {
            let f = ServerFrame::Error {
                id: Some(id),
                code: i32::MAX,
                message: "m".repeat(15_000),
            };
            write_raw(&mut ws, &text(f.to_json())).await;
        }
        ErrorCodeWrongType => {
            write_raw(
                &mut ws,
                &text(format!(r#"{{"type":"error","id":{id},"code":"x","message":1}}"#)),
            )
            .await
        }
        CloseAuthFailedNoFrame => write_raw(&mut ws, &close_frame(4002)).await,
        ResetMidFrame => {
            // A frame header announcing 100 bytes, 10 of them, then RST.
            let mut partial = raw_frame(0x1, &[b'{'; 100]);
            partial.truncate(12);
            write_raw(&mut ws, &partial).await;
            let _ = ws.get_ref().set_zero_linger();
            return;
        }
        _ => unreachable!("handled above: {case:?}"),
    }
    if !matches!(case, LoginOkNegativeTime) {
        return hold(ws).await;
    }
    serve_pings(ws).await;
}

async fn hold_tcp(mut stream: TcpStream) {
    use tokio::io::AsyncReadExt;
    let mut buf = [0u8; 1024];
    while matches!(stream.read(&mut buf).await, Ok(n) if n > 0) {}
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_answers_to_the_login_settle_with_a_coded_error_and_never_panic() {
    let cases = BeforeLogin::ALL.iter().copied();
    const TRIES: usize = 3;
    let runs = stream::iter(cases).map(|case| async move {
        let mut fake = FakeServer::start(move |stream, _| before_login_script(case, stream)).await;
        let mut outcomes = vec![];
        for _ in 0..TRIES {
            let (client, _events) = new_client(fake.url());
            let started = Instant::now();
            let result = settled(&format!("{case:?} login"), client.login("alice", "sig")).await;
            let took = started.elapsed();
            let got = result.as_ref().map(drop).map_err(ChatError::code);
            assert_eq!(got, expected(case), "{case:?}: {result:?}");
            if got.is_ok() {
                // A negative serverTimeMs is ignored: the clock stays the local one.
                let skew = client.server_time_ms() - now_ms();
                assert!(skew.abs() < 1000, "{case:?}: server time off by {skew} ms");
                settled("logout", client.logout()).await.unwrap();
            }
            settled("destroy", client.destroy()).await.unwrap();
            outcomes.push((got, took));
        }
        // A failed first login never retries on its own: one connection per try.
        let mut accepts = vec![];
        fake.drain_accepts(&mut accepts);
        assert_eq!(accepts.len(), TRIES, "{case:?}: connections");
        (case, outcomes)
    });
    for (case, outcomes) in runs.buffered(PARALLEL).collect::<Vec<_>>().await {
        let slowest = outcomes.iter().map(|(_, t)| *t).max().unwrap();
        let result = match outcomes[0].0 {
            Ok(()) => "login ok".to_owned(),
            Err(c) => format!("login fails {c}"),
        };
        eprintln!("| before login: {case:?} | {TRIES} | {result}, slowest {slowest:.1?} |");
    }
}

// ----- after a successful login --------------------------------------------------------------

#[derive(Clone, Copy, Debug)]
enum AfterLogin {
    Garbage,
    AbsurdFields,
    TenMegabyteFrame,
    SilenceNoPongs,
    Close(u16),
    Reset,
    ResetMidFrame,
}

/// Connection 0 logs in and then misbehaves; every later connection is a well-behaved server.
async fn after_login_script(case: AfterLogin, stream: TcpStream, n: usize) {
    let Some(mut ws) = accept_login(stream).await else {
        return;
    };
    if n > 0 {
        return serve_pings(ws).await;
    }
    let text = |s: &str| raw_frame(0x1, s.as_bytes());
    match case {
        AfterLogin::Garbage => {
            for g in ["", "{", "\u{7f}", "[]", "{\"type\":null}", "\"loginOk\""] {
                write_raw(&mut ws, &text(g)).await;
            }
            write_raw(&mut ws, &raw_frame(0x2, &[9; 64])).await;
            serve_pings(ws).await;
        }
        AfterLogin::AbsurdFields => {
            for f in [
                format!(r#"{{"type":"pong","id":{},"serverTimeMs":-1}}"#, u64::MAX),
                r#"{"type":"pong","id":-1,"serverTimeMs":1e300}"#.to_owned(),
                r#"{"type":"loginOk","id":1,"serverTimeMs":-9223372036854775808}"#.to_owned(),
                r#"{"type":"logoutOk","id":18446744073709551615}"#.to_owned(),
                r#"{"type":"kicked","kickType":""}"#.to_owned(),
                r#"{"type":"kicked"}"#.to_owned(),
                r#"{"type":"teleport","id":1}"#.to_owned(),
                format!(
                    r#"{{"type":"error","code":{},"message":"{}"}}"#,
                    i32::MIN,
                    "e".repeat(10_000)
                ),
            ] {
                write_raw(&mut ws, &text(&f)).await;
            }
            serve_pings(ws).await;
        }
        AfterLogin::TenMegabyteFrame => {
            let big = format!("{{\"type\":\"pong\",\"id\":1,\"pad\":\"{}\"}}", "x".repeat(10 << 20));
            write_raw(&mut ws, &text(&big)).await;
            hold(ws).await;
        }
        AfterLogin::SilenceNoPongs => hold(ws).await,
        AfterLogin::Close(code) => {
            write_raw(&mut ws, &close_frame(code)).await;
            hold(ws).await;
        }
        AfterLogin::Reset => {
            let _ = ws.get_ref().set_zero_linger();
        }
        AfterLogin::ResetMidFrame => {
            let mut partial = raw_frame(0x1, &[b'x'; 300]);
            partial.truncate(40);
            write_raw(&mut ws, &partial).await;
            let _ = ws.get_ref().set_zero_linger();
        }
    }
}

/// Close codes the session treats as "your session is over" (protocol/src/close.rs).
fn is_terminal(code: u16) -> bool {
    natter_protocol::CloseCode::from_code(code).is_some_and(natter_protocol::CloseCode::is_terminal)
}

#[derive(Debug, PartialEq)]
enum AfterOutcome {
    /// The session kept its link: nothing to recover.
    StayedUp,
    /// The link was lost and came back without SDK_NOT_READY.
    Reconnected,
    /// The session ended (error 3001 + SDK_NOT_READY) and no reconnect followed.
    Ended,
}

async fn run_after_login(case: AfterLogin) -> (AfterOutcome, usize) {
    let mut fake = FakeServer::start(move |stream, n| after_login_script(case, stream, n)).await;
    let (client, mut events) = logged_in_client(fake.url());
    settled("login", client.login("alice", "sig")).await.unwrap();
    events.expect_next(ChatEvent::SdkReady).await;
    let expect_link_loss = !matches!(case, AfterLogin::Garbage | AfterLogin::AbsurdFields);
    let outcome = if !expect_link_loss {
        // Still up and served: a heartbeat round trip later nothing was lost.
        let window = tokio::time::timeout(HB_AFTER_LOGIN * 3, events.until(&net_state(NetState::Disconnected))).await;
        assert!(window.is_err(), "{case:?}: the link dropped: {window:?}");
        AfterOutcome::StayedUp
    } else if matches!(case, AfterLogin::Close(c) if is_terminal(c)) {
        let error = settled("error event", events.next_non_net()).await;
        assert!(
            matches!(error, ChatEvent::Error { code: 3001, .. }),
            "{case:?}: {error:?}"
        );
        events.expect_next(ChatEvent::SdkNotReady).await;
        // Nothing happens for a while: no reconnect into an ended session (this wait is the test).
        tokio::time::sleep(Duration::from_millis(300)).await;
        AfterOutcome::Ended
    } else {
        let seen = settled(
            &format!("{case:?} reconnect"),
            events.until(&net_state(NetState::Connected)),
        )
        .await;
        assert!(
            seen.iter().all(|e| matches!(e, ChatEvent::NetStateChange { .. })),
            "{case:?}: {seen:?}"
        );
        assert!(client.is_ready(), "{case:?}");
        AfterOutcome::Reconnected
    };
    let skew = client.server_time_ms() - now_ms();
    assert!(skew.abs() < 1000, "{case:?}: server time off by {skew} ms");
    settled("destroy", client.destroy()).await.unwrap();
    let mut accepts = vec![];
    fake.drain_accepts(&mut accepts);
    let want = if outcome == AfterOutcome::Reconnected { 2 } else { 1 };
    assert_eq!(accepts.len(), want, "{case:?}: connections");
    (outcome, accepts.len())
}

fn net_state(state: NetState) -> ChatEvent {
    common::net(state)
}

/// 1000–1015, samples of 4000–4999, and every code of protocol/src/close.rs.
fn every_close_code() -> Vec<u16> {
    let mut codes: Vec<u16> = (1000..=1015).collect();
    codes.extend([4000, 4001, 4002, 4003, 4004, 4008, 4010, 4100, 4500, 4999]);
    codes
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_frames_and_closes_after_login_never_hang_spin_or_end_the_session_wrongly() {
    let mut cases = vec![
        AfterLogin::Garbage,
        AfterLogin::AbsurdFields,
        AfterLogin::TenMegabyteFrame,
        AfterLogin::SilenceNoPongs,
        AfterLogin::Reset,
        AfterLogin::ResetMidFrame,
    ];
    cases.extend(every_close_code().into_iter().map(AfterLogin::Close));
    let results: Vec<_> = stream::iter(cases)
        .map(|case| async move { (case, run_after_login(case).await) })
        .buffered(PARALLEL)
        .collect()
        .await;
    for (case, (outcome, connections)) in results {
        if let AfterLogin::Close(code) = case {
            let want = if is_terminal(code) {
                AfterOutcome::Ended
            } else {
                AfterOutcome::Reconnected
            };
            assert_eq!(outcome, want, "close {code}");
        }
        eprintln!("| after login: {case:?} | 1 | {outcome:?}, {connections} connection(s) |");
    }
}

// ----- a server that accepts the login and closes at once, forever --------------------------

#[derive(Clone, Copy, Debug)]
enum Flap {
    Close(u16),
    Reset,
}

/// How long each flapping run watches the client.
const WINDOW: Duration = Duration::from_secs(3);

async fn count_flapping_attempts(flap: Flap) -> Vec<Duration> {
    let mut fake = FakeServer::start(move |stream, _| async move {
        let Some(mut ws) = accept_login(stream).await else {
            return;
        };
        match flap {
            Flap::Close(code) => {
                write_raw(&mut ws, &close_frame(code)).await;
                hold(ws).await;
            }
            Flap::Reset => {
                let _ = ws.get_ref().set_zero_linger();
            }
        }
    })
    .await;
    let (client, mut events) = new_client(fake.url());
    let start = Instant::now();
    settled("login", client.login("alice", "sig")).await.unwrap();
    events.expect_next(ChatEvent::SdkReady).await;
    // The window itself is what is measured: attempts are counted as they arrive.
    tokio::time::sleep_until(tokio::time::Instant::from_std(start + WINDOW)).await;
    let mut accepts = vec![];
    fake.drain_accepts(&mut accepts);
    assert!(client.is_ready(), "{flap:?}: a flapping link keeps the session");
    settled("destroy", client.destroy()).await.unwrap();
    accepts.iter().map(|t| t.saturating_duration_since(start)).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_accepts_the_login_then_closes_sees_exponentially_sparser_logins() {
    let flaps = [
        Flap::Close(1001),
        Flap::Close(1011),
        Flap::Close(4010),
        Flap::Close(4500),
        Flap::Reset,
    ];
    let runs = join_all(
        flaps
            .iter()
            .map(|&f| async move { (f, count_flapping_attempts(f).await) }),
    )
    .await;
    for (flap, at) in runs {
        let per_second: Vec<usize> = (0..WINDOW.as_secs())
            .map(|s| at.iter().filter(|t| t.as_secs() == s).count())
            .collect();
        eprintln!(
            "| flapping: {flap:?} | {} logins in {WINDOW:?} | per second {per_second:?} |",
            at.len()
        );
        // The n-th retry waits at most min(max, min·2ⁿ): every gap stays under its ceiling
        // (plus slack for a connect and a login on a loaded machine)...
        for (n, gap) in at.windows(2).map(|w| w[1] - w[0]).enumerate() {
            let ceiling = (MIN_DELAY * 2u32.pow(n.min(20) as u32)).min(MAX_DELAY);
            assert!(
                gap <= ceiling + Duration::from_millis(400),
                "{flap:?}: gap {n} {gap:?} > {ceiling:?}"
            );
        }
        // ...and the ceilings grow: 20+40+80+160+320 ms fit in the first second, later seconds
        // hold about two attempts each. Without growth (a backoff reset at login_ok) this was
        // one login every U(0, 20 ms): well over a hundred in the window.
        assert!(at.len() >= 6, "{flap:?}: gave up retrying: {at:?}");
        assert!(at.len() <= 30, "{flap:?}: {} logins in {WINDOW:?}", at.len());
        let later = &per_second[1..];
        let later_mean = later.iter().sum::<usize>() as f64 / later.len() as f64;
        assert!(
            per_second[0] as f64 > later_mean,
            "{flap:?}: not sparser over time: {per_second:?}"
        );
    }
}
