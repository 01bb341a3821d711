//! A tiny HTTP/1.1 client for the admin REST API over a raw `TcpStream` (tests, tools).

use crate::ServerHandle;
use serde_json::{json, Value};
use std::io::{Error, ErrorKind};
use std::net::SocketAddr;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const TIMEOUT: Duration = Duration::from_secs(10);
const MAX_RESPONSE_BYTES: u64 = 8 * 1024 * 1024;

fn invalid(msg: &str) -> Error {
    Error::new(ErrorKind::InvalidData, msg.to_owned())
}

fn url_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'*' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// POSTs `body` to `path` with the admin query string; returns the HTTP status and the JSON body
/// (`Value::Null` when empty, `Value::String` when not JSON).
pub async fn post(
    addr: SocketAddr,
    path: &str,
    sdk_app_id: u64,
    identifier: &str,
    user_sig: &str,
    body: &str,
) -> std::io::Result<(u16, Value)> {
    let random: u32 = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    let request = format!(
        "POST {path}?sdkappid={sdk_app_id}&identifier={}&usersig={}&random={random}&contenttype=json HTTP/1.1\r\n\
         Host: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        url_encode(identifier),
        url_encode(user_sig),
        body.len()
    );
    let exchange = async {
        let mut stream = TcpStream::connect(addr).await?;
        stream.write_all(request.as_bytes()).await?;
        let mut raw = Vec::new();
        stream.take(MAX_RESPONSE_BYTES).read_to_end(&mut raw).await?;
        parse_response(&raw)
    };
    tokio::time::timeout(TIMEOUT, exchange)
        .await
        .map_err(|_| Error::new(ErrorKind::TimedOut, "admin request timed out"))?
}

/// Parses a complete HTTP/1.1 response (plain, `Content-Length` or chunked body).
pub fn parse_response(raw: &[u8]) -> std::io::Result<(u16, Value)> {
    let head_end = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| invalid("no end of headers"))?;
    let head = std::str::from_utf8(&raw[..head_end]).map_err(|_| invalid("headers are not UTF-8"))?;
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let status: u16 = status_line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| invalid("bad status line"))?;
    let mut chunked = false;
    let mut length = None;
    for line in lines {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        let (name, value) = (name.trim().to_ascii_lowercase(), value.trim());
        if name == "transfer-encoding" && value.to_ascii_lowercase().contains("chunked") {
            chunked = true;
        } else if name == "content-length" {
            length = Some(value.parse::<usize>().map_err(|_| invalid("bad Content-Length"))?);
        }
    }
    let rest = &raw[head_end + 4..];
    let body = if chunked {
        dechunk(rest)?
    } else if let Some(n) = length {
        rest.get(..n).ok_or_else(|| invalid("truncated body"))?.to_vec()
    } else {
        rest.to_vec()
    };
    let text = String::from_utf8_lossy(&body);
    let value = if text.trim().is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or_else(|_| Value::String(text.into_owned()))
    };
    Ok((status, value))
}

fn dechunk(mut data: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut out = Vec::new();
    loop {
        let line_end = data
            .windows(2)
            .position(|w| w == b"\r\n")
            .ok_or_else(|| invalid("bad chunk header"))?;
        let size_text = std::str::from_utf8(&data[..line_end]).map_err(|_| invalid("bad chunk header"))?;
        let size_text = size_text.split(';').next().unwrap_or_default().trim();
        let size = usize::from_str_radix(size_text, 16).map_err(|_| invalid("bad chunk size"))?;
        data = &data[line_end + 2..];
        if size == 0 {
            return Ok(out);
        }
        let chunk = data.get(..size).ok_or_else(|| invalid("truncated chunk"))?;
        out.extend_from_slice(chunk);
        data = data.get(size + 2..).ok_or_else(|| invalid("truncated chunk"))?;
    }
}

async fn admin_post(server: &ServerHandle, path: &str, body: Value) -> std::io::Result<Value> {
    let c = server.config();
    let (_, v) = post(
        server.local_addr(),
        path,
        c.sdk_app_id,
        &c.admin_identifier,
        &server.admin_sig(),
        &body.to_string(),
    )
    .await?;
    Ok(v)
}

/// Kicks every instance of `user_id` (REST_API_Kick); returns the response JSON.
pub async fn kick(server: &ServerHandle, user_id: &str) -> std::io::Result<Value> {
    admin_post(server, crate::rest::KICK_PATH, json!({"UserID": user_id})).await
}

/// Online status of `users`, with per-instance platforms when `detail`.
pub async fn query_online_status(server: &ServerHandle, users: &[&str], detail: bool) -> std::io::Result<Value> {
    let body = json!({"To_Account": users, "IsNeedDetail": u8::from(detail)});
    admin_post(server, crate::rest::QUERY_ONLINE_STATUS_PATH, body).await
}

/// The online instances of `user_id` across the cluster (Natter endpoint).
pub async fn list_instances(server: &ServerHandle, user_id: &str) -> std::io::Result<Value> {
    admin_post(server, crate::rest::LIST_INSTANCES_PATH, json!({"UserID": user_id})).await
}

/// Kicks one instance of `user_id` wherever it is connected (Natter endpoint).
pub async fn kick_instance(server: &ServerHandle, user_id: &str, instance_id: &str) -> std::io::Result<Value> {
    let body = json!({"UserID": user_id, "InstanceID": instance_id});
    admin_post(server, crate::rest::KICK_INSTANCE_PATH, body).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_plain_responses() {
        let raw =
            b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 17\r\n\r\n{\"ErrorCode\":0}\r\n";
        let (status, v) = parse_response(raw).unwrap();
        assert_eq!(status, 200);
        assert_eq!(v, json!({"ErrorCode": 0}));
        let (status, v) = parse_response(b"HTTP/1.1 404 Not Found\r\nConnection: close\r\n\r\n{\"a\":1}").unwrap();
        assert_eq!((status, v), (404, json!({"a": 1})));
        let (status, v) = parse_response(b"HTTP/1.1 204 No Content\r\n\r\n").unwrap();
        assert_eq!((status, v), (204, Value::Null));
        let (_, v) = parse_response(b"HTTP/1.1 500 Oops\r\n\r\nnot json").unwrap();
        assert_eq!(v, Value::String("not json".into()));
    }

    #[test]
    fn parses_chunked_responses() {
        let raw =
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n7;ext=1\r\n{\"a\":[1\r\n5\r\n,2]}x\r\n0\r\n\r\n";
        let (status, v) = parse_response(raw).unwrap();
        assert_eq!(status, 200);
        assert_eq!(v, Value::String("{\"a\":[1,2]}x".into()));
        let raw = b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\nb\r\n{\"a\":[1,2]}\r\n0\r\n\r\n";
        assert_eq!(parse_response(raw).unwrap().1, json!({"a": [1, 2]}));
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        for raw in [
            &b""[..],
            b"HTTP/1.1",
            b"nonsense\r\n\r\n",
            b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\nzz\r\n",
        ] {
            assert!(parse_response(raw).is_err());
        }
        assert!(parse_response(b"HTTP/1.1 200 OK\r\ncontent-length: 99\r\n\r\n{}").is_err());
    }

    #[test]
    fn encodes_query_values() {
        assert_eq!(url_encode("a b&c=d"), "a%20b%26c%3Dd");
        assert_eq!(url_encode("eJw*-_"), "eJw*-_");
    }
}
