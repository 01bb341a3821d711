//! The client side of the WebSocket opening handshake (RFC 6455 §4.1), done here rather than by
//! tungstenite: its handshake gives up with "Attack attempt detected" when the 101 response
//! arrives in many tiny TCP segments, which a slow or slicing proxy produces. Here the response
//! head is read until `\r\n\r\n`, however it is segmented, bounded in size (the deadline is the
//! caller's).

use super::endpoint::Endpoint;
use natter_protocol::header_login::{self, LOGIN_ACCEPTED_HEADER, LOGIN_ACCEPTED_VALUE, LOGIN_HEADER};
use ring::rand::SecureRandom;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// A response head longer than this is not a WebSocket server talking.
pub const MAX_RESPONSE_HEAD: usize = 16 * 1024;

#[derive(Debug)]
pub enum UpgradeError {
    Io(std::io::Error),
    /// The peer closed before the response head was complete.
    Eof,
    /// The server answered with an HTTP status other than 101.
    Status {
        status: u16,
        reason: String,
    },
    /// The response is not a valid WebSocket upgrade (bad status line, accept key, …).
    Invalid(String),
}

impl std::fmt::Display for UpgradeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            UpgradeError::Io(e) => write!(f, "{e}"),
            UpgradeError::Eof => write!(f, "the server closed the connection during the WebSocket upgrade"),
            UpgradeError::Status { status, reason } => write!(f, "HTTP {status} {reason}"),
            UpgradeError::Invalid(why) => write!(f, "invalid WebSocket upgrade response: {why}"),
        }
    }
}

/// A completed upgrade.
#[derive(Debug)]
pub struct Upgraded {
    /// The bytes that arrived after the response head (the first WebSocket frames, if the
    /// server was quick).
    pub leftover: Vec<u8>,
    /// The server took the login of the request's header: its reply is the first frame.
    pub login_accepted: bool,
}

/// Sends the upgrade request, with `login` (a login frame's JSON) in [`LOGIN_HEADER`], and reads
/// the 101 response.
pub async fn upgrade<S: AsyncRead + AsyncWrite + Unpin>(
    stream: &mut S,
    endpoint: &Endpoint,
    login: &str,
) -> Result<Upgraded, UpgradeError> {
    let key = new_key()?;
    let login = header_login::encode(login.as_bytes());
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\
         Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: {key}\r\n{LOGIN_HEADER}: {login}\r\n\r\n",
        path = endpoint.path,
        host = endpoint.authority,
    );
    stream.write_all(request.as_bytes()).await.map_err(UpgradeError::Io)?;
    stream.flush().await.map_err(UpgradeError::Io)?;
    let (head, leftover) = read_head(stream).await?;
    let login_accepted = check_response(&head, &key)?;
    Ok(Upgraded {
        leftover,
        login_accepted,
    })
}

/// Reads until the blank line that ends the head; returns the head and what followed it.
async fn read_head<S: AsyncRead + Unpin>(stream: &mut S) -> Result<(Vec<u8>, Vec<u8>), UpgradeError> {
    let mut buf = Vec::with_capacity(1024);
    let mut chunk = [0u8; 1024];
    loop {
        let n = stream.read(&mut chunk).await.map_err(UpgradeError::Io)?;
        if n == 0 {
            return Err(UpgradeError::Eof);
        }
        // Only the new bytes (and the three before them) can complete the terminator.
        let from = buf.len().saturating_sub(3);
        buf.extend_from_slice(&chunk[..n]);
        if let Some(end) = find(&buf[from..], b"\r\n\r\n").map(|i| from + i + 4) {
            let rest = buf.split_off(end);
            return Ok((buf, rest));
        }
        if buf.len() > MAX_RESPONSE_HEAD {
            return Err(UpgradeError::Invalid(format!(
                "response head longer than {MAX_RESPONSE_HEAD} bytes"
            )));
        }
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// Checks the 101; true when it says the server took the header login.
fn check_response(head: &[u8], key: &str) -> Result<bool, UpgradeError> {
    let head = std::str::from_utf8(head).map_err(|_| UpgradeError::Invalid("response head is not UTF-8".into()))?;
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let mut parts = status_line.splitn(3, ' ');
    let (version, status, reason) = (parts.next(), parts.next(), parts.next().unwrap_or_default());
    if !version.is_some_and(|v| v.starts_with("HTTP/1.")) {
        return Err(UpgradeError::Invalid(format!(
            "not an HTTP response: {:?}",
            clip(status_line)
        )));
    }
    let status: u16 = status
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| UpgradeError::Invalid(format!("bad status line: {:?}", clip(status_line))))?;
    if status != 101 {
        return Err(UpgradeError::Status {
            status,
            reason: clip(reason).to_owned(),
        });
    }
    let header = |name: &str| {
        head.split("\r\n").skip(1).find_map(|line| {
            let (n, v) = line.split_once(':')?;
            n.trim().eq_ignore_ascii_case(name).then(|| v.trim())
        })
    };
    if !header("upgrade").is_some_and(|v| v.eq_ignore_ascii_case("websocket")) {
        return Err(UpgradeError::Invalid("no `Upgrade: websocket` header".into()));
    }
    let expected = accept_key(key);
    match header("sec-websocket-accept") {
        Some(accept) if accept == expected => Ok(header(LOGIN_ACCEPTED_HEADER) == Some(LOGIN_ACCEPTED_VALUE)),
        Some(_) => Err(UpgradeError::Invalid("wrong Sec-WebSocket-Accept".into())),
        None => Err(UpgradeError::Invalid("no Sec-WebSocket-Accept header".into())),
    }
}

/// A fresh `Sec-WebSocket-Key`: 16 random bytes in base64 (RFC 6455 §4.1).
fn new_key() -> Result<String, UpgradeError> {
    let mut nonce = [0u8; 16];
    ring::rand::SystemRandom::new()
        .fill(&mut nonce)
        .map_err(|_| UpgradeError::Io(std::io::Error::other("the system's random source failed")))?;
    Ok(base64(&nonce))
}

/// The `Sec-WebSocket-Accept` a server must answer `key` with (RFC 6455 §4.2.2). Computed with
/// ring (already linked for TLS) rather than tungstenite's helpers, which bring a second SHA-1
/// and a general base64 crate: ~20 KiB of the shipped library (docs/performance.md, Size).
fn accept_key(key: &str) -> String {
    let mut input = Vec::with_capacity(key.len() + WEBSOCKET_GUID.len());
    input.extend_from_slice(key.as_bytes());
    input.extend_from_slice(WEBSOCKET_GUID.as_bytes());
    base64(ring::digest::digest(&ring::digest::SHA1_FOR_LEGACY_USE_ONLY, &input).as_ref())
}

const WEBSOCKET_GUID: &str = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/// Standard base64 with padding (RFC 4648 §4), as both handshake headers use: the protocol
/// crate's base64url with its two alphabet differences mapped back and the padding added.
fn base64(bytes: &[u8]) -> String {
    let mut out: String = header_login::encode(bytes)
        .chars()
        .map(|c| match c {
            '-' => '+',
            '_' => '/',
            c => c,
        })
        .collect();
    while !out.len().is_multiple_of(4) {
        out.push('=');
    }
    out
}

/// At most 100 characters of server-supplied text in a message.
fn clip(s: &str) -> &str {
    match s.char_indices().nth(100) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use tokio_tungstenite::tungstenite::handshake::derive_accept_key;

    #[test]
    fn the_accept_key_matches_rfc_6455_and_tungstenite() {
        // RFC 6455 §1.3's example.
        assert_eq!(accept_key("dGhlIHNhbXBsZSBub25jZQ=="), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
        for _ in 0..200 {
            let key = new_key().unwrap();
            assert_eq!(key.len(), 24, "{key}");
            assert!(key.ends_with("=="), "{key}");
            assert_eq!(accept_key(&key), derive_accept_key(key.as_bytes()));
        }
        assert_ne!(new_key().unwrap(), new_key().unwrap());
    }

    #[test]
    fn base64_is_the_standard_alphabet_with_padding() {
        // RFC 4648 §10's vectors, plus the two characters base64url spells differently.
        for (input, want) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(base64(input.as_bytes()), want);
        }
        assert_eq!(base64(&[0xfb, 0xff]), "+/8=");
    }

    fn response(key: &str) -> String {
        format!(
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: WebSocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Accept: {}\r\n\r\n",
            derive_accept_key(key.as_bytes())
        )
    }

    #[test]
    fn a_valid_response_passes_and_a_wrong_accept_key_fails() {
        assert!(!check_response(response("k1").as_bytes(), "k1").unwrap());
        let err = check_response(response("k1").as_bytes(), "k2").unwrap_err();
        assert!(matches!(err, UpgradeError::Invalid(_)), "{err}");
    }

    #[test]
    fn the_header_login_is_accepted_only_when_the_response_says_so() {
        let accepted = response("k").replace("\r\n\r\n", "\r\nX-Natter-Login-Accepted: 1\r\n\r\n");
        assert!(check_response(accepted.as_bytes(), "k").unwrap());
        let other = response("k").replace("\r\n\r\n", "\r\nX-Natter-Login-Accepted: 0\r\n\r\n");
        assert!(!check_response(other.as_bytes(), "k").unwrap());
    }

    #[test]
    fn http_errors_carry_their_status() {
        let err = check_response(b"HTTP/1.1 503 Service Unavailable\r\n\r\n", "k").unwrap_err();
        assert!(matches!(err, UpgradeError::Status { status: 503, .. }), "{err}");
        assert_eq!(err.to_string(), "HTTP 503 Service Unavailable");
        for garbage in [
            &b"SSH-2.0-OpenSSH\r\n\r\n"[..],
            b"HTTP/1.1 abc\r\n\r\n",
            b"\xff\xfe\r\n\r\n",
        ] {
            assert!(matches!(check_response(garbage, "k"), Err(UpgradeError::Invalid(_))));
        }
    }

    #[tokio::test]
    async fn the_head_is_found_across_one_byte_reads_and_leftover_bytes_are_kept() {
        let data = b"HTTP/1.1 101 OK\r\nA: b\r\n\r\n\x81\x02hi".to_vec();
        let (head, rest) = read_head(&mut tokio_test_reader(data.clone(), 1)).await.unwrap();
        assert!(head.ends_with(b"\r\n\r\n"));
        // One byte per read: nothing past the terminator was read.
        assert!(rest.is_empty());
        // One read for everything: the first frame's bytes come back for the WebSocket.
        let (head2, rest) = read_head(&mut tokio_test_reader(data, 1000)).await.unwrap();
        assert_eq!(head2, head);
        assert_eq!(rest, b"\x81\x02hi");
    }

    #[tokio::test]
    async fn an_endless_head_is_refused() {
        let mut reader = tokio_test_reader(vec![b'a'; MAX_RESPONSE_HEAD * 2], 1000);
        assert!(matches!(read_head(&mut reader).await, Err(UpgradeError::Invalid(_))));
    }

    /// A reader handing out at most `step` bytes per read.
    struct Trickle {
        data: Vec<u8>,
        pos: usize,
        step: usize,
    }

    impl AsyncRead for Trickle {
        fn poll_read(
            mut self: std::pin::Pin<&mut Self>,
            _: &mut std::task::Context<'_>,
            buf: &mut tokio::io::ReadBuf<'_>,
        ) -> std::task::Poll<std::io::Result<()>> {
            let end = (self.pos + self.step)
                .min(self.data.len())
                .min(self.pos + buf.remaining());
            buf.put_slice(&self.data[self.pos..end]);
            self.pos = end;
            std::task::Poll::Ready(Ok(()))
        }
    }

    fn tokio_test_reader(data: Vec<u8>, step: usize) -> Trickle {
        Trickle { data, pos: 0, step }
    }
}
