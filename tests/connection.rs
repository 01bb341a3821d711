//! Spec §7: server time, heartbeat dead-link detection, reconnect with silent re-login,
//! and stopping a reconnect with logout/destroy.

mod common;

use common::*;
use natter::{ChatConfig, ChatEvent, NetState, Platform};
use std::time::{Duration, Instant};

const HOUR_MS: i64 = 3_600_000;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_time_follows_a_server_clock_an_hour_ahead() {
    let server = server_with(|c| c.clock_skew_ms = HOUR_MS).await;
    let mut c = client(&server, Platform::Web);
    c.login_ready(&server, "alice").await;
    // Same machine: the server's clock is exactly the local clock plus the skew.
    let local = natter::local_unix_ms();
    let estimate = c.client.server_time_ms();
    let error = estimate - (local + HOUR_MS);
    // RTT/2 + 5 ms is the contract; loopback RTT in a debug build stays well under 30 ms.
    assert!(error.abs() <= 20, "server time off by {error} ms");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconnects_after_a_server_restart_on_the_same_port_without_not_ready() {
    let server = server().await;
    let addr = server.local_addr();
    let mut c = client(&server, Platform::Web);
    c.login_ready(&server, "alice").await;

    server.shutdown().await;
    c.events.until(&net(NetState::Disconnected)).await;
    assert!(c.client.is_ready(), "a lost link keeps the session");

    let server = server_with(|cfg| cfg.listen = addr).await;
    let seen = c.events.until(&net(NetState::Connected)).await;
    assert!(
        seen.iter().all(|e| matches!(e, ChatEvent::NetStateChange { .. })),
        "only net-state changes during a reconnect: {seen:?}"
    );
    // Only real changes are reported: states alternate, never repeat.
    assert!(seen.windows(2).all(|w| w[0] != w[1]), "{seen:?}");
    assert!(c.client.is_ready());
    assert_eq!(c.client.login_user(), "alice");
    assert_eq!(online_platforms(&server, "alice").await, vec!["Web"]);
    c.client.logout().await.unwrap();
    c.events.expect_next(ChatEvent::SdkNotReady).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dead_link_is_detected_within_two_heartbeats_and_recovers() {
    let server = server().await;
    let (proxy, mut c) = client_behind_proxy(&server, Platform::Ios).await;
    c.login_ready(&server, "alice").await;

    proxy.set_frozen(true);
    let frozen_at = Instant::now();
    c.events.until(&net(NetState::Disconnected)).await;
    let detected = frozen_at.elapsed();
    assert!(
        detected < Duration::from_millis(1500),
        "dead link noticed after {detected:?}"
    );
    assert!(c.client.is_ready());

    proxy.set_frozen(false);
    let seen = c.events.until(&net(NetState::Connected)).await;
    assert!(
        seen.iter().all(|e| matches!(e, ChatEvent::NetStateChange { .. })),
        "{seen:?}"
    );
    // The reconnect replaced the dead connection instead of counting a second instance.
    wait_online_count(&server, "alice", 1).await;
    assert!(c
        .events
        .drain()
        .iter()
        .all(|e| !matches!(e, ChatEvent::KickedOut { .. })));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn destroy_during_reconnect_stops_it_at_once() {
    let server = server().await;
    let addr = server.local_addr();
    let mut c = client(&server, Platform::Web);
    c.login_ready(&server, "alice").await;
    server.shutdown().await;
    c.events.until(&net(NetState::Disconnected)).await;

    let started = Instant::now();
    c.client.destroy().await.unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "destroy waited {:?}",
        started.elapsed()
    );
    let rest = c.events.until(&ChatEvent::SdkDestroy).await;
    assert!(rest.contains(&ChatEvent::SdkNotReady), "{rest:?}");
    // Every task ended: the event stream closes and a server coming back sees nobody.
    assert_eq!(tokio::time::timeout(SOON, c.events.0.recv()).await.unwrap(), None);
    let server = server_with(|cfg| cfg.listen = addr).await;
    assert!(online_platforms(&server, "alice").await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logout_during_reconnect_stops_it_and_a_new_login_works() {
    let server = server().await;
    let addr = server.local_addr();
    let mut c = client(&server, Platform::Web);
    c.login_ready(&server, "alice").await;
    server.shutdown().await;
    c.events.until(&net(NetState::Disconnected)).await;
    c.client.logout().await.unwrap();
    c.events.expect_next(ChatEvent::SdkNotReady).await;
    assert!(!c.client.is_ready());

    let server = server_with(|cfg| cfg.listen = addr).await;
    c.login_ready(&server, "alice").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_kicked_while_offline_is_refused_on_resume() {
    let server = server().await;
    let (proxy, mut c) = client_behind_proxy(&server, Platform::Web).await;
    c.login_ready(&server, "alice").await;
    proxy.set_frozen(true);
    c.events.until(&net(NetState::Disconnected)).await;
    // The admin kicks alice while her link is dead: the kick frame is lost in the black hole.
    natter_server::admin::kick(&server, "alice").await.unwrap();
    proxy.set_frozen(false);
    // The resume login is answered with the kick, so the app still learns about it.
    let seen = c
        .events
        .until(&ChatEvent::KickedOut {
            kick_type: natter::KickType::RestApi,
        })
        .await;
    assert!(
        seen.iter().all(|e| matches!(e, ChatEvent::NetStateChange { .. })),
        "{seen:?}"
    );
    c.events.expect_next(ChatEvent::SdkNotReady).await;
    assert!(!c.client.is_ready());
}

/// A client that reaches `server` through a black-holing proxy, with fast heartbeats (200 ms) and
/// a short connect deadline so a frozen link is noticed and retried quickly.
async fn client_behind_proxy(server: &natter_server::ServerHandle, platform: Platform) -> (BlackholeProxy, TestClient) {
    let proxy = BlackholeProxy::start(server.local_addr()).await;
    let mut config = ChatConfig {
        heartbeat_interval: Duration::from_millis(200),
        ..config_for(server, platform)
    };
    config.server_url = format!("ws://{}/ws", proxy.addr);
    config.request_timeout = Duration::from_millis(500);
    (proxy, client_with(config))
}
