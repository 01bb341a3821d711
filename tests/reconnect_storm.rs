//! Reconnect storm: thousands of logged-in clients in one process, the real `natter-server`
//! binary killed with SIGKILL and started again on the same port. Every session must come back
//! by itself within a stated bound, no app may see `SDK_NOT_READY`, and users kicked through the
//! REST API before the crash must stay out.
//!
//! `NATTER_STORM_CLIENTS=10000` (or `scripts/storm.sh`) runs a heavier storm.

mod common;

use natter::{ChatClient, ChatConfig, ChatEvent, KickType, NetState, Platform};
use natter_server::{usersig, DEV_SDK_APP_ID, DEV_SECRET_KEY};
use serde_json::{json, Value};
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use tokio::sync::mpsc::UnboundedReceiver;

const DEFAULT_CLIENTS: usize = 2000;
/// Users kicked through the REST API before the crash.
const KICKED: usize = 20;
/// Logins in flight at once while the storm is being set up (the setup is not what is measured).
const LOGIN_WAVE: usize = 200;
/// Every surviving session is ready again this long after the new server process was spawned.
/// The clients use the shipped backoff (0.5 s doubling to 20 s, full jitter): a client whose
/// retries all hit the dead port for ~1 s waits at most 4 s for its next one, plus the server's
/// time to start and take a few thousand resumes. Measured 2.4–6.4 s for 2,000 on a 2-core
/// machine shared with other builds; the bound keeps headroom for a loaded CI runner while
/// staying below the 20 s backoff ceiling a runaway retry loop would reach.
const RESUME_BOUND: Duration = Duration::from_secs(15);
/// Heavier storms take longer to drain; `NATTER_STORM_BOUND_SECS` overrides the bound for them.
fn resume_bound(clients: usize) -> Duration {
    match std::env::var("NATTER_STORM_BOUND_SECS") {
        Ok(v) => Duration::from_secs(v.parse().unwrap_or_else(|_| panic!("NATTER_STORM_BOUND_SECS={v:?}"))),
        Err(_) if clients <= DEFAULT_CLIENTS => RESUME_BOUND,
        // One process drives every client on the library's two runtime threads, so the drain time
        // grows faster than linearly: 10,000 clients took 54 s in a debug build.
        Err(_) => Duration::from_secs(10) * (clients.div_ceil(1000) as u32),
    }
}
const KICK_PATH: &str = "/v4/im_open_login_svc/kick";
const QUERY_ONLINE_STATUS_PATH: &str = "/v4/openim/query_online_status";
/// The REST API answers at most this many accounts per status query.
const QUERY_BATCH: usize = 500;
const ADMIN: &str = "administrator";

fn client_count() -> usize {
    match std::env::var("NATTER_STORM_CLIENTS") {
        Ok(v) => v
            .parse()
            .unwrap_or_else(|_| panic!("NATTER_STORM_CLIENTS={v:?} is not a number")),
        Err(_) => DEFAULT_CLIENTS,
    }
}

/// Raises the soft open-file limit (up to the hard one) so `needed` sockets fit; the server
/// process inherits it.
fn ensure_fd_limit(needed: u64) {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit/setrlimit only read and write the struct passed in.
    unsafe {
        assert_eq!(libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit), 0, "getrlimit");
        if limit.rlim_cur < needed {
            limit.rlim_cur = needed.min(limit.rlim_max);
            assert_eq!(libc::setrlimit(libc::RLIMIT_NOFILE, &limit), 0, "setrlimit");
        }
    }
    assert!(
        limit.rlim_cur >= needed,
        "the storm needs {needed} open files but the hard limit is {}: raise it (ulimit -Hn) or lower \
         NATTER_STORM_CLIENTS",
        limit.rlim_max
    );
}

/// The `natter-server` binary of the same build as this test (target/<profile>/natter-server).
fn server_binary() -> PathBuf {
    let test_exe = std::env::current_exe().expect("the test binary's path");
    // target/<profile>/deps/reconnect_storm-<hash> -> target/<profile>/natter-server
    let profile_dir = test_exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("the test binary lives in target/<profile>/deps");
    let binary = profile_dir.join(format!("natter-server{}", std::env::consts::EXE_SUFFIX));
    assert!(
        binary.is_file(),
        "{} is missing: build it with `cargo build -p natter-server` (the README test command and \
         scripts/storm.sh do)",
        binary.display()
    );
    binary
}

/// A `natter-server` child process; SIGKILLed on drop.
struct ServerProcess {
    child: Child,
    addr: SocketAddr,
}

impl ServerProcess {
    /// Spawns the server on `listen` and waits for its banner, printed once it is listening.
    fn spawn(config: &std::path::Path, listen: SocketAddr) -> Self {
        let mut command = Command::new(server_binary());
        command
            .arg("--config")
            .arg(config)
            .arg("--listen")
            .arg(listen.to_string())
            // A log line per login would cost more than the logins.
            .env(
                "RUST_LOG",
                std::env::var("STORM_SERVER_LOG").unwrap_or_else(|_| "warn".into()),
            )
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        common::die_with_parent(&mut command);
        let mut child = command.spawn().expect("natter-server starts");
        let stdout = child.stdout.take().expect("piped stdout");
        // The banner ends with the REST line; its WebSocket line names the bound address.
        let mut addr = None;
        for line in BufReader::new(stdout).lines() {
            let line = line.expect("the banner is readable");
            if let Some(url) = line.trim().strip_prefix("WebSocket:") {
                let host = url
                    .trim()
                    .trim_start_matches("ws://")
                    .trim_end_matches(natter_protocol::WS_PATH);
                addr = Some(host.parse().unwrap_or_else(|_| panic!("bad banner line {line:?}")));
            }
            if line.trim_start().starts_with("REST:") {
                break;
            }
        }
        let addr = addr.unwrap_or_else(|| panic!("natter-server exited before listening: {:?}", child.try_wait()));
        ServerProcess { child, addr }
    }

    /// SIGKILL: no close frames, no goodbye, sockets torn down by the kernel.
    fn kill(mut self) {
        self.child.kill().expect("SIGKILL the server");
        self.child.wait().expect("reap the server");
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn now_unix() -> i64 {
    natter::local_unix_ms() / 1000
}

async fn admin(addr: SocketAddr, path: &str, body: Value) -> Value {
    let sig = usersig::generate(DEV_SDK_APP_ID, DEV_SECRET_KEY, ADMIN, 3600, now_unix()).expect("valid admin id");
    let (status, reply) = natter_server::admin::post(addr, path, DEV_SDK_APP_ID, ADMIN, &sig, &body.to_string())
        .await
        .expect("REST reachable");
    assert_eq!(status, 200, "{reply}");
    assert_eq!(reply["ActionStatus"], "OK", "{reply}");
    reply
}

/// The users among `users` the server reports online.
async fn online(addr: SocketAddr, users: &[String]) -> Vec<String> {
    let mut found = vec![];
    for batch in users.chunks(QUERY_BATCH) {
        let reply = admin(addr, QUERY_ONLINE_STATUS_PATH, json!({"To_Account": batch})).await;
        for entry in reply["QueryResult"].as_array().expect("QueryResult") {
            if entry["Status"] == "Online" {
                found.push(entry["To_Account"].as_str().unwrap_or_default().to_owned());
            }
        }
    }
    found
}

struct StormClient {
    user: String,
    client: ChatClient,
    events: UnboundedReceiver<ChatEvent>,
}

/// Waits until `events` yields `wanted` or `deadline` passes; returns what came before and when
/// `wanted` arrived.
async fn until_at(
    events: &mut UnboundedReceiver<ChatEvent>,
    wanted: &ChatEvent,
    deadline: tokio::time::Instant,
) -> Result<(Vec<ChatEvent>, Instant), Vec<ChatEvent>> {
    let mut seen = vec![];
    loop {
        match tokio::time::timeout_at(deadline, events.recv()).await {
            Ok(Some(e)) if &common::plain(e.clone()) == wanted => return Ok((seen, Instant::now())),
            Ok(Some(e)) => seen.push(common::plain(e)),
            Ok(None) | Err(_) => return Err(seen),
        }
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_storm_of_clients_resumes_after_a_sigkill_restart_and_kicked_users_stay_out() {
    let n = client_count();
    let bound = resume_bound(n);
    assert!(n > KICKED, "NATTER_STORM_CLIENTS must exceed {KICKED}");
    // One socket per client here; the server is a process of its own with the same limit.
    ensure_fd_limit(n as u64 + 512);
    let config = std::env::temp_dir().join(format!("natter-storm-{}.toml", std::process::id()));
    // No per-source cap (every client is 127.0.0.1) and no failed-login throttle.
    std::fs::write(
        &config,
        "max_connections_per_source = 0\nmax_connections = 0\nmax_failed_logins = 0\n",
    )
    .unwrap();
    let server = ServerProcess::spawn(&config, "127.0.0.1:0".parse().unwrap());
    let addr = server.addr;

    let url = format!("ws://{addr}{}", natter_protocol::WS_PATH);
    let mut clients: Vec<StormClient> = (0..n)
        .map(|i| {
            // The shipped timings: this is the storm a real fleet would make.
            let config = ChatConfig::new(DEV_SDK_APP_ID)
                .with_server_url(url.clone())
                .with_platform(Platform::Android);
            let client = ChatClient::new(config).expect("valid config");
            let events = client.events();
            StormClient {
                user: format!("storm-{i}"),
                client,
                events,
            }
        })
        .collect();

    let started = Instant::now();
    for wave in clients.chunks(LOGIN_WAVE) {
        let logins = wave.iter().map(|c| {
            let sig =
                usersig::generate(DEV_SDK_APP_ID, DEV_SECRET_KEY, &c.user, 3600, now_unix()).expect("valid user id");
            async move { c.client.login(&c.user, &sig).await }
        });
        for result in futures_util::future::join_all(logins).await {
            result.expect("every storm client logs in");
        }
    }
    let login_took = started.elapsed();
    for c in &mut clients {
        let deadline = tokio::time::Instant::now() + common::SOON;
        until_at(&mut c.events, &ChatEvent::SdkReady, deadline)
            .await
            .unwrap_or_else(|seen| panic!("{} never got SDK_READY: {seen:?}", c.user));
    }

    let (kicked, survivors) = clients.split_at_mut(KICKED);
    for c in kicked.iter_mut() {
        admin(addr, KICK_PATH, json!({"UserID": c.user})).await;
        let deadline = tokio::time::Instant::now() + common::SOON;
        let kick = ChatEvent::KickedOut {
            kick_type: KickType::RestApi,
        };
        until_at(&mut c.events, &kick, deadline)
            .await
            .unwrap_or_else(|seen| panic!("{} was not told about the kick: {seen:?}", c.user));
        let rest = until_at(&mut c.events, &ChatEvent::SdkNotReady, deadline).await;
        assert!(rest.is_ok_and(|(seen, _)| seen.is_empty()), "{}", c.user);
    }

    let killed = Instant::now();
    server.kill();
    let disconnects = survivors.iter_mut().map(|c| async move {
        let deadline = tokio::time::Instant::now() + common::SOON;
        let lost = until_at(&mut c.events, &common::net(NetState::Disconnected), deadline).await;
        let (seen, at) = lost.unwrap_or_else(|seen| panic!("{} never noticed the crash: {seen:?}", c.user));
        assert!(seen.is_empty(), "{}: {seen:?}", c.user);
        at
    });
    let all_lost = futures_util::future::join_all(disconnects).await;
    let noticed = all_lost.iter().map(|at| at.duration_since(killed)).max().unwrap();

    let restarted = Instant::now();
    let server = ServerProcess::spawn(&config, addr);
    let listening = restarted.elapsed();
    let resumes = survivors.iter_mut().map(|c| async move {
        let deadline = tokio::time::Instant::from_std(restarted) + bound;
        let back = until_at(&mut c.events, &common::net(NetState::Connected), deadline).await;
        let (seen, at) =
            back.unwrap_or_else(|seen| panic!("{} was not ready {bound:?} after the restart: {seen:?}", c.user));
        assert!(
            seen.iter().all(|e| matches!(e, ChatEvent::NetStateChange { .. })),
            "{}: the app saw more than net-state changes: {seen:?}",
            c.user
        );
        assert!(c.client.is_ready(), "{}", c.user);
        at.duration_since(restarted)
    });
    let mut ready_after = futures_util::future::join_all(resumes).await;
    ready_after.sort();
    let all_ready = *ready_after.last().unwrap();

    // Peak resume rate over 100 ms windows (client-side arrival of the resumed login).
    let mut buckets = std::collections::BTreeMap::<u128, usize>::new();
    for d in &ready_after {
        *buckets.entry(d.as_millis() / 100).or_default() += 1;
    }
    let peak_per_s = buckets.values().max().copied().unwrap_or(0) * 10;

    // The server agrees: every survivor is online again, no kicked user is.
    let survivor_names: Vec<String> = survivors.iter().map(|c| c.user.clone()).collect();
    let kicked_names: Vec<String> = kicked.iter().map(|c| c.user.clone()).collect();
    assert_eq!(online(server.addr, &survivor_names).await.len(), survivor_names.len());
    assert_eq!(online(server.addr, &kicked_names).await, Vec::<String>::new());
    // Kicked clients stayed out through it all: not one reconnect attempt (the link going down
    // after the kick is all they may report).
    for c in kicked.iter_mut() {
        let after = std::iter::from_fn(|| c.events.try_recv().ok()).collect::<Vec<_>>();
        assert!(
            after
                .iter()
                .all(|e| common::plain(e.clone()) == common::net(NetState::Disconnected)),
            "{} came back: {after:?}",
            c.user
        );
        assert!(!c.client.is_ready());
    }
    for c in survivors.iter_mut() {
        let after = std::iter::from_fn(|| c.events.try_recv().ok()).collect::<Vec<_>>();
        assert!(
            !after.contains(&ChatEvent::SdkNotReady),
            "{} saw SDK_NOT_READY: {after:?}",
            c.user
        );
    }

    println!(
        "reconnect storm: {n} clients ({KICKED} kicked first); logins took {login_took:?}; \
         SIGKILL noticed by all within {noticed:?}; new server listening after {listening:?}; after the restart ready: p50 {:?}, p99 {:?}, \
         all {all_ready:?} (bound {bound:?}); peak resume rate {peak_per_s}/s (100 ms windows)",
        percentile(&ready_after, 0.5),
        percentile(&ready_after, 0.99),
    );
    let _ = std::fs::remove_file(&config);
    futures_util::future::join_all(clients.iter().map(|c| c.client.destroy())).await;
}
