//! One WebSocket connection: a task that connects, forwards parsed server frames to the driver
//! and writes the frames the driver hands it. Knows nothing about sessions.

use crate::session::ConnId;
use futures_util::{SinkExt, StreamExt};
use natter_protocol::{ServerFrame, MAX_FRAME_BYTES};
use once_cell::sync::Lazy;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::Connector;

#[derive(Debug)]
pub enum TransportEvent {
    Connected(ConnId),
    Frame(ConnId, ServerFrame),
    Closed {
        conn: ConnId,
        code: Option<u16>,
        detail: String,
    },
}

/// What the driver can ask of a connection.
#[derive(Debug)]
pub enum Outgoing {
    Text(String),
    Close,
}

/// TLS with certificate verification against the Mozilla roots; there is no switch to turn it
/// off and no fallback to plain `ws://` for a `wss://` URL.
static TLS: Lazy<Arc<rustls::ClientConfig>> = Lazy::new(|| {
    let roots = rustls::RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("ring supports the default TLS versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    Arc::new(config)
});

fn ws_config() -> WebSocketConfig {
    let mut c = WebSocketConfig::default();
    c.max_message_size = Some(MAX_FRAME_BYTES);
    c.max_frame_size = Some(MAX_FRAME_BYTES);
    c.read_buffer_size = 8 * 1024;
    c.write_buffer_size = 8 * 1024;
    c
}

/// Runs one connection until it closes, the driver asks it to close, or the driver goes away.
pub async fn run(
    conn: ConnId,
    url: String,
    events: mpsc::UnboundedSender<TransportEvent>,
    mut outgoing: mpsc::UnboundedReceiver<Outgoing>,
) {
    let closed = |code: Option<u16>, detail: String| TransportEvent::Closed { conn, code, detail };
    let connector = Connector::Rustls(TLS.clone());
    let connecting =
        tokio_tungstenite::connect_async_tls_with_config(url.as_str(), Some(ws_config()), true, Some(connector));
    let ws = match connecting.await {
        Ok((ws, _response)) => ws,
        Err(e) => {
            let _ = events.send(closed(None, format!("cannot connect to {url}: {e}")));
            return;
        }
    };
    if events.send(TransportEvent::Connected(conn)).is_err() {
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
