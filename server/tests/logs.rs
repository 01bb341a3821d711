//! What the real `natter-server` binary writes to stderr at debug level: no forged lines or raw
//! control bytes from client input (log injection), and no UserSig, secret key or HMAC (even at
//! trace level).

mod common;

use common::child::{login_reply, ChildServer};
use common::*;
use natter_server::{admin, usersig};
use serde_json::json;

const APP: u64 = natter_server::DEV_SDK_APP_ID;

fn now() -> i64 {
    now_ms() / 1000
}

/// Every line must look like a tracing line (timestamp first) and hold no control character.
fn assert_clean_lines(log: &[u8]) {
    let text = std::str::from_utf8(log).expect("log is UTF-8");
    for (i, line) in text.lines().enumerate() {
        let bad = line.chars().find(|c| c.is_control());
        assert!(bad.is_none(), "line {i} holds control character {bad:?}: {line:?}");
        let b = line.as_bytes();
        let stamped =
            b.len() > 11 && b[..4].iter().all(u8::is_ascii_digit) && b[4] == b'-' && b[7] == b'-' && b[10] == b'T';
        assert!(stamped, "line {i} does not start with a timestamp (forged?): {line:?}");
    }
    for raw in [0x1bu8, b'\r', 0, 0x7f, b'\t'] {
        assert!(!log.contains(&raw), "raw byte {raw:#04x} in the log");
    }
}

#[tokio::test]
async fn client_strings_cannot_forge_log_lines_or_write_control_bytes() {
    let server = ChildServer::start("log-injection", "max_failed_logins = 0\n", "debug");
    let url = server.ws_url();
    let forged_line = "2026-12-02T00:00:00.000000Z  INFO natter_server::ws: login ok peer=127.0.0.1:1 \
                       user=administrator instance=x platform=web resume=false";
    let users = [
        format!("bob\n{forged_line}"),
        format!("bob\r\n{forged_line}"),
        "\u{1b}[2J\u{1b}[31mred".to_owned(),
        "cr\rreturn".to_owned(),
        "nul\0byte".to_owned(),
        "tab\tdel\u{7f}c1\u{9b}".to_owned(),
        format!("{}\n{forged_line}", "x".repeat(4000)),
    ];
    let sig = usersig::generate(APP, natter_server::DEV_SECRET_KEY, "bob", 600, now()).unwrap();
    for (n, user) in users.iter().enumerate() {
        let frame = login_frame(n as u64, APP, user, &sig, "web", "i", false);
        let (mut ws, reply) = login_reply(&url, &frame).await;
        assert_eq!(reply["code"], 60003, "{reply}");
        assert_eq!(expect_close(&mut ws).await, 4002);
    }
    // A valid user with a hostile instance id, and a hostile REST UserID.
    let frame = login_frame(9, APP, "bob", &sig, "web", &format!("i\n{forged_line}\u{1b}[0m"), false);
    let (_ws, reply) = login_reply(&url, &frame).await;
    assert_eq!(reply["code"], 60003, "{reply}");
    let admin_sig = usersig::generate(APP, natter_server::DEV_SECRET_KEY, "administrator", 600, now()).unwrap();
    let body = json!({"UserID": format!("bob\n{forged_line}")}).to_string();
    let (_, r) = admin::post(
        server.addr,
        "/v4/im_open_login_svc/kick",
        APP,
        "administrator",
        &admin_sig,
        &body,
    )
    .await
    .unwrap();
    assert_eq!(r["ErrorCode"], 60003, "{r}");

    let log = server.stop();
    let text = String::from_utf8_lossy(&log);
    assert_eq!(text.matches("login refused peer=").count(), users.len() + 1, "{text}");
    // "login ok" may only show inside an escaped claimed_user value, never as a line of its own.
    for line in text.lines().filter(|l| l.contains("login ok")) {
        assert!(
            line.contains("login refused peer=") && line.contains("claimed_user=bob\\"),
            "forged: {line}"
        );
    }
    assert!(!text.contains("REST kick"), "{text}");
    assert_clean_lines(&log);
}

#[tokio::test]
async fn no_usersig_secret_key_or_hmac_reaches_the_log() {
    let key = "log-test-secret-key-3f9a1c7e5b2d";
    // Trace level on every crate: stricter than the debug level operators are told to use.
    let server = ChildServer::start("log-secrets", &format!("secret_key = \"{key}\"\n"), "trace");
    let url = server.ws_url();
    let mint = |user: &str, key: &str, expire: u64, at: i64| usersig::generate(APP, key, user, expire, at).unwrap();
    let alice = mint("alice", key, 600, now());
    let bob = mint("bob", key, 600, now());
    let admin_ok = mint("administrator", key, 600, now());
    let wrong_key = mint("alice", "not-the-key", 600, now());
    let expired = mint("alice", key, 10, now() - 100);
    let admin_wrong_key = mint("administrator", "not-the-key", 600, now());
    let admin_expired = mint("administrator", key, 10, now() - 100);
    let sigs = [
        &alice,
        &bob,
        &admin_ok,
        &wrong_key,
        &expired,
        &admin_wrong_key,
        &admin_expired,
    ];

    // Logins ok, ping, logout.
    let (mut ws, ok) = login_reply(&url, &login_frame(1, APP, "alice", &alice, "web", "a1", false)).await;
    assert_eq!(ok["type"], "loginOk", "{ok}");
    ping(&mut ws, 2).await;
    send(&mut ws, &json!({"type": "logout", "id": 3}).to_string()).await;
    assert_eq!(next_frame(&mut ws).await["type"], "logoutOk");
    let (mut bob_ws, ok) = login_reply(&url, &login_frame(1, APP, "bob", &bob, "android", "b1", false)).await;
    assert_eq!(ok["type"], "loginOk", "{ok}");
    // Refused logins.
    for (sig, user, code) in [
        (&wrong_key, "alice", 70009),
        (&expired, "alice", 70001),
        (&bob, "alice", 70013),
    ] {
        let (_ws, reply) = login_reply(&url, &login_frame(1, APP, user, sig, "web", "a2", false)).await;
        assert_eq!(reply["code"], code, "{reply}");
    }
    // REST with good and bad admin sigs; a kick.
    let post = |sig: String, path: &'static str, body: String| {
        let addr = server.addr;
        async move {
            admin::post(addr, path, APP, "administrator", &sig, &body)
                .await
                .unwrap()
                .1
        }
    };
    let query = "/v4/openim/query_online_status";
    let kick = "/v4/im_open_login_svc/kick";
    let r = post(admin_ok.clone(), query, json!({"To_Account": ["bob"]}).to_string()).await;
    assert_eq!(r["QueryResult"][0]["Status"], "Online", "{r}");
    for (sig, code) in [(&admin_wrong_key, 70009), (&admin_expired, 70001), (&alice, 70013)] {
        let r = post(sig.to_string(), kick, json!({"UserID": "bob"}).to_string()).await;
        assert_eq!(r["ErrorCode"], code, "{r}");
    }
    let r = post(admin_ok.clone(), kick, json!({"UserID": "bob"}).to_string()).await;
    assert_eq!(r["ErrorCode"], 0, "{r}");
    assert_eq!(next_frame(&mut bob_ws).await["type"], "kicked");
    assert_eq!(expect_close(&mut bob_ws).await, 4001);

    let log = server.stop();
    let text = String::from_utf8_lossy(&log);
    for needle in [
        "login ok",
        "login refused",
        "REST kick",
        "logout",
        "REST call refused",
        "DEBUG",
    ] {
        assert!(
            text.contains(needle),
            "the log should show {needle:?} (is debug on?):\n{text}"
        );
    }
    assert!(!text.contains(key), "secret key in the log");
    assert!(!text.contains("not-the-key"), "a secret key in the log");
    for sig in sigs {
        let hmac = usersig::decode(sig).unwrap()["TLS.sig"].as_str().unwrap().to_owned();
        for secret in [sig.as_str(), &sig[..24], hmac.as_str(), &hmac[..16]] {
            assert!(!text.contains(secret), "{secret:?} in the log:\n{text}");
        }
    }
}
