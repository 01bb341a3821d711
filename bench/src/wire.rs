//! The bare floor and the raw load generator: tokio-tungstenite connections with nothing of
//! Natter's client in them, from a chosen 127.0.0.x source.

use futures_util::{SinkExt, StreamExt};
use natter_protocol::header_login;
use natter_protocol::{ClientFrame, Platform, ServerFrame, PROTOCOL_VERSION};
use std::net::{Ipv4Addr, SocketAddr};
use std::os::fd::AsRawFd;
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;

pub type Ws = WebSocketStream<TcpStream>;
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The ping frame the floor echoes: the size of a small Natter request.
pub const ECHO_TEXT: &str = "{\"type\":\"ping\",\"id\":1}";

/// Loopback sources the load generator spreads its connections over: one source address has
/// only ~28k ephemeral ports towards one server port.
pub const SOURCES: u8 = 8;

pub fn source(i: usize) -> Ipv4Addr {
    Ipv4Addr::new(127, 0, 0, 1 + (i % SOURCES as usize) as u8)
}

/// The same buffer sizes as Natter's server (server/src/ws.rs: 1,000-byte reads since 7fc5596,
/// 8 KiB writes), so the echo floor holds connections on the same terms (tokio-tungstenite's
/// defaults are 128 KiB each way).
fn echo_server_config() -> WebSocketConfig {
    let mut c = WebSocketConfig::default();
    c.read_buffer_size = 1000;
    c.write_buffer_size = 8 * 1024;
    c
}

/// The bare WebSocket echo server: accept, upgrade, echo text frames. The floor every Natter
/// figure is compared with.
pub async fn run_echo_server(listener: TcpListener) {
    while let Ok((socket, _)) = listener.accept().await {
        tokio::spawn(async move {
            let _ = socket.set_nodelay(true);
            let Ok(mut ws) = tokio_tungstenite::accept_async_with_config(socket, Some(echo_server_config())).await
            else {
                return;
            };
            while let Some(Ok(msg)) = ws.next().await {
                if msg.is_text() && ws.send(msg).await.is_err() {
                    return;
                }
            }
        });
    }
}

/// Starts the echo server on `listen` in the current runtime and, with `shards` > 0, on as many
/// more current-thread runtimes with a file-descriptor table each (`SO_REUSEPORT` listeners of
/// the same port), as Natter's server does with `accept_shards`: the floor holds as many
/// connections on the same terms. Returns the address.
pub fn start_echo_server(listen: SocketAddr, shards: u32) -> std::io::Result<SocketAddr> {
    // Detached before anything is bound: a listener copied into a shard's table stays open there.
    let detached = natter_server::fd_table::detached_runtimes(shards as usize, "echo-shard")?;
    let listener = listen_on(listen, shards > 0)?;
    let addr = listener.local_addr()?;
    tokio::spawn(run_echo_server(listener));
    for runtime in detached {
        // Not waited for: shards serve until this process exits.
        let _ended = runtime.serve(
            move || listen_on(addr, true),
            |rt, listener| rt.block_on(run_echo_server(listener)),
        )?;
    }
    Ok(addr)
}

fn listen_on(addr: SocketAddr, reuse_port: bool) -> std::io::Result<TcpListener> {
    let socket = TcpSocket::new_v4()?;
    socket.set_reuseaddr(true)?;
    socket.set_reuseport(reuse_port)?;
    socket.bind(addr)?;
    socket.listen(1024)
}

/// Small client buffers for the load generator, which holds up to 100k connections.
fn generator_config() -> WebSocketConfig {
    let mut c = WebSocketConfig::default();
    c.read_buffer_size = 4 * 1024;
    c.write_buffer_size = 0;
    c
}

/// TCP connect from `src` (port picked at connect time, so TIME_WAIT ports are reused) and
/// WebSocket upgrade.
pub async fn open(src: Ipv4Addr, server: SocketAddr) -> Result<Ws, BoxError> {
    Ok(open_with(src, server, None).await?.0)
}

/// The `x-natter-login` header value carrying the login frame `frame` (its JSON).
pub fn login_header(frame: &str) -> HeaderValue {
    header_login::encode(frame.as_bytes())
        .parse()
        .expect("base64url is a valid header value")
}

/// [`open`] with `login` (see [`login_header`]) in the upgrade request; also says whether the 101
/// took it.
pub async fn open_with(src: Ipv4Addr, server: SocketAddr, login: Option<&HeaderValue>) -> Result<(Ws, bool), BoxError> {
    let socket = TcpSocket::new_v4()?;
    let one: libc::c_int = 1;
    // SAFETY: setsockopt reads `one` for the length given; the fd is open for the call.
    unsafe {
        libc::setsockopt(
            socket.as_raw_fd(),
            libc::IPPROTO_IP,
            libc::IP_BIND_ADDRESS_NO_PORT,
            &one as *const _ as *const libc::c_void,
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        );
    }
    socket.bind(SocketAddr::from((src, 0)))?;
    let stream = socket.connect(server).await?;
    stream.set_nodelay(true)?;
    let url = format!("ws://{server}{}", natter_protocol::WS_PATH);
    let mut request = url.into_client_request()?;
    if let Some(login) = login {
        request.headers_mut().insert(header_login::LOGIN_HEADER, login.clone());
    }
    let (ws, response) = tokio_tungstenite::client_async_with_config(request, stream, Some(generator_config())).await?;
    let accepted = response
        .headers()
        .get(header_login::LOGIN_ACCEPTED_HEADER)
        .map(|v| v.as_bytes())
        == Some(header_login::LOGIN_ACCEPTED_VALUE.as_bytes());
    Ok((ws, accepted))
}

/// One echo round trip on an open connection.
pub async fn echo(ws: &mut Ws) -> Result<(), BoxError> {
    ws.send(Message::text(ECHO_TEXT)).await?;
    match ws.next().await {
        Some(Ok(Message::Text(_))) => Ok(()),
        other => Err(format!("no echo: {other:?}").into()),
    }
}

/// The floor of one login: connect + upgrade + one echo.
pub async fn floor_once(src: Ipv4Addr, server: SocketAddr) -> Result<Ws, BoxError> {
    let mut ws = open(src, server).await?;
    echo(&mut ws).await?;
    Ok(ws)
}

pub fn login_frame(user: &str, sig: &str, instance: &str) -> String {
    ClientFrame::Login {
        id: 1,
        version: PROTOCOL_VERSION,
        sdk_app_id: natter_server::DEV_SDK_APP_ID,
        user_id: user.to_owned(),
        user_sig: sig.to_owned(),
        platform: Platform::Web,
        instance_id: instance.to_owned(),
        resume: false,
    }
    .to_json()
}

/// A raw Natter login: connect + upgrade + login frame + `loginOk`.
pub async fn natter_login(src: Ipv4Addr, server: SocketAddr, frame: &str) -> Result<Ws, BoxError> {
    let mut ws = open(src, server).await?;
    ws.send(Message::text(frame)).await?;
    login_reply(ws).await
}

/// A raw header login: connect + upgrade carrying the login (see [`login_header`]) + `loginOk`
/// (2 round trips).
pub async fn natter_header_login(src: Ipv4Addr, server: SocketAddr, login: &HeaderValue) -> Result<Ws, BoxError> {
    let (ws, accepted) = open_with(src, server, Some(login)).await?;
    if !accepted {
        return Err("the server did not take the header login".into());
    }
    login_reply(ws).await
}

/// How every `loginOk` starts (serde writes an internally tagged enum's tag first; the
/// `a_login_reply_is_told_by_its_start` test holds it to that).
const LOGIN_OK_START: &str = "{\"type\":\"loginOk\",";

/// Reads the login's reply. Told by its start, as the echo floor tells its echo by its type: a
/// full parse would be load-generator work the floor does not do, on the cores the server uses.
async fn login_reply(mut ws: Ws) -> Result<Ws, BoxError> {
    match ws.next().await {
        Some(Ok(Message::Text(t))) if t.as_str().starts_with(LOGIN_OK_START) => Ok(ws),
        Some(Ok(Message::Text(t))) => {
            Err(format!("login refused: {:?}", serde_json::from_str::<ServerFrame>(t.as_str())).into())
        }
        other => Err(format!("no login reply: {other:?}").into()),
    }
}

pub fn user_sig(user: &str) -> String {
    let now = natter::local_unix_ms() / 1000;
    natter_server::usersig::generate(
        natter_server::DEV_SDK_APP_ID,
        natter_server::DEV_SECRET_KEY,
        user,
        24 * 3600,
        now,
    )
    .expect("a valid user id")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_login_reply_is_told_by_its_start() {
        let ok = ServerFrame::LoginOk {
            id: 7,
            server_time_ms: 1,
            user_sig: None,
        };
        assert!(ok.to_json().starts_with(LOGIN_OK_START));
        let refused = ServerFrame::Error {
            id: Some(7),
            code: 70001,
            message: "loginOk".into(),
        };
        assert!(!refused.to_json().starts_with(LOGIN_OK_START));
    }
}
