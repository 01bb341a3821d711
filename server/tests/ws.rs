//! The WebSocket endpoint over real sockets.

mod common;

use common::*;
use futures_util::SinkExt;
use natter_server::{usersig, Policy, ServerConfig};
use serde_json::json;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::{self, Message};

const APP: u64 = natter_server::DEV_SDK_APP_ID;
const KEY: &str = natter_server::DEV_SECRET_KEY;

async fn login_ok_and_pong_carry_the_server_time() {
    let s = server(config()).await;
    let before = now_ms();
    let (mut ws, ok) = login_with(&s, "alice", "web", "i1", false).await;
    assert_eq!(ok["type"], "loginOk");
    assert_eq!(ok["id"], 1);
    let t = ok["serverTimeMs"].as_i64().unwrap();
    assert!(t >= before - 5 && t <= now_ms() + 5, "{t}");
    let pong = ping(&mut ws, 42).await;
    assert!((pong["serverTimeMs"].as_i64().unwrap() - now_ms()).abs() < 1000);
    assert!((s.server_time_ms() - now_ms()).abs() < 1000);
    assert!(s.ws_url().starts_with("ws://127.0.0.1:") && s.ws_url().ends_with("/ws"));
}

async fn clock_skew_applies_to_frames_and_usersig_checks() {
    let skew = 3_600_000;
    let s = server(ServerConfig {
        clock_skew_ms: skew,
        ..config()
    })
    .await;
    assert!((s.server_time_ms() - now_ms() - skew).abs() < 1000);
    let (mut ws, ok) = login_with(&s, "alice", "web", "i1", false).await;
    assert!(
        (ok["serverTimeMs"].as_i64().unwrap() - now_ms() - skew).abs() < 1000,
        "{ok}"
    );
    assert!((ping(&mut ws, 2).await["serverTimeMs"].as_i64().unwrap() - now_ms() - skew).abs() < 1000);
    // A sig valid on the real clock for 10 minutes is already expired on the server's clock.
    let sig = usersig::generate(APP, KEY, "bob", 600, now_ms() / 1000).unwrap();
    let mut ws = connect(&s).await;
    send(&mut ws, &login_frame(5, APP, "bob", &sig, "web", "b", false)).await;
    let err = next_frame(&mut ws).await;
    assert_eq!(
        (err["type"].as_str(), err["code"].as_i64(), err["id"].as_u64()),
        (Some("error"), Some(70001), Some(5))
    );
    assert_eq!(expect_close(&mut ws).await, 4002);
}

async fn refused(s: &natter_server::ServerHandle, frame: String) -> i64 {
    let mut ws = connect(s).await;
    send(&mut ws, &frame).await;
    let err = next_frame(&mut ws).await;
    assert_eq!(err["type"], "error", "{err}");
    assert_eq!(err["id"], 9, "{err}");
    assert!(!err["message"].as_str().unwrap().is_empty());
    assert_eq!(expect_close(&mut ws).await, 4002);
    err["code"].as_i64().unwrap()
}

async fn bad_logins_are_refused_with_their_code_and_4002() {
    let s = server(ServerConfig {
        max_failed_logins: 0,
        ..config()
    })
    .await;
    let now = now_ms() / 1000;
    let good = s.user_sig("alice", 600);
    let f = |app: u64, user: &str, sig: &str| login_frame(9, app, user, sig, "web", "i", false);
    assert_eq!(refused(&s, f(APP + 1, "alice", &good)).await, 70020);
    assert_eq!(refused(&s, f(APP, "alice", "garbage")).await, 70003);
    assert_eq!(refused(&s, f(APP, "alice", "")).await, 70002);
    assert_eq!(refused(&s, f(APP, "bob", &good)).await, 70013);
    assert_eq!(
        refused(
            &s,
            f(
                APP,
                "alice",
                &usersig::generate(APP + 7, KEY, "alice", 600, now).unwrap()
            )
        )
        .await,
        70014
    );
    assert_eq!(
        refused(
            &s,
            f(
                APP,
                "alice",
                &usersig::generate(APP, "other-key", "alice", 600, now).unwrap()
            )
        )
        .await,
        70009
    );
    assert_eq!(
        refused(
            &s,
            f(
                APP,
                "alice",
                &usersig::generate(APP, KEY, "alice", 10, now - 10).unwrap()
            )
        )
        .await,
        70001
    );
    // Still serving.
    login(&s, "alice", "web", "i").await;

    let disabled = server(ServerConfig {
        app_enabled: false,
        ..config()
    })
    .await;
    assert_eq!(refused(&disabled, f(APP, "alice", &good)).await, 60020);
}

async fn logout_closes_1000() {
    let s = server(config()).await;
    let mut ws = login(&s, "alice", "ios", "i1").await;
    send(&mut ws, &json!({"type": "logout", "id": 3}).to_string()).await;
    let ok = next_frame(&mut ws).await;
    assert_eq!(ok, json!({"type": "logoutOk", "id": 3}));
    assert_eq!(expect_close(&mut ws).await, 1000);
    let q = natter_server::admin::query_online_status(&s, &["alice"], false)
        .await
        .unwrap();
    assert_eq!(q["QueryResult"][0]["Status"], "Offline");
}

async fn unknown_frames_are_ignored_and_a_second_login_is_an_error() {
    let s = server(config()).await;
    let mut ws = login(&s, "alice", "web", "i1").await;
    send(&mut ws, r#"{"type":"typing","id":5,"to":"bob"}"#).await;
    send(&mut ws, r#"{"type":"futureThing"}"#).await;
    ping(&mut ws, 6).await;
    let sig = s.user_sig("alice", 60);
    send(&mut ws, &login_frame(7, APP, "alice", &sig, "web", "i1", false)).await;
    let err = next_frame(&mut ws).await;
    assert_eq!(
        (err["type"].as_str(), err["code"].as_i64(), err["id"].as_u64()),
        (Some("error"), Some(60008), Some(7))
    );
    ping(&mut ws, 8).await;
}

async fn protocol_error(s: &natter_server::ServerHandle, login_first: bool, msg: Message, id: Option<u64>) {
    let mut ws = if login_first {
        login(s, "alice", "web", "p").await
    } else {
        connect(s).await
    };
    tokio::time::timeout(WAIT, ws.send(msg)).await.unwrap().unwrap();
    let err = next_frame(&mut ws).await;
    assert_eq!(
        (err["type"].as_str(), err["code"].as_i64()),
        (Some("error"), Some(60008)),
        "{err}"
    );
    assert_eq!(err["id"].as_u64(), id, "{err}");
    assert_eq!(expect_close(&mut ws).await, 4003);
}

async fn protocol_violations_close_4003() {
    let s = server(config()).await;
    protocol_error(&s, false, Message::text("not json"), None).await;
    protocol_error(&s, false, Message::binary(vec![1u8, 2, 3]), None).await;
    protocol_error(&s, false, Message::text(r#"{"type":"ping","id":11}"#), Some(11)).await;
    protocol_error(&s, false, Message::text(r#"{"type":"typing","id":12}"#), Some(12)).await;
    protocol_error(&s, false, Message::text(r#"{"type":"login","id":13}"#), Some(13)).await;
    let mut wrong_version: serde_json::Value = serde_json::from_str(&login_frame(
        14,
        APP,
        "alice",
        &s.user_sig("alice", 60),
        "web",
        "v",
        false,
    ))
    .unwrap();
    wrong_version["version"] = json!(99);
    protocol_error(&s, false, Message::text(wrong_version.to_string()), Some(14)).await;
    // After login too.
    protocol_error(&s, true, Message::text("{{{"), None).await;
    protocol_error(&s, true, Message::binary(vec![0u8; 4]), None).await;
    protocol_error(&s, true, Message::text(r#"{"type":"ping"}"#), None).await;
    login(&s, "alice", "web", "p").await;
}

async fn oversized_frames_close_4004() {
    let s = server(config()).await;
    let big = "x".repeat(natter_protocol::MAX_FRAME_BYTES + 1);
    let mut ws = connect(&s).await;
    send(&mut ws, &big).await;
    assert_eq!(expect_close(&mut ws).await, 4004);
    let mut ws = login(&s, "alice", "web", "i1").await;
    send(&mut ws, &json!({"type": "ping", "id": 1, "pad": big}).to_string()).await;
    assert_eq!(expect_close(&mut ws).await, 4004);
    login(&s, "alice", "web", "i1").await;
}

async fn no_login_within_the_handshake_timeout_closes_4008() {
    let s = server(ServerConfig {
        handshake_timeout: Duration::from_millis(300),
        ..config()
    })
    .await;
    let mut ws = connect(&s).await;
    let started = std::time::Instant::now();
    assert_eq!(expect_close(&mut ws).await, 4008);
    assert!(started.elapsed() < Duration::from_secs(2));
}

async fn idle_sessions_close_4010() {
    let s = server(ServerConfig {
        idle_timeout: Duration::from_millis(300),
        ..config()
    })
    .await;
    let mut ws = login(&s, "alice", "web", "i1").await;
    // Traffic keeps it alive...
    for id in 0..3 {
        ping(&mut ws, id).await;
    }
    // ...silence does not.
    assert_eq!(expect_close(&mut ws).await, 4010);
}

async fn slow_or_silent_http_clients_are_cut() {
    let s = server(ServerConfig {
        handshake_timeout: Duration::from_millis(300),
        ..config()
    })
    .await;
    let mut slow = TcpStream::connect(s.local_addr()).await.unwrap();
    slow.write_all(b"GET /ws HTTP/1.1\r\nHost: x\r\n").await.unwrap();
    let mut silent = TcpStream::connect(s.local_addr()).await.unwrap();
    for stream in [&mut slow, &mut silent] {
        let mut buf = [0u8; 512];
        // EOF (or reset), never a hang.
        loop {
            match tokio::time::timeout(WAIT, stream.read(&mut buf))
                .await
                .expect("server cut the connection")
            {
                Ok(0) | Err(_) => break,
                Ok(_) => continue,
            }
        }
    }
    login(&s, "alice", "web", "i1").await;
}

async fn failed_logins_are_throttled_until_the_window_passes() {
    let window = Duration::from_millis(800);
    let s = server(ServerConfig {
        max_failed_logins: 2,
        failed_login_window: window,
        ..config()
    })
    .await;
    let bad = login_frame(9, APP, "alice", "garbage", "web", "i", false);
    assert_eq!(refused(&s, bad.clone()).await, 70003);
    assert_eq!(refused(&s, bad.clone()).await, 70003);
    let good = login_frame(9, APP, "alice", &s.user_sig("alice", 600), "web", "i", false);
    let started = std::time::Instant::now();
    assert_eq!(refused(&s, good.clone()).await, 70050);
    assert_eq!(refused(&s, good.clone()).await, 70050);
    // Throttled attempts do not extend the window: a good login works once it has passed.
    tokio::time::timeout(WAIT, async {
        loop {
            let mut ws = connect(&s).await;
            send(&mut ws, &good).await;
            let reply = next_frame(&mut ws).await;
            if reply["type"] == "loginOk" {
                break;
            }
            assert_eq!(reply["code"], 70050);
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await
    .unwrap();
    assert!(started.elapsed() < window + Duration::from_secs(2));
}

async fn connections_per_source_are_limited_with_429() {
    let s = server(ServerConfig {
        max_connections_per_source: 2,
        ..config()
    })
    .await;
    let _a = login(&s, "alice", "web", "a").await;
    let mut b = login(&s, "bob", "web", "b").await;
    match tokio::time::timeout(WAIT, tokio_tungstenite::connect_async(s.ws_url()))
        .await
        .unwrap()
    {
        Err(tungstenite::Error::Http(resp)) => assert_eq!(resp.status().as_u16(), 429),
        other => panic!("expected 429, got {:?}", other.map(|_| ())),
    }
    // REST counts too.
    let (status, body) = natter_server::admin::post(
        s.local_addr(),
        "/v4/openim/query_online_status",
        APP,
        "administrator",
        &s.admin_sig(),
        "{}",
    )
    .await
    .unwrap();
    assert_eq!((status, body["ErrorCode"].as_i64()), (429, Some(60022)));
    // Freeing a slot lets the next one in.
    send(&mut b, r#"{"type":"logout","id":1}"#).await;
    next_frame(&mut b).await;
    assert_eq!(expect_close(&mut b).await, 1000);
    drop(b);
    eventually(|| async { tokio_tungstenite::connect_async(s.ws_url()).await.is_ok() }).await;
}

async fn a_second_web_page_kicks_the_first_with_multiple_account() {
    let s = server(config()).await;
    let mut first = login(&s, "alice", "web", "page-1").await;
    let mut android = login(&s, "alice", "android", "phone").await;
    let mut second = login(&s, "alice", "web", "page-2").await;
    assert_eq!(
        next_frame(&mut first).await,
        json!({"type": "kicked", "kickType": "multipleAccount"})
    );
    assert_eq!(expect_close(&mut first).await, 4001);
    ping(&mut second, 1).await;
    ping(&mut android, 1).await;
}

async fn single_policy_kicks_across_platforms_with_multiple_device() {
    let s = server(ServerConfig {
        policy: Policy::Single,
        ..config()
    })
    .await;
    let mut phone = login(&s, "alice", "android", "phone").await;
    let mut web = login(&s, "alice", "web", "page").await;
    assert_eq!(
        next_frame(&mut phone).await,
        json!({"type": "kicked", "kickType": "multipleDevice"})
    );
    assert_eq!(expect_close(&mut phone).await, 4001);
    ping(&mut web, 1).await;
    // Other users are unaffected.
    let mut bob = login(&s, "bob", "mac", "m").await;
    ping(&mut bob, 1).await;
    ping(&mut web, 2).await;
}

async fn resume_after_a_kick_is_refused_but_a_fresh_login_works() {
    let s = server(config()).await;
    let mut first = login(&s, "alice", "web", "page-1").await;
    let mut second = login(&s, "alice", "web", "page-2").await;
    next_frame(&mut first).await;
    assert_eq!(expect_close(&mut first).await, 4001);
    let (mut again, reply) = login_with(&s, "alice", "web", "page-1", true).await;
    assert_eq!(reply, json!({"type": "kicked", "kickType": "multipleAccount"}));
    assert_eq!(expect_close(&mut again).await, 4001);
    ping(&mut second, 1).await;
    // A fresh login is an explicit user action: it works and kicks page-2 in turn.
    let (mut fresh, reply) = login_with(&s, "alice", "web", "page-1", false).await;
    assert_eq!(reply["type"], "loginOk");
    assert_eq!(next_frame(&mut second).await["kickType"], "multipleAccount");
    assert_eq!(expect_close(&mut second).await, 4001);
    ping(&mut fresh, 2).await;
    // A resume of an instance that was never kicked is an ordinary login.
    let (_, reply) = login_with(&s, "carol", "ios", "c", true).await;
    assert_eq!(reply["type"], "loginOk");
}

async fn same_instance_relogin_replaces_the_old_connection_with_1000() {
    let s = server(config()).await;
    let mut old = login(&s, "alice", "web", "i1").await;
    let (mut new, reply) = login_with(&s, "alice", "web", "i1", true).await;
    assert_eq!(reply["type"], "loginOk");
    assert_eq!(expect_close(&mut old).await, 1000);
    ping(&mut new, 1).await;
    let q = natter_server::admin::query_online_status(&s, &["alice"], true)
        .await
        .unwrap();
    assert_eq!(q["QueryResult"][0]["Detail"].as_array().unwrap().len(), 1);
}

async fn an_expiring_usersig_is_kicked_with_user_sig_expired() {
    let s = server(config()).await;
    let sig = usersig::generate(APP, KEY, "alice", 10, s.server_time_ms() / 1000 - 8).unwrap();
    let mut ws = connect(&s).await;
    send(&mut ws, &login_frame(1, APP, "alice", &sig, "web", "i1", false)).await;
    assert_eq!(next_frame(&mut ws).await["type"], "loginOk");
    let started = std::time::Instant::now();
    assert_eq!(
        next_frame(&mut ws).await,
        json!({"type": "kicked", "kickType": "userSigExpired"})
    );
    assert_eq!(expect_close(&mut ws).await, 4001);
    assert!(started.elapsed() < Duration::from_secs(4));
    // Remembered for resume, even with a fresh sig.
    let (mut again, reply) = login_with(&s, "alice", "web", "i1", true).await;
    assert_eq!(reply, json!({"type": "kicked", "kickType": "userSigExpired"}));
    assert_eq!(expect_close(&mut again).await, 4001);
}

async fn shutdown_closes_1001_and_frees_the_port() {
    let s = server(config()).await;
    let addr = s.local_addr();
    let mut a = login(&s, "alice", "web", "a").await;
    let mut b = login(&s, "bob", "ios", "b").await;
    let mut pending = connect(&s).await;
    let shutdown = tokio::spawn(s.shutdown());
    assert_eq!(expect_close(&mut a).await, 1001);
    assert_eq!(expect_close(&mut b).await, 1001);
    assert_eq!(expect_close(&mut pending).await, 1001);
    tokio::time::timeout(WAIT, shutdown).await.unwrap().unwrap();
    let again = server(ServerConfig {
        listen: addr,
        ..config()
    })
    .await;
    assert_eq!(again.local_addr(), addr);
    login(&again, "alice", "web", "a").await;
    again.shutdown().await;
}

async fn many_servers_in_one_process_are_independent() {
    let one = server(config()).await;
    let two = server(ServerConfig {
        sdk_app_id: 20012345,
        secret_key: "another-key".into(),
        ..config()
    })
    .await;
    assert_ne!(one.local_addr(), two.local_addr());
    let mut a1 = login(&one, "alice", "web", "same").await;
    let mut a2 = login(&two, "alice", "web", "same").await;
    natter_server::admin::kick(&one, "alice").await.unwrap();
    assert_eq!(next_frame(&mut a1).await["kickType"], "REST_API_Kick");
    ping(&mut a2, 1).await;
    // A sig of one app does not open the other.
    let mut ws = connect(&two).await;
    send(
        &mut ws,
        &login_frame(1, 20012345, "bob", &one.user_sig("bob", 60), "web", "b", false),
    )
    .await;
    assert_eq!(next_frame(&mut ws).await["code"], 70014);
    one.shutdown().await;
    ping(&mut a2, 2).await;
}

crate::on_both_engines!(
    login_ok_and_pong_carry_the_server_time,
    clock_skew_applies_to_frames_and_usersig_checks,
    bad_logins_are_refused_with_their_code_and_4002,
    logout_closes_1000,
    unknown_frames_are_ignored_and_a_second_login_is_an_error,
    protocol_violations_close_4003,
    oversized_frames_close_4004,
    no_login_within_the_handshake_timeout_closes_4008,
    idle_sessions_close_4010,
    slow_or_silent_http_clients_are_cut,
    failed_logins_are_throttled_until_the_window_passes,
    connections_per_source_are_limited_with_429,
    a_second_web_page_kicks_the_first_with_multiple_account,
    single_policy_kicks_across_platforms_with_multiple_device,
    resume_after_a_kick_is_refused_but_a_fresh_login_works,
    same_instance_relogin_replaces_the_old_connection_with_1000,
    an_expiring_usersig_is_kicked_with_user_sig_expired,
    shutdown_closes_1001_and_frees_the_port,
    many_servers_in_one_process_are_independent,
);
