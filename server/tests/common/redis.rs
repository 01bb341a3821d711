//! A real `redis-server` as a child process on a free loopback port (never a mock), killed on
//! drop. `scripts/install-redis.sh` installs it; a missing binary fails the test with that hint.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct RedisChild {
    child: Option<Child>,
    pub port: u16,
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn spawn(port: u16) -> Child {
    let mut cmd = Command::new("redis-server");
    cmd.args([
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
    .stderr(Stdio::null());
    // If the thread that started it ends (the process dies without running drops), the kernel
    // kills redis-server too. See `start_shared` for a server outliving one test's thread.
    #[cfg(target_os = "linux")]
    unsafe {
        use std::os::unix::process::CommandExt;
        // SAFETY: prctl in the forked child before exec, no allocation.
        cmd.pre_exec(|| {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
            Ok(())
        });
    }
    cmd.spawn()
        .expect("redis-server runs (install it with: bash scripts/install-redis.sh)")
}

/// PING answered with PONG.
fn answers(port: u16) -> bool {
    let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = s.set_read_timeout(Some(Duration::from_millis(500)));
    if s.write_all(b"PING\r\n").is_err() {
        return false;
    }
    let mut buf = [0u8; 16];
    matches!(s.read(&mut buf), Ok(n) if buf[..n].starts_with(b"+PONG"))
}

impl RedisChild {
    pub fn start() -> RedisChild {
        for _ in 0..5 {
            let port = free_port();
            let mut r = RedisChild {
                child: Some(spawn(port)),
                port,
            };
            if r.wait_ready() {
                return r;
            }
            r.kill();
        }
        panic!("redis-server did not start on a free port");
    }

    fn wait_ready(&mut self) -> bool {
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if answers(self.port) {
                return true;
            }
            if let Some(c) = self.child.as_mut() {
                if c.try_wait().ok().flatten().is_some() {
                    return false; // exited (port taken meanwhile)
                }
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        false
    }

    /// One server for the whole test process, started from a thread that lives as long as the
    /// process (the death signal follows the starting thread, not the process). Returns its port.
    pub fn start_shared() -> u16 {
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let r = RedisChild::start();
            tx.send(r.port).unwrap();
            loop {
                std::thread::park();
            }
        });
        rx.recv().expect("shared redis-server started")
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// SIGKILL and reap: every key is gone (no persistence).
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// A fresh, empty redis-server on the same port (after [`Self::kill`]).
    pub fn restart(&mut self) {
        self.kill();
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            self.child = Some(spawn(self.port));
            if self.wait_ready() {
                return;
            }
            self.kill();
            assert!(
                Instant::now() < deadline,
                "redis-server did not restart on port {}",
                self.port
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for RedisChild {
    fn drop(&mut self) {
        self.kill();
    }
}
