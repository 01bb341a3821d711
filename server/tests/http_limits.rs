//! HTTP connection limits: the handshake deadline applies to the first request only (a busy
//! keep-alive connection or a slow body is not cut), and the global connection cap answers 503.

mod common;

use common::*;
use natter_server::{ServerConfig, ServerHandle};
use serde_json::Value;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::Instant;

const HANDSHAKE: Duration = Duration::from_millis(500);
const QUERY: &str = "/v4/openim/query_online_status";

fn short_handshake() -> ServerConfig {
    ServerConfig {
        handshake_timeout: HANDSHAKE,
        ..config()
    }
}

fn query_head(s: &ServerHandle, body_len: usize) -> String {
    let c = s.config();
    format!(
        "POST {QUERY}?sdkappid={}&identifier={}&usersig={}&random=1&contenttype=json HTTP/1.1\r\n\
         Host: test\r\nContent-Type: application/json\r\nContent-Length: {body_len}\r\n\r\n",
        c.sdk_app_id,
        c.admin_identifier,
        s.admin_sig()
    )
}

/// Reads one HTTP response (headers + Content-Length body) off a keep-alive connection.
async fn read_response(stream: &mut TcpStream) -> (u16, Value) {
    let mut buf = Vec::new();
    let mut byte = [0u8; 1];
    while !buf.ends_with(b"\r\n\r\n") {
        let n = tokio::time::timeout(WAIT, stream.read(&mut byte))
            .await
            .expect("response in time")
            .expect("read");
        assert_eq!(
            n,
            1,
            "connection closed mid-response after {:?}",
            String::from_utf8_lossy(&buf)
        );
        buf.push(byte[0]);
    }
    let head = String::from_utf8_lossy(&buf).to_ascii_lowercase();
    let len: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .map(|v| v.trim().parse().unwrap())
        .unwrap_or(0);
    let mut body = vec![0u8; len];
    tokio::time::timeout(WAIT, stream.read_exact(&mut body))
        .await
        .unwrap()
        .unwrap();
    buf.extend_from_slice(&body);
    natter_server::admin::parse_response(&buf).unwrap()
}

#[tokio::test]
async fn a_busy_keep_alive_connection_outlives_the_handshake_timeout() {
    let s = server(short_handshake()).await;
    let body = r#"{"To_Account":["alice"]}"#;
    let request = format!("{}{body}", query_head(&s, body.len()));
    let mut stream = TcpStream::connect(s.local_addr()).await.unwrap();
    let start = Instant::now();
    let mut served = 0;
    let mut last_response = start;
    while start.elapsed() < 3 * HANDSHAKE {
        stream.write_all(request.as_bytes()).await.unwrap();
        let (status, v) = read_response(&mut stream).await;
        last_response = Instant::now();
        assert_eq!(
            (status, v["ErrorCode"].as_i64()),
            (200, Some(0)),
            "request {served}: {v}"
        );
        served += 1;
        // The pace of the client's traffic, not a synchronisation.
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(served >= 10, "{served}");
    // Idle between requests for longer than the handshake timeout: hyper's header-read timer
    // restarts once a response is written, so an idle keep-alive connection is closed. Measured
    // from the last response (the timer's start), not from after the pacing sleep.
    let mut buf = [0u8; 16];
    let r = tokio::time::timeout(WAIT, stream.read(&mut buf))
        .await
        .expect("idle close in time");
    assert!(matches!(r, Ok(0) | Err(_)), "{r:?}");
    let idle = last_response.elapsed();
    assert!(idle >= HANDSHAKE - Duration::from_millis(50), "{idle:?}");
}

#[tokio::test]
async fn a_slow_body_within_the_body_timeout_completes() {
    let s = server(short_handshake()).await;
    let body = r#"{"To_Account":["alice"]}"#;
    let mut stream = TcpStream::connect(s.local_addr()).await.unwrap();
    stream.write_all(query_head(&s, body.len()).as_bytes()).await.unwrap();
    // One byte per 70 ms: the body takes about 3.4 handshake timeouts.
    for b in body.as_bytes() {
        tokio::time::sleep(Duration::from_millis(70)).await;
        stream.write_all(&[*b]).await.unwrap();
    }
    let (status, v) = read_response(&mut stream).await;
    assert_eq!((status, v["ErrorCode"].as_i64()), (200, Some(0)), "{v}");
    assert_eq!(v["QueryResult"][0]["Status"], "Offline");
}

#[tokio::test]
async fn a_body_slower_than_the_body_timeout_is_refused() {
    let s = server(ServerConfig {
        request_body_timeout: Duration::from_millis(300),
        ..short_handshake()
    })
    .await;
    let mut stream = TcpStream::connect(s.local_addr()).await.unwrap();
    stream.write_all(query_head(&s, 100).as_bytes()).await.unwrap();
    stream.write_all(b"{").await.unwrap();
    let (status, v) = read_response(&mut stream).await;
    assert_eq!((status, v["ErrorCode"].as_i64()), (200, Some(60003)), "{v}");
}

#[tokio::test]
async fn a_connection_that_never_sends_a_request_is_still_cut() {
    let s = server(short_handshake()).await;
    let mut stream = TcpStream::connect(s.local_addr()).await.unwrap();
    let start = Instant::now();
    let mut buf = [0u8; 64];
    let r = tokio::time::timeout(WAIT, stream.read(&mut buf))
        .await
        .expect("cut in time");
    let elapsed = start.elapsed();
    assert!(matches!(r, Ok(0) | Err(_)), "{r:?}");
    assert!(elapsed >= HANDSHAKE - Duration::from_millis(50), "{elapsed:?}");
    assert!(elapsed < HANDSHAKE + Duration::from_secs(1), "{elapsed:?}");
}

#[tokio::test]
async fn over_the_global_cap_the_server_answers_503_then_serves_again() {
    let cap = 3;
    let s = server(ServerConfig {
        max_connections: cap,
        ..config()
    })
    .await;
    let mut held = Vec::new();
    for _ in 0..cap {
        held.push(TcpStream::connect(s.local_addr()).await.unwrap());
    }
    // Connections are accepted in order, so this one finds the cap reached.
    let mut extra = TcpStream::connect(s.local_addr()).await.unwrap();
    let mut raw = Vec::new();
    tokio::time::timeout(WAIT, extra.read_to_end(&mut raw))
        .await
        .unwrap()
        .unwrap();
    let (status, v) = natter_server::admin::parse_response(&raw).unwrap();
    assert_eq!((status, v["ErrorCode"].as_i64()), (503, Some(60022)), "{v}");
    assert_eq!(s.open_connections(), cap);

    drop(held.pop());
    let start = Instant::now();
    // The slot is freed when the server sees the close; retry until it has.
    let ws = tokio::time::timeout(WAIT, async {
        loop {
            if let Ok((mut ws, _)) = tokio_tungstenite::connect_async(s.ws_url()).await {
                let sig = s.user_sig("alice", 600);
                send(
                    &mut ws,
                    &login_frame(1, s.config().sdk_app_id, "alice", &sig, "web", "a", false),
                )
                .await;
                return ws;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await
    .expect("served again");
    let mut ws = ws;
    assert_eq!(next_frame(&mut ws).await["type"], "loginOk");
    assert!(start.elapsed() < Duration::from_secs(1), "{:?}", start.elapsed());
}
