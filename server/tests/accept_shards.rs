//! Accept shards: one server process holds more sessions than RLIMIT_NOFILE allows one
//! file-descriptor table, kicks reach sessions on any shard, and shutdown closes them all.
#![cfg(target_os = "linux")]

mod common;

use common::child::ChildServer;
use common::{expect_close, login, next_frame, ping, send, Ws};
use futures_util::future::join_all;
use natter_server::{ServerConfig, DEV_SDK_APP_ID, DEV_SECRET_KEY};
use serde_json::json;
use std::sync::Arc;
use tokio::sync::Semaphore;

/// The child's soft and hard RLIMIT_NOFILE: one table holds at most this many descriptors.
const FD_LIMIT: u64 = 256;
/// More sessions than one table of [`FD_LIMIT`] can hold, fewer than four can.
const SESSIONS: usize = 600;
/// Logins in flight at once.
const WAVE: usize = 50;

/// The in-process test's shards copy this process's descriptor table when they detach (other
/// tests' client sockets included, which would then outlive their drop): one test at a time.
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

fn sig(user: &str) -> String {
    natter_server::usersig::generate(DEV_SDK_APP_ID, DEV_SECRET_KEY, user, 3600, common::now_ms() / 1000).unwrap()
}

/// Connects to `url` and logs `user` in; `None` when the server refuses the connection (the
/// 503 of a full node) instead of answering loginOk.
async fn try_login(url: &str, user: &str, instance: &str) -> Option<Ws> {
    let (mut ws, _) = tokio::time::timeout(common::WAIT, tokio_tungstenite::connect_async(url))
        .await
        .expect("an answer in time")
        .ok()?;
    send(
        &mut ws,
        &common::login_frame(1, DEV_SDK_APP_ID, user, &sig(user), "web", instance, false),
    )
    .await;
    let reply = next_frame(&mut ws).await;
    assert_eq!(reply["type"], "loginOk", "{reply}");
    Some(ws)
}

/// `n` logins (users `{prefix}{i}`), [`WAVE`] at a time; the sessions that got in.
async fn login_many(url: &str, prefix: &str, n: usize) -> Vec<Ws> {
    let gate = Arc::new(Semaphore::new(WAVE));
    let logins = (0..n).map(|i| {
        let gate = Arc::clone(&gate);
        let (url, user) = (url.to_owned(), format!("{prefix}{i}"));
        async move {
            let _permit = gate.acquire().await.unwrap();
            try_login(&url, &user, "tab").await
        }
    });
    join_all(logins).await.into_iter().flatten().collect()
}

fn start(name: &str, toml: &str) -> ChildServer {
    ChildServer::start_with_fd_limit(
        name,
        &format!("max_connections_per_source = 100000\n{toml}"),
        "info",
        Some(FD_LIMIT),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_shards_one_table_caps_the_node() {
    let _serial = SERIAL.lock().await;
    // The control: the same limit, no shards. The default cap (the limit minus the reserve) 503s
    // the rest, so the sharded test below could not pass on one table.
    let server = start("shards-control", "");
    let held = login_many(&server.ws_url(), "c", SESSIONS).await;
    let cap = (FD_LIMIT - u64::from(natter_server::FD_RESERVE)) as usize;
    assert_eq!(held.len(), cap, "one table: exactly the default cap gets in");
    drop(held);
    let log = String::from_utf8_lossy(&server.stop()).into_owned();
    assert!(log.contains("connection cap reached"), "{log}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_shards_hold_more_sessions_than_one_table_and_kick_across_them() {
    let _serial = SERIAL.lock().await;
    let server = start("shards", "accept_shards = 3\n");
    let url = server.ws_url();
    let mut held = login_many(&url, "u", SESSIONS).await;
    assert_eq!(held.len(), SESSIONS, "every login got in: four tables of {FD_LIMIT}");
    for (i, ws) in held.iter_mut().enumerate().step_by(37) {
        ping(ws, i as u64).await;
    }
    // Each new login of the same user and platform kicks the one before, wherever the kernel
    // put either connection (four listeners: most of these pairs sit on different shards).
    let mut previous = try_login(&url, "dup", "i0").await.expect("room for it");
    for round in 1..=8 {
        let next = try_login(&url, "dup", &format!("i{round}")).await.expect("room for it");
        assert_eq!(
            next_frame(&mut previous).await,
            json!({"type": "kicked", "kickType": "multipleAccount"}),
            "round {round}"
        );
        assert_eq!(expect_close(&mut previous).await, 4001);
        previous = next;
    }
    held.push(previous);
    // SIGTERM: every session, on every shard, is closed with 1001 and the process exits 0.
    let stopping = tokio::task::spawn_blocking(move || server.stop());
    let codes = join_all(held.iter_mut().map(expect_close)).await;
    assert!(codes.iter().all(|&c| c == 1001), "{codes:?}");
    let log = String::from_utf8_lossy(&stopping.await.unwrap()).into_owned();
    assert!(
        log.contains("accept shards listening") && log.contains("shards=3"),
        "{log}"
    );
    assert!(!log.contains("Too many open files"), "{log}");
}

#[tokio::test]
async fn in_process_shards_serve_and_shut_down_with_the_handle() {
    let _serial = SERIAL.lock().await;
    let s = common::server(ServerConfig {
        accept_shards: 2,
        ..common::config()
    })
    .await;
    let addr = s.local_addr();
    let mut sessions = Vec::new();
    for i in 0..30 {
        sessions.push(login(&s, &format!("p{i}"), "ios", "phone").await);
    }
    assert_eq!(s.local_sessions(), 30);
    let shutdown = tokio::spawn(s.shutdown());
    for ws in &mut sessions {
        assert_eq!(expect_close(ws).await, 1001);
    }
    tokio::time::timeout(common::WAIT, shutdown).await.unwrap().unwrap();
    // Every shard's listener is closed once shutdown returns: the port binds again, unshared.
    let again = common::server(ServerConfig {
        listen: addr,
        ..common::config()
    })
    .await;
    let mut ws = login(&again, "after", "web", "tab").await;
    ping(&mut ws, 1).await;
}

#[tokio::test]
async fn shards_refuse_what_they_cannot_do() {
    let _serial = SERIAL.lock().await;
    for (config, why) in [
        (
            ServerConfig {
                accept_shards: natter_server::MAX_ACCEPT_SHARDS + 1,
                ..common::config()
            },
            "at most",
        ),
        (
            ServerConfig {
                accept_shards: 1,
                redis_url: Some("redis://127.0.0.1:1".into()),
                ..common::config()
            },
            "Redis",
        ),
    ] {
        let e = natter_server::start(config).await.expect_err("refused");
        assert_eq!(e.kind(), std::io::ErrorKind::InvalidInput);
        assert!(e.to_string().contains(why), "{e}");
    }
}
