//! Several natter-server nodes sharing one real redis-server (a child process on a free loopback
//! port): the login rules hold across nodes, kicks reach the node holding the socket, a killed
//! node's sessions stop counting within its heartbeat TTL, and a restarted Redis is refilled.

mod common;

use common::child::{connect_url, ChildServer};
use common::redis::RedisChild;
use common::*;
use natter_server::{admin, Policy, ServerConfig, ServerHandle};
use serde_json::{json, Value};
use std::time::{Duration, Instant};

/// Heartbeat TTL of the test nodes: a dead node's sessions stop counting within it.
const NODE_TTL: Duration = Duration::from_millis(1000);

fn node_config(redis: &RedisChild, prefix: &str) -> ServerConfig {
    ServerConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        redis_url: Some(redis.url()),
        redis_prefix: Some(prefix.to_owned()),
        node_ttl: NODE_TTL,
        ..Default::default()
    }
}

async fn nodes(redis: &RedisChild, prefix: &str, n: usize, tweak: impl Fn(&mut ServerConfig)) -> Vec<ServerHandle> {
    let mut out = Vec::new();
    for _ in 0..n {
        let mut c = node_config(redis, prefix);
        tweak(&mut c);
        out.push(server(c).await);
    }
    let ids: std::collections::HashSet<&str> = out.iter().map(|s| s.node_id()).collect();
    assert_eq!(ids.len(), n, "every node has its own id");
    out
}

async fn kicked_with(ws: &mut Ws, kick_type: &str) {
    assert_eq!(next_frame(ws).await, json!({"type": "kicked", "kickType": kick_type}));
    assert_eq!(expect_close(ws).await, 4001);
}

async fn instances(s: &ServerHandle, user: &str) -> Vec<Value> {
    let r = admin::list_instances(s, user).await.unwrap();
    assert_eq!(r["ActionStatus"], "OK", "{r}");
    r["Instances"].as_array().unwrap().clone()
}

async fn status(s: &ServerHandle, user: &str) -> String {
    let q = admin::query_online_status(s, &[user], false).await.unwrap();
    q["QueryResult"][0]["Status"].as_str().unwrap().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_oldest_is_kicked_across_nodes_with_the_right_type() {
    let redis = RedisChild::start();
    let n = nodes(&redis, "oldest", 2, |_| {}).await;
    let (a, b) = (&n[0], &n[1]);
    let mut web_a = login(a, "alice", "web", "wa").await;
    let mut phone_a = login(a, "alice", "android", "pa").await;
    let mut web_b = login(b, "alice", "web", "wb").await;
    kicked_with(&mut web_a, "multipleAccount").await;
    let _phone_b = login(b, "alice", "android", "pb").await;
    kicked_with(&mut phone_a, "multipleDevice").await;
    ping(&mut web_b, 1).await;
    let list = instances(a, "alice").await;
    let got: Vec<(&str, &str)> = list
        .iter()
        .map(|i| (i["InstanceID"].as_str().unwrap(), i["Node"].as_str().unwrap()))
        .collect();
    assert_eq!(got, [("wb", b.node_id()), ("pb", b.node_id())]);
    // A kicked instance's resume is refused on any node.
    let (mut again, reply) = login_with(b, "alice", "web", "wa", true).await;
    assert_eq!(reply, json!({"type": "kicked", "kickType": "multipleAccount"}));
    assert_eq!(expect_close(&mut again).await, 4001);

    // Rough cross-node kick latency: login on B sent -> `kicked` read on A (the bench helper
    // measures it properly). Printed with --nocapture.
    let mut took = Vec::new();
    for i in 0..20 {
        let mut old = login(a, "lat", "web", &format!("a{i}")).await;
        let t0 = Instant::now();
        let _new = login(b, "lat", "web", &format!("b{i}")).await;
        kicked_with(&mut old, "multipleAccount").await;
        took.push(t0.elapsed());
    }
    took.sort();
    println!(
        "cross-node kick (login on B -> kicked on A, 20 runs): p50 {:?}, max {:?}",
        took[took.len() / 2],
        took[took.len() - 1]
    );
}

/// (policy, limit, logins as (node, platform), the index kicked by the last login, kick type).
type PolicyCase = (Policy, u32, &'static [(usize, &'static str)], usize, &'static str);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_limit_and_the_four_policies_hold_cluster_wide() {
    let redis = RedisChild::start();
    let cases: [PolicyCase; 5] = [
        (
            Policy::Multi,
            2,
            &[(0, "web"), (1, "web"), (2, "web")],
            0,
            "multipleAccount",
        ),
        (Policy::Single, 1, &[(0, "ios"), (1, "web")], 0, "multipleDevice"),
        (
            Policy::Dual,
            1,
            &[(0, "web"), (1, "mac"), (2, "android")],
            1,
            "multipleDevice",
        ),
        (
            Policy::Triple,
            1,
            &[(0, "web"), (1, "ios"), (2, "mac"), (0, "ipad")],
            1,
            "multipleDevice",
        ),
        (
            Policy::Multi,
            1,
            &[(0, "web"), (1, "android"), (2, "web")],
            0,
            "multipleAccount",
        ),
    ];
    for (case, (policy, limit, logins, kicked, kick_type)) in cases.into_iter().enumerate() {
        let n = nodes(&redis, &format!("pol{case}"), 3, |c| {
            c.policy = policy;
            c.max_instances_per_platform = limit;
        })
        .await;
        let mut sockets = Vec::new();
        for (i, (node, platform)) in logins.iter().enumerate() {
            sockets.push(login(&n[*node], "u", platform, &format!("i{i}")).await);
        }
        kicked_with(&mut sockets[kicked], kick_type).await;
        for (i, ws) in sockets.iter_mut().enumerate() {
            if i != kicked {
                ping(ws, 1).await;
            }
        }
        let online = instances(&n[1], "u").await;
        assert_eq!(online.len(), logins.len() - 1, "{policy}: {online:?}");
        assert!(
            online.iter().all(|i| i["InstanceID"] != format!("i{kicked}")),
            "{policy}"
        );
        // Dropped, not shut down: shutdown would wait out every session's close linger.
        drop(n);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rest_on_one_node_reaches_clients_on_the_others() {
    let redis = RedisChild::start();
    let n = nodes(&redis, "rest", 3, |_| {}).await;
    let mut on_b = login(&n[1], "bob", "web", "w").await;
    let mut on_c = login(&n[2], "bob", "android", "p").await;
    let mut other = login(&n[2], "carol", "mac", "m").await;
    // Status and the instance list are global: asked on A, which holds no socket.
    for s in &n {
        assert_eq!(status(s, "bob").await, "Online");
        assert_eq!(instances(s, "bob").await.len(), 2);
    }
    let q = admin::query_online_status(&n[0], &["bob", "carol", "dave"], true)
        .await
        .unwrap();
    let detail: Vec<&str> = q["QueryResult"][0]["Detail"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["Platform"].as_str().unwrap())
        .collect();
    assert_eq!(detail, ["Web", "Android"]);
    assert_eq!(q["QueryResult"][2]["Status"], "Offline");
    // One instance on C, kicked from A.
    let r = admin::kick_instance(&n[0], "bob", "p").await.unwrap();
    assert_eq!(r["Kicked"], 1, "{r}");
    kicked_with(&mut on_c, "REST_API_Kick").await;
    ping(&mut on_b, 1).await;
    // The whole user, kicked from A.
    assert_eq!(admin::kick(&n[0], "bob").await.unwrap()["ErrorCode"], 0);
    kicked_with(&mut on_b, "REST_API_Kick").await;
    ping(&mut other, 1).await;
    for s in &n {
        assert_eq!(status(s, "bob").await, "Offline");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_logins_are_counted_across_nodes() {
    let redis = RedisChild::start();
    let n = nodes(&redis, "throttle", 2, |c| c.max_failed_logins = 3).await;
    let app = n[0].config().sdk_app_id;
    for (i, s) in [&n[0], &n[1], &n[0]].into_iter().enumerate() {
        let frame = login_frame(1, app, "eve", "not-a-usersig", "web", &format!("e{i}"), false);
        let (_ws, reply) = common::child::login_reply(&s.ws_url(), &frame).await;
        assert_eq!(reply["type"], "error", "{reply}");
        assert_ne!(reply["code"], 70050, "{reply}");
    }
    // The fourth try, with a valid UserSig, on the other node: throttled there too.
    let sig = n[1].user_sig("eve", 3600);
    let frame = login_frame(1, app, "eve", &sig, "web", "e9", false);
    let (_ws, reply) = common::child::login_reply(&n[1].ws_url(), &frame).await;
    assert_eq!(reply["code"], 70050, "{reply}");
    // Other users from the same source are not locked out.
    login(&n[1], "frank", "web", "f").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_node_stops_counting_within_its_ttl_and_its_users_log_in_again_at_once() {
    let redis = RedisChild::start();
    let a = server(node_config(&redis, "death")).await;
    let toml = format!(
        "redis = \"{}\"\nredis_prefix = \"death\"\nnode_ttl_secs = {}\n",
        redis.url(),
        NODE_TTL.as_secs_f64()
    );
    let doomed = ChildServer::start("cluster-death", &toml, "info");
    let sig = a.user_sig("gina", 3600);
    let frame =
        |instance: &str, resume: bool| login_frame(1, a.config().sdk_app_id, "gina", &sig, "web", instance, resume);
    let (_ws_c, reply) = common::child::login_reply(&doomed.ws_url(), &frame("g1", false)).await;
    assert_eq!(reply["type"], "loginOk", "{reply}");
    let (_ws_other, reply) =
        common::child::login_reply(&doomed.ws_url(), &frame("g2", false).replace("\"web\"", "\"mac\"")).await;
    assert_eq!(reply["type"], "loginOk", "{reply}");
    assert_eq!(instances(&a, "gina").await.len(), 2);

    // SIGKILL: no goodbye, its heartbeat key just stops being renewed.
    drop(doomed);
    let killed = Instant::now();
    // Its users log in again at once, before the TTL has run out: the silent re-login of the
    // same instance on the surviving node (resume) is admitted, not refused.
    let (mut back, reply) = common::child::login_reply(&a.ws_url(), &frame("g1", true)).await;
    assert_eq!(reply["type"], "loginOk", "{reply}");
    assert!(killed.elapsed() < NODE_TTL, "re-login took {:?}", killed.elapsed());
    // The instance that stayed on the dead node disappears within the TTL (+ slack for a
    // loaded machine).
    let bound = NODE_TTL + Duration::from_millis(700);
    let gone = loop {
        let list = instances(&a, "gina").await;
        if list.len() == 1 {
            break killed.elapsed();
        }
        assert!(killed.elapsed() < bound, "dead node's session still listed: {list:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    println!("killed node's sessions gone after {gone:?} (node TTL {NODE_TTL:?})");
    assert!(gone <= bound);
    ping(&mut back, 1).await;
    // And a fresh mac login is not blocked by the dead node's mac instance.
    let (_mac, reply) =
        common::child::login_reply(&a.ws_url(), &frame("g3", false).replace("\"web\"", "\"mac\"")).await;
    assert_eq!(reply["type"], "loginOk", "{reply}");
    ping(&mut back, 2).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_a_redis_restart_nodes_register_their_sessions_again() {
    let mut redis = RedisChild::start();
    let n = nodes(&redis, "restart", 2, |_| {}).await;
    let (a, b) = (&n[0], &n[1]);
    let mut web_a = login(a, "hugo", "web", "w").await;
    let mut phone_b = login(b, "hugo", "android", "p").await;
    let mut ivy_b = login(b, "ivy", "mac", "m").await;

    redis.kill();
    // While Redis is down: new logins are refused with 60022 (retry later), sessions stay up.
    let sig = a.user_sig("jack", 3600);
    let (mut refused, reply) = common::child::login_reply(
        &a.ws_url(),
        &login_frame(1, a.config().sdk_app_id, "jack", &sig, "web", "j", false),
    )
    .await;
    assert_eq!(
        (reply["type"].as_str(), reply["code"].as_i64()),
        (Some("error"), Some(60022)),
        "{reply}"
    );
    assert_eq!(expect_close(&mut refused).await, 4002);
    ping(&mut web_a, 1).await;

    redis.restart();
    // The heartbeat finds its key gone and registers every local session again.
    let t0 = Instant::now();
    eventually(|| async { instances(a, "hugo").await.len() == 2 && instances(b, "ivy").await.len() == 1 }).await;
    println!("sessions registered again {:?} after Redis came back", t0.elapsed());
    // Nothing wrongly refused: a new user logs in; nothing wrongly admitted: the limit still
    // holds across nodes, and the kick still travels (B's subscription came back).
    login(a, "jack", "web", "j").await;
    let _phone_a = login(a, "hugo", "android", "p2").await;
    kicked_with(&mut phone_b, "multipleDevice").await;
    ping(&mut web_a, 2).await;
    ping(&mut ivy_b, 1).await;
    assert_eq!(instances(b, "hugo").await.len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_logins_of_one_user_on_two_nodes_never_both_win() {
    let redis = RedisChild::start();
    let n = nodes(&redis, "race", 2, |_| {}).await;
    let app = n[0].config().sdk_app_id;
    let (url_a, url_b) = (n[0].ws_url(), n[1].ws_url());
    for round in 0..50 {
        let user = format!("race{round}");
        let sig = n[0].user_sig(&user, 3600);
        let fa = login_frame(1, app, &user, &sig, "web", "a", false);
        let fb = login_frame(1, app, &user, &sig, "web", "b", false);
        let (mut wa, mut wb) = tokio::join!(connect_url(&url_a), connect_url(&url_b));
        tokio::join!(send(&mut wa, &fa), send(&mut wb, &fb));
        let (ra, rb) = tokio::join!(next_frame(&mut wa), next_frame(&mut wb));
        assert_eq!(
            (ra["type"].as_str(), rb["type"].as_str()),
            (Some("loginOk"), Some("loginOk"))
        );
        let online = instances(&n[round % 2], &user).await;
        assert_eq!(online.len(), 1, "round {round}: {online:?}");
        // The one not listed is kicked; the listed one stays.
        let (loser, winner) = if online[0]["InstanceID"] == "a" {
            (&mut wb, &mut wa)
        } else {
            (&mut wa, &mut wb)
        };
        kicked_with(loser, "multipleAccount").await;
        ping(winner, 1).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_restarted_under_the_same_id_fences_off_its_previous_life() {
    let redis = RedisChild::start();
    let a = server(node_config(&redis, "fence")).await;
    // A long TTL, so only the epoch (not the heartbeat expiry) can explain what follows.
    let ttl = Duration::from_secs(20);
    let toml = format!(
        "redis = \"{}\"\nredis_prefix = \"fence\"\nnode_id = \"fixed\"\nnode_ttl_secs = {}\n",
        redis.url(),
        ttl.as_secs_f64()
    );
    let first = ChildServer::start("cluster-fence-1", &toml, "info");
    let sig = a.user_sig("kim", 3600);
    let app = a.config().sdk_app_id;
    let (_ws, reply) =
        common::child::login_reply(&first.ws_url(), &login_frame(1, app, "kim", &sig, "mac", "k1", false)).await;
    assert_eq!(reply["type"], "loginOk", "{reply}");
    assert_eq!(instances(&a, "kim").await.len(), 1);
    let t0 = Instant::now();
    drop(first); // SIGKILL: its record stays in Redis, its heartbeat key has ~20 s left.
    let second = ChildServer::start("cluster-fence-2", &toml, "info");
    // The new life took a new epoch: the old record stopped counting at once.
    assert!(instances(&a, "kim").await.is_empty());
    assert!(t0.elapsed() < ttl);
    let (mut ws, reply) =
        common::child::login_reply(&second.ws_url(), &login_frame(1, app, "kim", &sig, "mac", "k2", false)).await;
    assert_eq!(reply["type"], "loginOk", "{reply}");
    ping(&mut ws, 1).await;
    let list = instances(&a, "kim").await;
    assert_eq!((list.len(), list[0]["Node"].as_str()), (1, Some("fixed")), "{list:?}");
}

#[test]
fn a_node_without_its_redis_does_not_start() {
    // A port nothing listens on: bind, take the port, close.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_natter-server"))
        .args([
            "--listen",
            "127.0.0.1:0",
            "--redis",
            &format!("redis://127.0.0.1:{port}"),
        ])
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("cannot reach the Redis session directory"), "{stderr}");
}
