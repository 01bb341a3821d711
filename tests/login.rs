//! Spec §2 against a real server over real sockets: login, repeat and in-flight login, argument
//! and server error codes, getters, logout, destroy.

mod common;

use common::*;
use natter::{ChatClient, ChatConfig, ChatError, ChatEvent, NetState, Platform};
use natter_server::usersig;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_resolves_then_sdk_ready_and_getters_show_the_session() {
    let server = server().await;
    let mut c = client(&server, Platform::Web);
    assert!(!c.client.is_ready());
    assert_eq!(c.client.login_user(), "");
    let before_login = natter::local_unix_ms();
    assert!(
        (c.client.server_time_ms() - before_login).abs() < 1000,
        "local clock before login"
    );

    let result = c.client.login("alice", &server.user_sig("alice", 3600)).await.unwrap();
    assert!(!result.repeat_login);
    assert_eq!(result.error_info, None);
    // The getters are already true when the call returns.
    assert!(c.client.is_ready());
    assert_eq!(c.client.login_user(), "alice");
    assert_eq!(
        c.events.until(&ChatEvent::SdkReady).await,
        vec![net(NetState::Connecting), net(NetState::Connected)]
    );
    assert_eq!(online_platforms(&server, "alice").await, vec!["Web"]);
    c.client.destroy().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repeat_login_resolves_with_repeat_flag_and_emits_nothing() {
    let server = server().await;
    let mut c = client(&server, Platform::Web);
    c.login_ready(&server, "alice").await;
    for user in ["alice", "bob"] {
        let r = c.client.login(user, &server.user_sig(user, 3600)).await.unwrap();
        assert!(r.repeat_login);
        assert!(r.error_info.unwrap().contains("alice"));
    }
    assert_eq!(c.client.login_user(), "alice");
    // Nothing was emitted: the next event is the one logout causes.
    c.client.logout().await.unwrap();
    assert_eq!(c.events.next().await, ChatEvent::SdkNotReady);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn second_login_while_the_first_is_in_flight_rejects_2025() {
    let server = server().await;
    let c = client(&server, Platform::Web);
    let sig = server.user_sig("alice", 3600);
    let (a, b) = tokio::join!(c.client.login("alice", &sig), c.client.login("alice", &sig));
    let mut results = [a, b];
    results.sort_by_key(|r| r.is_err());
    assert!(!results[0].as_ref().unwrap().repeat_login);
    assert_eq!(results[1].as_ref().unwrap_err().code(), 2025);
    assert!(c.client.is_ready());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_arguments_reject_at_once_with_their_codes() {
    let server = server().await;
    let c = client(&server, Platform::Web);
    assert_eq!(c.client.login("", "sig").await.unwrap_err().code(), 2002);
    assert_eq!(c.client.login("alice", "").await.unwrap_err().code(), 2003);
    assert_eq!(ChatClient::new(ChatConfig::new(0)).unwrap_err().code(), 2000);
    let bad_url = ChatClient::new(ChatConfig::new(1).with_server_url("http://127.0.0.1/ws")).unwrap_err();
    assert_eq!(bad_url.code(), 9001);
    // Nothing was sent: the server never saw alice.
    assert!(online_platforms(&server, "alice").await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_refusals_reject_with_the_server_code() {
    let server = server().await;
    let app = server.config().sdk_app_id;
    let key = server.config().secret_key.clone();
    let now = natter::local_unix_ms() / 1000;
    let cases: Vec<(&str, String, i32)> = vec![
        (
            "expired",
            usersig::generate(app, &key, "alice", 10, now - 3600).unwrap(),
            70001,
        ),
        ("garbage", "not-a-user-sig".into(), 70003),
        (
            "wrong key",
            usersig::generate(app, "another-key", "alice", 3600, now).unwrap(),
            70009,
        ),
        (
            "user mismatch",
            usersig::generate(app, &key, "mallory", 3600, now).unwrap(),
            70013,
        ),
        (
            "app mismatch",
            usersig::generate(app + 1, &key, "alice", 3600, now).unwrap(),
            70014,
        ),
    ];
    for (what, sig, code) in cases {
        let c = client(&server, Platform::Web);
        let err = c.client.login("alice", &sig).await.unwrap_err();
        assert_eq!(err.code(), code, "{what}: {err}");
        assert!(matches!(err, ChatError::Server { .. }));
        assert!(!c.client.is_ready());
        assert_eq!(c.client.login_user(), "");
    }
    // An app the server does not serve.
    let other_app = client_with(ChatConfig {
        sdk_app_id: app + 7,
        ..config_for(&server, Platform::Web)
    });
    let err = other_app
        .client
        .login("alice", &server.user_sig("alice", 60))
        .await
        .unwrap_err();
    assert_eq!(err.code(), 70020);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn disabled_app_rejects_60020() {
    let server = server_with(|c| c.app_enabled = false).await;
    let c = client(&server, Platform::Web);
    assert_eq!(
        c.client
            .login("alice", &server.user_sig("alice", 60))
            .await
            .unwrap_err()
            .code(),
        60020
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repeated_failures_are_throttled_with_70050() {
    let server = server_with(|c| c.max_failed_logins = 3).await;
    let mut codes = vec![];
    for _ in 0..4 {
        let c = client(&server, Platform::Web);
        codes.push(c.client.login("alice", "garbage").await.unwrap_err().code());
    }
    assert_eq!(codes, [70003, 70003, 70003, 70050]);
    let c = client(&server, Platform::Web);
    let err = c
        .client
        .login("alice", &server.user_sig("alice", 60))
        .await
        .unwrap_err();
    assert_eq!(err.code(), 70050, "even a valid sig waits out the throttle");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unreachable_server_rejects_2800() {
    // A port that was just free: nothing listens there.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let config = ChatConfig::new(1400000001).with_server_url(format!("ws://127.0.0.1:{port}/ws"));
    let mut c = client_with(config);
    let err = c.client.login("alice", "sig").await.unwrap_err();
    assert_eq!(err.code(), 2800, "{err}");
    assert_eq!(
        c.events.until(&net(NetState::Disconnected)).await,
        vec![net(NetState::Connecting)]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_never_answers_times_out_with_2801() {
    // Accepts TCP but never completes the WebSocket handshake.
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("ws://{}/ws", silent.local_addr().unwrap());
    let accept = tokio::spawn(async move {
        let (socket, _) = silent.accept().await.unwrap();
        std::future::pending::<()>().await;
        drop(socket);
    });
    let mut config = ChatConfig::new(1400000001).with_server_url(url);
    config.request_timeout = Duration::from_millis(300);
    config.login_timeout = Duration::from_millis(600);
    let c = client_with(config);
    let started = std::time::Instant::now();
    let err = c.client.login("alice", "sig").await.unwrap_err();
    assert_eq!(err.code(), 2801, "{err}");
    assert!(started.elapsed() < Duration::from_secs(5));
    accept.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logout_emits_not_ready_then_resolves_and_the_instance_can_log_in_again() {
    let server = server_with(|c| c.max_instances_per_platform = 2).await;
    let mut a = client(&server, Platform::Web);
    let mut b = client(&server, Platform::Web);
    a.login_ready(&server, "alice").await;
    b.login_ready(&server, "alice").await;
    a.client.logout().await.unwrap();
    // SDK_NOT_READY was queued before the call resolved.
    assert_eq!(a.events.next_non_net().await, ChatEvent::SdkNotReady);
    assert!(!a.client.is_ready());
    assert_eq!(a.client.login_user(), "");
    // The other instance of the same user is untouched.
    assert!(b.client.is_ready());
    wait_online_count(&server, "alice", 1).await;
    assert_eq!(a.client.logout().await.unwrap_err().code(), 2024);
    a.login_ready(&server, "alice").await;
    wait_online_count(&server, "alice", 2).await;
    assert!(b
        .events
        .drain()
        .iter()
        .all(|e| matches!(e, ChatEvent::NetStateChange { .. })));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logout_when_never_logged_in_rejects_2024() {
    let server = server().await;
    let c = client(&server, Platform::Web);
    assert_eq!(c.client.logout().await.unwrap_err().code(), 2024);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn destroy_logs_out_emits_sdk_destroy_and_refuses_later_calls() {
    let server = server().await;
    let mut c = client(&server, Platform::Android);
    c.login_ready(&server, "alice").await;
    c.client.destroy().await.unwrap();
    let rest: Vec<ChatEvent> = c.events.until(&ChatEvent::SdkDestroy).await;
    assert_eq!(rest, vec![ChatEvent::SdkNotReady, net(NetState::Disconnected)]);
    wait_online_count(&server, "alice", 0).await;
    assert!(!c.client.is_ready());
    assert_eq!(c.client.login_user(), "");
    let err = c
        .client
        .login("alice", &server.user_sig("alice", 60))
        .await
        .unwrap_err();
    assert_eq!(err.code(), 9002);
    assert_eq!(c.client.logout().await.unwrap_err().code(), 9002);
    c.client.destroy().await.expect("a second destroy is harmless");
    // The event stream ends: the dispatcher released its listeners.
    assert_eq!(tokio::time::timeout(SOON, c.events.0.recv()).await.unwrap(), None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn destroy_when_logged_out_resolves() {
    let server = server().await;
    let mut c = client(&server, Platform::Web);
    c.client.destroy().await.unwrap();
    assert_eq!(c.events.next().await, ChatEvent::SdkDestroy);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panicking_listener_does_not_break_delivery_to_others() {
    let server = server().await;
    let mut c = client(&server, Platform::Web);
    let calls = Arc::new(AtomicUsize::new(0));
    let counted = calls.clone();
    c.client.add_listener(Arc::new(move |_e: ChatEvent| {
        counted.fetch_add(1, Ordering::SeqCst);
        panic!("listener bug");
    }));
    c.login_ready(&server, "alice").await;
    c.client.logout().await.unwrap();
    c.events.expect_next(ChatEvent::SdkNotReady).await;
    assert!(
        calls.load(Ordering::SeqCst) >= 2,
        "the panicking listener kept being called"
    );
    assert!(!c.client.is_ready());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn removed_listeners_stop_receiving_and_dropping_the_client_frees_the_session() {
    let server = server().await;
    let mut c = client(&server, Platform::Web);
    let calls = Arc::new(AtomicUsize::new(0));
    let counted = calls.clone();
    let id = c.client.add_listener(Arc::new(move |_e: ChatEvent| {
        counted.fetch_add(1, Ordering::SeqCst);
    }));
    assert!(c.client.remove_listener(id));
    assert!(!c.client.remove_listener(id));
    c.login_ready(&server, "alice").await;
    assert_eq!(calls.load(Ordering::SeqCst), 0);
    wait_online_count(&server, "alice", 1).await;
    drop(c.client);
    // The last handle is gone: the instance destroys itself and the server sees it leave.
    c.events.until(&ChatEvent::SdkDestroy).await;
    wait_online_count(&server, "alice", 0).await;
}
