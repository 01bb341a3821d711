//! A scriptable fake server for the client's tests: it accepts TCP on a loopback port and hands
//! every connection to a script, with helpers for the HTTP upgrade and the login exchange done
//! by hand (so a script can misbehave at any byte).
#![allow(dead_code)]

use futures_util::{SinkExt, StreamExt};
use natter_protocol::{ClientFrame, ServerFrame};
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Instant;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::{Role, WebSocketConfig};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;

pub type Ws = WebSocketStream<TcpStream>;
type Script = Arc<dyn Fn(TcpStream, usize) -> Pin<Box<dyn Future<Output = ()> + Send>> + Send + Sync>;

pub struct FakeServer {
    pub addr: SocketAddr,
    /// One entry per accepted TCP connection: when it was accepted.
    pub accepts: mpsc::UnboundedReceiver<Instant>,
    task: tokio::task::JoinHandle<()>,
}

impl FakeServer {
    /// Runs `script(stream, n)` for the n-th accepted connection (from 0), each in its own task.
    pub async fn start<F, Fut>(script: F) -> FakeServer
    where
        F: Fn(TcpStream, usize) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let script: Script = Arc::new(move |s, n| Box::pin(script(s, n)));
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (tx, accepts) = mpsc::unbounded_channel();
        let task = tokio::spawn(async move {
            let mut n = 0;
            while let Ok((stream, _)) = listener.accept().await {
                let _ = tx.send(Instant::now());
                tokio::spawn(script(stream, n));
                n += 1;
            }
        });
        FakeServer { addr, accepts, task }
    }

    pub fn url(&self) -> String {
        format!("ws://{}/ws", self.addr)
    }

    /// Accepts counted so far (drains the channel into `seen`).
    pub fn drain_accepts(&mut self, seen: &mut Vec<Instant>) {
        while let Ok(t) = self.accepts.try_recv() {
            seen.push(t);
        }
    }
}

impl Drop for FakeServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Reads the HTTP request head and returns its `Sec-WebSocket-Key`.
pub async fn read_upgrade_request(stream: &mut TcpStream) -> Option<String> {
    let head = read_upgrade_head(stream).await?;
    header(&head, "sec-websocket-key")
}

/// Reads the HTTP request head (byte by byte: nothing after it is consumed).
pub async fn read_upgrade_head(stream: &mut TcpStream) -> Option<String> {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if stream.read(&mut byte).await.ok()? == 0 || head.len() > 16 * 1024 {
            return None;
        }
        head.push(byte[0]);
    }
    String::from_utf8(head).ok()
}

/// The value of header `name` in a request head.
pub fn header(head: &str, name: &str) -> Option<String> {
    head.lines().find_map(|l| {
        let (n, value) = l.split_once(':')?;
        n.trim().eq_ignore_ascii_case(name).then(|| value.trim().to_owned())
    })
}

pub fn switching_protocols(key: &str) -> String {
    format!(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Accept: {}\r\n\r\n",
        derive_accept_key(key.as_bytes())
    )
}

/// Writes `bytes` `per_write` at a time with Nagle off and a flush and a 1 ms pause after each
/// piece, so each piece leaves as its own TCP segment and the client reads it on its own, as
/// behind a slicing proxy (the pause is the fault being injected, not synchronisation).
pub async fn write_segmented(stream: &mut TcpStream, bytes: &[u8], per_write: usize) -> std::io::Result<()> {
    stream.set_nodelay(true)?;
    for piece in bytes.chunks(per_write) {
        stream.write_all(piece).await?;
        stream.flush().await?;
        tokio::time::sleep(std::time::Duration::from_millis(1)).await;
    }
    Ok(())
}

/// Answers the upgrade normally and returns the WebSocket.
pub async fn accept_ws(mut stream: TcpStream) -> Option<Ws> {
    let key = read_upgrade_request(&mut stream).await?;
    stream.write_all(switching_protocols(&key).as_bytes()).await.ok()?;
    Some(ws_after_upgrade(stream).await)
}

pub async fn ws_after_upgrade(stream: TcpStream) -> Ws {
    let mut config = WebSocketConfig::default();
    config.max_message_size = Some(64 << 20);
    config.max_frame_size = Some(64 << 20);
    WebSocketStream::from_raw_socket(stream, Role::Server, Some(config)).await
}

/// Waits for the client's login frame; returns its id and whether it is a resume.
pub async fn read_login(ws: &mut Ws) -> Option<(u64, ClientFrame)> {
    while let Some(Ok(msg)) = ws.next().await {
        if let Message::Text(text) = msg {
            let frame: ClientFrame = serde_json::from_str(&text).ok()?;
            if let ClientFrame::Login { id, .. } = frame {
                return Some((id, frame));
            }
        }
    }
    None
}

pub async fn send_frame(ws: &mut Ws, frame: &ServerFrame) -> bool {
    ws.send(Message::text(serde_json::to_string(frame).unwrap()))
        .await
        .is_ok()
}

/// Accepts the upgrade and the login; returns the socket for the script to go on with.
pub async fn accept_login(stream: TcpStream) -> Option<Ws> {
    answer_login(accept_ws(stream).await?).await
}

/// Reads the login on an upgraded socket and answers `loginOk`; returns the socket.
pub async fn answer_login(mut ws: Ws) -> Option<Ws> {
    let (id, _) = read_login(&mut ws).await?;
    let ok = ServerFrame::LoginOk {
        id,
        server_time_ms: natter::local_unix_ms(),
        user_sig: None,
    };
    send_frame(&mut ws, &ok).await.then_some(ws)
}

/// Answers pings with pongs until the client goes away (a well-behaved server after login).
pub async fn serve_pings(mut ws: Ws) {
    while let Some(Ok(msg)) = ws.next().await {
        if let Message::Text(text) = msg {
            if let Ok(ClientFrame::Ping { id }) = serde_json::from_str(&text) {
                let pong = ServerFrame::Pong {
                    id,
                    server_time_ms: natter::local_unix_ms(),
                };
                if !send_frame(&mut ws, &pong).await {
                    return;
                }
            }
        }
    }
}

/// Ends the TCP connection with a reset (RST) instead of a FIN.
pub fn reset(stream: TcpStream) {
    let _ = stream.set_zero_linger();
    drop(stream);
}

/// An HTTP response with `status` and no upgrade.
pub fn http_error(status: u16, reason: &str) -> String {
    format!("HTTP/1.1 {status} {reason}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
}
