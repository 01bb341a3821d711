//! Servers and client pools run as child processes of this same binary, so each has its own
//! threads and the kernel can tell their CPU time and memory apart from the load generator's.
//!
//! `natter-bench child natter-server ADDR` / `child echo-server ADDR` print `LISTENING <addr>` and
//! serve until stdin closes (the parent exited or dropped the handle); `child idle-clients …`
//! prints one `RESULT …` line and waits the same way.

use std::io::{BufRead, BufReader, Read};
use std::net::SocketAddr;
use std::os::unix::process::CommandExt;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};

pub struct ChildProcess {
    child: Child,
    stdout: BufReader<ChildStdout>,
    /// Dropping it closes the child's stdin: its signal to exit.
    _stdin: ChildStdin,
}

impl ChildProcess {
    pub fn spawn(args: &[String]) -> Self {
        let exe = std::env::current_exe().expect("the benchmark's own path");
        let mut command = Command::new(exe);
        command
            .arg("child")
            .args(args)
            .env("RUST_LOG", "error")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        // SAFETY: prctl is async-signal-safe and touches only the child's own state.
        unsafe {
            command.pre_exec(|| {
                if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) == -1 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let mut child = command.spawn().expect("spawn a benchmark child process");
        let stdout = BufReader::new(child.stdout.take().expect("piped stdout"));
        let stdin = child.stdin.take().expect("piped stdin");
        ChildProcess {
            child,
            stdout,
            _stdin: stdin,
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The next stdout line starting with `prefix`, without it.
    pub fn line(&mut self, prefix: &str) -> String {
        let mut line = String::new();
        loop {
            line.clear();
            let n = self.stdout.read_line(&mut line).expect("read the child's stdout");
            assert!(
                n > 0,
                "the child exited before printing {prefix:?}: {:?}",
                self.child.try_wait()
            );
            if let Some(rest) = line.trim_end().strip_prefix(prefix) {
                return rest.trim().to_owned();
            }
        }
    }

    /// SIGKILL, as a crash would: no close frames, sockets torn down by the kernel.
    pub fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for ChildProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A server child: natter or the bare echo server.
pub struct ServerChild {
    pub process: ChildProcess,
    pub addr: SocketAddr,
}

impl ServerChild {
    pub fn start(kind: &str, listen: SocketAddr) -> Self {
        Self::start_sharded(kind, listen, 0)
    }

    /// A server with `shards` accept shards beside its main runtime (a file-descriptor table
    /// each, see natter_server::fd_table), for more connections than RLIMIT_NOFILE allows one.
    pub fn start_sharded(kind: &str, listen: SocketAddr, shards: u32) -> Self {
        let mut args = vec![kind.to_owned(), listen.to_string()];
        if shards > 0 {
            args.extend(["--shards".to_owned(), shards.to_string()]);
        }
        let mut process = ChildProcess::spawn(&args);
        let addr = process.line("LISTENING").parse().expect("a socket address");
        ServerChild { process, addr }
    }

    pub fn natter() -> Self {
        Self::start("natter-server", "127.0.0.1:0".parse().unwrap())
    }

    pub fn echo() -> Self {
        Self::start("echo-server", "127.0.0.1:0".parse().unwrap())
    }

    pub fn pid(&self) -> u32 {
        self.process.pid()
    }

    pub fn url(&self) -> String {
        format!("ws://{}{}", self.addr, natter_protocol::WS_PATH)
    }
}

/// Blocks until stdin reaches end of file: the parent is done with this child.
pub fn wait_for_parent() {
    let mut sink = Vec::new();
    let _ = std::io::stdin().read_to_end(&mut sink);
}

/// The natter server the benchmark measures: the dev app, with the per-source and global
/// connection caps out of the way (the load generator is one host), everything else as shipped.
pub fn natter_server_config(listen: SocketAddr) -> natter_server::ServerConfig {
    natter_server::ServerConfig {
        listen,
        max_connections_per_source: u32::MAX,
        max_connections: 0,
        ..Default::default()
    }
}
