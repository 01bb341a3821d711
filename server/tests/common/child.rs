//! The real `natter-server` binary as a child process: its address from the banner, its stderr
//! collected by a thread, its RSS from `/proc/<pid>/status`.

use std::io::{BufRead, BufReader, Read};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

pub struct ChildServer {
    child: std::process::Child,
    pub addr: SocketAddr,
    stderr: Arc<Mutex<Vec<u8>>>,
    reader: Option<std::thread::JoinHandle<()>>,
    config_path: PathBuf,
}

impl ChildServer {
    /// Starts the binary on a free port with `toml` as its config file and `RUST_LOG=rust_log`.
    pub fn start(name: &str, toml: &str, rust_log: &str) -> ChildServer {
        Self::start_with_fd_limit(name, toml, rust_log, None)
    }

    /// [`Self::start`] with the child's RLIMIT_NOFILE soft and hard limits both set to
    /// `fd_limit` (so it cannot raise them), as on a host whose hard limit is that low.
    pub fn start_with_fd_limit(name: &str, toml: &str, rust_log: &str, fd_limit: Option<u64>) -> ChildServer {
        let config_path = std::env::temp_dir().join(format!("natter-{name}-{}.toml", std::process::id()));
        std::fs::write(&config_path, format!("listen = \"127.0.0.1:0\"\n{toml}")).unwrap();
        let mut command = Command::new(env!("CARGO_BIN_EXE_natter-server"));
        command
            .arg("--config")
            .arg(&config_path)
            .env("RUST_LOG", rust_log)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        #[cfg(unix)]
        if let Some(limit) = fd_limit {
            use std::os::unix::process::CommandExt;
            // SAFETY: the closure only calls setrlimit, which is async-signal-safe.
            unsafe {
                command.pre_exec(move || {
                    let lim = libc::rlimit {
                        rlim_cur: limit as libc::rlim_t,
                        rlim_max: limit as libc::rlim_t,
                    };
                    if libc::setrlimit(libc::RLIMIT_NOFILE, &lim) != 0 {
                        return Err(std::io::Error::last_os_error());
                    }
                    Ok(())
                });
            }
        }
        #[cfg(not(unix))]
        let _ = fd_limit;
        let mut child = command.spawn().expect("natter-server starts");
        let stderr = Arc::new(Mutex::new(Vec::new()));
        let reader = {
            let mut pipe = child.stderr.take().unwrap();
            let stderr = Arc::clone(&stderr);
            std::thread::spawn(move || {
                let mut buf = [0u8; 8192];
                while let Ok(n) = pipe.read(&mut buf) {
                    if n == 0 {
                        break;
                    }
                    stderr.lock().unwrap().extend_from_slice(&buf[..n]);
                }
            })
        };
        let (tx, rx) = mpsc::channel();
        let stdout = child.stdout.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(rest) = line.trim().strip_prefix("WebSocket:") {
                    let url = rest.trim();
                    let addr = url.trim_start_matches("ws://").trim_end_matches("/ws").to_owned();
                    let _ = tx.send(addr);
                }
            }
        });
        let addr = rx
            .recv_timeout(Duration::from_secs(10))
            .expect("banner with the WebSocket URL")
            .parse()
            .unwrap();
        ChildServer {
            child,
            addr,
            stderr,
            reader: Some(reader),
            config_path,
        }
    }

    pub fn ws_url(&self) -> String {
        format!("ws://{}/ws", self.addr)
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Resident set size in KiB.
    pub fn rss_kib(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid())).unwrap();
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .expect("VmRSS in /proc/<pid>/status")
    }

    /// Everything written to stderr so far.
    pub fn stderr(&self) -> Vec<u8> {
        self.stderr.lock().unwrap().clone()
    }

    /// Waits (bounded) until stderr holds `needle`.
    pub fn wait_for_log(&self, needle: &str, limit: Duration) {
        let deadline = Instant::now() + limit;
        while !String::from_utf8_lossy(&self.stderr()).contains(needle) {
            assert!(Instant::now() < deadline, "log never showed {needle:?}");
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// SIGTERM, wait for a clean exit, return all of stderr.
    pub fn stop(mut self) -> Vec<u8> {
        // SAFETY: kill(2) on our own child's pid.
        #[cfg(unix)]
        unsafe {
            libc::kill(self.child.id() as libc::pid_t, libc::SIGTERM);
        }
        #[cfg(not(unix))]
        let _ = self.child.kill();
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                assert!(status.success(), "natter-server exited with {status}");
                break;
            }
            assert!(Instant::now() < deadline, "natter-server did not stop on SIGTERM");
            std::thread::sleep(Duration::from_millis(10));
        }
        if let Some(r) = self.reader.take() {
            let _ = r.join();
        }
        self.stderr()
    }
}

impl Drop for ChildServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_file(&self.config_path);
    }
}

/// A WebSocket to `url` (bounded by [`super::WAIT`]).
pub async fn connect_url(url: &str) -> super::Ws {
    let (ws, _) = tokio::time::timeout(super::WAIT, tokio_tungstenite::connect_async(url))
        .await
        .expect("connect in time")
        .expect("websocket handshake");
    ws
}

/// Sends a login frame and returns the reply.
pub async fn login_reply(url: &str, frame: &str) -> (super::Ws, serde_json::Value) {
    let mut ws = connect_url(url).await;
    super::send(&mut ws, frame).await;
    let reply = super::next_frame(&mut ws).await;
    (ws, reply)
}
