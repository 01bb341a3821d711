//! Every transition of the session machine, driven by hand: no sockets, no timers, no sleeps.

use super::*;
use crate::session::state::LastKick;

const HB: Duration = Duration::from_secs(10);
/// A plausible server clock reading (2025-12-02); implausible ones are ignored.
const T0: i64 = 1_764_633_600_000;

fn params() -> SessionParams {
    SessionParams {
        sdk_app_id: 1400000001,
        platform: Platform::Web,
        instance_id: "inst-1".into(),
        heartbeat_interval: HB,
        request_timeout: Duration::from_secs(15),
        login_timeout: Duration::from_secs(30),
        reconnect_min_delay: Duration::from_millis(500),
        reconnect_max_delay: Duration::from_secs(20),
        jitter_seed: 99,
        probe_timeout: PROBE,
        has_user_sig_provider: false,
    }
}

const PROBE: Duration = Duration::from_secs(2);

struct Harness {
    s: Session,
    now: Instant,
    next_token: Token,
}

impl Harness {
    fn new() -> Self {
        Harness {
            s: Session::new(params()),
            now: Instant::now(),
            next_token: 0,
        }
    }

    fn drain(&mut self) -> Vec<Output> {
        std::iter::from_fn(|| self.s.poll_output()).collect()
    }

    fn call(&mut self, call: Call) -> Token {
        self.next_token += 1;
        self.s.handle_call(self.next_token, call, self.now);
        self.next_token
    }

    fn login_call(&mut self, user: &str) -> Token {
        self.call(Call::Login {
            user_id: user.into(),
            user_sig: "sig".into(),
        })
    }

    fn advance(&mut self, d: Duration) {
        self.now += d;
        self.s.handle_timeout(self.now);
    }

    /// Runs a login to the ready state and returns the connection id.
    fn login_ready(&mut self, user: &str) -> ConnId {
        self.login_ready_with_sig(user, None)
    }

    /// [`Self::login_ready`] with the sig lifetime the server's `loginOk` reports.
    fn login_ready_with_sig(&mut self, user: &str, user_sig: Option<SigLifetime>) -> ConnId {
        self.login_call(user);
        let out = self.drain();
        let conn = connect_id(&out);
        self.s.handle_connected(conn, self.now);
        assert_eq!(self.drain(), vec![], "the connection sends the login itself");
        let frame_id = login_frame_id(&out);
        self.s.handle_frame(
            conn,
            ServerFrame::LoginOk {
                id: frame_id,
                server_time_ms: T0,
                user_sig,
            },
            self.now,
        );
        self.drain();
        assert!(self.s.is_ready());
        conn
    }

    /// Loses the link of `conn`, waits out the backoff and reconnects: returns the new
    /// connection and the id of the resume login frame it sent.
    fn resume_login(&mut self, conn: ConnId) -> (ConnId, u64) {
        self.s.handle_closed(conn, None, "reset", self.now);
        self.advance(self.s.poll_timeout().unwrap() - self.now);
        let out = self.drain();
        let conn = connect_id(&out);
        self.s.handle_connected(conn, self.now);
        (conn, login_frame_id(&out))
    }
}

fn connect_id(out: &[Output]) -> ConnId {
    out.iter()
        .find_map(|o| {
            if let Output::Connect { conn, .. } = o {
                Some(*conn)
            } else {
                None
            }
        })
        .unwrap_or_else(|| panic!("no Connect in {out:?}"))
}

/// The login a `Connect` of `out` carries (the machine never sends a login over `Send`).
fn connect_login(out: &[Output]) -> &ClientFrame {
    assert!(
        !out.iter()
            .any(|o| matches!(o, Output::Send(_, ClientFrame::Login { .. }))),
        "a login frame outside a Connect: {out:?}"
    );
    out.iter()
        .find_map(|o| match o {
            Output::Connect { login, .. } => Some(login),
            _ => None,
        })
        .unwrap_or_else(|| panic!("no Connect in {out:?}"))
}

fn login_frame_id(out: &[Output]) -> u64 {
    match connect_login(out) {
        ClientFrame::Login { id, .. } => *id,
        other => panic!("a Connect with {other:?} instead of a login"),
    }
}

/// The events of `out`, net-state changes compared by state only (see [`net`]).
fn events(out: &[Output]) -> Vec<ChatEvent> {
    raw_events(out)
        .into_iter()
        .map(|e| match e {
            ChatEvent::NetStateChange { state, .. } => net(state),
            other => other,
        })
        .collect()
}

fn raw_events(out: &[Output]) -> Vec<ChatEvent> {
    out.iter()
        .filter_map(|o| {
            if let Output::Event(e) = o {
                Some(e.clone())
            } else {
                None
            }
        })
        .collect()
}

fn completion(out: &[Output], token: Token) -> Result<CallOutcome, ChatError> {
    out.iter()
        .find_map(|o| match o {
            Output::Complete(t, r) if *t == token => Some(r.clone()),
            _ => None,
        })
        .unwrap_or_else(|| panic!("token {token} not completed in {out:?}"))
}

/// A net-state change reduced to its state; the tests of `reason` read [`raw_events`].
fn net(state: NetState) -> ChatEvent {
    ChatEvent::NetStateChange {
        state,
        reason: NetReason::LinkLost,
        retry_in_ms: None,
    }
}

#[test]
fn login_connects_authenticates_then_resolves_before_sdk_ready() {
    let mut h = Harness::new();
    let t = h.login_call("alice");
    let out = h.drain();
    assert_eq!(events(&out), vec![net(NetState::Connecting)]);
    let conn = connect_id(&out);
    match &out[..] {
        [Output::Connect {
            conn: c,
            login:
                ClientFrame::Login {
                    user_id,
                    user_sig,
                    resume,
                    platform,
                    instance_id,
                    sdk_app_id,
                    version,
                    ..
                },
        }, Output::Event(_)] => {
            assert_eq!(
                (*c, user_id.as_str(), user_sig.as_str(), *resume),
                (conn, "alice", "sig", false)
            );
            assert_eq!(
                (*platform, instance_id.as_str(), *sdk_app_id, *version),
                (Platform::Web, "inst-1", 1400000001, 1)
            );
        }
        other => panic!("{other:?}"),
    }
    let id = login_frame_id(&out);
    h.s.handle_connected(conn, h.now);
    assert_eq!(h.drain(), vec![], "the connection sends the login itself");
    h.now += Duration::from_millis(40);
    h.s.handle_frame(
        conn,
        ServerFrame::LoginOk {
            id,
            server_time_ms: T0 + 5_000,
            user_sig: None,
        },
        h.now,
    );
    let out = h.drain();
    let complete_at = out.iter().position(|o| matches!(o, Output::Complete(..))).unwrap();
    let ready_at = out
        .iter()
        .position(|o| *o == Output::Event(ChatEvent::SdkReady))
        .unwrap();
    assert!(complete_at < ready_at, "the promise resolves before SDK_READY: {out:?}");
    assert_eq!(
        completion(&out, t),
        Ok(CallOutcome::Login(LoginResult {
            repeat_login: false,
            error_info: None
        }))
    );
    assert_eq!(events(&out), vec![net(NetState::Connected), ChatEvent::SdkReady]);
    assert!(h.s.is_ready());
    assert_eq!(h.s.login_user(), Some("alice"));
    // NTP-style: server stamp + half the 40 ms round trip.
    assert_eq!(h.s.server_clock().unwrap().now_ms_at(h.now), T0 + 5_020);
}

#[test]
fn missing_arguments_are_rejected_with_their_codes_and_change_nothing() {
    let mut h = Harness::new();
    let t1 = h.call(Call::Login {
        user_id: "".into(),
        user_sig: "s".into(),
    });
    let t2 = h.call(Call::Login {
        user_id: "a".into(),
        user_sig: " ".into(),
    });
    let out = h.drain();
    assert_eq!(completion(&out, t1).unwrap_err().code(), 2002);
    assert_eq!(completion(&out, t2).unwrap_err().code(), 2003);
    assert!(events(&out).is_empty());
    let mut p = params();
    p.sdk_app_id = 0;
    let mut s = Session::new(p);
    s.handle_call(
        1,
        Call::Login {
            user_id: "a".into(),
            user_sig: "s".into(),
        },
        Instant::now(),
    );
    assert_eq!(completion(&[s.poll_output().unwrap()], 1).unwrap_err().code(), 2000);
}

#[test]
fn user_ids_outside_the_identifier_rule_fail_with_9001_before_anything_is_sent() {
    let mut h = Harness::new();
    for bad in [
        "administrator\nTLS.time:0",
        "a b",
        "a\u{1b}[31m",
        "x".repeat(33).as_str(),
        "é",
    ] {
        let t = h.login_call(bad);
        let out = h.drain();
        let err = completion(&out, t).unwrap_err();
        assert_eq!(err.code(), code::INVALID_ARGUMENT, "{bad:?}");
        assert!(err.to_string().contains("userID"), "{err}");
        assert!(
            !out.iter().any(|o| matches!(o, Output::Connect { .. })),
            "{bad:?}: {out:?}"
        );
    }
    assert!(!h.s.is_ready());
}

#[test]
fn repeat_login_resolves_with_repeat_flag_and_sends_nothing() {
    let mut h = Harness::new();
    h.login_ready("alice");
    let t = h.login_call("bob");
    let out = h.drain();
    assert_eq!(out.len(), 1, "{out:?}");
    let Ok(CallOutcome::Login(r)) = completion(&out, t) else {
        panic!()
    };
    assert!(r.repeat_login);
    assert!(r.error_info.unwrap().contains("alice"));
    assert_eq!(h.s.login_user(), Some("alice"));
}

#[test]
fn second_login_while_one_is_in_flight_is_2025() {
    let mut h = Harness::new();
    h.login_call("alice");
    h.drain();
    let t = h.login_call("alice");
    assert_eq!(completion(&h.drain(), t).unwrap_err().code(), 2025);
}

#[test]
fn the_clock_sample_runs_from_when_the_login_left_not_from_the_connect() {
    let mut h = Harness::new();
    h.login_call("alice");
    let out = h.drain();
    let (conn, id) = (connect_id(&out), login_frame_id(&out));
    // TCP and the upgrade took 300 ms; the login left at the end of them (a frame) or with the
    // upgrade request (the header login: the transport reports that instant instead).
    let sent = h.now + Duration::from_millis(300);
    h.now = sent + Duration::from_millis(40);
    h.s.handle_connected(conn, sent);
    // The login deadline is the call's, not moved by the late report.
    assert_eq!(
        h.s.poll_timeout(),
        Some(sent - Duration::from_millis(300) + Duration::from_secs(30))
    );
    h.s.handle_frame(
        conn,
        ServerFrame::LoginOk {
            id,
            server_time_ms: T0,
            user_sig: None,
        },
        h.now,
    );
    h.drain();
    assert_eq!(h.s.server_clock().unwrap().now_ms_at(h.now), T0 + 20);
}

#[test]
fn server_refusal_rejects_with_the_server_code() {
    let mut h = Harness::new();
    let t = h.login_call("alice");
    let out = h.drain();
    let conn = connect_id(&out);
    h.s.handle_connected(conn, h.now);
    let id = login_frame_id(&out);
    h.s.handle_frame(
        conn,
        ServerFrame::Error {
            id: Some(id),
            code: 70001,
            message: "expired".into(),
        },
        h.now,
    );
    let out = h.drain();
    assert_eq!(completion(&out, t).unwrap_err().code(), 70001);
    assert!(out.contains(&Output::Close(conn)));
    assert_eq!(events(&out), vec![net(NetState::Disconnected)]);
    assert!(!h.s.is_ready());
    // The instance can try again.
    h.login_call("alice");
    assert!(matches!(h.drain()[0], Output::Connect { .. }));
}

#[test]
fn connect_failure_rejects_with_2800_and_timeout_with_2801() {
    let mut h = Harness::new();
    let t = h.login_call("alice");
    let conn = connect_id(&h.drain());
    h.s.handle_closed(conn, None, "connection refused", h.now);
    assert_eq!(completion(&h.drain(), t).unwrap_err().code(), 2800);

    let t = h.login_call("alice");
    let conn = connect_id(&h.drain());
    h.s.handle_connected(conn, h.now);
    h.drain();
    assert_eq!(h.s.poll_timeout(), Some(h.now + Duration::from_secs(30)));
    h.advance(Duration::from_secs(30));
    let out = h.drain();
    assert_eq!(completion(&out, t).unwrap_err().code(), 2801);
    assert!(out.contains(&Output::Close(conn)));
}

#[test]
fn logout_sends_frame_then_emits_not_ready_before_resolving() {
    let mut h = Harness::new();
    let conn = h.login_ready("alice");
    let t = h.call(Call::Logout);
    let out = h.drain();
    let [Output::Send(c, ClientFrame::Logout { id })] = &out[..] else {
        panic!("{out:?}")
    };
    assert_eq!(*c, conn);
    h.s.handle_frame(conn, ServerFrame::LogoutOk { id: *id }, h.now);
    let out = h.drain();
    let not_ready = out
        .iter()
        .position(|o| *o == Output::Event(ChatEvent::SdkNotReady))
        .unwrap();
    let done = out.iter().position(|o| matches!(o, Output::Complete(..))).unwrap();
    assert!(not_ready < done, "{out:?}");
    assert_eq!(completion(&out, t), Ok(CallOutcome::Done));
    assert!(!h.s.is_ready());
    assert_eq!(h.s.login_user(), None);
}

#[test]
fn logout_resolves_even_when_the_server_never_answers() {
    let mut h = Harness::new();
    h.login_ready("alice");
    let t = h.call(Call::Logout);
    h.drain();
    h.advance(Duration::from_secs(15));
    let out = h.drain();
    assert_eq!(completion(&out, t), Ok(CallOutcome::Done));
    assert!(events(&out).contains(&ChatEvent::SdkNotReady));
}

#[test]
fn logout_when_logged_out_is_2024() {
    let mut h = Harness::new();
    let t = h.call(Call::Logout);
    assert_eq!(completion(&h.drain(), t).unwrap_err().code(), 2024);
}

#[test]
fn kick_emits_kicked_out_then_not_ready_and_does_not_reconnect() {
    for kick_type in KickType::ALL.iter().copied() {
        let mut h = Harness::new();
        let conn = h.login_ready("alice");
        h.s.handle_frame(conn, ServerFrame::Kicked { kick_type }, h.now);
        let out = h.drain();
        assert_eq!(
            events(&out),
            vec![
                ChatEvent::KickedOut { kick_type },
                ChatEvent::SdkNotReady,
                net(NetState::Disconnected)
            ]
        );
        assert!(out.contains(&Output::Close(conn)));
        // The server's close that follows must not start a reconnect.
        h.s.handle_closed(conn, Some(4001), "kicked", h.now);
        assert!(h.drain().is_empty());
        assert_eq!(h.s.poll_timeout(), None, "no timer left after a kick");
        // A new login works.
        h.login_call("alice");
        assert!(matches!(h.drain()[0], Output::Connect { .. }));
    }
}

#[test]
fn heartbeat_pings_on_schedule_and_pong_refreshes_the_clock() {
    let mut h = Harness::new();
    let conn = h.login_ready("alice");
    assert_eq!(h.s.poll_timeout(), Some(h.now + HB));
    h.advance(HB);
    let out = h.drain();
    let [Output::Send(c, ClientFrame::Ping { id })] = &out[..] else {
        panic!("{out:?}")
    };
    assert_eq!(*c, conn);
    h.now += Duration::from_millis(10);
    h.s.handle_frame(
        conn,
        ServerFrame::Pong {
            id: *id,
            server_time_ms: T0 + 90_000,
        },
        h.now,
    );
    assert_eq!(h.s.server_clock().unwrap().now_ms_at(h.now), T0 + 90_005);
    // A pong for an unknown ping id changes nothing.
    h.s.handle_frame(
        conn,
        ServerFrame::Pong {
            id: 12345,
            server_time_ms: T0,
        },
        h.now,
    );
    assert_eq!(h.s.server_clock().unwrap().now_ms_at(h.now), T0 + 90_005);
}

#[test]
fn silent_link_is_declared_dead_after_two_intervals_and_reconnects_silently() {
    let mut h = Harness::new();
    let conn = h.login_ready("alice");
    h.advance(HB); // ping goes out, never answered
    h.drain();
    h.advance(HB);
    let out = h.drain();
    assert!(out.contains(&Output::Close(conn)), "{out:?}");
    assert_eq!(events(&out), vec![net(NetState::Disconnected)]);
    assert!(h.s.is_ready(), "a lost link keeps the session");
    // Backoff, then a new connection with a resume login.
    let retry_at = h.s.poll_timeout().unwrap();
    assert!(retry_at <= h.now + Duration::from_millis(500));
    h.now = retry_at;
    h.s.handle_timeout(h.now);
    let out = h.drain();
    assert_eq!(events(&out), vec![net(NetState::Connecting)]);
    let conn2 = connect_id(&out);
    assert_ne!(conn, conn2);
    let ClientFrame::Login { id, resume: true, .. } = connect_login(&out) else {
        panic!("{out:?}")
    };
    h.s.handle_connected(conn2, h.now);
    h.s.handle_frame(
        conn2,
        ServerFrame::LoginOk {
            id: *id,
            server_time_ms: T0,
            user_sig: None,
        },
        h.now,
    );
    // Only the net state changes: no SDK_NOT_READY / SDK_READY.
    assert_eq!(events(&h.drain()), vec![net(NetState::Connected)]);
    // The backoff resets only once the new link has stayed up for a heartbeat interval.
    assert_eq!(h.s.reconnect_attempt(), 1);
    h.advance(HB);
    assert_eq!(h.s.reconnect_attempt(), 0);
}

#[test]
fn failed_reconnects_back_off_exponentially_with_jitter() {
    let mut h = Harness::new();
    let conn = h.login_ready("alice");
    h.s.handle_closed(conn, Some(1001), "server going away", h.now);
    h.drain();
    let mut waits = vec![];
    for attempt in 1..=8u32 {
        let at = h.s.poll_timeout().unwrap();
        let ceiling = Duration::from_millis(500) * 2u32.pow(attempt - 1);
        let wait = at - h.now;
        assert!(
            wait <= ceiling.min(Duration::from_secs(20)),
            "attempt {attempt}: {wait:?}"
        );
        waits.push(wait);
        h.now = at;
        h.s.handle_timeout(h.now);
        let conn = connect_id(&h.drain());
        h.s.handle_closed(conn, None, "refused", h.now);
        assert_eq!(events(&h.drain()), vec![net(NetState::Disconnected)]);
    }
    assert!(waits.windows(2).any(|w| w[0] != w[1]), "jittered: {waits:?}");
    assert!(h.s.is_ready());
}

#[test]
fn terminal_close_without_a_frame_ends_the_session_without_reconnect() {
    let mut h = Harness::new();
    let conn = h.login_ready("alice");
    h.s.handle_closed(conn, Some(4002), "auth failed", h.now);
    let ev = events(&h.drain());
    assert!(matches!(ev[0], ChatEvent::Error { code: 3001, .. }), "{ev:?}");
    assert_eq!(ev[1..], [ChatEvent::SdkNotReady, net(NetState::Disconnected)]);
    assert_eq!(h.s.poll_timeout(), None);
}

#[test]
fn refused_resume_behaves_like_the_kick_or_error() {
    // Kicked while away: the server answers the resume login with the kick.
    let mut h = Harness::new();
    let conn = h.login_ready("alice");
    let (conn, _) = h.resume_login(conn);
    h.s.handle_frame(
        conn,
        ServerFrame::Kicked {
            kick_type: KickType::RestApi,
        },
        h.now,
    );
    let ev = events(&h.drain());
    assert_eq!(
        ev[..2],
        [
            ChatEvent::KickedOut {
                kick_type: KickType::RestApi
            },
            ChatEvent::SdkNotReady
        ]
    );

    // UserSig expired while away: the expiry kick.
    let mut h = Harness::new();
    let conn = h.login_ready("alice");
    let (conn, id) = h.resume_login(conn);
    h.s.handle_frame(
        conn,
        ServerFrame::Error {
            id: Some(id),
            code: 70001,
            message: "expired".into(),
        },
        h.now,
    );
    let ev = events(&h.drain());
    assert_eq!(
        ev[..2],
        [
            ChatEvent::KickedOut {
                kick_type: KickType::UserSigExpired
            },
            ChatEvent::SdkNotReady
        ]
    );

    // Throttled: transient, keep the session and retry.
    let mut h = Harness::new();
    let conn = h.login_ready("alice");
    let (conn, id) = h.resume_login(conn);
    h.s.handle_frame(
        conn,
        ServerFrame::Error {
            id: Some(id),
            code: 70050,
            message: "slow down".into(),
        },
        h.now,
    );
    assert_eq!(events(&h.drain()), vec![net(NetState::Disconnected)]);
    assert!(h.s.is_ready());
    assert!(h.s.poll_timeout().is_some());
}

#[test]
fn logout_during_reconnect_stops_it_at_once() {
    let mut h = Harness::new();
    let conn = h.login_ready("alice");
    h.s.handle_closed(conn, None, "reset", h.now);
    h.drain();
    let t = h.call(Call::Logout);
    let out = h.drain();
    assert_eq!(completion(&out, t), Ok(CallOutcome::Done));
    assert_eq!(events(&out), vec![ChatEvent::SdkNotReady]);
    assert_eq!(h.s.poll_timeout(), None);
}

#[test]
fn destroy_logs_out_then_emits_sdk_destroy_and_refuses_later_calls() {
    let mut h = Harness::new();
    let conn = h.login_ready("alice");
    let t = h.call(Call::Destroy);
    let out = h.drain();
    let [Output::Send(_, ClientFrame::Logout { id })] = &out[..] else {
        panic!("{out:?}")
    };
    h.s.handle_frame(conn, ServerFrame::LogoutOk { id: *id }, h.now);
    let out = h.drain();
    assert_eq!(
        events(&out),
        vec![
            ChatEvent::SdkNotReady,
            net(NetState::Disconnected),
            ChatEvent::SdkDestroy
        ]
    );
    assert_eq!(completion(&out, t), Ok(CallOutcome::Done));
    assert_eq!(
        out.iter().filter(|o| matches!(o, Output::Complete(..))).count(),
        1,
        "internal logout is silent"
    );
    assert!(h.s.is_destroyed());
    let t = h.login_call("alice");
    assert_eq!(completion(&h.drain(), t).unwrap_err().code(), 9002);
    let t = h.call(Call::Logout);
    assert_eq!(completion(&h.drain(), t).unwrap_err().code(), 9002);
    let t = h.call(Call::Destroy);
    assert_eq!(
        completion(&h.drain(), t),
        Ok(CallOutcome::Done),
        "second destroy is harmless"
    );
    assert_eq!(h.s.poll_timeout(), None);
}

#[test]
fn destroy_when_logged_out_resolves_and_during_login_rejects_the_login() {
    let mut h = Harness::new();
    let t = h.call(Call::Destroy);
    let out = h.drain();
    assert_eq!(completion(&out, t), Ok(CallOutcome::Done));
    assert_eq!(events(&out), vec![ChatEvent::SdkDestroy]);

    let mut h = Harness::new();
    let login = h.login_call("alice");
    let conn = connect_id(&h.drain());
    let t = h.call(Call::Destroy);
    let out = h.drain();
    assert_eq!(completion(&out, login).unwrap_err().code(), 9002);
    assert_eq!(completion(&out, t), Ok(CallOutcome::Done));
    assert!(out.contains(&Output::Close(conn)));
    // A late connect of the abandoned connection is ignored.
    h.s.handle_connected(conn, h.now);
    assert!(h.drain().is_empty());
}

#[test]
fn destroy_during_reconnect_stops_it() {
    let mut h = Harness::new();
    let conn = h.login_ready("alice");
    h.s.handle_closed(conn, None, "reset", h.now);
    h.advance(h.s.poll_timeout().unwrap() - h.now);
    let conn2 = connect_id(&h.drain());
    let t = h.call(Call::Destroy);
    let out = h.drain();
    assert!(out.contains(&Output::Close(conn2)));
    assert_eq!(
        events(&out),
        vec![
            ChatEvent::SdkNotReady,
            net(NetState::Disconnected),
            ChatEvent::SdkDestroy
        ]
    );
    assert_eq!(completion(&out, t), Ok(CallOutcome::Done));
    assert_eq!(h.s.poll_timeout(), None);
}

#[test]
fn stale_connection_events_are_ignored() {
    let mut h = Harness::new();
    let conn = h.login_ready("alice");
    h.s.handle_frame(
        conn + 7,
        ServerFrame::Kicked {
            kick_type: KickType::RestApi,
        },
        h.now,
    );
    h.s.handle_closed(conn + 7, None, "old", h.now);
    h.s.handle_connected(conn + 7, h.now);
    assert!(h.drain().is_empty());
    assert!(h.s.is_ready());
}

#[test]
fn unknown_frames_and_unrelated_errors_do_not_break_the_session() {
    let mut h = Harness::new();
    let conn = h.login_ready("alice");
    h.s.handle_frame(conn, ServerFrame::Unknown, h.now);
    assert!(h.drain().is_empty());
    h.s.handle_frame(
        conn,
        ServerFrame::Error {
            id: None,
            code: 60022,
            message: "busy".into(),
        },
        h.now,
    );
    assert_eq!(
        events(&h.drain()),
        vec![ChatEvent::Error {
            code: 60022,
            message: "busy".into()
        }]
    );
    assert!(h.s.is_ready());
}

#[test]
fn net_state_change_fires_only_on_a_change() {
    let mut h = Harness::new();
    let conn = h.login_ready("alice");
    h.s.handle_closed(conn, None, "reset", h.now);
    let all = events(&h.drain());
    assert_eq!(all, vec![net(NetState::Disconnected)]);
    assert_eq!(h.s.net_state(), NetState::Disconnected);
}

/// Answers the resume login on `conn` with `login_ok`.
fn accept_resume(h: &mut Harness, conn: ConnId, frame_id: u64) {
    h.s.handle_frame(
        conn,
        ServerFrame::LoginOk {
            id: frame_id,
            server_time_ms: T0,
            user_sig: None,
        },
        h.now,
    );
    h.drain();
}

#[test]
fn a_server_that_closes_right_after_login_ok_gets_exponentially_sparser_relogins() {
    let mut h = Harness::new();
    let mut conn = h.login_ready("alice");
    let mut waited = Duration::ZERO;
    for flap in 1..=10u32 {
        // Retry close codes and a reset without a close frame, in turn.
        let code = [Some(1001), Some(4010), None][flap as usize % 3];
        h.s.handle_closed(conn, code, "flap", h.now);
        h.drain();
        assert_eq!(h.s.reconnect_attempt(), flap, "login_ok must not reset the backoff");
        let wait = h.s.poll_timeout().unwrap() - h.now;
        let ceiling = (Duration::from_millis(500) * 2u32.pow(flap - 1)).min(Duration::from_secs(20));
        assert!(wait <= ceiling, "flap {flap}: {wait:?} > {ceiling:?}");
        waited += wait;
        let (next, frame_id) = h.resume_login(conn);
        conn = next;
        h.now += Duration::from_millis(5);
        accept_resume(&mut h, conn, frame_id);
        assert!(h.s.is_ready());
    }
    // Full jitter over ceilings 0.5+1+2+4+8+16+20·4 s averages ~56 s; without growth it is ~2.5 s.
    assert!(waited > Duration::from_secs(15), "10 flaps waited only {waited:?}");
}

#[test]
fn backoff_resets_once_the_link_stayed_up_for_a_heartbeat() {
    let mut h = Harness::new();
    let conn = h.login_ready("alice");
    h.s.handle_closed(conn, Some(1001), "flap", h.now);
    let (conn, id) = h.resume_login(conn);
    accept_resume(&mut h, conn, id);
    h.s.handle_closed(conn, Some(1001), "flap", h.now);
    let (conn, id) = h.resume_login(conn);
    accept_resume(&mut h, conn, id);
    assert_eq!(h.s.reconnect_attempt(), 2);
    // Up for just under a heartbeat: not yet proven.
    h.advance(HB - Duration::from_millis(1));
    assert_eq!(h.s.reconnect_attempt(), 2);
    h.advance(Duration::from_millis(1));
    assert_eq!(h.s.reconnect_attempt(), 0);
    h.drain();
    h.s.handle_closed(conn, Some(1001), "later loss", h.now);
    assert_eq!(h.s.reconnect_attempt(), 1);
    assert!(h.s.poll_timeout().unwrap() - h.now <= Duration::from_millis(500));
}

#[test]
fn a_pong_proves_the_link_and_resets_the_backoff() {
    let mut h = Harness::new();
    let conn = h.login_ready("alice");
    h.s.handle_closed(conn, None, "reset", h.now);
    let (conn, id) = h.resume_login(conn);
    accept_resume(&mut h, conn, id);
    // A close exactly at the ping time would count as stable anyway; check the pong path alone.
    h.advance(HB);
    let out = h.drain();
    let ping = out
        .iter()
        .find_map(|o| match o {
            Output::Send(_, ClientFrame::Ping { id }) => Some(*id),
            _ => None,
        })
        .unwrap();
    assert_eq!(h.s.reconnect_attempt(), 0);
    h.s.handle_frame(
        conn,
        ServerFrame::Pong {
            id: ping,
            server_time_ms: T0,
        },
        h.now,
    );
    assert_eq!(h.s.reconnect_attempt(), 0);
}

#[test]
fn implausible_server_times_are_ignored_and_the_login_still_succeeds() {
    for bad in [
        -5,
        0,
        1_700_000_000,
        i64::MAX,
        crate::session::clock::LATEST_SERVER_MS + 1,
    ] {
        let mut h = Harness::new();
        let t = h.login_call("alice");
        let out = h.drain();
        let conn = connect_id(&out);
        h.s.handle_connected(conn, h.now);
        let id = login_frame_id(&out);
        h.s.handle_frame(
            conn,
            ServerFrame::LoginOk {
                id,
                server_time_ms: bad,
                user_sig: None,
            },
            h.now,
        );
        let out = h.drain();
        assert!(completion(&out, t).is_ok(), "{bad}");
        assert!(h.s.is_ready());
        assert_eq!(h.s.server_clock(), None, "{bad} must not become the server time");
        // A later good pong sets the clock; a bad one after it leaves it alone.
        h.advance(HB);
        let ping = |out: &[Output]| {
            out.iter()
                .find_map(|o| match o {
                    Output::Send(_, ClientFrame::Ping { id }) => Some(*id),
                    _ => None,
                })
                .unwrap()
        };
        let id = ping(&h.drain());
        h.s.handle_frame(conn, ServerFrame::Pong { id, server_time_ms: T0 }, h.now);
        let good = h.s.server_clock().unwrap();
        h.advance(HB);
        let id = ping(&h.drain());
        h.s.handle_frame(
            conn,
            ServerFrame::Pong {
                id,
                server_time_ms: bad,
            },
            h.now,
        );
        assert_eq!(h.s.server_clock(), Some(good), "{bad}");
    }
}

#[test]
fn an_overloaded_upgrade_fails_the_login_with_60022_and_is_retried_during_a_reconnect() {
    let overloaded = || ChatError::Server {
        code: code::SERVER_OVERLOADED,
        detail: "HTTP 503".into(),
    };
    let mut h = Harness::new();
    let t = h.login_call("alice");
    let conn = connect_id(&h.drain());
    h.s.handle_connect_failed(conn, overloaded(), h.now);
    let out = h.drain();
    assert_eq!(completion(&out, t).unwrap_err().code(), 60022);
    assert_eq!(
        h.s.poll_timeout(),
        None,
        "a failed first login does not retry on its own"
    );

    let conn = h.login_ready("alice");
    h.s.handle_closed(conn, None, "reset", h.now);
    h.advance(h.s.poll_timeout().unwrap() - h.now);
    let conn = connect_id(&h.drain());
    h.s.handle_connect_failed(conn, overloaded(), h.now);
    assert!(h.s.is_ready(), "overload during a reconnect keeps the session");
    assert_eq!(events(&h.drain()), vec![net(NetState::Disconnected)]);
    assert_eq!(h.s.reconnect_attempt(), 2);
    assert!(h.s.poll_timeout().is_some());
    // A failure report for an older connection is ignored.
    h.s.handle_connect_failed(conn, overloaded(), h.now);
    assert!(h.drain().is_empty());
}

#[test]
fn an_error_frame_with_code_zero_never_reports_success_as_a_failure() {
    // Regression (fuzz/corpus/session_machine/error_code_zero.txt): the login used to be
    // rejected with code 0, the success code.
    let mut h = Harness::new();
    let t = h.login_call("alice");
    let out = h.drain();
    let conn = connect_id(&out);
    h.s.handle_connected(conn, h.now);
    let id = login_frame_id(&out);
    let refusal = |id| ServerFrame::Error {
        id,
        code: 0,
        message: "odd".into(),
    };
    h.s.handle_frame(conn, refusal(Some(id)), h.now);
    assert_eq!(completion(&h.drain(), t).unwrap_err().code(), code::LOGIN_FAILED);
    let conn = h.login_ready("alice");
    h.s.handle_frame(conn, refusal(None), h.now);
    assert_eq!(
        events(&h.drain()),
        vec![ChatEvent::Error {
            code: code::LOGIN_FAILED,
            message: "odd".into()
        }]
    );
}

#[path = "mobile_tests.rs"]
mod mobile;
