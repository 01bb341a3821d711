//! Entry points for the fuzz targets in `fuzz/`. Hidden from the docs and not a stable API: they
//! exist so the targets exercise the very code the server runs (the frame parser, the router)
//! without sockets.

use crate::directory::Admission;
use crate::state::{ConnInfo, Shared};
use crate::vendor::{a2key, envelope};
use crate::{router, usersig, ws, ServerConfig};
use axum::body::{to_bytes, Body};
use axum::http::{Method, Request, Uri};
use natter_protocol::{ClientFrame, Platform};
use serde_json::Value;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use tower::ServiceExt;

/// The first-head scanner and the upgrade check the listener runs on every new connection's
/// bytes before hyper (`request_head`).
pub use crate::request_head::{websocket_upgrade, HeadRead, HeadScanner, Upgrade};

/// Why [`parse_client_frame`] refused a text frame (the server answers both with `error` 60008).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FrameRejection {
    NotJson,
    /// JSON, but not a frame; carries the `id` the server echoes in its error frame.
    Malformed(Option<u64>),
}

/// The server's parser for client text frames (`ws::parse`).
pub fn parse_client_frame(text: &str) -> Result<ClientFrame, FrameRejection> {
    ws::parse(text).map_err(|bad| match bad {
        ws::Bad::NotJson => FrameRejection::NotJson,
        ws::Bad::Malformed(id) => FrameRejection::Malformed(id),
    })
}

/// The head fields the vendor endpoint (`/binfo`, `/info`) reads from one of the vendor SDK's
/// frames, with the two replies it could send to it.
#[derive(Debug, Clone)]
pub struct VendorFrame {
    pub servcmd: String,
    pub seq: Value,
    pub sdk_app_id: Option<u64>,
    pub identifier: Option<String>,
    pub usersig: Option<String>,
    pub a2: Option<String>,
    /// `ok` with one extra body field (`TinyId`), as a login answer carries.
    pub ok_reply: String,
    /// `fail` with code 60009, as an unknown command is answered.
    pub fail_reply: String,
}

/// The vendor endpoint's envelope parser (`vendor::envelope::parse`) and reply builders; `None`
/// for a frame the endpoint drops (not JSON, or no head with a `servcmd` and a `seq`).
pub fn parse_vendor_frame(bytes: &[u8]) -> Option<VendorFrame> {
    let r = envelope::parse(bytes).ok()?;
    Some(VendorFrame {
        ok_reply: envelope::ok(&r, serde_json::json!({"TinyId": "1"})),
        fail_reply: envelope::fail(&r, natter_protocol::code::UNKNOWN_API, "unknown command", Value::Null),
        servcmd: r.servcmd,
        seq: r.seq,
        sdk_app_id: r.sdk_app_id,
        identifier: r.identifier,
        usersig: r.usersig,
        a2: r.a2,
    })
}

/// `vendor::a2key::issue`: the A2Key the endpoint hands out after a login.
pub fn issue_a2key(key: &str, sdk_app_id: u64, user_id: &str, instance_id: &str, expires_at: i64) -> String {
    a2key::issue(key, sdk_app_id, user_id, instance_id, expires_at)
}

/// `vendor::a2key::verify`: the user and expiry of a valid A2Key, or the vendor code it is
/// refused with (70001 expired, 70003 invalid).
pub fn verify_a2key(
    key: &str,
    token: &str,
    sdk_app_id: u64,
    instance_id: &str,
    now: i64,
) -> Result<(String, i64), i32> {
    a2key::verify(key, token, sdk_app_id, instance_id, now)
        .map(|t| (t.user_id, t.expires_at))
        .map_err(|e| e.code())
}

/// An HTTP answer of the router.
#[derive(Debug, Clone)]
pub struct RestAnswer {
    pub status: u16,
    pub content_type: Option<String>,
    pub body: Vec<u8>,
    /// Which of [`ONLINE_USERS`] were still online after the call.
    pub online_after: Vec<&'static str>,
}

/// Users [`RestHarness::call`] puts online before each request, so kicks and queries find someone.
pub const ONLINE_USERS: [(&str, Platform); 3] = [
    ("alice", Platform::Web),
    ("bob", Platform::Android),
    ("carol", Platform::Mac),
];

/// Drives the server's router in-process: every call gets a fresh server state (so runs are
/// deterministic) with [`ONLINE_USERS`] logged in, and one request through `oneshot`.
pub struct RestHarness {
    config: ServerConfig,
    runtime: tokio::runtime::Runtime,
}

impl RestHarness {
    pub fn new(config: ServerConfig) -> Self {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a current-thread runtime builds");
        RestHarness { config, runtime }
    }

    pub fn config(&self) -> &ServerConfig {
        &self.config
    }

    /// A valid admin UserSig for this server's config (one day).
    pub fn admin_sig(&self) -> String {
        let c = &self.config;
        let now = Shared::new(c.clone()).now_unix();
        usersig::generate(c.sdk_app_id, &c.secret_key, &c.admin_identifier, 86_400, now)
            .expect("the configured admin identifier follows the identifier rule")
    }

    /// `None` when `method` or `uri` could not be on an HTTP request line at all.
    pub fn call(&self, method: &str, uri: &str, body: Vec<u8>) -> Option<RestAnswer> {
        let method = Method::from_bytes(method.as_bytes()).ok()?;
        let uri = Uri::try_from(uri).ok()?;
        let shared = Shared::new(self.config.clone());
        let mut sessions = Vec::new();
        for (user, platform) in ONLINE_USERS {
            let (tx, rx) = crate::local_sessions::control_channel();
            let admission = std::sync::Arc::new(Admission {
                user_id: user.to_owned(),
                instance_id: user.to_owned(),
                platform,
                resume: false,
                conn: shared.sessions.next_conn(),
                connected_at_ms: shared.now_ms(),
                client_version: "fuzz".to_owned(),
            });
            shared.sessions.insert(std::sync::Arc::clone(&admission), tx);
            self.runtime.block_on(shared.directory.admit(&admission)).ok()?;
            sessions.push(rx);
        }
        let peer = SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 40000);
        let slot = shared.limits.try_acquire(peer.ip()).ok()?;
        let mut request = Request::builder().method(method).uri(uri).body(Body::from(body)).ok()?;
        // What `serve_connection` adds to every request.
        request.extensions_mut().insert(ConnInfo {
            peer,
            accepted: tokio::time::Instant::now(),
            _slot: Arc::new(slot),
        });
        let router = router::router(Arc::clone(&shared));
        let answer = self.runtime.block_on(async move {
            let response = router.oneshot(request).await.unwrap_or_else(|never| match never {});
            let status = response.status().as_u16();
            let content_type = response
                .headers()
                .get(axum::http::header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned);
            let body = to_bytes(response.into_body(), usize::MAX)
                .await
                .map(|b| b.to_vec())
                .unwrap_or_default();
            (status, content_type, body)
        });
        let (status, content_type, body) = answer;
        let online_after = ONLINE_USERS
            .iter()
            .map(|(user, _)| *user)
            .filter(|user| {
                self.runtime
                    .block_on(shared.directory.instances(user))
                    .is_ok_and(|i| !i.is_empty())
            })
            .collect();
        shared.shut_down();
        drop(sessions);
        Some(RestAnswer {
            status,
            content_type,
            body,
            online_after,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rest;

    fn admin_query(h: &RestHarness) -> String {
        format!(
            "sdkappid={}&identifier={}&usersig={}",
            h.config().sdk_app_id,
            h.config().admin_identifier,
            h.admin_sig()
        )
    }

    #[test]
    fn the_harness_reaches_the_handlers_with_users_online() {
        let h = RestHarness::new(ServerConfig::default());
        let q = admin_query(&h);
        let kick = h
            .call(
                "POST",
                &format!("{}?{q}", rest::KICK_PATH),
                br#"{"UserID":"alice"}"#.to_vec(),
            )
            .unwrap();
        let v: Value = serde_json::from_slice(&kick.body).unwrap();
        assert_eq!((kick.status, v["ErrorCode"].as_i64()), (200, Some(0)), "{v}");
        assert_eq!(kick.online_after, ["bob", "carol"]);
        let body = br#"{"To_Account":["alice","zed"]}"#.to_vec();
        let query = h
            .call("POST", &format!("{}?{q}", rest::QUERY_ONLINE_STATUS_PATH), body)
            .unwrap();
        let v: Value = serde_json::from_slice(&query.body).unwrap();
        assert_eq!(v["QueryResult"][0]["Status"], "Online", "{v}");
        assert_eq!(v["QueryResult"][1]["Status"], "Offline", "{v}");
        assert_eq!(query.online_after, ["alice", "bob", "carol"]);
        let refused = h.call("POST", rest::KICK_PATH, Vec::new()).unwrap();
        let v: Value = serde_json::from_slice(&refused.body).unwrap();
        assert_eq!(v["ErrorCode"], 60002);
        assert!(h.call("BAD METHOD", "/", Vec::new()).is_none());
    }

    #[test]
    fn the_frame_parser_reports_the_id_of_a_malformed_frame() {
        assert_eq!(
            parse_client_frame(r#"{"type":"login","id":4}"#),
            Err(FrameRejection::Malformed(Some(4)))
        );
        assert_eq!(parse_client_frame("{"), Err(FrameRejection::NotJson));
        assert_eq!(
            parse_client_frame(r#"{"type":"ping","id":7}"#),
            Ok(ClientFrame::Ping { id: 7 })
        );
    }
}
