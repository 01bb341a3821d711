//! `GET /metrics` on the admin listener: real server, real WebSocket clients, real scrapes over
//! loopback; every assertion is on a number the scrape returns. The session tests run on both
//! directory engines (memory and a real redis-server).

mod common;

use common::*;
use natter_server::ServerHandle;
use std::net::SocketAddr;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// `GET path` on `addr`; (status, body).
async fn get(addr: SocketAddr, path: &str) -> (u16, String) {
    tokio::time::timeout(WAIT, async {
        let mut s = TcpStream::connect(addr).await.unwrap();
        let req = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
        s.write_all(req.as_bytes()).await.unwrap();
        let mut raw = Vec::new();
        s.read_to_end(&mut raw).await.unwrap();
        let text = String::from_utf8(raw).unwrap();
        let status = text.split(' ').nth(1).unwrap().parse().unwrap();
        let body = text
            .split_once("\r\n\r\n")
            .map(|(_, b)| b.to_owned())
            .unwrap_or_default();
        (status, body)
    })
    .await
    .expect("scrape in time")
}

async fn scrape(server: &ServerHandle) -> String {
    let (status, body) = get(server.metrics_addr().expect("metrics enabled"), "/metrics").await;
    assert_eq!(status, 200, "{body}");
    body
}

/// The value of one series (`name{labels}` exactly as exported); 0 when absent.
fn value(text: &str, series: &str) -> f64 {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .find_map(|l| {
            l.strip_prefix(series)
                .filter(|rest| rest.starts_with(' '))
                .and_then(|rest| rest.trim().parse().ok())
        })
        .unwrap_or(0.0)
}

/// Waits (bounded) until `series` reads `want` (sessions end asynchronously after their close).
async fn wait_value(server: &ServerHandle, series: &str, want: f64) {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let text = scrape(server).await;
        let got = value(&text, series);
        if got == want {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{series} = {got}, wanted {want}\n{text}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
}

async fn metrics_server(policy: natter_server::Policy) -> ServerHandle {
    server(natter_server::ServerConfig {
        metrics_listen: Some("127.0.0.1:0".parse().unwrap()),
        policy,
        ..config()
    })
    .await
}

#[tokio::test]
async fn metrics_are_off_unless_configured() {
    let s = server(config()).await;
    assert_eq!(s.metrics_addr(), None);
    // Not on the client listener either: clients never see the series.
    let (status, body) = get(s.local_addr(), "/metrics").await;
    assert_eq!(status, 404, "{body}");
    assert!(!body.contains("natter_sessions"), "{body}");
    // And enabled, the admin listener serves nothing else.
    let m = metrics_server(natter_server::Policy::Multi).await;
    assert_ne!(m.metrics_addr(), Some(m.local_addr()));
    assert_eq!(
        get(m.metrics_addr().unwrap(), "/v4/openim/query_online_status").await.0,
        404
    );
    let text = scrape(&m).await;
    assert!(text.contains("# TYPE natter_sessions gauge"), "{text}");
    assert!(text.contains("# TYPE natter_heartbeat_rtt_seconds histogram"), "{text}");
}

async fn logins_sessions_and_kicks_move_as_they_happen() {
    // `single`: one group for every platform, so a second device kicks with multipleDevice.
    let s = metrics_server(natter_server::Policy::Single).await;
    let base = scrape(&s).await;
    assert_eq!(value(&base, "natter_sessions{platform=\"web\"}"), 0.0);
    assert_eq!(value(&base, "natter_logins_ok_total{platform=\"web\"}"), 0.0);

    let mut a = login(&s, "alice", "web", "a1").await;
    let text = scrape(&s).await;
    assert_eq!(value(&text, "natter_sessions{platform=\"web\"}"), 1.0);
    assert_eq!(value(&text, "natter_logins_ok_total{platform=\"web\"}"), 1.0);
    assert!(value(&text, "natter_connections_open") >= 1.0, "{text}");
    assert!(value(&text, "natter_connections_accepted_total") >= 1.0, "{text}");
    assert!(
        value(&text, "natter_directory_op_seconds_count{op=\"admit\"}") >= 1.0,
        "{text}"
    );

    // A second web page: the first is kicked with multipleAccount.
    let mut b = login(&s, "alice", "web", "a2").await;
    assert_eq!(next_frame(&mut a).await["kickType"], "multipleAccount");
    assert_eq!(expect_close(&mut a).await, 4001);
    wait_value(&s, "natter_sessions{platform=\"web\"}", 1.0).await;
    let text = scrape(&s).await;
    assert_eq!(value(&text, "natter_kicks_total{type=\"multipleAccount\"}"), 1.0);
    assert_eq!(value(&text, "natter_kicks_total{type=\"multipleDevice\"}"), 0.0);
    assert_eq!(value(&text, "natter_logins_ok_total{platform=\"web\"}"), 2.0);

    // Another device: the web page is kicked with multipleDevice.
    let mut c = login(&s, "alice", "android", "a3").await;
    assert_eq!(next_frame(&mut b).await["kickType"], "multipleDevice");
    assert_eq!(expect_close(&mut b).await, 4001);
    wait_value(&s, "natter_sessions{platform=\"web\"}", 0.0).await;
    let text = scrape(&s).await;
    assert_eq!(value(&text, "natter_sessions{platform=\"android\"}"), 1.0);
    assert_eq!(value(&text, "natter_kicks_total{type=\"multipleDevice\"}"), 1.0);

    // The admin REST kick.
    natter_server::admin::kick(&s, "alice").await.unwrap();
    assert_eq!(next_frame(&mut c).await["kickType"], "REST_API_Kick");
    assert_eq!(expect_close(&mut c).await, 4001);
    wait_value(&s, "natter_sessions{platform=\"android\"}", 0.0).await;
    assert_eq!(
        value(&scrape(&s).await, "natter_kicks_total{type=\"REST_API_Kick\"}"),
        1.0
    );

    // A UserSig that expires while online: kicked with userSigExpired.
    let mut e = connect(&s).await;
    let short = s.user_sig("erin", 2);
    send(
        &mut e,
        &login_frame(1, s.config().sdk_app_id, "erin", &short, "ios", "e1", false),
    )
    .await;
    assert_eq!(next_frame(&mut e).await["type"], "loginOk");
    assert_eq!(next_frame(&mut e).await["kickType"], "userSigExpired");
    wait_value(&s, "natter_kicks_total{type=\"userSigExpired\"}", 1.0).await;
    wait_value(&s, "natter_sessions{platform=\"ios\"}", 0.0).await;

    // Logout brings the gauge back to 0.
    let mut d = login(&s, "dave", "mac", "d1").await;
    assert_eq!(value(&scrape(&s).await, "natter_sessions{platform=\"mac\"}"), 1.0);
    send(&mut d, r#"{"type":"logout","id":2}"#).await;
    assert_eq!(next_frame(&mut d).await["type"], "logoutOk");
    wait_value(&s, "natter_sessions{platform=\"mac\"}", 0.0).await;
    let text = scrape(&s).await;
    assert!(
        value(&text, "natter_directory_op_seconds_count{op=\"remove\"}") >= 1.0,
        "{text}"
    );
    for p in ["web", "android", "ios", "ipad", "windows", "mac", "linux"] {
        assert_eq!(
            value(&text, &format!("natter_sessions{{platform=\"{p}\"}}")),
            0.0,
            "{text}"
        );
    }
}

async fn refused_logins_are_counted_by_code() {
    let s = metrics_server(natter_server::Policy::Multi).await;
    let app = s.config().sdk_app_id;
    // Wrong key: 70009.
    let forged = natter_server::usersig::generate(app, "not-the-key", "mallory", 3600, now_ms() / 1000).unwrap();
    let mut ws = connect(&s).await;
    send(&mut ws, &login_frame(1, app, "mallory", &forged, "web", "m1", false)).await;
    assert_eq!(next_frame(&mut ws).await["code"], 70009);
    // Bad identifier: 60003, twice.
    for _ in 0..2 {
        let mut ws = connect(&s).await;
        send(&mut ws, &login_frame(1, app, "bad id", "sig", "web", "m2", false)).await;
        assert_eq!(next_frame(&mut ws).await["code"], 60003);
    }
    // Unknown app: 70020.
    let sig = s.user_sig("mallory", 3600);
    let mut ws = connect(&s).await;
    send(&mut ws, &login_frame(1, app + 1, "mallory", &sig, "web", "m3", false)).await;
    assert_eq!(next_frame(&mut ws).await["code"], 70020);

    let text = scrape(&s).await;
    assert_eq!(
        value(&text, "natter_logins_refused_total{code=\"70009\"}"),
        1.0,
        "{text}"
    );
    assert_eq!(
        value(&text, "natter_logins_refused_total{code=\"60003\"}"),
        2.0,
        "{text}"
    );
    assert_eq!(
        value(&text, "natter_logins_refused_total{code=\"70020\"}"),
        1.0,
        "{text}"
    );
    assert_eq!(value(&text, "natter_logins_ok_total{platform=\"web\"}"), 0.0, "{text}");
    assert_eq!(value(&text, "natter_sessions{platform=\"web\"}"), 0.0, "{text}");
}

async fn heartbeat_round_trips_are_measured_by_the_server() {
    let s = metrics_server(natter_server::Policy::Multi).await;
    let mut ws = login(&s, "hank", "web", "h1").await;
    // A heartbeat's pong comes with a WebSocket ping (one in flight at a time); the client stack
    // answers it while it reads its next frame.
    for id in 2..5 {
        ping(&mut ws, id).await;
    }
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let text = scrape(&s).await;
        let n = value(&text, "natter_heartbeat_rtt_seconds_count");
        if n >= 2.0 {
            // Loopback: every round trip is well under a second.
            assert_eq!(
                value(&text, "natter_heartbeat_rtt_seconds_bucket{le=\"1\"}"),
                n,
                "{text}"
            );
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no round trips measured:\n{text}"
        );
        // Keep reading so the client stack flushes its pong for the last probe.
        ping(&mut ws, 100).await;
    }
}

#[tokio::test]
async fn no_websocket_pings_without_metrics() {
    // Off by default means off the wire too: heartbeats get their pong and nothing else.
    let s = server(config()).await;
    let mut ws = login(&s, "ivy", "web", "i1").await;
    for id in 2..5 {
        send(&mut ws, &format!(r#"{{"type":"ping","id":{id}}}"#)).await;
        let msg = tokio::time::timeout(WAIT, futures_util::StreamExt::next(&mut ws))
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        assert!(msg.is_text(), "expected only the pong, got {msg:?}");
    }
}

#[tokio::test]
async fn a_cross_node_kick_is_counted_by_the_node_holding_the_socket() {
    let redis = common::redis::RedisChild::start();
    let node = |prefix: &str| natter_server::ServerConfig {
        metrics_listen: Some("127.0.0.1:0".parse().unwrap()),
        redis_url: Some(redis.url()),
        redis_prefix: Some(prefix.to_owned()),
        ..config()
    };
    let a = server(node("metrics-x")).await;
    let b = server(node("metrics-x")).await;
    let mut first = login(&a, "xena", "web", "x1").await;
    let _second = login(&b, "xena", "web", "x2").await;
    assert_eq!(next_frame(&mut first).await["kickType"], "multipleAccount");
    wait_value(&a, "natter_sessions{platform=\"web\"}", 0.0).await;
    let (on_a, on_b) = (scrape(&a).await, scrape(&b).await);
    assert_eq!(
        value(&on_a, "natter_kicks_total{type=\"multipleAccount\"}"),
        1.0,
        "{on_a}"
    );
    assert_eq!(
        value(&on_b, "natter_kicks_total{type=\"multipleAccount\"}"),
        0.0,
        "{on_b}"
    );
    assert_eq!(value(&on_b, "natter_sessions{platform=\"web\"}"), 1.0, "{on_b}");
    assert!(
        value(&on_b, "natter_directory_op_seconds_count{op=\"admit\"}") >= 1.0,
        "{on_b}"
    );
}

// The same bodies on the in-memory directory and on Redis (directory latency is then Redis round trips).
crate::on_both_engines!(
    logins_sessions_and_kicks_move_as_they_happen,
    refused_logins_are_counted_by_code,
    heartbeat_round_trips_are_measured_by_the_server,
);
