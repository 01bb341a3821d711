//! Network faults through a real fault proxy (toxiproxy) between a client and a real server:
//! latency, a 1 KB/s link, connection resets, a black hole, 1-byte TCP segments and a server
//! restart during a login. Each asserts what the app sees: events, readiness and deadlines.

mod common;

use common::toxiproxy::{Direction, Proxy, Toxic, Toxiproxy};
use common::*;
use natter::{ChatConfig, ChatError, ChatEvent, NetState, Platform};
use natter_server::{ServerConfig, ServerHandle};
use std::time::{Duration, Instant};

const HOUR_MS: i64 = 3_600_000;

/// A server, a toxiproxy in front of it and a client that connects through the proxy.
struct Rig {
    server: ServerHandle,
    proxy: Proxy,
    client: TestClient,
    // Last: the proxy process outlives the client's sockets while the rig is dropped.
    _toxiproxy: Toxiproxy,
}

async fn rig(configure_server: impl FnOnce(&mut ServerConfig), configure_client: impl FnOnce(&mut ChatConfig)) -> Rig {
    let server = server_with(configure_server).await;
    let toxiproxy = Toxiproxy::start().await;
    let proxy = toxiproxy.proxy("natter", server.local_addr()).await;
    let mut config = config_for(&server, Platform::Android);
    config.server_url = proxy.ws_url();
    configure_client(&mut config);
    Rig {
        client: client_with(config),
        server,
        proxy,
        _toxiproxy: toxiproxy,
    }
}

/// Fails if any event arrives within `quiet`: the thing under test is that nothing happens.
async fn expect_quiet(events: &mut Events, quiet: Duration) {
    if let Ok(event) = tokio::time::timeout(quiet, events.0.recv()).await {
        panic!("expected no event for {quiet:?}, got {event:?}");
    }
}

/// After a link fault: waits for the link to come back and checks that the app saw nothing but
/// net-state changes (disconnected → connecting → connected), never `SDK_NOT_READY`. `history`
/// holds the events of this fault the test already consumed.
async fn expect_silent_resume(c: &mut TestClient, mut history: Vec<ChatEvent>) -> Vec<ChatEvent> {
    history.extend(c.events.until(&net(NetState::Connected)).await);
    assert!(
        history.iter().all(|e| matches!(e, ChatEvent::NetStateChange { .. })),
        "only net-state changes while the link recovers: {history:?}"
    );
    assert!(history.contains(&net(NetState::Connecting)), "{history:?}");
    assert!(
        history.windows(2).all(|w| w[0] != w[1]),
        "states never repeat: {history:?}"
    );
    assert!(c.client.is_ready(), "a lost link keeps the session");
    history
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn latency_of_500_ms_still_logs_in_and_server_time_stays_within_half_the_round_trip() {
    const LATENCY: Duration = Duration::from_millis(500);
    // A heartbeat longer than the added round trip, so pongs arrive before the dead-link deadline.
    let heartbeat = Duration::from_millis(800);
    let mut r = rig(
        |s| s.clock_skew_ms = HOUR_MS,
        |c| {
            c.heartbeat_interval = heartbeat;
            c.request_timeout = Duration::from_secs(5);
        },
    )
    .await;
    // Server → client only: the worst case for the estimate, all of the round trip on one leg.
    r.proxy
        .add(
            "latency",
            Direction::Downstream,
            Toxic::Latency {
                ms: LATENCY.as_millis() as u64,
                jitter_ms: 0,
            },
        )
        .await;

    let started = Instant::now();
    r.client.login_ready(&r.server, "alice").await;
    let took = started.elapsed();
    // The login rides in the upgrade request (header login), so the 101 and the login reply
    // come back together, through the delay once.
    assert!(
        took >= LATENCY,
        "the latency toxic was not in the path: login took {took:?}"
    );

    let error = r.client.client.server_time_ms() - (natter::local_unix_ms() + HOUR_MS);
    let bound = (LATENCY / 2).as_millis() as i64 + 50;
    println!("latency 500 ms: login took {took:?}, server time off by {error} ms (bound ±{bound} ms)");
    assert!(
        error.abs() <= bound,
        "server time off by {error} ms with {LATENCY:?} latency"
    );

    // Heartbeats keep the session across three intervals even though every pong is late.
    expect_quiet(&mut r.client.events, heartbeat * 3).await;
    assert!(r.client.client.is_ready());
    let error = r.client.client.server_time_ms() - (natter::local_unix_ms() + HOUR_MS);
    assert!(error.abs() <= bound, "after heartbeats: server time off by {error} ms");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_1_kb_per_s_link_logs_in_and_heartbeats_keep_the_session() {
    // The server drops a logged-in client that sent nothing for 1.5 s: only heartbeats that
    // squeeze through the narrow link keep the session.
    let heartbeat = Duration::from_millis(300);
    let mut r = rig(
        |s| s.idle_timeout = Duration::from_millis(1500),
        |c| {
            c.heartbeat_interval = heartbeat;
            c.request_timeout = Duration::from_secs(5);
        },
    )
    .await;
    r.proxy.add_both("narrow", Toxic::Bandwidth { kb_per_s: 1 }).await;

    let started = Instant::now();
    r.client.login_ready(&r.server, "alice").await;
    let took = started.elapsed();
    println!("bandwidth 1 KB/s: login took {took:?}");

    expect_quiet(&mut r.client.events, Duration::from_secs(3)).await;
    assert!(r.client.client.is_ready());
    // Asked directly (not through the proxy): the server still has the instance.
    assert_eq!(online_platforms(&r.server, "alice").await, vec!["Android"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connection_resets_reconnect_silently_every_time() {
    const RESETS: usize = 3;
    let mut r = rig(
        |_| {},
        |c| {
            c.heartbeat_interval = Duration::from_millis(200);
            c.request_timeout = Duration::from_secs(1);
        },
    )
    .await;
    r.client.login_ready(&r.server, "alice").await;

    for round in 1..=RESETS {
        // The next server → client bytes (a pong) are answered with a TCP RST.
        r.proxy
            .add("reset", Direction::Downstream, Toxic::ResetPeer { after_ms: 0 })
            .await;
        let seen = r.client.events.until(&net(NetState::Disconnected)).await;
        assert!(seen.is_empty(), "round {round}: {seen:?}");
        r.proxy.remove("reset").await;
        let seen = expect_silent_resume(&mut r.client, vec![net(NetState::Disconnected)]).await;
        println!("reset_peer round {round}: events until connected {seen:?}");
        // The resume replaced the reset connection instead of counting a second instance.
        wait_online_count(&r.server, "alice", 1).await;
    }
    assert_eq!(r.client.client.login_user(), "alice");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_black_hole_is_found_within_two_heartbeats_and_recovers_without_not_ready() {
    const ROUNDS: usize = 2;
    let heartbeat = Duration::from_millis(300);
    let mut r = rig(
        |_| {},
        |c| {
            c.heartbeat_interval = heartbeat;
            c.request_timeout = Duration::from_secs(1);
        },
    )
    .await;
    r.client.login_ready(&r.server, "alice").await;

    for round in 1..=ROUNDS {
        // Nothing gets through either way and nothing closes: a dead mobile link.
        let holed = Instant::now();
        r.proxy.add_both("hole", Toxic::Timeout { close_after_ms: 0 }).await;
        r.client.events.until(&net(NetState::Disconnected)).await;
        let found = holed.elapsed();
        println!("black hole round {round}: dead link found after {found:?} (heartbeat {heartbeat:?})");
        // Two silent intervals, plus scheduling slack on a busy 2-core machine.
        assert!(
            found <= heartbeat * 2 + Duration::from_millis(250),
            "dead link found after {found:?}"
        );
        assert!(r.client.client.is_ready());

        // Reconnects keep failing (connect deadline) while the hole stays.
        let seen = r.client.events.until(&net(NetState::Connecting)).await;
        assert!(seen.is_empty(), "{seen:?}");
        r.proxy.remove_both("hole").await;
        // The attempt under way when the hole closes may be the one that succeeds.
        let history = vec![net(NetState::Disconnected), net(NetState::Connecting)];
        let seen = expect_silent_resume(&mut r.client, history).await;
        println!("black hole round {round}: events until connected {seen:?}");
        wait_online_count(&r.server, "alice", 1).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_byte_tcp_segments_both_ways_still_log_in() {
    let mut r = rig(
        |_| {},
        |c| {
            c.heartbeat_interval = Duration::from_millis(300);
        },
    )
    .await;
    // Every byte in its own segment, both ways: the HTTP upgrade, the 101 and every frame.
    r.proxy
        .add_both(
            "slicer",
            Toxic::Slicer {
                average_bytes: 1,
                variation_bytes: 0,
                delay_us: 50,
            },
        )
        .await;
    let started = Instant::now();
    r.client.login_ready(&r.server, "alice").await;
    println!("slicer 1-byte segments: login took {:?}", started.elapsed());
    // Heartbeats keep working through the slicer.
    expect_quiet(&mut r.client.events, Duration::from_secs(1)).await;
    assert_eq!(online_platforms(&r.server, "alice").await, vec!["Android"]);
}

/// How a login cut by a server restart may end: ready, or a coded network error within the login
/// deadline (never a hang, never an uncoded error).
fn check_interrupted_login(result: &Result<natter::LoginResult, ChatError>, took: Duration, login_timeout: Duration) {
    assert!(
        took <= login_timeout + Duration::from_secs(1),
        "the login took {took:?} (deadline {login_timeout:?})"
    );
    match result {
        Ok(outcome) => assert!(!outcome.repeat_login),
        Err(e) => assert!(
            [natter::code::NETWORK_ERROR, natter::code::NETWORK_TIMEOUT].contains(&e.code()),
            "a login cut by a restart fails with a network code, not {e:?} ({})",
            e.code()
        ),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_restart_during_login_ends_the_login_cleanly_and_a_logged_in_client_resumes() {
    let login_timeout = Duration::from_secs(4);
    let mut r = rig(
        |_| {},
        |c| {
            c.login_timeout = login_timeout;
            c.request_timeout = Duration::from_secs(2);
        },
    )
    .await;
    r.client.login_ready(&r.server, "alice").await;
    let addr = r.server.local_addr();
    let mut server = r.server;

    // Two moments: the upgrade request still on its way (upstream delay), and the login already
    // accepted by the server with the replies on their way back (downstream delay).
    for direction in Direction::BOTH {
        let mut bob = client_with(r.client.client.config().clone());
        let slow = Toxic::Latency { ms: 1000, jitter_ms: 0 };
        r.proxy.add("slow", direction, slow).await;
        let sig = server.user_sig("bob", 3600);
        let started = Instant::now();
        let login = bob.client.login("bob", &sig);
        let old = server;
        let (events, proxy) = (&mut bob.events, &r.proxy);
        let restart = async move {
            // The login is under way once the client reports connecting.
            events.until(&net(NetState::Connecting)).await;
            if direction == Direction::Downstream {
                wait_online_count(&old, "bob", 1).await;
            }
            old.shutdown().await;
            let new = server_with(|cfg| cfg.listen = addr).await;
            proxy.remove("slow").await;
            new
        };
        let (result, new) = tokio::join!(login, restart);
        let took = started.elapsed();
        server = new;
        println!("server restart during login ({direction:?} delay): {result:?} after {took:?}");
        check_interrupted_login(&result, took, login_timeout);
        match result {
            // The reply may have been in flight from the old server: then the session resumes on
            // the new one by itself.
            Ok(_) => bob.events.expect_next(ChatEvent::SdkReady).await,
            // The app retries, as it would after any network error.
            Err(_) => bob.login_ready(&server, "bob").await,
        }
        wait_online_count(&server, "bob", 1).await;
        assert!(bob.client.is_ready());
        let later = bob.events.drain();
        assert!(
            later.iter().all(|e| matches!(e, ChatEvent::NetStateChange { .. })),
            "{later:?}"
        );

        // Alice, logged in all along, came back without being told she was logged out.
        expect_silent_resume(&mut r.client, vec![]).await;
        wait_online_count(&server, "alice", 1).await;
        bob.client.destroy().await.unwrap();
    }
}
