//! `natter-bench`: Natter's benchmarks, each figure beside its baseline measured in the same run
//! (the bare tokio-tungstenite floor: an echo server started by this program), as one Markdown
//! table on stdout and JSON in a file. Not a test: `scripts/bench.sh` runs it.
//!
//!     natter-bench [--quick] [--json PATH] [--only 1,2,…] [--artifact LABEL=PATH]…
//!
//! Sections follow issue 10: 1 login latency, 2 kick latency, 3 server capacity, 4 throughput,
//! 5 client cost, 6 size, 7 reconnect storm; 8 the same kick and login rate on a 2-node cluster
//! (Redis directory) against one node.

mod capacity;
mod child;
mod client_cost;
mod cluster;
mod events;
mod latency;
mod procfs;
mod report;
mod size;
mod stats;
mod storm;
mod throughput;
mod wire;

use child::ServerChild;
use serde_json::json;
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// How hard each section works: `--quick` keeps the whole run to seconds (it proves the program
/// still runs end to end), the full run produces the published figures.
struct Plan {
    logins: usize,
    kicks: usize,
    workers: Vec<usize>,
    throughput_window: Duration,
    throughput_rounds: u32,
    sessions: usize,
    /// Descriptor tables per server in section 3, at least (see capacity::run).
    min_tables: usize,
    idle_window: Duration,
    idle_clients: Vec<usize>,
    getter_calls: u32,
    storm: usize,
    gzip_level: u32,
    /// Hub instances cycling login/logout, and the window their items are counted over.
    event_instances: usize,
    event_window: Duration,
}

impl Plan {
    fn full() -> Self {
        Plan {
            logins: 2000,
            kicks: 1000,
            workers: vec![200, 1000],
            throughput_window: Duration::from_secs(12),
            throughput_rounds: 4,
            sessions: 100_000,
            min_tables: 1,
            idle_window: Duration::from_secs(20),
            idle_clients: vec![1000, 10_000],
            getter_calls: 1_000_000,
            storm: 10_000,
            gzip_level: 9,
            event_instances: 1000,
            event_window: Duration::from_secs(10),
        }
    }

    fn quick() -> Self {
        Plan {
            logins: 50,
            kicks: 20,
            workers: vec![200, 1000],
            throughput_window: Duration::from_millis(500),
            throughput_rounds: 1,
            sessions: 1000,
            min_tables: 2,
            idle_window: Duration::from_secs(1),
            idle_clients: vec![100, 1000],
            getter_calls: 100_000,
            storm: 200,
            // The quick run measures the (large) debug artifacts; level 9 would take the most time.
            gzip_level: 1,
            event_instances: 5,
            event_window: Duration::from_secs(1),
        }
    }
}

/// Descriptors kept free for everything but the sessions (children's pipes, /proc reads, sockets
/// of the previous section still closing).
const FD_HEADROOM: u64 = 1500;

struct Args {
    quick: bool,
    json: PathBuf,
    only: Option<Vec<String>>,
    artifacts: Vec<(String, PathBuf)>,
    sessions: Option<usize>,
    event_drivers: Vec<events::Driver>,
}

fn usage(problem: &str) -> ! {
    eprintln!(
        "natter-bench: {problem}\nusage: natter-bench [--quick] [--json PATH] [--only 1,2,3,4,5,6,7,8] \
         [--sessions N] [--artifact LABEL=PATH]... [--events-driver LABEL=COMMAND]..."
    );
    std::process::exit(2)
}

fn parse_args(mut args: impl Iterator<Item = String>) -> Args {
    let mut a = Args {
        quick: false,
        json: PathBuf::from("target/bench/results.json"),
        only: None,
        artifacts: vec![],
        sessions: None,
        event_drivers: vec![],
    };
    while let Some(arg) = args.next() {
        let mut value = |name: &str| args.next().unwrap_or_else(|| usage(&format!("{name} needs a value")));
        match arg.as_str() {
            "--quick" => a.quick = true,
            "--json" => a.json = value("--json").into(),
            "--only" => a.only = Some(value("--only").split(',').map(str::to_owned).collect()),
            "--sessions" => a.sessions = Some(value("--sessions").parse().unwrap_or_else(|_| usage("--sessions N"))),
            "--artifact" => {
                let v = value("--artifact");
                // The label may contain '=' ("panic=abort"), a path does not.
                let (label, path) = v.rsplit_once('=').unwrap_or_else(|| usage("--artifact LABEL=PATH"));
                // Checked before any measuring, not after minutes of it.
                if !std::path::Path::new(path).is_file() {
                    usage(&format!("--artifact {label}: {path} does not exist"));
                }
                a.artifacts.push((label.to_owned(), path.into()));
            }
            "--events-driver" => {
                let v = value("--events-driver");
                // The command may contain '=' (-Dkey=value), the label does not.
                let (label, command) = v
                    .split_once('=')
                    .unwrap_or_else(|| usage("--events-driver LABEL=COMMAND"));
                a.event_drivers.push(events::Driver {
                    label: label.to_owned(),
                    command: command.to_owned(),
                });
            }
            other => usage(&format!("unknown argument {other:?}")),
        }
    }
    a
}

fn child_main(args: impl Iterator<Item = String>) {
    let args: Vec<String> = args.collect();
    let arg = |i: usize| args.get(i).cloned().unwrap_or_else(|| usage("child: missing argument"));
    let mode = arg(0);
    match mode.as_str() {
        "natter-server" | "echo-server" => {
            let listen: std::net::SocketAddr = arg(1).parse().expect("an address");
            // Optional: `--shards N` (section 3), or `redis://…` and a node name for a cluster
            // node (section 8).
            let (shards, redis) = match args.get(2).map(String::as_str) {
                Some("--shards") => (arg(3).parse::<u32>().expect("a shard count"), None),
                Some(url) => (0, Some((url.to_owned(), arg(3)))),
                None => (0, None),
            };
            let rt = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()
                .unwrap();
            let addr = rt.block_on(async {
                if mode == "natter-server" {
                    // Leaked on purpose: it serves until this process exits.
                    let mut config = child::natter_server_config(listen);
                    config.accept_shards = shards;
                    if let Some((url, node)) = redis {
                        config.redis_url = Some(url);
                        config.node_id = Some(node);
                    }
                    let server = natter_server::start(config).await.expect("listen");
                    let addr = server.local_addr();
                    std::mem::forget(server);
                    addr
                } else {
                    wire::start_echo_server(listen, shards).expect("listen")
                }
            });
            println!("LISTENING {addr}");
            child::wait_for_parent();
        }
        "idle-clients" => client_cost::child_idle_clients(arg(1).parse().unwrap(), &arg(2)),
        "idle-ws" => client_cost::child_idle_ws(arg(1).parse().unwrap(), &arg(2)),
        other => usage(&format!("unknown child mode {other:?}")),
    }
}

fn first_line_of(path: &str, key: &str) -> String {
    std::fs::read_to_string(path)
        .ok()
        .and_then(|t| {
            t.lines()
                .find(|l| l.starts_with(key))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_owned())
        })
        .unwrap_or_default()
}

fn main() {
    let mut argv = std::env::args().skip(1).peekable();
    if argv.peek().map(String::as_str) == Some("child") {
        argv.next();
        // Client reconnect warnings during the storm would flood the output.
        let _ = natter::set_log_level(4);
        return child_main(argv);
    }
    let args = parse_args(argv);
    let _ = natter::set_log_level(4);
    let mut plan = if args.quick { Plan::quick() } else { Plan::full() };
    if let Some(n) = args.sessions {
        plan.sessions = n;
    }
    let wants = |s: &str| args.only.as_ref().is_none_or(|o| o.iter().any(|x| x == s));
    // This process holds one end of every session (the server child the other), plus sockets
    // still closing from the section before; generous headroom costs nothing.
    let fd_limit = procfs::raise_fd_limit((plan.sessions.max(plan.storm) as u64) * 4 + 20_000);
    // Each session is a file descriptor in this process and in the server child. Where the hard
    // limit cannot be raised (no CAP_SYS_RESOURCE, e.g. in a container) the capacity section
    // spreads them over several descriptor tables (accept shards; load-generator threads), and
    // its row says so; the storm holds what fits in one.
    plan.storm = plan.storm.min(fd_limit.saturating_sub(FD_HEADROOM) as usize);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let started = Instant::now();
    let mut rows = vec![];
    rt.block_on(async {
        let natter = ServerChild::natter();
        let echo = ServerChild::echo();
        if wants("1") {
            rows.extend(latency::login(&natter, &echo, plan.logins).await);
        }
        if wants("2") {
            rows.extend(latency::kick(&natter, &echo, plan.kicks).await);
        }
        if wants("4") {
            rows.extend(
                throughput::run(
                    &natter,
                    &echo,
                    &plan.workers,
                    plan.throughput_window,
                    plan.throughput_rounds,
                )
                .await,
            );
        }
        if wants("5") {
            rows.extend(client_cost::idle(&natter, &echo, &plan.idle_clients));
            rows.extend(client_cost::getters(&natter, plan.getter_calls).await);
            let work = args.json.parent().unwrap_or(std::path::Path::new("."));
            rows.extend(events::run(
                &natter,
                plan.event_instances,
                plan.event_window,
                &args.event_drivers,
                work,
            ));
        }
        drop((natter, echo));
        if wants("3") {
            rows.extend(capacity::run(plan.sessions, fd_limit, FD_HEADROOM, plan.min_tables, plan.idle_window).await);
        }
        if wants("7") {
            rows.extend(storm::run(plan.storm).await);
        }
        if wants("8") {
            rows.extend(
                cluster::run(
                    plan.kicks,
                    &plan.workers,
                    plan.throughput_window,
                    plan.throughput_rounds,
                )
                .await,
            );
        }
    });
    if wants("6") {
        if args.artifacts.is_empty() {
            usage("section 6 (size) needs --artifact LABEL=PATH (scripts/bench.sh passes them)");
        }
        let work = args
            .json
            .parent()
            .map(|p| p.join("strip"))
            .unwrap_or_else(|| "strip".into());
        rows.extend(size::run_all(&args.artifacts, &work, plan.gzip_level));
    }
    rows.sort_by_key(|r| r.section);
    println!("{}", report::markdown(&rows));
    let meta = json!({
        "quick": args.quick,
        "profile": if cfg!(debug_assertions) { "debug" } else { "release" },
        "nproc": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0),
        "cpu": first_line_of("/proc/cpuinfo", "model name"),
        "kernel": std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default().trim(),
        "fd_limit": fd_limit,
        "seconds": started.elapsed().as_secs_f64(),
        "unix_time": natter::local_unix_ms() / 1000,
    });
    if let Some(dir) = args.json.parent() {
        std::fs::create_dir_all(dir).expect("the JSON directory");
    }
    std::fs::write(
        &args.json,
        serde_json::to_string_pretty(&report::json(&rows, meta)).unwrap(),
    )
    .unwrap_or_else(|e| panic!("cannot write {}: {e}", args.json.display()));
    eprintln!(
        "natter-bench: {} rows in {:.1} s; JSON in {}",
        rows.len(),
        started.elapsed().as_secs_f64(),
        args.json.display()
    );
}
