//! Helpers shared by the integration tests: real sockets on 127.0.0.1:0, every wait bounded.
#![allow(dead_code)]

pub mod child;
pub mod redis;

use futures_util::{SinkExt, StreamExt};
use natter_server::{ServerConfig, ServerHandle};
use serde_json::{json, Value};
use std::time::Duration;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

pub type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// Upper bound for any single wait in the tests.
pub const WAIT: Duration = Duration::from_secs(5);

/// The session directory engine a test runs on (see [`on_both_engines!`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    Memory,
    Redis,
}

tokio::task_local! {
    /// Set by [`on_both_engines!`] around a test body; unset means memory.
    pub static ENGINE: Engine;
}

/// Runs each listed test body (a plain `async fn`) once per engine, as `memory::NAME` and
/// `redis::NAME`: the same test, not a copy.
#[macro_export]
macro_rules! on_both_engines {
    ($($name:ident),* $(,)?) => {
        mod memory {
            $( #[tokio::test] async fn $name() { super::$name().await } )*
        }
        mod redis {
            $( #[tokio::test] async fn $name() {
                $crate::common::ENGINE.scope($crate::common::Engine::Redis, super::$name()).await
            } )*
        }
    };
}

/// A test server's config. On the Redis engine (inside a `redis::` test of [`on_both_engines!`])
/// it points at one `redis-server` child per test process, with a key prefix of its own per server.
pub fn config() -> ServerConfig {
    let mut c = ServerConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        ..Default::default()
    };
    if ENGINE.try_with(|e| *e) == Ok(Engine::Redis) {
        use std::sync::atomic::{AtomicU64, Ordering};
        static SERVERS: AtomicU64 = AtomicU64::new(0);
        static REDIS_PORT: std::sync::OnceLock<u16> = std::sync::OnceLock::new();
        let port = REDIS_PORT.get_or_init(redis::RedisChild::start_shared);
        c.redis_url = Some(format!("redis://127.0.0.1:{port}"));
        c.redis_prefix = Some(format!("t{}", SERVERS.fetch_add(1, Ordering::Relaxed)));
    }
    c
}

pub async fn server(config: ServerConfig) -> ServerHandle {
    natter_server::start(config).await.expect("server starts")
}

pub async fn connect(server: &ServerHandle) -> Ws {
    let (ws, _) = tokio::time::timeout(WAIT, tokio_tungstenite::connect_async(server.ws_url()))
        .await
        .unwrap()
        .unwrap();
    ws
}

pub fn login_frame(id: u64, app: u64, user: &str, sig: &str, platform: &str, instance: &str, resume: bool) -> String {
    json!({"type": "login", "id": id, "version": natter_protocol::PROTOCOL_VERSION, "sdkAppId": app, "userId": user,
           "userSig": sig, "platform": platform, "instanceId": instance, "resume": resume})
    .to_string()
}

pub async fn send(ws: &mut Ws, text: &str) {
    tokio::time::timeout(WAIT, ws.send(Message::text(text)))
        .await
        .unwrap()
        .unwrap();
}

/// Next JSON frame from the server; panics on close or timeout.
pub async fn next_frame(ws: &mut Ws) -> Value {
    loop {
        let msg = tokio::time::timeout(WAIT, ws.next())
            .await
            .expect("frame in time")
            .expect("stream open")
            .expect("no error");
        match msg {
            Message::Text(t) => return serde_json::from_str(&t).unwrap(),
            Message::Ping(_) | Message::Pong(_) => continue,
            other => panic!("expected a text frame, got {other:?}"),
        }
    }
}

/// Reads until the server's close frame and returns its code; panics if none arrives in time.
pub async fn expect_close(ws: &mut Ws) -> u16 {
    expect_close_within(ws, WAIT).await
}

pub async fn expect_close_within(ws: &mut Ws, limit: Duration) -> u16 {
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        let msg = tokio::time::timeout_at(deadline, ws.next())
            .await
            .expect("close in time");
        match msg {
            Some(Ok(Message::Close(Some(f)))) => return u16::from(f.code),
            Some(Ok(Message::Close(None))) => panic!("close without a code"),
            Some(Ok(Message::Text(t))) => panic!("expected a close, got frame {t}"),
            Some(Ok(_)) => continue,
            Some(Err(e)) => panic!("expected a close frame, got error {e}"),
            None => panic!("stream ended without a close frame"),
        }
    }
}

/// Connects and logs in; returns the socket and the loginOk frame.
pub async fn login_with(
    server: &ServerHandle,
    user: &str,
    platform: &str,
    instance: &str,
    resume: bool,
) -> (Ws, Value) {
    let mut ws = connect(server).await;
    let sig = server.user_sig(user, 3600);
    send(
        &mut ws,
        &login_frame(1, server.config().sdk_app_id, user, &sig, platform, instance, resume),
    )
    .await;
    let reply = next_frame(&mut ws).await;
    (ws, reply)
}

pub async fn login(server: &ServerHandle, user: &str, platform: &str, instance: &str) -> Ws {
    let (ws, reply) = login_with(server, user, platform, instance, false).await;
    assert_eq!(reply["type"], "loginOk", "{reply}");
    ws
}

pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

/// Round trip a ping to prove the session is alive.
pub async fn ping(ws: &mut Ws, id: u64) -> Value {
    send(ws, &json!({"type": "ping", "id": id}).to_string()).await;
    let pong = next_frame(ws).await;
    assert_eq!(pong["type"], "pong", "{pong}");
    assert_eq!(pong["id"], id);
    pong
}

/// Polls `query` until `f` holds (state changes on the server are asynchronous), bounded by WAIT.
pub async fn eventually<F, Fut>(mut f: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    tokio::time::timeout(WAIT, async {
        while !f().await {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await
    .expect("condition reached in time");
}
