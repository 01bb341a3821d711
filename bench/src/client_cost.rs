//! Item 5: what idle logged-in `ChatClient`s cost their process (RSS and threads per client at
//! 1k and 10k, in a child process of their own), against the same number of bare
//! tokio-tungstenite connections held the same way; and the time per synchronous getter.

use crate::child::{wait_for_parent, ChildProcess, ServerChild};
use crate::procfs;
use crate::report::Row;
use futures_util::future::join_all;
use futures_util::StreamExt;
use natter::{ChatClient, ChatConfig};
use std::hint::black_box;
use std::sync::Mutex;
use std::time::Instant;

/// Logins in flight at once while the pool is set up.
const WAVE: usize = 200;

struct PoolResult {
    ready: usize,
    rss_delta: f64,
    threads: f64,
}

fn pool(kind: &str, n: usize, url: &str) -> PoolResult {
    let mut child = ChildProcess::spawn(&[kind.to_owned(), n.to_string(), url.to_owned()]);
    let line = child.line("RESULT");
    let v: Vec<f64> = line.split_whitespace().map(|x| x.parse().expect("a number")).collect();
    PoolResult {
        ready: v[0] as usize,
        rss_delta: v[2] - v[1],
        threads: v[4],
    }
}

fn print_result(ready: usize, before: procfs::Memory, after: procfs::Memory) {
    println!(
        "RESULT {ready} {} {} {} {}",
        before.rss_bytes, after.rss_bytes, before.threads, after.threads
    );
}

/// Child mode: `n` logged-in idle `ChatClient`s (Natter's own runtime; a small caller runtime
/// only awaits the logins).
pub fn child_idle_clients(n: usize, url: &str) {
    let caller = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let config = ChatConfig::new(natter_server::DEV_SDK_APP_ID).with_server_url(url);
    // Natter's runtime starts with the first client: count it in the baseline.
    let _first = ChatClient::new(config.clone()).unwrap();
    let before = procfs::memory(std::process::id());
    let mut clients = Vec::with_capacity(n);
    let mut ready = 0;
    for wave in (0..n).collect::<Vec<_>>().chunks(WAVE) {
        let batch: Vec<(ChatClient, String)> = wave
            .iter()
            .map(|i| (ChatClient::new(config.clone()).unwrap(), format!("idle-{i}")))
            .collect();
        let results = caller.block_on(join_all(
            batch
                .iter()
                .map(|(c, user)| async move { c.login(user, &crate::wire::user_sig(user)).await }),
        ));
        ready += results.iter().filter(|r| r.is_ok()).count();
        clients.extend(batch.into_iter().map(|(c, _)| c));
    }
    print_result(ready, before, procfs::memory(std::process::id()));
    wait_for_parent();
}

/// Child mode: `n` bare tokio-tungstenite connections (default config), each read by a task.
pub fn child_idle_ws(n: usize, url: &str) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let before = procfs::memory(std::process::id());
    let ready = rt.block_on(async {
        let mut ready = 0;
        for wave in (0..n).collect::<Vec<_>>().chunks(WAVE) {
            let opened = join_all(wave.iter().map(|_| tokio_tungstenite::connect_async(url))).await;
            for (mut ws, _) in opened.into_iter().flatten() {
                ready += 1;
                tokio::spawn(async move { while let Some(Ok(_)) = ws.next().await {} });
            }
        }
        ready
    });
    print_result(ready, before, procfs::memory(std::process::id()));
    wait_for_parent();
}

pub fn idle(natter: &ServerChild, echo: &ServerChild, counts: &[usize]) -> Vec<Row> {
    let mut rows = vec![];
    for &n in counts {
        let c = pool("idle-clients", n, &natter.url());
        let b = pool("idle-ws", n, &echo.url());
        rows.push(
            Row::new(
                "5",
                format!("client RSS per idle logged-in ChatClient, {n} in one process"),
                c.rss_delta / c.ready.max(1) as f64 / 1024.0,
                "KiB",
            )
            .against(
                "bare tokio-tungstenite connection",
                b.rss_delta / b.ready.max(1) as f64 / 1024.0,
            )
            .note(format!("{} of {n} ready (bare: {})", c.ready, b.ready)),
        );
        rows.push(
            Row::new(
                "5",
                format!("threads in the process with {n} ChatClients"),
                c.threads,
                "",
            )
            .against("bare connections on a 2-worker runtime", b.threads)
            .note("Natter's runtime: one thread (natter-rt) shared by every client, + main"),
        );
    }
    rows
}

/// A getter's name and one call of it.
type Getter<'a> = (&'static str, Box<dyn Fn() + 'a>);

/// Nanoseconds per call of `f`, over `iterations` calls.
fn ns_per_call(iterations: u32, mut f: impl FnMut()) -> f64 {
    let start = Instant::now();
    for _ in 0..iterations {
        f();
    }
    start.elapsed().as_nanos() as f64 / iterations as f64
}

pub async fn getters(natter: &ServerChild, iterations: u32) -> Vec<Row> {
    let client = ChatClient::new(ChatConfig::new(natter_server::DEV_SDK_APP_ID).with_server_url(natter.url())).unwrap();
    client
        .login("bench-getter", &crate::wire::user_sig("bench-getter"))
        .await
        .expect("login");
    // The floor of any getter over shared state: an uncontended mutex read and a String clone.
    let floor_state = Mutex::new(String::from("bench-getter"));
    let floor = ns_per_call(iterations, || {
        black_box(floor_state.lock().unwrap().clone());
    });
    let getters: [Getter; 3] = [
        (
            "is_ready()",
            Box::new(|| {
                black_box(client.is_ready());
            }),
        ),
        (
            "login_user()",
            Box::new(|| {
                black_box(client.login_user());
            }),
        ),
        (
            "server_time_ms()",
            Box::new(|| {
                black_box(client.server_time_ms());
            }),
        ),
    ];
    let rows = getters
        .iter()
        .map(|(name, f)| {
            Row::new("5", format!("sync getter {name}"), ns_per_call(iterations, f), "ns")
                .against("Mutex<String> lock+clone", floor)
                .note(format!("{iterations} calls, logged in"))
        })
        .collect();
    client.destroy().await.expect("destroy");
    rows
}
