//! Item 7: reconnect storm. N logged-in `ChatClient`s, the server process SIGKILLed and started
//! again on the same port: time until every session is ready again and the peak resume rate.
//! Floor: N bare connect+upgrade+echo started at once against the echo server.

use crate::child::ServerChild;
use crate::report::Row;
use crate::wire;
use futures_util::future::join_all;
use natter::{ChatClient, ChatConfig, ChatEvent, NetState};
use std::time::{Duration, Instant};

const WAVE: usize = 200;
const BUCKET: Duration = Duration::from_millis(100);

/// (time from `t0` until the last arrival, peak arrivals per second over 100 ms buckets)
fn spread(t0: Instant, arrivals: &[Instant]) -> (Duration, f64) {
    let last = arrivals.iter().map(|t| t.duration_since(t0)).max().unwrap_or_default();
    let mut buckets = vec![0u32; (last.as_nanos() / BUCKET.as_nanos()) as usize + 1];
    for t in arrivals {
        buckets[(t.duration_since(t0).as_nanos() / BUCKET.as_nanos()) as usize] += 1;
    }
    let peak = *buckets.iter().max().unwrap_or(&0) as f64 / BUCKET.as_secs_f64();
    (last, peak)
}

async fn floor(n: usize) -> (Duration, f64, usize) {
    let echo = ServerChild::echo();
    let t0 = Instant::now();
    let tasks: Vec<_> = (0..n)
        .map(|i| {
            let addr = echo.addr;
            tokio::spawn(async move {
                wire::floor_once(wire::source(i), addr)
                    .await
                    .ok()
                    .map(|_ws| Instant::now())
            })
        })
        .collect();
    let arrivals: Vec<Instant> = join_all(tasks)
        .await
        .into_iter()
        .filter_map(|r| r.ok().flatten())
        .collect();
    let (all, peak) = spread(t0, &arrivals);
    (all, peak, n - arrivals.len())
}

pub async fn run(n: usize) -> Vec<Row> {
    let (floor_all, floor_peak, floor_failed) = floor(n).await;
    let server = ServerChild::natter();
    let addr = server.addr;
    let config = ChatConfig::new(natter_server::DEV_SDK_APP_ID).with_server_url(server.url());
    let mut clients = Vec::with_capacity(n);
    for wave in (0..n).collect::<Vec<_>>().chunks(WAVE) {
        let batch: Vec<_> = wave
            .iter()
            .map(|i| {
                let c = ChatClient::new(config.clone()).unwrap();
                let events = c.events();
                (c, events, format!("storm-{i}"))
            })
            .collect();
        for r in join_all(
            batch
                .iter()
                .map(|(c, _, user)| async move { c.login(user, &wire::user_sig(user)).await }),
        )
        .await
        {
            r.expect("storm set-up login");
        }
        clients.extend(batch);
    }
    // Everything before the crash (SDK_READY, connected) is not what is measured.
    for (_, events, _) in &mut clients {
        while events.try_recv().is_ok() {}
    }
    server.process.kill();
    let t0 = Instant::now();
    let restarted = ServerChild::start("natter-server", addr);
    let deadline = Duration::from_secs(120);
    let waits = clients.iter_mut().map(|(_, events, _)| async move {
        tokio::time::timeout(deadline, async {
            while let Some(e) = events.recv().await {
                // By state: the event also carries a reason since the mobile merge.
                if matches!(
                    e,
                    ChatEvent::NetStateChange {
                        state: NetState::Connected,
                        ..
                    }
                ) {
                    return Some(Instant::now());
                }
            }
            None
        })
        .await
        .ok()
        .flatten()
    });
    let arrivals: Vec<Instant> = join_all(waits).await.into_iter().flatten().collect();
    let missing = n - arrivals.len();
    let (all, peak) = spread(t0, &arrivals);
    join_all(clients.iter().map(|(c, _, _)| c.destroy())).await;
    drop(restarted);
    let note = format!(
        "{n} sessions; not back within {} s: {missing} (floor failed: {floor_failed})",
        deadline.as_secs()
    );
    vec![
        Row::new(
            "7",
            "storm: server SIGKILL+restart → all sessions ready",
            all.as_secs_f64() * 1000.0,
            "ms",
        )
        .against("N bare connect+upgrade+echo at once", floor_all.as_secs_f64() * 1000.0)
        .note(note),
        Row::new("7", "storm: peak resume rate", peak, "/s")
            .against("bare connect rate at once", floor_peak)
            .note("100 ms buckets; clients use the shipped backoff 0.5 s → 20 s"),
    ]
}
