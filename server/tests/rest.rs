//! The admin REST API over real sockets.

mod common;

use common::*;
use natter_server::admin;
use natter_server::{usersig, ServerHandle};
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const KICK: &str = "/v4/im_open_login_svc/kick";
const QUERY: &str = "/v4/openim/query_online_status";

async fn admin_post(s: &ServerHandle, path: &str, body: &str) -> (u16, Value) {
    let c = s.config();
    admin::post(
        s.local_addr(),
        path,
        c.sdk_app_id,
        &c.admin_identifier,
        &s.admin_sig(),
        body,
    )
    .await
    .unwrap()
}

/// Sends a raw HTTP request and parses the response.
async fn raw(s: &ServerHandle, request: &str) -> (u16, Value) {
    let mut stream = TcpStream::connect(s.local_addr()).await.unwrap();
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut out = Vec::new();
    tokio::time::timeout(WAIT, stream.read_to_end(&mut out))
        .await
        .unwrap()
        .unwrap();
    admin::parse_response(&out).unwrap()
}

fn fail(resp: &(u16, Value)) -> (u16, i64) {
    assert_eq!(resp.1["ActionStatus"], "FAIL", "{:?}", resp);
    assert!(!resp.1["ErrorInfo"].as_str().unwrap().is_empty());
    (resp.0, resp.1["ErrorCode"].as_i64().unwrap())
}

async fn still_serving(s: &ServerHandle) {
    let q = admin::query_online_status(s, &["nobody"], false).await.unwrap();
    assert_eq!(q["ActionStatus"], "OK", "{q}");
}

async fn kick_ends_every_instance_and_is_remembered_for_resume() {
    let s = server(config()).await;
    let mut web = login(&s, "alice", "web", "w").await;
    let mut phone = login(&s, "alice", "android", "p").await;
    let mut bob = login(&s, "bob", "web", "b").await;
    let r = admin::kick(&s, "alice").await.unwrap();
    assert_eq!(r, json!({"ActionStatus": "OK", "ErrorCode": 0, "ErrorInfo": ""}));
    for ws in [&mut web, &mut phone] {
        assert_eq!(
            next_frame(ws).await,
            json!({"type": "kicked", "kickType": "REST_API_Kick"})
        );
        assert_eq!(expect_close(ws).await, 4001);
    }
    ping(&mut bob, 1).await;
    let (mut again, reply) = login_with(&s, "alice", "web", "w", true).await;
    assert_eq!(reply, json!({"type": "kicked", "kickType": "REST_API_Kick"}));
    assert_eq!(expect_close(&mut again).await, 4001);
    login(&s, "alice", "web", "w").await;
    // Kicking an offline user is fine.
    assert_eq!(admin::kick(&s, "nobody").await.unwrap()["ErrorCode"], 0);
}

async fn every_platform_has_its_vendor_name() {
    let s = server(config()).await;
    let mut sockets = Vec::new();
    for p in ["web", "android", "ios", "ipad", "windows", "mac", "linux"] {
        sockets.push(login(&s, "plat", p, p).await);
    }
    let q = admin::query_online_status(&s, &["plat"], true).await.unwrap();
    let names: Vec<&str> = q["QueryResult"][0]["Detail"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["Platform"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Web", "Android", "iPhone", "iPad", "PC", "Mac", "PC"]);
}

async fn list_instances_and_kick_one_instance() {
    let s = server(config()).await;
    let before = now_ms();
    let mut web = login(&s, "carl", "web", "w1").await;
    let mut phone = login(&s, "carl", "android", "p1").await;
    let r = admin::list_instances(&s, "carl").await.unwrap();
    assert_eq!(r["ActionStatus"], "OK", "{r}");
    let list = r["Instances"].as_array().unwrap();
    assert_eq!(list.len(), 2, "{r}");
    assert_eq!(
        (list[0]["InstanceID"].as_str(), list[0]["Platform"].as_str()),
        (Some("w1"), Some("Web"))
    );
    assert_eq!(
        (list[1]["InstanceID"].as_str(), list[1]["Platform"].as_str()),
        (Some("p1"), Some("Android"))
    );
    for i in list {
        assert_eq!(i["Node"], s.node_id(), "{i}");
        assert_eq!(i["ClientVersion"], "natter-protocol/1");
        let at = i["ConnectedAt"].as_i64().unwrap();
        assert!(at >= before - 1000 && at <= now_ms() + 1000, "{i}");
    }
    let r = admin::kick_instance(&s, "carl", "p1").await.unwrap();
    assert_eq!(
        (r["ErrorCode"].as_i64(), r["Kicked"].as_i64()),
        (Some(0), Some(1)),
        "{r}"
    );
    assert_eq!(
        next_frame(&mut phone).await,
        json!({"type": "kicked", "kickType": "REST_API_Kick"})
    );
    assert_eq!(expect_close(&mut phone).await, 4001);
    ping(&mut web, 1).await;
    let r = admin::list_instances(&s, "carl").await.unwrap();
    assert_eq!(r["Instances"].as_array().unwrap().len(), 1, "{r}");
    // Its resume is refused like after any kick; an instance not online is a 0, not an error.
    let (mut again, reply) = login_with(&s, "carl", "android", "p1", true).await;
    assert_eq!(reply, json!({"type": "kicked", "kickType": "REST_API_Kick"}));
    assert_eq!(expect_close(&mut again).await, 4001);
    let r = admin::kick_instance(&s, "carl", "p1").await.unwrap();
    assert_eq!(
        (r["ErrorCode"].as_i64(), r["Kicked"].as_i64()),
        (Some(0), Some(0)),
        "{r}"
    );
    let r = admin::list_instances(&s, "nobody").await.unwrap();
    assert_eq!(r["Instances"], json!([]));
    let (_, r) = admin_post(&s, "/v4/natter/kick_instance", r#"{"UserID":"carl"}"#).await;
    assert_eq!(fail(&(200, r)), (200, 60003));
    let (_, r) = admin_post(&s, "/v4/natter/list_instances", r#"{"UserID":"bad id"}"#).await;
    assert_eq!(fail(&(200, r)), (200, 60003));
}

async fn query_online_status_with_and_without_detail() {
    let s = server(config()).await;
    let _w = login(&s, "alice", "web", "w").await;
    let _i = login(&s, "alice", "ios", "i").await;
    let q = admin::query_online_status(&s, &["alice", "bob"], false).await.unwrap();
    assert_eq!(
        q,
        json!({"ActionStatus": "OK", "ErrorCode": 0, "ErrorInfo": "", "QueryResult": [
            {"To_Account": "alice", "Status": "Online"},
            {"To_Account": "bob", "Status": "Offline"},
        ]})
    );
    let q = admin::query_online_status(&s, &["alice", "bob"], true).await.unwrap();
    assert_eq!(
        q["QueryResult"][0]["Detail"],
        json!([{"Platform": "Web", "Status": "Online"}, {"Platform": "iPhone", "Status": "Online"}])
    );
    assert_eq!(q["QueryResult"][1]["Status"], "Offline");
    assert_eq!(q["QueryResult"][1]["Detail"], json!([]));
    let (status, q) = admin_post(&s, QUERY, r#"{"To_Account":[]}"#).await;
    assert_eq!((status, q["QueryResult"].clone()), (200, json!([])));
}

async fn auth_errors_are_coded() {
    let s = server(config()).await;
    let addr = s.local_addr();
    let app = s.config().sdk_app_id;
    let sig = s.admin_sig();
    let now = s.server_time_ms() / 1000;
    let key = natter_server::DEV_SECRET_KEY;
    let body = r#"{"UserID":"alice"}"#;
    let post = |path: String| {
        format!(
            "POST {path} HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
    };

    assert_eq!(fail(&raw(&s, &post(KICK.into())).await), (200, 60002));
    assert_eq!(
        fail(&raw(&s, &post(format!("{KICK}?sdkappid={app}&identifier=administrator"))).await),
        (200, 60002)
    );
    assert_eq!(
        fail(
            &admin::post(addr, KICK, app + 1, "administrator", &sig, body)
                .await
                .unwrap()
        ),
        (200, 60006)
    );
    assert_eq!(
        fail(
            &raw(
                &s,
                &post(format!("{KICK}?sdkappid=abc&identifier=administrator&usersig={sig}"))
            )
            .await
        ),
        (200, 60006)
    );
    assert_eq!(
        fail(
            &admin::post(addr, KICK, app, "alice", &s.user_sig("alice", 60), body)
                .await
                .unwrap()
        ),
        (200, 60010)
    );
    assert_eq!(
        fail(
            &admin::post(addr, KICK, app, "administrator", "garbage", body)
                .await
                .unwrap()
        ),
        (200, 70003)
    );
    let other_key = usersig::generate(app, "other", "administrator", 60, now).unwrap();
    assert_eq!(
        fail(
            &admin::post(addr, KICK, app, "administrator", &other_key, body)
                .await
                .unwrap()
        ),
        (200, 70009)
    );
    let expired = usersig::generate(app, key, "administrator", 10, now - 20).unwrap();
    assert_eq!(
        fail(
            &admin::post(addr, QUERY, app, "administrator", &expired, body)
                .await
                .unwrap()
        ),
        (200, 70001)
    );
    let wrong_app = usersig::generate(app + 1, key, "administrator", 60, now).unwrap();
    assert_eq!(
        fail(
            &admin::post(addr, KICK, app, "administrator", &wrong_app, body)
                .await
                .unwrap()
        ),
        (200, 70014)
    );
    still_serving(&s).await;
}

async fn request_errors_are_coded_and_the_server_keeps_working() {
    let s = server(config()).await;
    let mut alice = login(&s, "alice", "web", "w").await;
    for (path, body) in [
        (KICK, "not json"),
        (KICK, "[1,2]"),
        (KICK, "{}"),
        (KICK, r#"{"UserID":5}"#),
        (KICK, r#"{"UserID":""}"#),
        (KICK, ""),
        (QUERY, "{"),
        (QUERY, r#"{"To_Account":"alice"}"#),
        (QUERY, r#"{"To_Account":[1]}"#),
        (QUERY, r#"{"To_Account":["a"],"IsNeedDetail":"yes"}"#),
    ] {
        assert_eq!(fail(&admin_post(&s, path, body).await), (200, 60003), "{path} {body}");
        still_serving(&s).await;
    }
    let many: Vec<String> = (0..501).map(|i| format!("u{i}")).collect();
    let body = json!({"To_Account": many}).to_string();
    assert_eq!(fail(&admin_post(&s, QUERY, &body).await), (200, 60003));

    assert_eq!(fail(&admin_post(&s, "/v4/nope/nothing", "{}").await), (404, 60009));
    assert_eq!(fail(&admin_post(&s, "/", "{}").await), (404, 60009));
    assert_eq!(
        fail(
            &raw(
                &s,
                &format!("GET {KICK} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            )
            .await
        ),
        (405, 60009)
    );
    assert_eq!(
        fail(
            &raw(
                &s,
                &format!("DELETE {QUERY} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            )
            .await
        ),
        (405, 60009)
    );
    // The WebSocket paths answer other methods with the same coded 405.
    for path in ["/ws", "/binfo", "/info"] {
        for method in ["POST", "DELETE", "G"] {
            let request =
                format!("{method} {path} HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
            assert_eq!(fail(&raw(&s, &request).await), (405, 60009), "{method} {path}");
        }
    }
    // Garbage that is not HTTP at all: the connection is dropped, nothing else.
    let mut junk = TcpStream::connect(s.local_addr()).await.unwrap();
    junk.write_all(b"\x00\x01\x02 hello\r\n\r\n").await.unwrap();
    let mut buf = Vec::new();
    let _ = tokio::time::timeout(WAIT, junk.read_to_end(&mut buf)).await.unwrap();
    still_serving(&s).await;
    ping(&mut alice, 1).await;
}

crate::on_both_engines!(
    kick_ends_every_instance_and_is_remembered_for_resume,
    every_platform_has_its_vendor_name,
    list_instances_and_kick_one_instance,
    query_online_status_with_and_without_detail,
    auth_errors_are_coded,
    request_errors_are_coded_and_the_server_keeps_working,
);
