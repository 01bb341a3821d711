//! The WebSocket upgrade as the client does it: a 101 in one-byte TCP segments, HTTP errors on
//! the upgrade (overload is 60022, anything else names the status), and a `proxyServer` URL
//! without a path against the real server.

mod common;

use common::fake::*;
use common::*;
use natter::{code, ChatEvent, NetState, Platform};
use tokio::io::AsyncWriteExt;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_101_response_in_one_byte_segments_is_accepted() {
    let fake = FakeServer::start(|mut stream, _| async move {
        let Some(key) = read_upgrade_request(&mut stream).await else {
            return;
        };
        if write_segmented(&mut stream, switching_protocols(&key).as_bytes(), 1)
            .await
            .is_err()
        {
            return;
        }
        if let Some(ws) = answer_login(ws_after_upgrade(stream).await).await {
            serve_pings(ws).await;
        }
    })
    .await;
    let server = server().await;
    let mut config = config_for(&server, Platform::Web);
    config.server_url = fake.url();
    let mut c = client_with(config);
    let login = tokio::time::timeout(SOON, c.client.login("alice", "any-sig")).await;
    login.expect("settles").expect("a segmented 101 is a valid upgrade");
    c.events.expect_next(ChatEvent::SdkReady).await;
}

/// A server answering every upgrade with `response` (then closing).
async fn refusing_server(response: String) -> FakeServer {
    FakeServer::start(move |mut stream, _| {
        let response = response.clone();
        async move {
            if read_upgrade_request(&mut stream).await.is_some() {
                let _ = stream.write_all(response.as_bytes()).await;
            }
        }
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn overload_on_the_upgrade_is_60022_and_other_statuses_are_named() {
    let server = server().await;
    for (status, reason) in [(503, "Service Unavailable"), (429, "Too Many Requests")] {
        let fake = refusing_server(http_error(status, reason)).await;
        let mut config = config_for(&server, Platform::Web);
        config.server_url = fake.url();
        let c = client_with(config);
        let err = c.client.login("alice", "sig").await.unwrap_err();
        assert_eq!(err.code(), code::SERVER_OVERLOADED, "HTTP {status}: {err}");
        assert!(err.to_string().contains(&format!("HTTP {status}")), "{err}");
    }
    let fake = refusing_server(http_error(404, "Not Found")).await;
    let mut config = config_for(&server, Platform::Web);
    config.server_url = fake.url();
    let err = client_with(config).client.login("alice", "sig").await.unwrap_err();
    assert_eq!(err.code(), code::NETWORK_ERROR);
    let expected = format!("the server has no WebSocket endpoint at {} (HTTP 404)", fake.url());
    assert!(err.to_string().contains(&expected), "{err}");

    let fake = refusing_server(http_error(500, "Internal Server Error")).await;
    let mut config = config_for(&server, Platform::Web);
    config.server_url = fake.url();
    let err = client_with(config).client.login("alice", "sig").await.unwrap_err();
    assert_eq!(err.code(), code::NETWORK_ERROR);
    assert!(err.to_string().contains("HTTP 500 Internal Server Error"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn overload_and_segmented_upgrades_during_a_reconnect_are_retried() {
    // Connection 0: a normal login, then a reset. Connections 1 and 2: 503. Connection 3: a
    // 101 in one-byte segments, then login_ok. The session must come back without NOT_READY.
    let fake = FakeServer::start(|mut stream, n| async move {
        match n {
            0 => {
                if let Some(ws) = accept_login(stream).await {
                    reset(ws.into_inner());
                }
            }
            1 | 2 => {
                if read_upgrade_request(&mut stream).await.is_some() {
                    let _ = stream
                        .write_all(http_error(503, "Service Unavailable").as_bytes())
                        .await;
                }
            }
            _ => {
                let Some(key) = read_upgrade_request(&mut stream).await else {
                    return;
                };
                if write_segmented(&mut stream, switching_protocols(&key).as_bytes(), 1)
                    .await
                    .is_ok()
                {
                    if let Some(ws) = answer_login(ws_after_upgrade(stream).await).await {
                        serve_pings(ws).await;
                    }
                }
            }
        }
    })
    .await;
    let server = server().await;
    let mut config = config_for(&server, Platform::Web);
    config.server_url = fake.url();
    let mut c = client_with(config);
    c.client.login("alice", "sig").await.unwrap();
    c.events.expect_next(ChatEvent::SdkReady).await;
    // Bounded as a whole: a client that kept failing would keep the event stream busy forever.
    let seen = tokio::time::timeout(SOON, c.events.until(&net(NetState::Connected)))
        .await
        .expect("reconnected after the two 503s");
    assert!(
        seen.iter().all(|e| matches!(e, ChatEvent::NetStateChange { .. })),
        "only net-state changes while retrying: {seen:?}"
    );
    // Disconnected, then three rounds of Connecting (two 503s in between).
    let connecting = seen.iter().filter(|e| **e == net(NetState::Connecting)).count();
    assert_eq!(connecting, 3, "{seen:?}");
    assert!(c.client.is_ready());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_url_without_a_path_logs_in_against_the_real_server() {
    let server = server().await;
    for url in [
        format!("ws://{}", server.local_addr()),
        format!("ws://{}/", server.local_addr()),
    ] {
        let mut config = config_for(&server, Platform::Web);
        config.server_url = url.clone();
        let mut c = client_with(config);
        c.login_ready(&server, "alice").await;
        assert_eq!(online_platforms(&server, "alice").await, vec!["Web"], "{url}");
        c.client.logout().await.unwrap();
        c.events.expect_next(ChatEvent::SdkNotReady).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_path_the_server_does_not_serve_fails_with_a_clear_error() {
    let server = server().await;
    let url = format!("ws://{}/chat/socket", server.local_addr());
    let mut config = config_for(&server, Platform::Web);
    config.server_url = url.clone();
    let c = client_with(config);
    let err = tokio::time::timeout(SOON, c.client.login("alice", &server.user_sig("alice", 60)))
        .await
        .expect("settles")
        .unwrap_err();
    assert_eq!(err.code(), code::NETWORK_ERROR);
    assert!(
        err.to_string()
            .contains(&format!("the server has no WebSocket endpoint at {url} (HTTP 404)")),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_serves_the_upgrade_at_the_root_path_too() {
    let server = server().await;
    // A generic WebSocket client asking for `/` exactly (natter's own client maps it to /ws).
    let url = format!("ws://{}/", server.local_addr());
    let (mut ws, response) = tokio_tungstenite::connect_async(url.as_str())
        .await
        .expect("the upgrade at / succeeds");
    assert_eq!(response.status().as_u16(), 101);
    let login = natter_protocol::ClientFrame::Login {
        id: 1,
        version: natter_protocol::PROTOCOL_VERSION,
        sdk_app_id: server.config().sdk_app_id,
        user_id: "alice".into(),
        user_sig: server.user_sig("alice", 60),
        platform: Platform::Web,
        instance_id: "0123456789abcdef0123456789abcdef".into(),
        resume: false,
    };
    use futures_util::{SinkExt, StreamExt};
    ws.send(tokio_tungstenite::tungstenite::Message::text(login.to_json()))
        .await
        .unwrap();
    let reply = tokio::time::timeout(SOON, ws.next()).await.unwrap().unwrap().unwrap();
    let frame: natter_protocol::ServerFrame = serde_json::from_str(reply.to_text().unwrap()).unwrap();
    assert!(
        matches!(frame, natter_protocol::ServerFrame::LoginOk { id: 1, .. }),
        "{frame:?}"
    );
}
