//! The vendor-compat endpoint (`/binfo`, `/info`, docs/vendor-wire.md) at the wire level, over
//! real sockets: envelope and matching, login answers, the A2Key re-login, kicks across the two
//! protocols, and hostile input (never a panic, never a hang).

mod common;

use common::redis::RedisChild;
use common::*;
use futures_util::{SinkExt, StreamExt};
use natter_server::{admin, ServerConfig, ServerHandle};
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::Message;

const INSTANCE: &str = "0123456789abcdef0123456789abcdef";

async fn vendor_connect(s: &ServerHandle, path: &str, instance: &str) -> Ws {
    let url = format!(
        "ws://{}{path}?sdkappid={}&instanceid={instance}&random=0.5&platform=7&host=linux&version=-1&sdkversion=3.6.6",
        s.local_addr(),
        s.config().sdk_app_id
    );
    let (ws, _) = tokio::time::timeout(WAIT, tokio_tungstenite::connect_async(url))
        .await
        .unwrap()
        .unwrap();
    ws
}

fn request(servcmd: &str, seq: u64, head: Value, body: Value) -> String {
    let mut h = json!({"ver": "v4", "platform": 7, "servcmd": servcmd, "seq": seq, "contenttype": "json"});
    if let (Some(h), Value::Object(extra)) = (h.as_object_mut(), head) {
        h.extend(extra);
    }
    json!({"head": h, "body": body}).to_string()
}

async fn send_bin(ws: &mut Ws, text: &str) {
    tokio::time::timeout(WAIT, ws.send(Message::binary(text.as_bytes().to_vec())))
        .await
        .unwrap()
        .unwrap();
}

/// Next frame as JSON and whether it came binary.
async fn next_vendor(ws: &mut Ws) -> (Value, bool) {
    loop {
        let msg = tokio::time::timeout(WAIT, ws.next()).await.unwrap().unwrap().unwrap();
        match msg {
            Message::Binary(b) => return (serde_json::from_slice(&b).unwrap(), true),
            Message::Text(t) => return (serde_json::from_str(&t).unwrap(), false),
            Message::Ping(_) | Message::Pong(_) => continue,
            other => panic!("expected a frame, got {other:?}"),
        }
    }
}

async fn vendor_login(s: &ServerHandle, ws: &mut Ws, user: &str) -> Value {
    let head = json!({"sdkappid": s.config().sdk_app_id, "identifier": user, "usersig": s.user_sig(user, 3600)});
    send_bin(
        ws,
        &request("im_open_status.wslogin", 7, head, json!({"State": "Online"})),
    )
    .await;
    let (reply, binary) = next_vendor(ws).await;
    assert!(binary, "/binfo answers in binary frames");
    reply
}

#[tokio::test]
async fn login_answer_echoes_servcmd_and_seq_and_carries_the_session_fields() {
    let s = server(config()).await;
    let mut ws = vendor_connect(&s, "/binfo", INSTANCE).await;
    let before = now_ms();
    let r = vendor_login(&s, &mut ws, "alice").await;
    assert_eq!(r["head"], json!({"servcmd": "im_open_status.wslogin", "seq": 7}));
    let b = &r["body"];
    assert_eq!(
        (b["ActionStatus"].as_str(), b["ErrorCode"].as_i64()),
        (Some("OK"), Some(0)),
        "{r}"
    );
    assert!(b["A2Key"].as_str().unwrap().len() > 20);
    assert!(b["TinyId"].as_str().unwrap().parse::<u64>().unwrap() > 0);
    assert!(b["InstId"].as_u64().unwrap() > 0);
    assert_eq!(b["HelloInterval"], 120);
    let ts_ms = (b["TimeStamp"].as_f64().unwrap() * 1000.0).round() as i64;
    assert!(
        ts_ms >= before - 1 && ts_ms <= now_ms() + 1,
        "TimeStamp {ts_ms} is the server clock in ms"
    );
    let q = admin::query_online_status(&s, &["alice"], true).await.unwrap();
    assert!(q.to_string().contains("\"Web\""), "{q}");
}

#[tokio::test]
async fn text_endpoint_answers_in_text_and_string_seqs_are_echoed() {
    let s = server(config()).await;
    let mut ws = vendor_connect(&s, "/info", INSTANCE).await;
    send(
        &mut ws,
        r#"{"head":{"servcmd":"heartbeat.alive","seq":"42"},"body":{}}"#,
    )
    .await;
    let (r, binary) = next_vendor(&mut ws).await;
    assert!(!binary);
    assert_eq!(r["head"]["seq"], "42");
    assert_eq!(r["body"]["ErrorCode"], 0);
}

#[tokio::test]
async fn commands_out_of_scope_or_out_of_order_get_the_vendor_error_shape() {
    let s = server(config()).await;
    let mut ws = vendor_connect(&s, "/binfo", INSTANCE).await;
    send_bin(&mut ws, &request("im_open_status.wshello", 1, json!({}), json!({}))).await;
    let (r, _) = next_vendor(&mut ws).await;
    assert_eq!(
        (r["body"]["ActionStatus"].as_str(), r["body"]["ErrorCode"].as_i64()),
        (Some("FAIL"), Some(60008))
    );
    send_bin(&mut ws, &request("openim.sendmsg", 2, json!({}), json!({}))).await;
    let (r, _) = next_vendor(&mut ws).await;
    assert_eq!(r["body"]["ErrorCode"], 60009, "{r}");
    vendor_login(&s, &mut ws, "bob").await;
    send_bin(&mut ws, &request("profile.portrait_get_all", 3, json!({}), json!({}))).await;
    let (r, _) = next_vendor(&mut ws).await;
    assert_eq!(
        (r["head"]["seq"].as_u64(), r["body"]["ErrorCode"].as_i64()),
        (Some(3), Some(60009))
    );
    // Still serving: a hello is answered.
    send_bin(&mut ws, &request("im_open_status.wshello", 4, json!({}), json!({}))).await;
    assert_eq!(next_vendor(&mut ws).await.0["body"]["ErrorCode"], 0);
}

#[tokio::test]
async fn bad_usersig_is_refused_with_its_code_and_the_socket_may_try_again() {
    let s = server(config()).await;
    let mut ws = vendor_connect(&s, "/binfo", INSTANCE).await;
    let head = json!({"sdkappid": s.config().sdk_app_id, "identifier": "carol", "usersig": "eJwrubbish"});
    send_bin(&mut ws, &request("im_open_status.wslogin", 1, head, json!({}))).await;
    let (r, _) = next_vendor(&mut ws).await;
    assert_eq!(r["body"]["ErrorCode"], 70003, "{r}");
    let r = vendor_login(&s, &mut ws, "carol").await;
    assert_eq!(r["body"]["ErrorCode"], 0, "{r}");
}

#[tokio::test]
async fn a2key_relogin_works_on_its_own_instance_only_and_a_tampered_one_is_refused() {
    let s = server(config()).await;
    let mut ws = vendor_connect(&s, "/binfo", INSTANCE).await;
    let a2 = vendor_login(&s, &mut ws, "dave").await["body"]["A2Key"]
        .as_str()
        .unwrap()
        .to_owned();
    drop(ws);
    let relogin = |a2: String| request("im_open_status.wslogin", 9, json!({"a2": a2, "tinyid": "1"}), json!({}));
    let other = "ffffffffffffffffffffffffffffffff";
    let mut ws = vendor_connect(&s, "/binfo", other).await;
    send_bin(&mut ws, &relogin(a2.clone())).await;
    assert_eq!(next_vendor(&mut ws).await.0["body"]["ErrorCode"], 70003);
    let mut tampered = a2.clone();
    tampered.insert(0, 'x');
    send_bin(&mut ws, &relogin(tampered)).await;
    assert_eq!(next_vendor(&mut ws).await.0["body"]["ErrorCode"], 70003);
    let mut ws = vendor_connect(&s, "/binfo", INSTANCE).await;
    send_bin(&mut ws, &relogin(a2)).await;
    assert_eq!(next_vendor(&mut ws).await.0["body"]["ErrorCode"], 0);
    eventually(|| async {
        let q = admin::query_online_status(&s, &["dave"], true).await.unwrap();
        q.to_string().contains("\"Web\"")
    })
    .await;
}

#[tokio::test]
async fn natter_web_login_kicks_the_vendor_session_by_push_then_its_logout_is_answered_and_closed_4001() {
    let s = server(config()).await;
    let mut v = vendor_connect(&s, "/binfo", INSTANCE).await;
    vendor_login(&s, &mut v, "erin").await;
    let _natter = login(&s, "erin", "web", "natter-web-instance").await;
    let (push, _) = next_vendor(&mut v).await;
    assert_eq!(push["head"]["servcmd"], "im_open_status.stat_forceoffline");
    assert_eq!(
        push["body"]["EventArray"][0]["C2cNotifyMsgArray"][0]["KickoutMsgNotify"]["KickType"], 1,
        "{push}"
    );
    send_bin(
        &mut v,
        &request("im_open_status.wslogout", 11, json!({}), json!({"wslogout_type": 1})),
    )
    .await;
    assert_eq!(next_vendor(&mut v).await.0["body"]["ErrorCode"], 0);
    assert_eq!(expect_close(&mut v).await, 4001);
}

#[tokio::test]
async fn vendor_login_kicks_a_natter_web_session_with_multiple_account() {
    let s = server(config()).await;
    let mut natter = login(&s, "fay", "web", "natter-web-instance").await;
    let mut v = vendor_connect(&s, "/binfo", INSTANCE).await;
    vendor_login(&s, &mut v, "fay").await;
    let k = next_frame(&mut natter).await;
    assert_eq!(k, json!({"type": "kicked", "kickType": "multipleAccount"}));
    assert_eq!(expect_close(&mut natter).await, 4001);
}

#[tokio::test]
async fn a_vendor_instance_rest_kicked_while_away_is_refused_on_its_a2key_relogin_with_1002() {
    let s = server(config()).await;
    let mut v = vendor_connect(&s, "/binfo", INSTANCE).await;
    let a2 = vendor_login(&s, &mut v, "gus").await["body"]["A2Key"]
        .as_str()
        .unwrap()
        .to_owned();
    let (_, r) = admin::post(
        s.local_addr(),
        "/v4/im_open_login_svc/kick",
        s.config().sdk_app_id,
        &s.config().admin_identifier,
        &s.admin_sig(),
        r#"{"UserID":"gus"}"#,
    )
    .await
    .unwrap();
    assert_eq!(r["ActionStatus"], "OK", "{r}");
    // The push is lost with the link: the SDK comes back with its A2Key.
    drop(v);
    let mut v = vendor_connect(&s, "/binfo", INSTANCE).await;
    send_bin(
        &mut v,
        &request("im_open_status.wslogin", 1, json!({"a2": a2}), json!({})),
    )
    .await;
    let body = next_vendor(&mut v).await.0["body"].clone();
    assert_eq!(
        (body["ErrorCode"].as_i64(), body["KickType"].as_i64()),
        (Some(1002), Some(3)),
        "{body}"
    );
}

#[tokio::test]
async fn hostile_frames_close_4003_or_4004_and_the_server_keeps_serving() {
    let s = server(config()).await;
    for garbage in [
        &b"\xff\xfe\x00"[..],
        b"[]",
        b"{\"head\":{\"servcmd\":\"x\"}}",
        b"{\"head\":7}",
    ] {
        let mut ws = vendor_connect(&s, "/binfo", INSTANCE).await;
        ws.send(Message::binary(garbage.to_vec())).await.unwrap();
        assert_eq!(expect_close(&mut ws).await, 4003, "{garbage:?}");
    }
    let mut ws = vendor_connect(&s, "/binfo", INSTANCE).await;
    ws.send(Message::binary(vec![b'{'; 65 * 1024])).await.unwrap();
    assert_eq!(expect_close(&mut ws).await, 4004);
    // A bad instanceid is refused at the upgrade (HTTP 400), not inside the session.
    let url = format!("ws://{}/binfo?sdkappid=1&instanceid=a%20b", s.local_addr());
    assert!(tokio_tungstenite::connect_async(url).await.is_err());
    let mut ws = vendor_connect(&s, "/binfo", INSTANCE).await;
    assert_eq!(vendor_login(&s, &mut ws, "hal").await["body"]["ErrorCode"], 0);
}

/// Two nodes on one real redis-server: a vendor session counts against the user's instances on
/// every node, and kicks cross nodes in both directions.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn vendor_sessions_count_and_are_kicked_across_cluster_nodes() {
    let redis = RedisChild::start();
    let node = |redis: &RedisChild| ServerConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        redis_url: Some(redis.url()),
        redis_prefix: Some("vendor".to_owned()),
        ..Default::default()
    };
    let a = server(node(&redis)).await;
    let b = server(node(&redis)).await;
    assert_ne!(a.node_id(), b.node_id());

    let mut v = vendor_connect(&a, "/binfo", INSTANCE).await;
    vendor_login(&a, &mut v, "ivy").await;
    // Node b sees the vendor instance, as the SDK that it is.
    let list = admin::list_instances(&b, "ivy").await.unwrap();
    assert_eq!(list["Instances"][0]["InstanceID"], INSTANCE, "{list}");
    assert_eq!(list["Instances"][0]["ClientVersion"], "tencentcloud-chat-web", "{list}");
    // A Natter web login on node b kicks the vendor session on node a.
    let mut natter = login(&b, "ivy", "web", "natter-on-b").await;
    let (push, _) = next_vendor(&mut v).await;
    assert_eq!(
        push["body"]["EventArray"][0]["C2cNotifyMsgArray"][0]["KickoutMsgNotify"]["KickType"], 1,
        "{push}"
    );
    // And a vendor login on node a kicks the Natter session on node b.
    let mut v2 = vendor_connect(&a, "/binfo", "22222222222222222222222222222222").await;
    vendor_login(&a, &mut v2, "ivy").await;
    assert_eq!(
        next_frame(&mut natter).await,
        json!({"type": "kicked", "kickType": "multipleAccount"})
    );
    assert_eq!(expect_close(&mut natter).await, 4001);
}
