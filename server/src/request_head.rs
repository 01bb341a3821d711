//! The first request head of a connection, read and checked before any HTTP stack sees it. A
//! well-formed WebSocket upgrade for the Natter endpoint (`/ws`, `/`) is accepted on the TCP
//! stream itself (`ws::accept`, which then starts the session as a task of its own): no hyper
//! connection, no router, and the 101 can leave in the same write as the login's reply. Anything else
//! (REST, the vendor wire, a malformed upgrade) goes to hyper with the bytes read so far
//! replayed (`prefixed_stream`), so hyper and axum answer it exactly as before.

use std::io;
use tokio::io::AsyncReadExt;
use tokio::net::TcpStream;

/// hyper's default limit for a request head (its `max_buf_size`): a head longer than this is
/// handed to hyper unparsed, which answers it 431 as it always did.
pub(crate) const MAX_HEAD: usize = 8192 + 4096 * 100;
/// hyper's default header count limit; a head with more goes to hyper (431).
const MAX_HEADERS: usize = 100;
/// First allocation for the head: a header login request is about 700 bytes. Below 1,008 B
/// glibc serves it from its per-thread cache; 2 KiB went through `_int_malloc`'s bins and cost
/// ≈ 1,400 instructions per connection (callgrind). A longer head grows it.
const FIRST_READ: usize = 1000;
/// Blank lines that httparse still calls incomplete before we stop parsing (leading empty lines
/// are skipped by it); bounded so that a peer cannot make us parse a long head many times.
const MAX_PARSES: u32 = 4;

/// How reading the first head ended.
#[derive(Debug, PartialEq, Eq)]
pub enum HeadRead {
    /// `buf[..head_len]` is a complete head (parsed by httparse), and the upgrade it asks for
    /// when it is one this server accepts directly ([`websocket_upgrade`]).
    Complete { head_len: usize, upgrade: Option<Upgrade> },
    /// Not a head we parse here (too long, too many headers, invalid, or oddly segmented):
    /// hyper gets the bytes and judges them.
    ForHyper,
    /// The peer closed before sending a head.
    Closed,
}

/// Reads until the first request head is complete (or is not ours to parse). Bytes past the
/// head stay in `buf`: the first WebSocket frames, or a pipelined request, or a body.
/// `want_login`: take the upgrade's `x-natter-login` header.
pub(crate) async fn read(stream: &mut TcpStream, buf: &mut Vec<u8>, want_login: bool) -> io::Result<HeadRead> {
    let mut scanner = HeadScanner::new(want_login);
    loop {
        if buf.capacity() - buf.len() < 512 {
            buf.reserve(buf.len().max(FIRST_READ));
        }
        if stream.read_buf(buf).await? == 0 {
            return Ok(if buf.is_empty() {
                HeadRead::Closed
            } else {
                HeadRead::ForHyper
            });
        }
        if let Some(done) = scanner.after_read(buf) {
            return Ok(done);
        }
    }
}

/// What [`read`] decides after each read, without the socket (so it is unit-tested and fuzzed
/// for any segmentation). The parse that finds the head also decides the upgrade: the head is
/// parsed once.
#[derive(Debug)]
pub struct HeadScanner {
    want_login: bool,
    scanned: usize,
    parse_at: usize,
    parses: u32,
}

impl HeadScanner {
    pub fn new(want_login: bool) -> Self {
        Self {
            want_login,
            scanned: 0,
            parse_at: 0,
            parses: 0,
        }
    }

    /// `buf` is everything read so far (it only grows); `None` means read more.
    pub fn after_read(&mut self, buf: &[u8]) -> Option<HeadRead> {
        // A head ends only at a blank line; the scan restarts 3 bytes back so a terminator split
        // across reads is found. httparse runs when one arrived, and also whenever the buffer
        // has doubled since it last ran, so bytes that are no HTTP request (a TLS ClientHello)
        // go to hyper, which refuses them, at once, and a head sent byte by byte costs linear
        // parsing, not quadratic.
        let blank = blank_line(&buf[self.scanned.min(buf.len())..]).is_some();
        self.scanned = buf.len().saturating_sub(3);
        if blank || buf.len() >= self.parse_at {
            self.parse_at = buf.len() * 2;
            let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
            let mut req = httparse::Request::new(&mut headers);
            match req.parse(buf) {
                Ok(httparse::Status::Complete(head_len)) => {
                    let upgrade = upgrade_of(&req, self.want_login);
                    return Some(HeadRead::Complete { head_len, upgrade });
                }
                Ok(httparse::Status::Partial) if blank => {
                    self.parses += 1;
                    if self.parses >= MAX_PARSES {
                        return Some(HeadRead::ForHyper);
                    }
                }
                Ok(httparse::Status::Partial) => {}
                Err(_) => return Some(HeadRead::ForHyper),
            }
        }
        (buf.len() > MAX_HEAD).then_some(HeadRead::ForHyper)
    }
}

/// The end (exclusive) of the first blank line in `bytes`: `\n\n` or `\n\r\n`, the two line
/// endings httparse accepts.
fn blank_line(bytes: &[u8]) -> Option<usize> {
    let mut i = 0;
    while i + 1 < bytes.len() {
        if bytes[i] == b'\n' {
            if bytes[i + 1] == b'\n' {
                return Some(i + 2);
            }
            if bytes[i + 1] == b'\r' && bytes.get(i + 2) == Some(&b'\n') {
                return Some(i + 3);
            }
        }
        i += 1;
    }
    None
}

/// A WebSocket upgrade request for the Natter endpoint, checked as axum's `WebSocketUpgrade`
/// checks one (so the same requests are upgraded as before).
#[derive(Debug, PartialEq, Eq)]
pub struct Upgrade {
    /// The `Sec-WebSocket-Accept` value to answer with.
    pub accept: String,
    /// The raw value of the request's `x-natter-login` header, when `want_login`.
    pub login: Option<Vec<u8>>,
}

/// `head` as an upgrade this server accepts directly: `GET /ws` or `GET /` over HTTP/1.1 with
/// `Connection: upgrade`, `Upgrade: websocket`, `Sec-WebSocket-Version: 13`, a
/// `Sec-WebSocket-Key` and no body. `None` sends the request to hyper, which answers it as
/// before (a 400 for a malformed upgrade, the REST API, the vendor paths).
pub fn websocket_upgrade(head: &[u8], want_login: bool) -> Option<Upgrade> {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut req = httparse::Request::new(&mut headers);
    match req.parse(head) {
        Ok(httparse::Status::Complete(_)) => upgrade_of(&req, want_login),
        _ => None,
    }
}

/// [`websocket_upgrade`] of a head httparse parsed completely.
fn upgrade_of(req: &httparse::Request<'_, '_>, want_login: bool) -> Option<Upgrade> {
    if req.method != Some("GET") || req.version != Some(1) {
        return None;
    }
    let path = req.path?;
    let path = path.split_once('?').map_or(path, |(p, _)| p);
    if path != natter_protocol::WS_PATH && path != "/" {
        return None;
    }
    // As an `http::HeaderMap::get`: the first header of a name counts.
    let first = |name: &str| {
        req.headers
            .iter()
            .find(|h| h.name.eq_ignore_ascii_case(name))
            .map(|h| h.value)
    };
    let connection = std::str::from_utf8(first("connection")?).ok()?;
    if !connection.to_ascii_lowercase().contains("upgrade") {
        return None;
    }
    if !first("upgrade")?.eq_ignore_ascii_case(b"websocket")
        || !first("sec-websocket-version")?.eq_ignore_ascii_case(b"13")
    {
        return None;
    }
    // A body on the upgrade GET would be read as WebSocket frames: hyper gets that request.
    if first("transfer-encoding").is_some() || first("content-length").is_some_and(|v| v.trim_ascii() != b"0") {
        return None;
    }
    let key = first("sec-websocket-key")?;
    let login = want_login
        .then(|| first(natter_protocol::header_login::LOGIN_HEADER).map(<[u8]>::to_vec))
        .flatten();
    Some(Upgrade {
        accept: tungstenite::handshake::derive_accept_key(key),
        login,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(lines: &[&str]) -> Vec<u8> {
        let mut s = lines.join("\r\n");
        s.push_str("\r\n\r\n");
        s.into_bytes()
    }

    fn good(path: &str) -> Vec<&str> {
        vec![
            path,
            "Host: x",
            "Connection: keep-alive, Upgrade",
            "Upgrade: WebSocket",
            "Sec-WebSocket-Version: 13",
            "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==",
        ]
    }

    #[test]
    fn a_well_formed_upgrade_on_the_natter_paths_is_accepted_with_the_rfc_accept_key() {
        for path in ["GET /ws HTTP/1.1", "GET / HTTP/1.1", "GET /ws?x=1 HTTP/1.1"] {
            let up = websocket_upgrade(&request(&good(path)), true).expect(path);
            // RFC 6455 §1.3's example.
            assert_eq!(up.accept, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
            assert_eq!(up.login, None);
        }
    }

    #[test]
    fn the_login_header_is_taken_only_when_asked_for() {
        let mut lines = good("GET /ws HTTP/1.1");
        lines.push("x-natter-login: eyJ9");
        lines.push("X-Natter-Login: second");
        let head = request(&lines);
        assert_eq!(websocket_upgrade(&head, true).unwrap().login, Some(b"eyJ9".to_vec()));
        assert_eq!(websocket_upgrade(&head, false).unwrap().login, None);
    }

    #[test]
    fn anything_else_goes_to_hyper() {
        let cases: Vec<(&str, Vec<String>)> = vec![
            ("other path", vec!["GET /binfo HTTP/1.1".into()]),
            ("similar path", vec!["GET /wsx HTTP/1.1".into()]),
            ("POST", vec!["POST /ws HTTP/1.1".into()]),
            ("HTTP/1.0", vec!["GET /ws HTTP/1.0".into()]),
        ];
        for (what, first) in cases {
            let mut lines = good("");
            lines[0] = &first[0];
            assert_eq!(websocket_upgrade(&request(&lines), true), None, "{what}");
        }
        let without = |name: &str| {
            let lines: Vec<&str> = good("GET /ws HTTP/1.1")
                .into_iter()
                .filter(|l| !l.starts_with(name))
                .collect();
            request(&lines)
        };
        for name in ["Connection", "Upgrade", "Sec-WebSocket-Version", "Sec-WebSocket-Key"] {
            assert_eq!(websocket_upgrade(&without(name), true), None, "without {name}");
        }
        let with = |extra: &str| {
            let mut lines = good("GET /ws HTTP/1.1");
            lines.push(extra);
            request(&lines)
        };
        assert_eq!(websocket_upgrade(&with("Content-Length: 5"), true), None);
        assert_eq!(websocket_upgrade(&with("Transfer-Encoding: chunked"), true), None);
        assert!(websocket_upgrade(&with("Content-Length: 0"), true).is_some());
        let mut lines = good("GET /ws HTTP/1.1");
        lines[4] = "Sec-WebSocket-Version: 8";
        assert_eq!(websocket_upgrade(&request(&lines), true), None);
        assert_eq!(websocket_upgrade(b"GET /ws HTTP/1.1\r\n", true), None, "incomplete");
        assert_eq!(websocket_upgrade(b"\x00\xff garbage\r\n\r\n", true), None);
    }

    /// The scanner's verdict when `bytes` arrive in the given pieces (`None`: still reading).
    fn scan_in(bytes: &[u8], pieces: &[usize]) -> Option<HeadRead> {
        let mut scanner = HeadScanner::new(true);
        let mut end = 0usize;
        for &n in pieces.iter().chain(std::iter::once(&usize::MAX)) {
            end = end.saturating_add(n).min(bytes.len());
            if let Some(done) = scanner.after_read(&bytes[..end]) {
                return Some(done);
            }
            if end == bytes.len() {
                return None;
            }
        }
        None
    }

    #[test]
    fn a_head_is_found_however_it_is_segmented() {
        let mut head = request(&good("GET /ws HTTP/1.1"));
        let head_len = head.len();
        head.extend_from_slice(b"\x81\x85frame");
        let upgrade = websocket_upgrade(&head[..head_len], true);
        assert!(upgrade.is_some());
        let complete = Some(HeadRead::Complete { head_len, upgrade });
        assert_eq!(scan_in(&head, &[]), complete);
        assert_eq!(scan_in(&head, &[1; 400]), complete, "byte by byte");
        for split in 1..head_len {
            assert_eq!(scan_in(&head, &[split]), complete, "split at {split}");
        }
        assert_eq!(
            scan_in(&head[..head_len - 1], &[7; 100]),
            None,
            "one byte short: read on"
        );
    }

    #[test]
    fn bytes_that_are_not_http_go_to_hyper_at_once() {
        let client_hello = [0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc];
        assert_eq!(scan_in(&client_hello, &[2]), Some(HeadRead::ForHyper));
        assert_eq!(
            scan_in(b"GET /ws HTTP/1.1\r\nBad Header\r\n\r\n", &[]),
            Some(HeadRead::ForHyper)
        );
        let long = format!("GET /ws HTTP/1.1\r\nX-Pad: {}", "a".repeat(MAX_HEAD));
        assert_eq!(scan_in(long.as_bytes(), &[4096; 200]), Some(HeadRead::ForHyper));
    }

    #[test]
    fn a_blank_line_is_found_with_either_line_ending() {
        assert_eq!(blank_line(b"GET / HTTP/1.1\r\nA: b\r\n\r\nrest"), Some(24));
        assert_eq!(blank_line(b"GET / HTTP/1.1\nA: b\n\nrest"), Some(21));
        assert_eq!(blank_line(b"GET / HTTP/1.1\r\nA: b\r\n"), None);
        assert_eq!(blank_line(b""), None);
    }
}
