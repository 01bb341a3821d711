//! Item 5: events/s into a Kotlin listener (JVM) and into JS handlers (Node), each against the
//! same workload counted at a Rust `HubSink` in this process, in the same run.
//!
//! The workload, identical in every language: one hub with K instances against the natter
//! server child; each instance logs in, and its sink logs it out on `sdkStateReady` and in again
//! on `sdkStateNotReady`, so every cycle is real server traffic producing real items (net state
//! changes, ready / not ready, settlements). Once every instance has been ready once, the items
//! reaching the handler in a fixed window are counted. Drivers are other processes
//! (`bench/node/events.js`, `bench/kotlin/Events.kt`): they get the server URL, the app id, a
//! file of `user sig` lines (signed here) and the window, and print `EVENTS <items> <seconds>
//! <ready_instances>`.

use crate::child::ServerChild;
use crate::report::Row;
use natter::hub::{Hub, HubItem, HubSink, InstanceOptions};
use std::collections::HashMap;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, Weak};
use std::time::{Duration, Instant};

/// How long the K first logins may take before the run counts as failed.
const WARM_UP_LIMIT: Duration = Duration::from_secs(60);

/// A driver in another language: the label in the row and the command (split on whitespace;
/// the arguments `URL APP_ID USERS_FILE WINDOW_MS` follow).
pub struct Driver {
    pub label: String,
    pub command: String,
}

/// Items counted over a window, and how many instances had become ready at least once.
struct Count {
    items: u64,
    seconds: f64,
    ready: u64,
}

impl Count {
    fn rate(&self) -> f64 {
        self.items as f64 / self.seconds
    }
}

/// The Rust baseline's sink: counts, and keeps every instance cycling.
struct CyclingSink {
    hub: Mutex<Weak<Hub>>,
    users: Mutex<HashMap<String, (String, String)>>,
    items: AtomicU64,
    first_ready: Mutex<std::collections::HashSet<String>>,
    all_ready: Condvar,
}

impl HubSink for CyclingSink {
    fn on_item(&self, item: HubItem) {
        self.items.fetch_add(1, Ordering::Relaxed);
        let HubItem::Event { instance_id, name, .. } = item else {
            return;
        };
        let Some(hub) = self.hub.lock().unwrap().upgrade() else {
            return;
        };
        match name.as_str() {
            "sdkStateReady" => {
                hub.logout(instance_id.clone());
                self.first_ready.lock().unwrap().insert(instance_id);
                self.all_ready.notify_all();
            }
            "sdkStateNotReady" => {
                let user = self.users.lock().unwrap().get(&instance_id).cloned();
                if let Some((user, sig)) = user {
                    hub.login(instance_id, user, sig);
                }
            }
            _ => {}
        }
    }
}

fn rust_baseline(url: &str, users: &[(String, String)], window: Duration) -> Count {
    let hub = Hub::new();
    let sink = Arc::new(CyclingSink {
        hub: Mutex::new(Arc::downgrade(&hub)),
        users: Mutex::default(),
        items: AtomicU64::new(0),
        first_ready: Mutex::default(),
        all_ready: Condvar::new(),
    });
    hub.set_sink(sink.clone());
    let mut ids = vec![];
    for (user, sig) in users {
        let id = hub
            .create(InstanceOptions {
                sdk_app_id: Some(natter_server::DEV_SDK_APP_ID as f64),
                proxy_server: Some(url.to_owned()),
                ..Default::default()
            })
            .expect("create an instance");
        sink.users
            .lock()
            .unwrap()
            .insert(id.clone(), (user.clone(), sig.clone()));
        ids.push(id);
    }
    for (id, (user, sig)) in ids.iter().zip(users) {
        hub.login(id.clone(), user.clone(), sig.clone());
    }
    let deadline = Instant::now() + WARM_UP_LIMIT;
    let mut ready = sink.first_ready.lock().unwrap();
    while ready.len() < users.len() && Instant::now() < deadline {
        ready = sink
            .all_ready
            .wait_timeout(ready, Duration::from_millis(200))
            .unwrap()
            .0;
    }
    let ready_count = ready.len() as u64;
    drop(ready);
    let start = Instant::now();
    let before = sink.items.load(Ordering::Relaxed);
    // The window is the measurement itself, not a stand-in for synchronisation.
    std::thread::sleep(window);
    let items = sink.items.load(Ordering::Relaxed) - before;
    let seconds = start.elapsed().as_secs_f64();
    // Stop the cycling before the instances go, so destroy is not raced by new logins.
    *sink.hub.lock().unwrap() = Weak::new();
    for id in ids {
        hub.destroy(id);
    }
    Count {
        items,
        seconds,
        ready: ready_count,
    }
}

fn run_driver(driver: &Driver, url: &str, users_file: &Path, window: Duration) -> Result<Count, String> {
    let mut parts = driver.command.split_whitespace();
    let program = parts.next().ok_or("empty driver command")?;
    let output = Command::new(program)
        .args(parts)
        .arg(url)
        .arg(natter_server::DEV_SDK_APP_ID.to_string())
        .arg(users_file)
        .arg(window.as_millis().to_string())
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| format!("cannot run {program}: {e}"))?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() {
        return Err(format!("{} exited with {}: {stdout}", driver.command, output.status));
    }
    let line = stdout
        .lines()
        .find_map(|l| l.strip_prefix("EVENTS "))
        .ok_or_else(|| format!("{} printed no EVENTS line: {stdout}", driver.command))?;
    let v: Vec<f64> = line
        .split_whitespace()
        .map(|x| x.parse().map_err(|_| format!("bad EVENTS line {line:?}")))
        .collect::<Result<_, _>>()?;
    match v[..] {
        [items, seconds, ready] if seconds > 0.0 => Ok(Count {
            items: items as u64,
            seconds,
            ready: ready as u64,
        }),
        _ => Err(format!("bad EVENTS line {line:?}")),
    }
}

/// One row per driver. A driver that fails stops the run: a row never shows a made-up number.
pub fn run(natter: &ServerChild, instances: usize, window: Duration, drivers: &[Driver], work: &Path) -> Vec<Row> {
    if drivers.is_empty() {
        return vec![];
    }
    let users: Vec<(String, String)> = (0..instances)
        .map(|i| {
            let user = format!("events-{i}");
            let sig = crate::wire::user_sig(&user);
            (user, sig)
        })
        .collect();
    std::fs::create_dir_all(work).expect("the bench work directory");
    let users_file = work.join("event-users.txt");
    let text: String = users.iter().map(|(u, s)| format!("{u} {s}\n")).collect();
    std::fs::write(&users_file, text).expect("write the users file");
    let url = natter.url();
    let base = rust_baseline(&url, &users, window);
    drivers
        .iter()
        .map(|d| {
            let c = run_driver(d, &url, &users_file, window).unwrap_or_else(|e| {
                eprintln!("natter-bench: events driver {:?}: {e}", d.label);
                std::process::exit(1)
            });
            Row::new(
                "5",
                format!("events/s into {}, {instances} hub instances logging in/out", d.label),
                c.rate(),
                "/s",
            )
            .against("Rust HubSink, same loop", base.rate())
            .note(format!(
                "{} items in {:.1} s; {}/{instances} ready (Rust: {} in {:.1} s, {} ready)",
                c.items, c.seconds, c.ready, base.items, base.seconds, base.ready
            ))
        })
        .collect()
}
