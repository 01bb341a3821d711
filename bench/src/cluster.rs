//! Two Natter nodes sharing a Redis session directory (the cluster), against one node in the
//! same run: logins/s with the workers split over both nodes, and a kick whose two instances
//! sit on different nodes.

use crate::child::{ChildProcess, ServerChild};
use crate::report::Row;
use crate::{latency, throughput};
use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A `redis-server` child on a free loopback port, killed on drop (scripts/install-redis.sh).
struct Redis {
    child: Child,
    url: String,
}

impl Redis {
    fn start() -> Self {
        let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let mut command = Command::new("redis-server");
        command
            .args([
                "--port",
                &port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit());
        // SAFETY: prctl is async-signal-safe and touches only the child's own state.
        unsafe {
            command.pre_exec(|| {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                Ok(())
            });
        }
        let child = command
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start redis-server ({e}): run scripts/install-redis.sh"));
        // Ready once it accepts connections.
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "redis-server did not listen on {port} within 10 s"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        Redis {
            child,
            url: format!("redis://127.0.0.1:{port}"),
        }
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn node(redis: &Redis, name: &str) -> ServerChild {
    let mut process = ChildProcess::spawn(&[
        "natter-server".to_owned(),
        "127.0.0.1:0".to_owned(),
        redis.url.clone(),
        name.to_owned(),
    ]);
    let addr = process.line("LISTENING").parse().expect("a socket address");
    ServerChild { process, addr }
}

pub async fn run(kicks: usize, workers: &[usize], window: Duration, rounds: u32) -> Vec<Row> {
    let redis = Redis::start();
    let (a, b) = (node(&redis, "bench-a"), node(&redis, "bench-b"));
    let single = ServerChild::natter();
    let mut rows = vec![];
    let one_node = latency::kick_between(&single, &single, kicks).await;
    let two_nodes = latency::kick_between(&a, &b, kicks).await;
    for ((label, one), (_, two)) in one_node.into_iter().zip(two_nodes) {
        rows.push(
            Row::new("8", format!("cluster: kick across 2 nodes, {label}"), two, "µs")
                .against("same kick on 1 node", one)
                .note(format!("{kicks} kicks; nodes share one redis-server")),
        );
    }
    for &w in workers {
        // Alternating rounds, as in section 4.
        let (mut one, mut two, mut errors) = (0.0, 0.0, (0, 0));
        for _ in 0..rounds {
            let (rate, failed) = throughput::logins_per_sec(&[&single], w, window / rounds).await;
            one += rate / rounds as f64;
            errors.0 += failed;
            let (rate, failed) = throughput::logins_per_sec(&[&a, &b], w, window / rounds).await;
            two += rate / rounds as f64;
            errors.1 += failed;
        }
        rows.push(
            Row::new("8", format!("cluster: logins/s on 2 nodes, {w} workers"), two, "/s")
                .against("1 node", one)
                .note(format!(
                    "workers split over both nodes, all on the same 2 cores; errors: 1 node {}, 2 nodes {}",
                    errors.0, errors.1
                )),
        );
    }
    rows
}
