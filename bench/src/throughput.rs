//! Item 4: sustained logins/s with W concurrent workers (each: connect, upgrade, login, `loginOk`,
//! drop) against connect+upgrade+echo/s of the bare echo server with the same workers, plus each
//! server's CPU time per completed connection. Both logins are measured: the header login (in the
//! upgrade request, what the SDK sends by default) and the login frame (its fallback).

use crate::child::ServerChild;
use crate::procfs;
use crate::report::Row;
use crate::wire;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio_tungstenite::tungstenite::http::HeaderValue;

struct Rate {
    per_sec: f64,
    cpu_us_per_op: f64,
    /// This process's (the load generator's) CPU per completed operation: on 2 cores it competes
    /// with the server, so a heavier client step lowers the rate without the server costing more.
    generator_us_per_op: f64,
    errors: u64,
}

#[derive(Clone, Copy)]
enum Op {
    Echo,
    /// The login frame after the upgrade (3 round trips).
    Login,
    /// The login in the upgrade request (2 round trips): the SDK's default.
    HeaderLogin,
}

/// Several users per worker: a worker's next login must not land on its own previous session,
/// whose close the server may not have read yet (that would be a kick, which is item 2's figure,
/// not a login's cost).
const USERS_PER_WORKER: usize = 4;

/// A worker's logins, built before the window as the echo floor's frame is a constant: one
/// user and instance per slot (an app re-logging in on its device), so the load generator pays
/// no JSON or base64 per login on the cores the server uses.
struct Logins {
    frames: Vec<String>,
    headers: Vec<HeaderValue>,
}

impl Logins {
    fn of_worker(w: usize) -> Logins {
        let (mut frames, mut headers) = (vec![], vec![]);
        for k in 0..USERS_PER_WORKER {
            let user = format!("tp-{w}-{k}");
            let sig = wire::user_sig(&user);
            frames.push(wire::login_frame(&user, &sig, &format!("i{w}-{k}")));
            headers.push(wire::login_header(&wire::login_frame(
                &user,
                &sig,
                &format!("h{w}-{k}"),
            )));
        }
        Logins { frames, headers }
    }
}

/// Worker `w` works against `servers[w % len]`; CPU is summed over all of them.
async fn drive(servers: &[&ServerChild], op: Op, workers: usize, window: Duration) -> Rate {
    let done = Arc::new(AtomicU64::new(0));
    let errors = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let mut tasks = Vec::with_capacity(workers);
    for w in 0..workers {
        let (done, errors, stop) = (done.clone(), errors.clone(), stop.clone());
        let addr: SocketAddr = servers[w % servers.len()].addr;
        let logins = Logins::of_worker(w);
        tasks.push(tokio::spawn(async move {
            let mut i = 0usize;
            while !stop.load(Ordering::Relaxed) {
                i += 1;
                let k = i % USERS_PER_WORKER;
                let src = wire::source(w);
                let result = match op {
                    Op::Echo => wire::floor_once(src, addr).await,
                    Op::Login => wire::natter_login(src, addr, &logins.frames[k]).await,
                    Op::HeaderLogin => wire::natter_header_login(src, addr, &logins.headers[k]).await,
                };
                match result {
                    Ok(_) => done.fetch_add(1, Ordering::Relaxed),
                    Err(_) => errors.fetch_add(1, Ordering::Relaxed),
                };
            }
        }));
    }
    // Let every worker get going before the window opens.
    tokio::time::sleep(window / 5).await;
    let cpu = || servers.iter().map(|s| procfs::cpu_time(s.pid())).sum::<Duration>();
    let own = || procfs::cpu_time(std::process::id());
    let (n0, cpu0, own0, t0) = (done.load(Ordering::Relaxed), cpu(), own(), Instant::now());
    tokio::time::sleep(window).await;
    let (n1, cpu1, own1, elapsed) = (done.load(Ordering::Relaxed), cpu(), own(), t0.elapsed());
    stop.store(true, Ordering::Relaxed);
    for t in tasks {
        let _ = t.await;
    }
    let ops = (n1 - n0).max(1);
    Rate {
        per_sec: ops as f64 / elapsed.as_secs_f64(),
        cpu_us_per_op: (cpu1 - cpu0).as_micros() as f64 / ops as f64,
        generator_us_per_op: (own1 - own0).as_micros() as f64 / ops as f64,
        errors: errors.load(Ordering::Relaxed),
    }
}

/// Sums rounds of the same measurement.
fn total(rounds: &[Rate]) -> Rate {
    let n = rounds.len() as f64;
    Rate {
        per_sec: rounds.iter().map(|r| r.per_sec).sum::<f64>() / n,
        cpu_us_per_op: rounds.iter().map(|r| r.cpu_us_per_op).sum::<f64>() / n,
        generator_us_per_op: rounds.iter().map(|r| r.generator_us_per_op).sum::<f64>() / n,
        errors: rounds.iter().map(|r| r.errors).sum(),
    }
}

/// `rounds` alternating echo/natter windows of `window / rounds` each, so both see the same
/// drift in the load of a shared machine.
pub async fn run(
    natter: &ServerChild,
    echo: &ServerChild,
    worker_counts: &[usize],
    window: Duration,
    rounds: u32,
) -> Vec<Row> {
    let mut rows = vec![];
    for &workers in worker_counts {
        let (mut floors, mut frames, mut headers) = (vec![], vec![], vec![]);
        for _ in 0..rounds {
            floors.push(drive(&[echo], Op::Echo, workers, window / rounds).await);
            headers.push(drive(&[natter], Op::HeaderLogin, workers, window / rounds).await);
            frames.push(drive(&[natter], Op::Login, workers, window / rounds).await);
        }
        let floor = total(&floors);
        for (how, login) in [
            ("header login (the SDK's default)", total(&headers)),
            ("login frame", total(&frames)),
        ] {
            let note = format!(
                "{:.1} s in {rounds} alternating rounds, generator co-located, {} sources; errors: natter {}, echo {}",
                window.as_secs_f64(),
                wire::SOURCES,
                login.errors,
                floor.errors
            );
            rows.push(
                Row::new(
                    "4",
                    format!("throughput: logins/s, {how}, {workers} workers"),
                    login.per_sec,
                    "/s",
                )
                .against("echo connect+upgrade+echo", floor.per_sec)
                .note(note),
            );
            rows.push(
                Row::new(
                    "4",
                    format!("server CPU per login, {how}, {workers} workers"),
                    login.cpu_us_per_op,
                    "µs",
                )
                .against("echo server CPU per connection", floor.cpu_us_per_op)
                .note("user+sys of the server process over the window"),
            );
            rows.push(
                Row::new(
                    "4",
                    format!("load generator CPU per login, {how}, {workers} workers"),
                    login.generator_us_per_op,
                    "µs",
                )
                .against("load generator CPU per echo connection", floor.generator_us_per_op)
                .note("user+sys of this process over the window: it shares the 2 cores with the server"),
            );
        }
    }
    rows
}

/// Logins/s with `workers` split over `servers`, and failed attempts.
pub async fn logins_per_sec(servers: &[&ServerChild], workers: usize, window: Duration) -> (f64, u64) {
    let rate = drive(servers, Op::Login, workers, window).await;
    (rate.per_sec, rate.errors)
}
