//! Header login from the client's side: the login rides in the upgrade request; a server that
//! takes it answers with its first frame and the client sends no login frame; an older server
//! (no `x-natter-login-accepted` in the 101) gets the login frame as before. Against fakes that
//! look at every byte, and against the real server with the feature on and off.

mod common;

use common::fake::*;
use common::*;
use natter::{ChatEvent, NetState, Platform};
use natter_protocol::header_login::{self, LOGIN_HEADER};
use natter_protocol::{ClientFrame, ServerFrame};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;

/// What a fake saw on one connection: the login of the request header, and the first text
/// frame the client sent after the upgrade.
#[derive(Debug)]
enum Seen {
    HeaderLogin(ClientFrame),
    FirstFrame(ClientFrame),
}

fn decode_login(head: &str) -> ClientFrame {
    let value = header(head, LOGIN_HEADER).expect("the upgrade request carries the login");
    let json = header_login::decode(&value).expect("base64url");
    serde_json::from_slice(&json).expect("a client frame")
}

fn login_ok(login: &ClientFrame) -> ServerFrame {
    let ClientFrame::Login { id, .. } = login else {
        panic!("not a login: {login:?}")
    };
    ServerFrame::LoginOk {
        id: *id,
        server_time_ms: natter::local_unix_ms(),
        user_sig: None,
    }
}

/// Takes the header login: a 101 that says so, `loginOk` as the first frame, then reports the
/// client's first text frame.
async fn accepting(mut stream: TcpStream, seen: mpsc::UnboundedSender<Seen>) -> Option<Ws> {
    let head = read_upgrade_head(&mut stream).await?;
    let key = header(&head, "sec-websocket-key")?;
    let login = decode_login(&head);
    let _ = seen.send(Seen::HeaderLogin(login.clone()));
    let response = switching_protocols(&key).replace("\r\n\r\n", "\r\nX-Natter-Login-Accepted: 1\r\n\r\n");
    stream.write_all(response.as_bytes()).await.ok()?;
    let mut ws = ws_after_upgrade(stream).await;
    send_frame(&mut ws, &login_ok(&login)).await.then_some(ws)
}

async fn first_text_frame(ws: &mut Ws) -> Option<ClientFrame> {
    use futures_util::StreamExt;
    while let Some(Ok(msg)) = ws.next().await {
        if let Message::Text(text) = msg {
            return serde_json::from_str(&text).ok();
        }
    }
    None
}

async fn next_seen(rx: &mut mpsc::UnboundedReceiver<Seen>) -> Seen {
    tokio::time::timeout(SOON, rx.recv())
        .await
        .expect("the fake reports in time")
        .expect("the fake is running")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_takes_the_header_login_gets_no_login_frame() {
    let (tx, mut seen) = mpsc::unbounded_channel();
    let fake = FakeServer::start(move |stream, _| {
        let tx = tx.clone();
        async move {
            let Some(mut ws) = accepting(stream, tx.clone()).await else {
                return;
            };
            if let Some(frame) = first_text_frame(&mut ws).await {
                let _ = tx.send(Seen::FirstFrame(frame.clone()));
                if let ClientFrame::Logout { id } = frame {
                    send_frame(&mut ws, &ServerFrame::LogoutOk { id }).await;
                }
            }
        }
    })
    .await;
    let mut config = config_for(&server().await, Platform::Ios);
    config.server_url = fake.url();
    let mut c = client_with(config);
    c.client
        .login("alice", "alice-sig")
        .await
        .expect("the header login succeeds");
    assert!(c.client.is_ready());
    assert_eq!(
        c.events.until(&ChatEvent::SdkReady).await,
        vec![net(NetState::Connecting), net(NetState::Connected)]
    );
    let Seen::HeaderLogin(ClientFrame::Login {
        user_id,
        user_sig,
        resume: false,
        ..
    }) = next_seen(&mut seen).await
    else {
        panic!("no header login")
    };
    assert_eq!((user_id.as_str(), user_sig.as_str()), ("alice", "alice-sig"));
    // The first frame the client sends after the upgrade is the logout, not a login.
    c.client.logout().await.unwrap();
    assert!(matches!(
        next_seen(&mut seen).await,
        Seen::FirstFrame(ClientFrame::Logout { .. })
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_older_server_gets_the_login_frame_after_the_header() {
    let (tx, mut seen) = mpsc::unbounded_channel();
    let fake = FakeServer::start(move |mut stream, _| {
        let tx = tx.clone();
        async move {
            let Some(head) = read_upgrade_head(&mut stream).await else {
                return;
            };
            let _ = tx.send(Seen::HeaderLogin(decode_login(&head)));
            let key = header(&head, "sec-websocket-key").unwrap();
            // A plain 101: this server knows nothing of header logins.
            if stream.write_all(switching_protocols(&key).as_bytes()).await.is_err() {
                return;
            }
            let mut ws = ws_after_upgrade(stream).await;
            if let Some(frame) = first_text_frame(&mut ws).await {
                let _ = tx.send(Seen::FirstFrame(frame.clone()));
                if send_frame(&mut ws, &login_ok(&frame)).await {
                    serve_pings(ws).await;
                }
            }
        }
    })
    .await;
    let mut config = config_for(&server().await, Platform::Web);
    config.server_url = fake.url();
    let mut c = client_with(config);
    c.client
        .login("alice", "alice-sig")
        .await
        .expect("the frame login succeeds");
    c.events.expect_next(ChatEvent::SdkReady).await;
    let Seen::HeaderLogin(in_header) = next_seen(&mut seen).await else {
        panic!("no header login")
    };
    let Seen::FirstFrame(frame) = next_seen(&mut seen).await else {
        panic!("no login frame")
    };
    assert_eq!(frame, in_header, "the fallback frame is the login of the header");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_re_login_rides_in_the_header_with_resume() {
    let (tx, mut seen) = mpsc::unbounded_channel();
    let fake = FakeServer::start(move |stream, n| {
        let tx = tx.clone();
        async move {
            let Some(ws) = accepting(stream, tx).await else {
                return;
            };
            if n == 0 {
                // The first link dies right after the login.
                drop(ws);
            } else {
                serve_pings(ws).await;
            }
        }
    })
    .await;
    let mut config = config_for(&server().await, Platform::Android);
    config.server_url = fake.url();
    let mut c = client_with(config);
    c.client.login("alice", "alice-sig").await.unwrap();
    c.events.expect_next(ChatEvent::SdkReady).await;
    assert!(matches!(
        next_seen(&mut seen).await,
        Seen::HeaderLogin(ClientFrame::Login { resume: false, .. })
    ));
    let after = c.events.until(&net(NetState::Connected)).await;
    assert_eq!(after, vec![net(NetState::Disconnected), net(NetState::Connecting)]);
    assert!(matches!(
        next_seen(&mut seen).await,
        Seen::HeaderLogin(ClientFrame::Login { resume: true, .. })
    ));
    assert!(c.client.is_ready());
}

/// The SDK against the real server, header login on (the default) and off (the fallback):
/// the same outcomes and codes either way.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_real_server_logs_in_and_refuses_the_same_with_header_login_on_and_off() {
    for header_login in [true, false] {
        let server = server_with(|c| {
            c.header_login = header_login;
            c.max_failed_logins = 2;
        })
        .await;
        let mut c = client(&server, Platform::Web);
        c.client
            .login("alice", &server.user_sig("alice", 3600))
            .await
            .unwrap_or_else(|e| panic!("header_login {header_login}: {e}"));
        assert!(c.client.is_ready());
        assert_eq!(c.client.login_user(), "alice");
        assert_eq!(
            c.events.until(&ChatEvent::SdkReady).await,
            vec![net(NetState::Connecting), net(NetState::Connected)]
        );
        assert!(c.client.session_state().user_sig_expire_time_ms.is_some());
        assert_eq!(online_platforms(&server, "alice").await, vec!["Web"]);
        // A second page of the same user kicks the first, as the policy says.
        let mut other = client(&server, Platform::Web);
        other.login_ready(&server, "alice").await;
        c.events.expect_kicked(natter::KickType::MultipleAccount).await;
        let mut codes = vec![];
        for _ in 0..3 {
            let bad = client(&server, Platform::Web);
            codes.push(bad.client.login("bob", "garbage").await.unwrap_err().code());
        }
        assert_eq!(codes, [70003, 70003, 70050], "header_login {header_login}");
        other.client.destroy().await.unwrap();
    }
}
