//! The mobile inputs of the session machine, driven by hand with an injected clock: UserSig
//! renewal (provider or `UserSigExpiring`), app lifecycle, reachability, late timers, and
//! what `state()` reports after each.

use super::*;

/// A sig issued at `T0` that lives `secs` seconds: renewal is due at half of it (short sigs).
fn lifetime(secs: i64) -> SigLifetime {
    SigLifetime {
        user_sig_issue_time: T0,
        user_sig_expire_time: T0 + secs * 1000,
    }
}

fn with_provider() -> Harness {
    let mut h = Harness::new();
    h.s = Session::new(SessionParams {
        has_user_sig_provider: true,
        ..params()
    });
    h
}

/// Logs in; the server reports a sig of `secs` seconds.
fn login_with_lifetime(h: &mut Harness, secs: i64) -> ConnId {
    h.login_ready_with_sig("alice", Some(lifetime(secs)))
}

fn renew_frame(out: &[Output]) -> (u64, String) {
    out.iter()
        .find_map(|o| match o {
            Output::Send(_, ClientFrame::RenewUserSig { id, user_sig }) => Some((*id, user_sig.clone())),
            _ => None,
        })
        .unwrap_or_else(|| panic!("no renewUserSig in {out:?}"))
}

fn raw_net(out: &[Output]) -> Vec<(NetState, NetReason, Option<u64>)> {
    raw_events(out)
        .into_iter()
        .filter_map(|e| match e {
            ChatEvent::NetStateChange {
                state,
                reason,
                retry_in_ms,
            } => Some((state, reason, retry_in_ms)),
            _ => None,
        })
        .collect()
}

fn wall(h: &Harness) -> i64 {
    // Any fixed wall clock works: `state()` converts instants relative to it.
    let _ = h;
    5_000_000
}

#[test]
fn without_a_provider_user_sig_expiring_fires_at_the_renewal_time_once() {
    let mut h = Harness::new();
    login_with_lifetime(&mut h, 8);
    assert_eq!(h.s.state(h.now, wall(&h)).user_sig_expire_time_ms, Some(T0 + 8_000));
    // Due at 4 s (half of a short sig's lifetime), not before.
    h.advance(Duration::from_millis(3_990));
    assert_eq!(events(&h.drain()), vec![]);
    h.advance(Duration::from_millis(10));
    assert_eq!(
        events(&h.drain()),
        vec![ChatEvent::UserSigExpiring {
            expire_time_ms: T0 + 8_000
        }]
    );
    h.advance(Duration::from_secs(3));
    assert!(!raw_events(&h.drain())
        .iter()
        .any(|e| matches!(e, ChatEvent::UserSigExpiring { .. })));
}

#[test]
fn update_user_sig_renews_over_the_link_and_moves_the_schedule() {
    let mut h = Harness::new();
    let conn = login_with_lifetime(&mut h, 8);
    let t = h.call(Call::UpdateUserSig {
        user_sig: "sig-2".into(),
    });
    let (id, sig) = renew_frame(&h.drain());
    assert_eq!(sig, "sig-2");
    let renewed = SigLifetime {
        user_sig_issue_time: T0,
        user_sig_expire_time: T0 + 20_000,
    };
    h.s.handle_frame(conn, ServerFrame::UserSigRenewed { id, user_sig: renewed }, h.now);
    let out = h.drain();
    assert_eq!(completion(&out, t), Ok(CallOutcome::Done));
    assert_eq!(events(&out), vec![], "a renewal is invisible to listeners");
    assert_eq!(h.s.state(h.now, wall(&h)).user_sig_expire_time_ms, Some(T0 + 20_000));
    // The old schedule (4 s) is gone; the new one is at 10 s.
    h.advance(Duration::from_secs(5));
    assert_eq!(events(&h.drain()), vec![]);
    // A lost link: the resume presents the newest sig.
    let (_, _) = {
        h.s.handle_closed(conn, None, "reset", h.now);
        h.advance(h.s.poll_timeout().unwrap() - h.now);
        let out = h.drain();
        let c = connect_id(&out);
        let ClientFrame::Login {
            user_sig, resume: true, ..
        } = connect_login(&out)
        else {
            panic!("{out:?}")
        };
        assert_eq!(user_sig, "sig-2");
        (c, 0)
    };
}

#[test]
fn a_refused_renewal_rejects_the_call_and_the_session_continues() {
    let mut h = Harness::new();
    let conn = login_with_lifetime(&mut h, 60);
    let t = h.call(Call::UpdateUserSig {
        user_sig: "bob-sig".into(),
    });
    let (id, _) = renew_frame(&h.drain());
    h.s.handle_frame(
        conn,
        ServerFrame::Error {
            id: Some(id),
            code: 70013,
            message: "UserSig was issued for another userID".into(),
        },
        h.now,
    );
    let out = h.drain();
    assert!(matches!(
        completion(&out, t),
        Err(ChatError::Server { code: 70013, .. })
    ));
    assert_eq!(events(&out), vec![]);
    assert!(h.s.is_ready());
    assert_eq!(h.s.net_state(), NetState::Connected);
    assert_eq!(h.s.state(h.now, wall(&h)).user_sig_expire_time_ms, Some(T0 + 60_000));
}

#[test]
fn update_user_sig_checks_its_argument_and_the_login() {
    let mut h = Harness::new();
    let t = h.call(Call::UpdateUserSig { user_sig: "s".into() });
    assert_eq!(completion(&h.drain(), t), Err(ChatError::NotLoggedIn));
    login_with_lifetime(&mut h, 60);
    let t = h.call(Call::UpdateUserSig { user_sig: " ".into() });
    assert_eq!(completion(&h.drain(), t), Err(ChatError::NoUserSig));
}

#[test]
fn update_user_sig_while_reconnecting_settles_at_once_and_the_resume_uses_it() {
    let mut h = Harness::new();
    let conn = login_with_lifetime(&mut h, 60);
    h.s.handle_closed(conn, None, "reset", h.now);
    h.drain();
    let t = h.call(Call::UpdateUserSig {
        user_sig: "sig-3".into(),
    });
    assert_eq!(completion(&h.drain(), t), Ok(CallOutcome::Done));
    h.advance(h.s.poll_timeout().unwrap() - h.now);
    let out = h.drain();
    connect_id(&out);
    assert!(
        matches!(connect_login(&out), ClientFrame::Login { user_sig, .. } if user_sig == "sig-3"),
        "{out:?}"
    );
}

#[test]
fn update_user_sig_while_the_resume_connection_opens_reopens_it_with_the_new_sig() {
    let mut h = Harness::new();
    let conn = login_with_lifetime(&mut h, 60);
    h.s.handle_closed(conn, None, "reset", h.now);
    h.advance(h.s.poll_timeout().unwrap() - h.now);
    let opening = connect_id(&h.drain());
    // The opening connection carries a login with the old sig: replace it.
    let t = h.call(Call::UpdateUserSig {
        user_sig: "sig-4".into(),
    });
    let out = h.drain();
    assert_eq!(completion(&out, t), Ok(CallOutcome::Done));
    assert!(out.contains(&Output::Close(opening)), "{out:?}");
    let reopened = connect_id(&out);
    assert!(reopened > opening);
    assert!(
        matches!(connect_login(&out), ClientFrame::Login { user_sig, resume: true, .. } if user_sig == "sig-4"),
        "{out:?}"
    );
    // Still connecting: no second Connecting event, and the old connection's events are stale.
    assert_eq!(events(&out), vec![]);
    h.s.handle_connected(opening, h.now);
    assert_eq!(h.drain(), vec![]);
    h.s.handle_connected(reopened, h.now);
    h.s.handle_frame(
        reopened,
        ServerFrame::LoginOk {
            id: login_frame_id(&out),
            server_time_ms: T0,
            user_sig: Some(lifetime(60)),
        },
        h.now,
    );
    assert_eq!(events(&h.drain()), vec![net(NetState::Connected)]);
}

#[test]
fn the_provider_is_asked_once_and_its_sig_renews_without_any_event() {
    let mut h = with_provider();
    let conn = login_with_lifetime(&mut h, 8);
    h.advance(Duration::from_secs(4));
    let out = h.drain();
    assert!(out.contains(&Output::FetchUserSig), "{out:?}");
    assert_eq!(events(&out), vec![], "no UserSigExpiring with a provider");
    // One request at a time: nothing more while it is unanswered.
    h.advance(Duration::from_secs(1));
    assert!(!h.drain().contains(&Output::FetchUserSig));
    h.s.handle_provided_user_sig(Ok("fresh".into()), h.now);
    let (id, sig) = renew_frame(&h.drain());
    assert_eq!(sig, "fresh");
    h.s.handle_frame(
        conn,
        ServerFrame::UserSigRenewed {
            id,
            user_sig: SigLifetime {
                user_sig_issue_time: T0 + 5_000,
                user_sig_expire_time: T0 + 13_000,
            },
        },
        h.now,
    );
    assert_eq!(events(&h.drain()), vec![]);
    // The next renewal is due at half of the new sig's lifetime (T0 + 9 s, 4 s from now).
    h.advance(Duration::from_millis(3_990));
    assert!(!h.drain().contains(&Output::FetchUserSig));
    h.advance(Duration::from_millis(10));
    assert!(h.drain().contains(&Output::FetchUserSig));
}

#[test]
fn a_failing_provider_is_retried_with_jitter_until_the_sig_expires() {
    let mut h = with_provider();
    login_with_lifetime(&mut h, 8);
    h.advance(Duration::from_secs(4));
    assert!(h.drain().contains(&Output::FetchUserSig));
    let mut delays = vec![];
    for _ in 0..3 {
        h.s.handle_provided_user_sig(Err(ChatError::network("backend down")), h.now);
        assert!(!h.drain().contains(&Output::FetchUserSig), "no retry at once");
        let retry = h.s.poll_timeout().unwrap() - h.now;
        delays.push(retry);
        h.advance(retry);
        assert!(h.drain().contains(&Output::FetchUserSig));
    }
    // A quarter of what is left, jittered 0.5–1.5×: under the 4 s left, and not all equal.
    assert!(
        delays
            .iter()
            .all(|d| *d >= Duration::from_millis(100) && *d < Duration::from_secs(2)),
        "{delays:?}"
    );
    assert!(delays.windows(2).any(|w| w[0] != w[1]), "{delays:?}");
    assert!(h.s.is_ready(), "only the server's expiry kick ends the session");
    // Past expiry a failure is not retried: the kick is coming.
    h.now += Duration::from_secs(10);
    h.s.handle_provided_user_sig(Err(ChatError::network("backend down")), h.now);
    assert_eq!(h.drain(), vec![]);
    for _ in 0..60 {
        h.advance(Duration::from_secs(1));
        assert!(!h.drain().contains(&Output::FetchUserSig), "asked again after expiry");
    }
}

#[test]
fn a_provider_sig_refused_by_the_server_is_retried() {
    let mut h = with_provider();
    let conn = login_with_lifetime(&mut h, 8);
    h.advance(Duration::from_secs(4));
    h.drain();
    h.s.handle_provided_user_sig(Ok("wrong".into()), h.now);
    let (id, _) = renew_frame(&h.drain());
    h.s.handle_frame(
        conn,
        ServerFrame::Error {
            id: Some(id),
            code: 70009,
            message: "bad signature".into(),
        },
        h.now,
    );
    assert_eq!(events(&h.drain()), vec![]);
    h.advance(h.s.poll_timeout().unwrap() - h.now);
    assert!(h.drain().contains(&Output::FetchUserSig));
}

#[test]
fn foreground_probes_a_live_link_and_keeps_it_when_answered() {
    let mut h = Harness::new();
    let conn = h.login_ready("alice");
    h.s.handle_app_state(AppState::Background, h.now);
    assert_eq!(h.drain(), vec![], "going to the background changes nothing");
    h.now += Duration::from_secs(1);
    h.s.handle_app_state(AppState::Active, h.now);
    let out = h.drain();
    let [Output::Send(c, ClientFrame::Ping { id })] = &out[..] else {
        panic!("{out:?}")
    };
    assert_eq!(*c, conn);
    assert_eq!(h.s.poll_timeout(), Some(h.now + PROBE));
    h.s.handle_frame(
        conn,
        ServerFrame::Pong {
            id: *id,
            server_time_ms: T0,
        },
        h.now,
    );
    h.advance(PROBE);
    assert_eq!(h.drain(), vec![]);
    assert_eq!(h.s.net_state(), NetState::Connected);
}

#[test]
fn foreground_replaces_a_dead_link_at_once_without_backoff() {
    let mut h = Harness::new();
    let conn = h.login_ready("alice");
    h.s.handle_app_state(AppState::Background, h.now);
    h.s.handle_app_state(AppState::Active, h.now);
    h.drain();
    h.advance(PROBE);
    let out = h.drain();
    assert!(out.contains(&Output::Close(conn)), "{out:?}");
    let conn2 = connect_id(&out);
    assert_ne!(conn, conn2);
    assert_eq!(
        raw_net(&out),
        vec![
            (NetState::Disconnected, NetReason::LinkLost, None),
            (NetState::Connecting, NetReason::Foreground, None)
        ]
    );
    assert!(h.s.is_ready(), "the session survives");
}

#[test]
fn foreground_during_a_backoff_reconnects_now() {
    let mut h = Harness::new();
    let conn = h.login_ready("alice");
    h.s.handle_closed(conn, None, "reset", h.now);
    let out = h.drain();
    let [(NetState::Disconnected, NetReason::LinkLost, Some(retry))] = raw_net(&out)[..] else {
        panic!("{out:?}")
    };
    let st = h.s.state(h.now, wall(&h));
    assert_eq!(st.next_retry_at_ms, Some(wall(&h) + retry as i64));
    assert_eq!(st.reconnect_attempt, 1);
    h.s.handle_app_state(AppState::Background, h.now);
    h.s.handle_app_state(AppState::Active, h.now);
    let out = h.drain();
    connect_id(&out);
    assert_eq!(raw_net(&out), vec![(NetState::Connecting, NetReason::Foreground, None)]);
    let st = h.s.state(h.now, wall(&h));
    assert_eq!((st.next_retry_at_ms, st.reconnect_attempt), (None, 0));
}

#[test]
fn unreachable_disconnects_at_once_and_makes_no_attempts_until_back() {
    let mut h = Harness::new();
    let conn = h.login_ready("alice");
    h.s.handle_network_reachable(false, h.now);
    let out = h.drain();
    assert!(out.contains(&Output::Close(conn)), "{out:?}");
    assert_eq!(
        raw_net(&out),
        vec![(NetState::Disconnected, NetReason::NetworkUnreachable, None)]
    );
    assert_eq!(h.s.poll_timeout(), None, "nothing scheduled while unreachable");
    for _ in 0..10 {
        h.advance(Duration::from_secs(60));
        assert!(!h.drain().iter().any(|o| matches!(o, Output::Connect { .. })));
    }
    assert!(h.s.is_ready(), "the session waits for the network");
    let st = h.s.state(h.now, wall(&h));
    assert_eq!(
        (st.ready, st.net_state, st.next_retry_at_ms),
        (true, NetState::Disconnected, None)
    );
    // A login meanwhile fails at once (2800) instead of trying.
    let mut other = Harness::new();
    other.s.handle_network_reachable(false, other.now);
    let t = other.login_call("bob");
    let out = other.drain();
    assert_eq!(completion(&out, t).unwrap_err().code(), 2800);
    assert!(!out.iter().any(|o| matches!(o, Output::Connect { .. })));
    // Back: reconnect at once.
    h.s.handle_network_reachable(true, h.now);
    let out = h.drain();
    connect_id(&out);
    assert_eq!(
        raw_net(&out),
        vec![(NetState::Connecting, NetReason::NetworkBack, None)]
    );
}

#[test]
fn a_link_lost_while_unreachable_does_not_schedule_a_retry() {
    let mut h = Harness::new();
    h.login_ready("alice");
    h.s.handle_network_reachable(false, h.now);
    h.drain();
    // Still false: a second false is no change.
    h.s.handle_network_reachable(false, h.now);
    assert_eq!(h.drain(), vec![]);
    assert_eq!(h.s.poll_timeout(), None);
}

#[test]
fn a_timer_that_fires_far_too_late_resets_the_backoff() {
    let mut h = Harness::new();
    let mut conn = h.login_ready("alice");
    // Build up the backoff with failed reconnects.
    h.s.handle_closed(conn, None, "reset", h.now);
    for _ in 0..4 {
        h.advance(h.s.poll_timeout().unwrap() - h.now);
        conn = connect_id(&h.drain());
        h.s.handle_connect_failed(conn, ChatError::network("refused"), h.now);
        h.drain();
    }
    assert_eq!(h.s.reconnect_attempt(), 5);
    // The device slept: the retry timer fires ten minutes late.
    let due = h.s.poll_timeout().unwrap();
    h.now = due + Duration::from_secs(600);
    h.s.handle_timeout(h.now);
    let out = h.drain();
    connect_id(&out);
    assert_eq!(h.s.reconnect_attempt(), 0, "the backoff restarts from the bottom");
}

#[test]
fn a_late_heartbeat_tick_probes_instead_of_trusting_the_link() {
    let mut h = Harness::new();
    let conn = h.login_ready("alice");
    h.now += HB + Duration::from_secs(600);
    h.s.handle_timeout(h.now);
    let out = h.drain();
    assert!(
        matches!(&out[..], [Output::Send(c, ClientFrame::Ping { .. })] if *c == conn),
        "{out:?}"
    );
    // The overdue heartbeat timers do not wake the driver while the probe is out.
    assert_eq!(h.s.poll_timeout(), Some(h.now + PROBE));
    h.advance(PROBE);
    let out = h.drain();
    assert!(out.contains(&Output::Close(conn)));
    connect_id(&out);
}

#[test]
fn state_reports_the_last_kick_and_clears_ready() {
    let mut h = Harness::new();
    let conn = login_with_lifetime(&mut h, 60);
    let st = h.s.state(h.now, wall(&h));
    assert_eq!(
        (st.ready, st.login_user.as_str(), st.net_state, st.last_kick),
        (true, "alice", NetState::Connected, None)
    );
    h.now += Duration::from_millis(250);
    h.s.handle_frame(
        conn,
        ServerFrame::Kicked {
            kick_type: KickType::MultipleAccount,
        },
        h.now,
    );
    let out = h.drain();
    assert_eq!(raw_net(&out), vec![(NetState::Disconnected, NetReason::Kicked, None)]);
    let later = h.now + Duration::from_secs(3);
    let st = h.s.state(later, wall(&h));
    assert!(!st.ready && st.login_user.is_empty());
    assert_eq!(
        st.last_kick,
        Some(LastKick {
            kick_type: KickType::MultipleAccount,
            at_ms: wall(&h) - 3_000
        })
    );
    assert_eq!(st.user_sig_expire_time_ms, None);
}

#[test]
fn logging_out_cancels_the_renewal_schedule() {
    let mut h = with_provider();
    let conn = login_with_lifetime(&mut h, 8);
    h.call(Call::Logout);
    let out = h.drain();
    let id = out
        .iter()
        .find_map(|o| match o {
            Output::Send(_, ClientFrame::Logout { id }) => Some(*id),
            _ => None,
        })
        .unwrap();
    h.s.handle_frame(conn, ServerFrame::LogoutOk { id }, h.now);
    h.drain();
    assert_eq!(h.s.poll_timeout(), None);
    // A late provider answer after logout is dropped.
    h.s.handle_provided_user_sig(Ok("late".into()), h.now);
    assert_eq!(h.drain(), vec![]);
}
