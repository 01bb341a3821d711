//! Header login over real sockets: the login frame in the upgrade request's `x-natter-login`
//! header is checked exactly as a first frame (codes, throttle, instance policy), the 101 says
//! it was taken and the reply is the first frame; with `header_login` off the header is ignored
//! and the login frame works as before.

mod common;

use common::*;
use natter_protocol::header_login::{self, LOGIN_ACCEPTED_HEADER, LOGIN_HEADER};
use natter_server::{ServerConfig, ServerHandle};
use serde_json::{json, Value};
use std::time::Duration;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;

const APP: u64 = natter_server::DEV_SDK_APP_ID;

/// Upgrades with `value` in the login header; the socket and whether the 101 took it.
async fn upgrade_with(s: &ServerHandle, value: &str) -> (Ws, bool) {
    let mut request = s.ws_url().into_client_request().unwrap();
    request
        .headers_mut()
        .insert(LOGIN_HEADER, HeaderValue::from_str(value).unwrap());
    let (ws, response) = tokio::time::timeout(WAIT, tokio_tungstenite::connect_async(request))
        .await
        .unwrap()
        .unwrap();
    let accepted = response.headers().get(LOGIN_ACCEPTED_HEADER).map(|v| v.as_bytes()) == Some(b"1");
    (ws, accepted)
}

/// Upgrades with `frame` (JSON) in the header; the socket and the first frame, which answers it.
async fn header_login(s: &ServerHandle, frame: &str) -> (Ws, Value) {
    let (mut ws, accepted) = upgrade_with(s, &header_login::encode(frame.as_bytes())).await;
    assert!(accepted, "the 101 says the header login was taken");
    let reply = next_frame(&mut ws).await;
    (ws, reply)
}

fn frame(s: &ServerHandle, id: u64, user: &str, instance: &str, resume: bool) -> String {
    login_frame(id, APP, user, &s.user_sig(user, 600), "web", instance, resume)
}

/// A refused header login: its `error` code (id echoed), then close 4002.
async fn refused(s: &ServerHandle, frame: &str) -> i64 {
    let (mut ws, err) = header_login(s, frame).await;
    assert_eq!(
        (err["type"].as_str(), err["id"].as_u64()),
        (Some("error"), Some(9)),
        "{err}"
    );
    assert_eq!(expect_close(&mut ws).await, 4002);
    err["code"].as_i64().unwrap()
}

async fn a_header_login_is_answered_by_the_first_frame_and_the_session_works() {
    let s = server(config()).await;
    let before = now_ms();
    let (mut ws, ok) = header_login(&s, &frame(&s, 3, "alice", "i1", false)).await;
    assert_eq!(
        (ok["type"].as_str(), ok["id"].as_u64()),
        (Some("loginOk"), Some(3)),
        "{ok}"
    );
    let t = ok["serverTimeMs"].as_i64().unwrap();
    assert!(t >= before - 5 && t <= now_ms() + 5, "{t}");
    assert!(ok["userSigExpireTime"].as_i64().is_some(), "{ok}");
    ping(&mut ws, 4).await;
    // A login frame after it is a second login, as on any logged-in connection.
    send(&mut ws, &frame(&s, 5, "alice", "i1", false)).await;
    let err = next_frame(&mut ws).await;
    assert_eq!(
        (err["code"].as_i64(), err["id"].as_u64()),
        (Some(60008), Some(5)),
        "{err}"
    );
    let q = natter_server::admin::query_online_status(&s, &["alice"], true)
        .await
        .unwrap();
    assert_eq!(q["QueryResult"][0]["Detail"].as_array().unwrap().len(), 1, "{q}");
}

async fn refused_header_logins_carry_the_login_codes() {
    let s = server(ServerConfig {
        max_failed_logins: 0,
        ..config()
    })
    .await;
    let good = s.user_sig("alice", 600);
    let f = |app: u64, user: &str, sig: &str| login_frame(9, app, user, sig, "web", "i", false);
    assert_eq!(refused(&s, &f(APP + 1, "alice", &good)).await, 70020);
    assert_eq!(refused(&s, &f(APP, "alice", "garbage")).await, 70003);
    assert_eq!(refused(&s, &f(APP, "alice", "")).await, 70002);
    assert_eq!(refused(&s, &f(APP, "bob", &good)).await, 70013);
    assert_eq!(refused(&s, &f(APP, "not an id!", &good)).await, 60003);
    let disabled = server(ServerConfig {
        app_enabled: false,
        ..config()
    })
    .await;
    assert_eq!(refused(&disabled, &f(APP, "alice", &good)).await, 60020);
}

async fn a_bad_header_login_is_a_protocol_error() {
    let s = server(config()).await;
    let mut wrong_version: Value = serde_json::from_str(&frame(&s, 14, "alice", "v", false)).unwrap();
    wrong_version["version"] = json!(99);
    for (value, id) in [
        (header_login::encode(br#"{"type":"ping","id":11}"#), Some(11)),
        (header_login::encode(br#"{"type":"login","id":13}"#), Some(13)),
        (header_login::encode(b"not json"), None),
        (header_login::encode(wrong_version.to_string().as_bytes()), Some(14)),
        // Not base64url at all (a client that put raw JSON there).
        (r#"{"type":"login"}"#.to_owned(), None),
    ] {
        let (mut ws, accepted) = upgrade_with(&s, &value).await;
        assert!(accepted, "{value}");
        let err = next_frame(&mut ws).await;
        assert_eq!(
            (err["type"].as_str(), err["code"].as_i64(), err["id"].as_u64()),
            (Some("error"), Some(60008), id),
            "{value}: {err}"
        );
        assert_eq!(expect_close(&mut ws).await, 4003, "{value}");
    }
}

async fn a_header_login_longer_than_a_frame_may_be_closes_4004() {
    let s = server(ServerConfig {
        max_frame_bytes: 1024,
        ..config()
    })
    .await;
    let long = login_frame(1, APP, "alice", &"x".repeat(2000), "web", "i", false);
    let (mut ws, accepted) = upgrade_with(&s, &header_login::encode(long.as_bytes())).await;
    assert!(accepted);
    assert_eq!(expect_close(&mut ws).await, 4004);
    // Within the limit it is an ordinary (here: refused) login.
    let short = login_frame(9, APP, "alice", &"x".repeat(500), "web", "i", false);
    assert_eq!(refused(&s, &short).await, 70003);
}

async fn header_and_frame_logins_share_the_throttle() {
    let window = Duration::from_millis(800);
    let s = server(ServerConfig {
        max_failed_logins: 2,
        failed_login_window: window,
        ..config()
    })
    .await;
    let bad = login_frame(9, APP, "alice", "garbage", "web", "i", false);
    assert_eq!(refused(&s, &bad).await, 70003);
    // The second failure through the login frame counts toward the same limit.
    let mut ws = connect(&s).await;
    send(&mut ws, &bad).await;
    assert_eq!(next_frame(&mut ws).await["code"], 70003);
    let good = login_frame(9, APP, "alice", &s.user_sig("alice", 600), "web", "i", false);
    assert_eq!(refused(&s, &good).await, 70050);
    let mut ws = connect(&s).await;
    send(&mut ws, &good).await;
    assert_eq!(next_frame(&mut ws).await["code"], 70050);
}

async fn header_logins_follow_the_instance_policy() {
    let s = server(config()).await;
    let (mut first, ok) = header_login(&s, &frame(&s, 1, "alice", "page-1", false)).await;
    assert_eq!(ok["type"], "loginOk");
    // A second web page kicks the first (multi policy: one instance per platform).
    let (mut second, ok) = header_login(&s, &frame(&s, 1, "alice", "page-2", false)).await;
    assert_eq!(ok["type"], "loginOk");
    assert_eq!(next_frame(&mut first).await["kickType"], "multipleAccount");
    assert_eq!(expect_close(&mut first).await, 4001);
    // The kicked instance's resume is refused with the kick, as with a login frame.
    let (mut again, reply) = header_login(&s, &frame(&s, 1, "alice", "page-1", true)).await;
    assert_eq!(reply, json!({"type": "kicked", "kickType": "multipleAccount"}));
    assert_eq!(expect_close(&mut again).await, 4001);
    // The same instance logging in again replaces its old connection.
    let (mut third, ok) = header_login(&s, &frame(&s, 1, "alice", "page-2", true)).await;
    assert_eq!(ok["type"], "loginOk");
    assert_eq!(expect_close(&mut second).await, 1000);
    ping(&mut third, 2).await;
}

async fn with_header_login_off_the_header_is_ignored_and_the_frame_logs_in() {
    let s = server(ServerConfig {
        header_login: false,
        ..config()
    })
    .await;
    let (mut ws, accepted) =
        upgrade_with(&s, &header_login::encode(frame(&s, 1, "alice", "i", false).as_bytes())).await;
    assert!(!accepted, "the 101 does not claim the header login");
    send(&mut ws, &frame(&s, 2, "alice", "i", false)).await;
    let ok = next_frame(&mut ws).await;
    assert_eq!(
        (ok["type"].as_str(), ok["id"].as_u64()),
        (Some("loginOk"), Some(2)),
        "{ok}"
    );
    ping(&mut ws, 3).await;
}

async fn without_the_header_nothing_changes() {
    let s = server(config()).await;
    let mut ws = connect(&s).await;
    send(&mut ws, &frame(&s, 1, "alice", "i", false)).await;
    assert_eq!(next_frame(&mut ws).await["type"], "loginOk");
    ping(&mut ws, 2).await;
}

crate::on_both_engines!(
    a_header_login_is_answered_by_the_first_frame_and_the_session_works,
    refused_header_logins_carry_the_login_codes,
    a_bad_header_login_is_a_protocol_error,
    a_header_login_longer_than_a_frame_may_be_closes_4004,
    header_and_frame_logins_share_the_throttle,
    header_logins_follow_the_instance_policy,
    with_header_login_off_the_header_is_ignored_and_the_frame_logs_in,
    without_the_header_nothing_changes,
);
