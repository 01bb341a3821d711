//! Regression tests for the holes of issue 7 that an in-process server can show: forged UserSigs
//! through field injection, identifiers outside the rule, the (source, user) throttle and the
//! bounded kick memory. Real sockets on 127.0.0.1.

mod common;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use common::*;
use hmac::{Hmac, Mac};
use natter_server::{admin, usersig, ServerConfig, ServerHandle};
use serde_json::{json, Value};
use sha2::Sha256;

const APP: u64 = natter_server::DEV_SDK_APP_ID;
const KEY: &str = natter_server::DEV_SECRET_KEY;
const KICK: &str = "/v4/im_open_login_svc/kick";
const QUERY: &str = "/v4/openim/query_online_status";

/// The signature exactly as the pre-fix server computed it: `TLS.<field>:<value>\n` lines, with
/// no check on what the values hold.
fn old_signature(identifier: &str, time: i64, expire: u64, userbuf: Option<&str>) -> String {
    let mut content =
        format!("TLS.identifier:{identifier}\nTLS.sdkappid:{APP}\nTLS.time:{time}\nTLS.expire:{expire}\n");
    if let Some(b) = userbuf {
        content.push_str(&format!("TLS.userbuf:{b}\n"));
    }
    let mut mac = Hmac::<Sha256>::new_from_slice(KEY.as_bytes()).unwrap();
    mac.update(content.as_bytes());
    STANDARD.encode(mac.finalize().into_bytes())
}

/// What the attacker does: get a sig for the injected id (from a backend that mints for any
/// id, as the old server did), then re-pack its fields as a never-expiring administrator sig.
fn forged_admin_sig(now: i64) -> (String, String) {
    let injected = format!("administrator\nTLS.sdkappid:{APP}\nTLS.time:0\nTLS.expire:99999999999\nTLS.userbuf:X");
    let expire = 600;
    let sig = old_signature(&injected, now, expire, None);
    let minted = usersig::encode(
        &json!({"TLS.ver": "2.0", "TLS.identifier": injected, "TLS.sdkappid": APP,
                              "TLS.time": now, "TLS.expire": expire, "TLS.sig": sig}),
    );
    let userbuf = format!("X\nTLS.sdkappid:{APP}\nTLS.time:{now}\nTLS.expire:{expire}");
    // The forgery is real: the re-packed fields sign to the very same text.
    assert_eq!(old_signature("administrator", 0, 99_999_999_999, Some(&userbuf)), sig);
    let forged = usersig::encode(
        &json!({"TLS.ver": "2.0", "TLS.identifier": "administrator", "TLS.sdkappid": APP,
                              "TLS.time": 0, "TLS.expire": 99_999_999_999u64, "TLS.userbuf": userbuf, "TLS.sig": sig}),
    );
    (minted, forged)
}

/// Sends a login and returns the error code; asserts the refusal is followed by close 4002.
async fn refused_code(s: &ServerHandle, frame: &str) -> i64 {
    let mut ws = connect(s).await;
    send(&mut ws, frame).await;
    let reply = next_frame(&mut ws).await;
    assert_eq!(reply["type"], "error", "{reply}");
    assert_eq!(expect_close(&mut ws).await, 4002);
    reply["code"].as_i64().unwrap()
}

fn login(id: u64, user: &str, sig: &str, instance: &str) -> String {
    login_frame(id, APP, user, sig, "web", instance, false)
}

async fn admin_call(s: &ServerHandle, path: &str, sig: &str, body: &str) -> Value {
    admin::post(s.local_addr(), path, APP, "administrator", sig, body)
        .await
        .unwrap()
        .1
}

#[tokio::test]
async fn forged_admin_usersig_is_refused_on_ws_and_rest() {
    let s = server(ServerConfig {
        max_failed_logins: 0,
        ..config()
    })
    .await;
    let now = s.server_time_ms() / 1000;
    let (minted, forged) = forged_admin_sig(now);
    assert!(s.try_user_sig("administrator\nTLS.time:0", 60).is_err());

    assert_eq!(refused_code(&s, &login(1, "administrator", &forged, "i1")).await, 70003);
    let mut victim = common::login(&s, "alice", "web", "v").await;
    let r = admin_call(&s, KICK, &forged, r#"{"UserID":"alice"}"#).await;
    assert_eq!(
        (r["ActionStatus"].as_str(), r["ErrorCode"].as_i64()),
        (Some("FAIL"), Some(70003)),
        "{r}"
    );
    ping(&mut victim, 2).await;
    // The sig for the injected id itself is no good either, under either name.
    let injected = format!("administrator\nTLS.sdkappid:{APP}\nTLS.time:0\nTLS.expire:99999999999\nTLS.userbuf:X");
    assert_eq!(refused_code(&s, &login(3, &injected, &minted, "i3")).await, 60003);
    assert_eq!(refused_code(&s, &login(4, "administrator", &minted, "i4")).await, 70003);
    // The real admin sig still works.
    let r = admin_call(&s, KICK, &s.admin_sig(), r#"{"UserID":"alice"}"#).await;
    assert_eq!(r["ErrorCode"], 0, "{r}");
}

#[tokio::test]
async fn usersigs_with_extra_fields_other_versions_or_future_time_are_refused() {
    let s = server(ServerConfig {
        max_failed_logins: 0,
        usersig_max_future_secs: 60,
        ..config()
    })
    .await;
    let now = s.server_time_ms() / 1000;
    let doc = |extra: Value, time: i64| {
        let mut d = json!({"TLS.ver": "2.0", "TLS.identifier": "alice", "TLS.sdkappid": APP, "TLS.time": time,
                           "TLS.expire": 600, "TLS.sig": old_signature("alice", time, 600, None)});
        for (k, v) in extra.as_object().unwrap() {
            d[k] = v.clone();
        }
        usersig::encode(&d)
    };
    let mut ok = connect(&s).await;
    send(&mut ok, &login(1, "alice", &doc(json!({}), now + 59), "a")).await;
    assert_eq!(next_frame(&mut ok).await["type"], "loginOk");
    for (n, sig) in [
        doc(json!({"TLS.admin": 1}), now),
        doc(json!({"TLS.ver": "1.0"}), now),
        doc(json!({}), now + 61),
    ]
    .iter()
    .enumerate()
    {
        assert_eq!(refused_code(&s, &login(2, "alice", sig, &format!("b{n}"))).await, 70003);
    }
}

#[tokio::test]
async fn ids_outside_the_rule_are_refused_with_60003() {
    let s = server(ServerConfig {
        max_failed_logins: 0,
        ..config()
    })
    .await;
    let sig = s.user_sig("alice", 600);
    for user in ["", "alice\n", "a b", "\u{1b}[31malice", &"a".repeat(33)] {
        assert_eq!(refused_code(&s, &login(1, user, &sig, "i")).await, 60003, "{user:?}");
    }
    for instance in ["", "i\r\n", "é", &"f".repeat(65), &"f".repeat(16 * 1024 - 400)] {
        assert_eq!(refused_code(&s, &login(1, "alice", &sig, instance)).await, 60003);
    }
    let mut ws = connect(&s).await;
    send(&mut ws, &login(1, "alice", &sig, &"f".repeat(64))).await;
    assert_eq!(next_frame(&mut ws).await["type"], "loginOk");

    let admin = s.admin_sig();
    for body in [
        r#"{"UserID":"a\nb"}"#,
        r#"{"UserID":""}"#,
        &format!(r#"{{"UserID":"{}"}}"#, "x".repeat(33)),
    ] {
        let r = admin_call(&s, KICK, &admin, body).await;
        assert_eq!(r["ErrorCode"], 60003, "{body}: {r}");
    }
    let r = admin_call(&s, QUERY, &admin, r#"{"To_Account":["alice","bad id"]}"#).await;
    assert_eq!(r["ErrorCode"], 60003, "{r}");
    let r = admin_call(&s, QUERY, &admin, r#"{"To_Account":["alice"]}"#).await;
    assert_eq!(r["QueryResult"][0]["Status"], "Online", "{r}");
}

#[tokio::test]
async fn a_throttled_user_does_not_lock_out_others_behind_the_same_address() {
    let s = server(ServerConfig {
        max_failed_logins: 3,
        ..config()
    })
    .await;
    let bad = usersig::generate(APP, "wrong-key", "alice", 600, s.server_time_ms() / 1000).unwrap();
    for _ in 0..3 {
        assert_eq!(refused_code(&s, &login(1, "alice", &bad, "a")).await, 70009);
    }
    let good = s.user_sig("alice", 600);
    assert_eq!(refused_code(&s, &login(1, "alice", &good, "a")).await, 70050);
    // bob comes from the same 127.0.0.1 and is served.
    common::login(&s, "bob", "web", "b").await;
}

#[tokio::test]
async fn a_source_spraying_user_ids_hits_the_per_source_ceiling() {
    let s = server(ServerConfig {
        max_failed_logins: 3,
        max_failed_logins_per_source: 6,
        ..config()
    })
    .await;
    let now = s.server_time_ms() / 1000;
    for i in 0..6 {
        let user = format!("user{i}");
        let bad = usersig::generate(APP, "wrong-key", &user, 600, now).unwrap();
        assert_eq!(refused_code(&s, &login(1, &user, &bad, "a")).await, 70009);
    }
    let good = s.user_sig("victim", 600);
    assert_eq!(refused_code(&s, &login(1, "victim", &good, "v")).await, 70050);
}

#[tokio::test]
async fn kick_memory_stays_at_its_bounds_under_many_kicked_logins() {
    let per_user = 4;
    let total = 20;
    let s = server(ServerConfig {
        kick_memory_per_user: per_user,
        kick_memory_total: total,
        ..config()
    })
    .await;
    // Each fresh web login of a user kicks the previous web instance, which is remembered.
    let users = 10;
    let per = 10;
    let mut last = None;
    for u in 0..users {
        for i in 0..per {
            let ws = common::login(&s, &format!("u{u}"), "web", &format!("i{i}")).await;
            last = Some(ws);
            assert!(s.remembered_kicks().await <= total);
        }
    }
    assert_eq!(s.remembered_kicks().await, total);
    // The newest kicks are the ones kept: a resume of the last kicked instance is still refused.
    let (mut ws, reply) = login_with(&s, &format!("u{}", users - 1), "web", &format!("i{}", per - 2), true).await;
    assert_eq!(reply["type"], "kicked", "{reply}");
    assert_eq!(expect_close(&mut ws).await, 4001);
    drop(last);
}
