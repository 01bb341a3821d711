//! Item 3: concurrent ready sessions held by one server process (the load generator
//! co-located, connections spread over several 127.0.0.x sources), the server's resident memory
//! per session, and its CPU while the sessions only heartbeat. The bare echo server holds the
//! same number of connections, pinged at the same rate, as the floor; for the CPU both servers
//! hold half as many at once and are read over the same window.

use crate::child::ServerChild;
use crate::procfs;
use crate::report::Row;
use crate::wire::{self, Ws};
use futures_util::{SinkExt, StreamExt};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, Semaphore};
use tokio::task::JoinSet;
use tokio_tungstenite::tungstenite::Message;

/// Natter's default client heartbeat: what an idle logged-in client sends.
const HEARTBEAT: Duration = Duration::from_secs(10);
/// Connection set-ups in flight at once (the set-up is not what is measured).
const WAVE: usize = 500;

pub struct Held {
    pub ready: usize,
    pub failed: usize,
    pub took: Duration,
    tasks: JoinSet<()>,
}

impl Held {
    /// Closes every connection and waits until their sockets are gone, so the next
    /// measurement starts with the file descriptors free.
    async fn release(mut self) {
        self.tasks.abort_all();
        while self.tasks.join_next().await.is_some() {}
    }
}

async fn keep_alive(mut ws: Ws, phase: Duration) {
    let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + phase, HEARTBEAT);
    loop {
        tokio::select! {
            _ = tick.tick() => {
                if ws.send(Message::text(wire::ECHO_TEXT)).await.is_err() {
                    return;
                }
            }
            msg = ws.next() => match msg {
                Some(Ok(_)) => {}
                _ => return,
            },
        }
    }
}

/// Opens `n` connections (Natter logins when `login`, else bare upgrades) and keeps each alive
/// with a heartbeat, phases spread evenly over the interval.
pub async fn hold(server: &ServerChild, n: usize, login: bool, user_prefix: &str) -> Held {
    let gate = Arc::new(Semaphore::new(WAVE));
    let (results_tx, mut results) = mpsc::unbounded_channel::<bool>();
    let mut tasks = JoinSet::new();
    let addr = server.addr;
    let start = Instant::now();
    for i in 0..n {
        let (gate, results_tx) = (gate.clone(), results_tx.clone());
        let user = format!("{user_prefix}{i}");
        tasks.spawn(async move {
            let permit = gate.acquire_owned().await.expect("the gate stays open");
            let opened = if login {
                let frame = wire::login_frame(&user, &wire::user_sig(&user), &format!("cap-{i}"));
                wire::natter_login(wire::source(i), addr, &frame).await
            } else {
                wire::open(wire::source(i), addr).await
            };
            drop(permit);
            let _ = results_tx.send(opened.is_ok());
            if let Ok(ws) = opened {
                keep_alive(ws, HEARTBEAT * (i % 1000) as u32 / 1000).await;
            }
        });
    }
    drop(results_tx);
    let (mut ready, mut failed) = (0, 0);
    while ready + failed < n {
        match results.recv().await {
            Some(true) => ready += 1,
            Some(false) => failed += 1,
            None => break,
        }
    }
    Held {
        ready,
        failed,
        took: start.elapsed(),
        tasks,
    }
}

struct Measured {
    ready: usize,
    failed: usize,
    took: Duration,
    rss_per_conn: f64,
}

/// Holds `n` connections on `server`, measures its memory, then lets them go.
async fn measure(server: &ServerChild, n: usize, login: bool) -> Measured {
    let before = procfs::memory(server.pid()).rss_bytes;
    let held = hold(server, n, login, "cap-").await;
    let after = procfs::memory(server.pid()).rss_bytes;
    let (ready, failed, took) = (held.ready, held.failed, held.took);
    held.release().await;
    Measured {
        ready,
        failed,
        took,
        rss_per_conn: after.saturating_sub(before) as f64 / ready.max(1) as f64,
    }
}

struct Idle {
    natter_per_10k: f64,
    echo_per_10k: f64,
    sessions: usize,
}

/// Both servers hold `n` connections at once and their CPU is read over the same window, so
/// whatever else the machine does in that window falls on both alike (one window per server,
/// one after the other, put the machine's noise on one side: 0.7× to 1.5× between runs).
async fn idle_cpu(natter: &ServerChild, echo: &ServerChild, n: usize, window: Duration) -> Idle {
    let natter_held = hold(natter, n, true, "idle-").await;
    let echo_held = hold(echo, n, false, "idle-").await;
    let (natter0, echo0) = (procfs::cpu_time(natter.pid()), procfs::cpu_time(echo.pid()));
    let t0 = Instant::now();
    // The thing measured: CPU spent while nothing but heartbeats happens.
    tokio::time::sleep(window).await;
    let (natter_cpu, echo_cpu) = (
        procfs::cpu_time(natter.pid()) - natter0,
        procfs::cpu_time(echo.pid()) - echo0,
    );
    let elapsed = t0.elapsed().as_secs_f64();
    // % of one core per 10k sessions.
    let per_10k = |cpu: Duration, ready: usize| cpu.as_secs_f64() / elapsed * 100.0 * 10_000.0 / ready.max(1) as f64;
    let idle = Idle {
        natter_per_10k: per_10k(natter_cpu, natter_held.ready),
        echo_per_10k: per_10k(echo_cpu, echo_held.ready),
        sessions: natter_held.ready.min(echo_held.ready),
    };
    natter_held.release().await;
    echo_held.release().await;
    idle
}

pub async fn run(n: usize, asked: usize, fd_limit: u64, idle_window: Duration) -> Vec<Row> {
    let echo = ServerChild::echo();
    let floor = measure(&echo, n, false).await;
    let natter = ServerChild::natter();
    let m = measure(&natter, n, true).await;
    // Half each: this process holds both halves' client sockets at once.
    let idle = idle_cpu(&natter, &echo, n / 2, idle_window).await;
    let rows = vec![
        Row::new("3", "capacity: ready sessions held by one server", m.ready as f64, "")
            .against("echo connections held", floor.ready as f64)
            .note(format!(
                "{}failed natter {} / echo {}; set-up took {:.1} s / {:.1} s; {} sources",
                if n < asked {
                    format!(
                        "asked {asked}, capped at {n} by RLIMIT_NOFILE {fd_limit} (hard limit, not raisable here); "
                    )
                } else {
                    String::new()
                },
                m.failed,
                floor.failed,
                m.took.as_secs_f64(),
                floor.took.as_secs_f64(),
                wire::SOURCES
            )),
        Row::new("3", "server RSS per session", m.rss_per_conn / 1024.0, "KiB")
            .against("echo server RSS per connection", floor.rss_per_conn / 1024.0)
            .note("VmRSS after − before, / sessions; target ≤ 8 KiB"),
        Row::new(
            "3",
            "idle heartbeat CPU per 10k sessions",
            idle.natter_per_10k,
            "% core",
        )
        .against("echo server, same pings", idle.echo_per_10k)
        .note(format!(
            "one ping per session per {} s; both servers at once, {} sessions each, the same {:.0} s window",
            HEARTBEAT.as_secs(),
            idle.sessions,
            idle_window.as_secs_f64()
        )),
    ];
    drop(natter);
    drop(echo);
    rows
}
