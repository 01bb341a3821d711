//! The binary raises its soft `RLIMIT_NOFILE` to the hard limit at start and logs what it got
//! (a node left at a soft limit of 1024 stops accepting there with `Too many open files`).
#![cfg(target_os = "linux")]

use std::io::{BufRead, BufReader, Read};
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// Soft limit the child starts with (far below any hard limit a CI machine has).
const LOWERED_SOFT: u64 = 256;

struct Started {
    child: std::process::Child,
    /// (soft, hard) from `/proc/<pid>/limits` while it serves.
    limits: (u64, u64),
}

/// Starts the real binary with its soft limit lowered to [`LOWERED_SOFT`] (hard limit kept) and
/// returns once its banner is out.
fn start_lowered(toml: &str) -> (Started, std::path::PathBuf) {
    let config = std::env::temp_dir().join(format!("natter-fd-limit-{}-{}.toml", std::process::id(), toml.len()));
    std::fs::write(&config, format!("listen = \"127.0.0.1:0\"\n{toml}")).unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_natter-server"));
    cmd.arg("--config")
        .arg(&config)
        .env("RUST_LOG", "info")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    // SAFETY: the closure only calls getrlimit/setrlimit, both async-signal-safe.
    unsafe {
        cmd.pre_exec(|| {
            let mut lim = libc::rlimit {
                rlim_cur: 0,
                rlim_max: 0,
            };
            if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            lim.rlim_cur = LOWERED_SOFT as libc::rlim_t;
            if libc::setrlimit(libc::RLIMIT_NOFILE, &lim) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let mut child = cmd.spawn().expect("natter-server starts");
    let (tx, rx) = mpsc::channel();
    let stdout = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if line.trim().starts_with("WebSocket:") {
                let _ = tx.send(());
            }
        }
    });
    rx.recv_timeout(Duration::from_secs(10)).expect("banner in time");
    let limits = std::fs::read_to_string(format!("/proc/{}/limits", child.id())).unwrap();
    let row = limits
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .expect("open files row");
    let nums: Vec<u64> = row.split_whitespace().filter_map(|w| w.parse().ok()).collect();
    (
        Started {
            child,
            limits: (nums[0], nums[1]),
        },
        config,
    )
}

/// SIGTERM, wait, all of stderr.
fn stop(mut s: Started) -> String {
    // SAFETY: kill(2) on our own child's pid.
    unsafe {
        libc::kill(s.child.id() as libc::pid_t, libc::SIGTERM);
    }
    let mut err = String::new();
    s.child.stderr.take().unwrap().read_to_string(&mut err).unwrap();
    assert!(s.child.wait().unwrap().success());
    err
}

#[test]
fn soft_limit_is_raised_to_the_hard_limit_and_logged() {
    let (started, config) = start_lowered("");
    let (soft, hard) = started.limits;
    assert!(
        hard > LOWERED_SOFT,
        "the hard limit ({hard}) must exceed {LOWERED_SOFT} for this test to mean anything"
    );
    assert_eq!(soft, hard, "soft limit raised to the hard limit");
    let log = stop(started);
    let _ = std::fs::remove_file(config);
    let line = log
        .lines()
        .find(|l| l.contains("file-descriptor limit (RLIMIT_NOFILE)"))
        .unwrap_or_else(|| panic!("no limit line in:\n{log}"));
    assert!(
        line.contains(&format!("soft {hard} (was {LOWERED_SOFT}), hard {hard}")),
        "{line}"
    );
    // The default connection cap follows the raised limit, not the one the process started with.
    assert!(line.contains(&format!("max_connections={}", hard - 64)), "{line}");
    assert!(!log.contains("WARN"), "{log}");
}

#[test]
#[allow(clippy::unnecessary_cast)] // rlim_t is 32-bit on some targets
fn a_cap_above_half_the_limit_is_warned_about() {
    let hard = {
        let mut lim = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: getrlimit only writes into the struct we pass.
        assert_eq!(unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) }, 0);
        lim.rlim_max as u64
    };
    let cap = (hard / 2 + 1).min(u64::from(u32::MAX));
    let (started, config) = start_lowered(&format!("max_connections = {cap}\n"));
    let log = stop(started);
    let _ = std::fs::remove_file(config);
    assert!(
        log.lines()
            .any(|l| l.contains("WARN") && l.contains("below 2 x max_connections")),
        "{log}"
    );
}
