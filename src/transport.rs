//! One WebSocket connection: a task that connects, forwards parsed server frames to the driver
//! and writes the frames the driver hands it. Knows nothing about sessions.

mod endpoint;
mod stream;
mod tls;
mod upgrade;

pub use endpoint::Endpoint;
pub use tls::parse_roots;

use crate::error::{code, ChatError};
use crate::session::ConnId;
use futures_util::{SinkExt, StreamExt};
use natter_protocol::{ServerFrame, MAX_FRAME_BYTES};
use std::sync::Arc;
use std::time::{Duration, Instant};
use stream::Stream;
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::protocol::{Role, WebSocketConfig};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;
use upgrade::UpgradeError;

type Socket = WebSocketStream<Stream>;

#[derive(Debug)]
pub enum TransportEvent {
    /// The socket is open and the login went out at `login_sent` (in the upgrade request, or as
    /// the first frame right after it).
    Connected {
        conn: ConnId,
        login_sent: Instant,
    },
    Frame(ConnId, ServerFrame),
    Closed {
        conn: ConnId,
        code: Option<u16>,
        detail: String,
    },
    /// The connection could not be opened (TCP, TLS or the HTTP upgrade failed).
    Failed {
        conn: ConnId,
        error: ChatError,
    },
}

/// What the driver can ask of a connection.
#[derive(Debug)]
pub enum Outgoing {
    Text(String),
    Close,
}

/// Where and how a client's connections go: built once per client from its config.
#[derive(Debug, Clone)]
pub struct Target {
    pub endpoint: Endpoint,
    tls: Arc<rustls::ClientConfig>,
}

impl Target {
    /// `server_url` and `extra_roots_pem` were checked by `ChatConfig::validate`.
    pub fn new(server_url: &str, extra_roots_pem: &[String]) -> Result<Target, ChatError> {
        Ok(Target {
            endpoint: Endpoint::parse(server_url).map_err(ChatError::invalid)?,
            tls: tls::client_config(extra_roots_pem).map_err(ChatError::invalid)?,
        })
    }
}

fn ws_config() -> WebSocketConfig {
    let mut c = WebSocketConfig::default();
    c.max_message_size = Some(MAX_FRAME_BYTES);
    c.max_frame_size = Some(MAX_FRAME_BYTES);
    c.read_buffer_size = 8 * 1024;
    c.write_buffer_size = 8 * 1024;
    c
}

/// Runs one connection until it closes, the driver asks it to close, or the driver goes away.
/// Logs in with `login` (a login frame's JSON) by itself: in the upgrade request, or as the
/// first frame when the server does not take it there, so the driver is not woken in between.
pub async fn run(
    conn: ConnId,
    target: Arc<Target>,
    login: String,
    events: mpsc::UnboundedSender<TransportEvent>,
    mut outgoing: mpsc::UnboundedReceiver<Outgoing>,
) {
    let closed = |code: Option<u16>, detail: String| TransportEvent::Closed { conn, code, detail };
    let login_sent = Instant::now();
    let (mut ws, login_accepted) = match open(&target, &login).await {
        Ok(opened) => opened,
        Err(error) => {
            let _ = events.send(TransportEvent::Failed { conn, error });
            return;
        }
    };
    let login_sent = if login_accepted {
        login_sent
    } else {
        // A server without header login (or with it off): the login frame, as before.
        let sent = Instant::now();
        if let Err(e) = ws.send(Message::text(login)).await {
            let _ = events.send(TransportEvent::Failed {
                conn,
                error: ChatError::network(format!("cannot send the login: {e}")),
            });
            return;
        }
        sent
    };
    if events.send(TransportEvent::Connected { conn, login_sent }).is_err() {
        return;
    }
    let (mut sink, mut stream) = ws.split();
    let end = loop {
        tokio::select! {
            incoming = stream.next() => match incoming {
                Some(Ok(Message::Text(text))) => match serde_json::from_str::<ServerFrame>(&text) {
                    Ok(frame) => {
                        if events.send(TransportEvent::Frame(conn, frame)).is_err() {
                            break None;
                        }
                    }
                    Err(e) => log::warn!("ignoring a server frame that does not parse: {e}"),
                },
                Some(Ok(Message::Close(frame))) => {
                    let code = frame.as_ref().map(|f| u16::from(f.code));
                    let reason = frame.map(|f| f.reason.to_string()).unwrap_or_default();
                    break Some(closed(code, format!("server closed the connection: {reason}")));
                }
                // Pings are answered by tungstenite; binary frames are not part of the protocol.
                Some(Ok(_)) => {}
                Some(Err(e)) => break Some(closed(None, format!("read failed: {e}"))),
                None => break Some(closed(None, "connection ended".into())),
            },
            command = outgoing.recv() => match command {
                Some(Outgoing::Text(text)) => {
                    if let Err(e) = sink.send(Message::text(text)).await {
                        break Some(closed(None, format!("write failed: {e}")));
                    }
                }
                Some(Outgoing::Close) | None => {
                    // Polite close, bounded so a dead peer cannot hold the task.
                    let _ = tokio::time::timeout(Duration::from_secs(1), sink.close()).await;
                    break None;
                }
            },
        }
    };
    if let Some(event) = end {
        let _ = events.send(event);
    }
}

/// TCP, then TLS for `wss://`, then the HTTP upgrade carrying `login` in its header; true when
/// the server took that login. The session machine bounds the whole of it with its connect
/// deadline and drops the task when that passes.
async fn open(target: &Target, login: &str) -> Result<(Socket, bool), ChatError> {
    let endpoint = &target.endpoint;
    let url = endpoint.display_url();
    let tcp = TcpStream::connect((endpoint.host.as_str(), endpoint.port))
        .await
        .map_err(|e| ChatError::network(format!("cannot connect to {url}: {e}")))?;
    // Frames are small and latency matters more than packet count.
    let _ = tcp.set_nodelay(true);
    let mut stream = if endpoint.tls {
        let name = rustls::pki_types::ServerName::try_from(endpoint.host.clone())
            .map_err(|e| ChatError::network(format!("cannot use {:?} as a TLS server name: {e}", endpoint.host)))?;
        let connector = tokio_rustls::TlsConnector::from(target.tls.clone());
        let tls = connector
            .connect(name, tcp)
            .await
            .map_err(|e| ChatError::network(format!("{} ({url})", tls::describe(&e))))?;
        Stream::Tls(Box::new(tls))
    } else {
        Stream::Plain(tcp)
    };
    let upgraded = upgrade::upgrade(&mut stream, endpoint, login)
        .await
        .map_err(|e| upgrade_error(e, &url))?;
    let ws = WebSocketStream::from_partially_read(stream, upgraded.leftover, Role::Client, Some(ws_config())).await;
    Ok((ws, upgraded.login_accepted))
}

/// An HTTP error on the upgrade, as the app sees it: overload is the server's 60022 (retry
/// later), anything else names the status.
fn upgrade_error(error: UpgradeError, url: &str) -> ChatError {
    match error {
        UpgradeError::Status {
            status: status @ (429 | 503),
            reason,
        } => ChatError::Server {
            code: code::SERVER_OVERLOADED,
            detail: format!("the server at {url} is overloaded (HTTP {status} {reason}); retry later"),
        },
        UpgradeError::Status { status: 404, .. } => {
            ChatError::network(format!("the server has no WebSocket endpoint at {url} (HTTP 404)"))
        }
        UpgradeError::Status { status, reason } => ChatError::network(format!(
            "the server at {url} refused the WebSocket upgrade (HTTP {status} {reason})"
        )),
        other => ChatError::network(format!("WebSocket upgrade with {url} failed: {other}")),
    }
}
