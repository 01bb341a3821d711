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
use natter_server::fd_table::{self, Ended};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, oneshot, Semaphore};
use tokio::task::JoinSet;
use tokio_tungstenite::tungstenite::Message;

/// Natter's default client heartbeat: what an idle logged-in client sends.
const HEARTBEAT: Duration = Duration::from_secs(10);
/// Connection set-ups in flight at once (the set-up is not what is measured).
const WAVE: usize = 500;

/// How full the benchmark lets one file-descriptor table get: the kernel spreads connections
/// over a port's listeners by hash, so shards fill unevenly (±1 % at 100k over 7 tables).
const TABLE_FILL: f64 = 0.8;

/// How many file-descriptor tables of `fd_limit` descriptors hold `n` connections (at least
/// `min`, at most what a server starts): the server's main runtime plus its accept shards, and as
/// many load-generator threads. `headroom` is kept free in each table, but never more than a
/// quarter of it (a host whose limit is 1,024 still gets tables of ~600).
pub fn tables_for(n: usize, fd_limit: u64, headroom: u64, min: usize) -> usize {
    let free = fd_limit.saturating_sub(headroom.min(fd_limit / 4));
    let per_table = (free as f64 * TABLE_FILL).max(1.0);
    let most = natter_server::MAX_ACCEPT_SHARDS as usize + 1;
    ((n as f64 / per_table).ceil() as usize).clamp(min.max(1), most.max(min))
}

/// Connections held open by load-generator threads, each with a file-descriptor table and a
/// current-thread runtime of its own (so this process can hold more than RLIMIT_NOFILE).
pub struct Held {
    pub ready: usize,
    pub failed: usize,
    pub took: Duration,
    release: Vec<oneshot::Sender<()>>,
    ended: Vec<Ended>,
}

impl Held {
    /// Closes every connection and waits until their sockets are gone (the threads and their
    /// tables with them), so the next measurement starts with the file descriptors free.
    async fn release(self) {
        drop(self.release);
        for ended in self.ended {
            ended.wait().await;
        }
    }
}

/// One load-generator thread's part of [`hold`]: connections `connections` of the whole.
struct Share {
    addr: std::net::SocketAddr,
    connections: std::iter::StepBy<std::ops::Range<usize>>,
    login: bool,
    user_prefix: String,
    in_flight: usize,
}

impl Share {
    /// Opens this share's connections (reporting each outcome) and holds them until `released`
    /// (its sender dropped).
    async fn hold(self, results: mpsc::UnboundedSender<bool>, released: oneshot::Receiver<()>) {
        let gate = Arc::new(Semaphore::new(self.in_flight));
        let mut tasks = JoinSet::new();
        for i in self.connections {
            let (gate, results) = (gate.clone(), results.clone());
            let (addr, login, user) = (self.addr, self.login, format!("{}{i}", self.user_prefix));
            tasks.spawn(async move {
                let permit = gate.acquire_owned().await.expect("the gate stays open");
                let opened = if login {
                    let frame = wire::login_frame(&user, &wire::user_sig(&user), &format!("cap-{i}"));
                    wire::natter_login(wire::source(i), addr, &frame).await
                } else {
                    wire::open(wire::source(i), addr).await
                };
                drop(permit);
                let _ = results.send(opened.is_ok());
                if let Ok(ws) = opened {
                    keep_alive(ws, HEARTBEAT * (i % 1000) as u32 / 1000).await;
                }
            });
        }
        drop(results);
        let _ = released.await;
        tasks.abort_all();
        while tasks.join_next().await.is_some() {}
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

/// Opens `n` connections (Natter logins when `login`, else bare upgrades) from `tables`
/// load-generator threads and keeps each alive with a heartbeat, phases spread evenly over the
/// interval.
pub async fn hold(server: &ServerChild, n: usize, login: bool, user_prefix: &str, tables: usize) -> Held {
    let runtimes = fd_table::detached_runtimes(tables, "load").expect("load-generator threads");
    let (results_tx, mut results) = mpsc::unbounded_channel::<bool>();
    let (mut release, mut ended) = (vec![], vec![]);
    let start = Instant::now();
    for (t, runtime) in runtimes.into_iter().enumerate() {
        let (release_tx, released) = oneshot::channel::<()>();
        let share = Share {
            addr: server.addr,
            connections: (t..n).step_by(tables),
            login,
            user_prefix: user_prefix.to_owned(),
            in_flight: WAVE.div_ceil(tables),
        };
        let results_tx = results_tx.clone();
        ended.push(runtime.run(move |rt| rt.block_on(share.hold(results_tx, released))));
        release.push(release_tx);
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
        release,
        ended,
    }
}

struct Measured {
    ready: usize,
    failed: usize,
    took: Duration,
    rss_per_conn: f64,
}

/// Holds `n` connections on `server`, measures its memory, then lets them go.
async fn measure(server: &ServerChild, n: usize, login: bool, tables: usize) -> Measured {
    let before = procfs::memory(server.pid()).rss_bytes;
    let held = hold(server, n, login, "cap-", tables).await;
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
async fn idle_cpu(natter: &ServerChild, echo: &ServerChild, n: usize, window: Duration, tables: usize) -> Idle {
    let natter_held = hold(natter, n, true, "idle-", tables).await;
    let echo_held = hold(echo, n, false, "idle-", tables).await;
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

/// `fd_limit`: the RLIMIT_NOFILE soft limit in force (children inherit it); `headroom`: what a
/// table keeps free for everything but sessions; `min_tables`: at least this many tables per
/// server (the quick run sets 2, so the sharded path is run even where one table would do).
pub async fn run(n: usize, fd_limit: u64, headroom: u64, min_tables: usize, idle_window: Duration) -> Vec<Row> {
    let server_tables = tables_for(n, fd_limit, headroom, min_tables);
    let shards = (server_tables - 1) as u32;
    // Both cores for the set-up, at least.
    let generator_tables = tables_for(n, fd_limit, headroom, 2);
    let local = "127.0.0.1:0".parse().unwrap();
    let echo = ServerChild::start_sharded("echo-server", local, shards);
    let floor = measure(&echo, n, false, generator_tables).await;
    let natter = ServerChild::start_sharded("natter-server", local, shards);
    let m = measure(&natter, n, true, generator_tables).await;
    // Half each: this process holds both halves' client sockets at once.
    let idle = idle_cpu(
        &natter,
        &echo,
        n / 2,
        idle_window,
        tables_for(n / 2, fd_limit, headroom, 2),
    )
    .await;
    let rows = vec![
        Row::new("3", "capacity: ready sessions held by one server", m.ready as f64, "")
            .against("echo connections held", floor.ready as f64)
            .note(format!(
                "{}failed natter {} / echo {}; set-up took {:.1} s / {:.1} s; {} sources",
                if server_tables > 1 {
                    format!(
                        "RLIMIT_NOFILE {fd_limit} per descriptor table: each server ran {server_tables} tables \
                         (main runtime + {shards} accept shards), the load generator {generator_tables}; "
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

#[cfg(test)]
mod tests {
    use super::tables_for;

    #[test]
    fn tables_cover_the_sessions_within_what_a_server_starts() {
        // This machine: 20,000 per table, 1,500 kept free, filled to 80 %: 14,800 each.
        assert_eq!(tables_for(100_000, 20_000, 1_500, 1), 7);
        assert_eq!(tables_for(14_800, 20_000, 1_500, 1), 1);
        assert_eq!(tables_for(1_000, 20_000, 1_500, 2), 2, "at least the minimum");
        // A host at the common 1,024: the headroom is capped at a quarter, not the whole table.
        assert_eq!(tables_for(1_000, 1_024, 1_500, 1), 2);
        // Never more than the main runtime + MAX_ACCEPT_SHARDS.
        assert_eq!(
            tables_for(10_000_000, 1_024, 1_500, 1),
            natter_server::MAX_ACCEPT_SHARDS as usize + 1
        );
    }
}
