//! The admin REST API (`server/src/rest.rs`) driven in-process through the real router with
//! `tower::ServiceExt::oneshot` (`natter_server::fuzzing::RestHarness`).
//!
//! Input: a request line `METHOD URI`, a newline, then the body bytes. `$ADMIN_SIG` in the URI
//! stands for a valid admin UserSig of the server (so the fuzzer gets past authentication), e.g.
//! `POST /v4/im_open_login_svc/kick?sdkappid=1400000001&identifier=administrator&usersig=$ADMIN_SIG`.
//!
//! Properties: no panic; every answer outside `/ws` is JSON `{ActionStatus, ErrorCode, ErrorInfo}`
//! (content type `application/json`) with `ActionStatus` "OK" exactly when `ErrorCode` is 0; a
//! refusal carries one of the codes docs/operations.md lists; an OK kick took exactly that user
//! offline, anything else nobody; an OK query answers one entry per account asked, in order, with
//! the right status.
#![no_main]

use libfuzzer_sys::fuzz_target;
use natter_server::fuzzing::{RestHarness, ONLINE_USERS};
use natter_server::ServerConfig;
use serde_json::Value;
use std::sync::OnceLock;

const KICK: &str = "/v4/im_open_login_svc/kick";
const QUERY: &str = "/v4/openim/query_online_status";
/// The WebSocket upgrade paths: Natter's `/ws` and `/`, the vendor SDK's `/binfo` and `/info`.
const UPGRADE_PATHS: [&str; 4] = ["/ws", "/", "/binfo", "/info"];
/// Codes of docs/operations.md for REST answers (0 is OK).
const CODES: [i64; 12] = [
    0, 60002, 60003, 60006, 60009, 60010, 70001, 70002, 70003, 70009, 70013, 70014,
];

fn harness() -> &'static (RestHarness, String) {
    static H: OnceLock<(RestHarness, String)> = OnceLock::new();
    H.get_or_init(|| {
        let h = RestHarness::new(ServerConfig::default());
        let sig = h.admin_sig();
        (h, sig)
    })
}

fuzz_target!(|data: &[u8]| {
    let (h, admin_sig) = harness();
    let (line, body) = match data.iter().position(|b| *b == b'\n') {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &[][..]),
    };
    let Ok(line) = std::str::from_utf8(line) else { return };
    let Some((method, uri)) = line.split_once(' ') else {
        return;
    };
    let uri = uri.replace("$ADMIN_SIG", admin_sig);
    let path = uri.split(['?', '#']).next().unwrap_or_default();
    let query = &uri[path.len()..];
    let body = body.to_vec();
    let Some(answer) = h.call(method, &uri, body.clone()) else {
        return;
    };
    if UPGRADE_PATHS.contains(&path) && (method == "GET" || method == "HEAD") {
        // Not REST: the upgrade endpoints (a plain GET without the upgrade headers is refused by
        // axum). Every other method there gets the coded JSON answer checked below.
        assert!(answer.status >= 400, "{answer:?}");
        return;
    }
    let v: Value = serde_json::from_slice(&answer.body)
        .unwrap_or_else(|e| panic!("{method} {path}{query}: non-JSON answer ({e}): {answer:?}"));
    assert_eq!(answer.content_type.as_deref(), Some("application/json"), "{answer:?}");
    let status = v["ActionStatus"].as_str().expect("ActionStatus is a string");
    let code = v["ErrorCode"].as_i64().expect("ErrorCode is a number");
    assert!(v["ErrorInfo"].is_string(), "{v}");
    assert_eq!(status == "OK", code == 0, "{v}");
    assert!(status == "OK" || status == "FAIL", "{v}");
    assert!(CODES.contains(&code), "undocumented code {code}: {v}");
    // The HTTP status column of docs/operations.md.
    let http = if code == 60009 {
        [404, 405].as_slice()
    } else {
        [200].as_slice()
    };
    assert!(
        http.contains(&answer.status),
        "HTTP {} with code {code}: {v}",
        answer.status
    );
    if code == 0 {
        assert_eq!(answer.status, 200);
        let sent: Value = serde_json::from_slice(&body).expect("an OK call had a JSON body");
        if path == KICK {
            let user = sent["UserID"].as_str().expect("UserID string");
            assert!(!user.is_empty(), "{sent}");
            let expected: Vec<&str> = ONLINE_USERS.iter().map(|(u, _)| *u).filter(|u| *u != user).collect();
            assert_eq!(answer.online_after, expected, "kick of {user:?}");
            return;
        } else if path == QUERY {
            let asked = sent["To_Account"].as_array().expect("To_Account array").len();
            let results = v["QueryResult"].as_array().expect("QueryResult array");
            assert_eq!(results.len(), asked, "{v}");
            for (r, a) in results.iter().zip(sent["To_Account"].as_array().unwrap()) {
                assert_eq!(&r["To_Account"], a);
                let online = ONLINE_USERS.iter().any(|(u, _)| Some(*u) == a.as_str());
                assert_eq!(r["Status"], if online { "Online" } else { "Offline" }, "{v}");
            }
        } else {
            panic!("OK answer on an unknown path {path}: {v}");
        }
    }
    // Nothing but an OK kick takes anyone offline.
    let everyone: Vec<&str> = ONLINE_USERS.iter().map(|(u, _)| *u).collect();
    assert_eq!(answer.online_after, everyone, "{v}");
});
