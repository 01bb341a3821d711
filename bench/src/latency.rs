//! Items 1 and 2: login latency (a new `ChatClient` → `login()` resolved → `SDK_READY`) and kick
//! latency (second login sent → the first instance's `KICKED_OUT`), each sample interleaved
//! with a floor sample so both see the same machine load.

use crate::child::ServerChild;
use crate::report::Row;
use crate::stats::quantile_us;
use crate::wire;
use natter::{ChatClient, ChatConfig, ChatEvent};
use std::time::{Duration, Instant};
use tokio::sync::mpsc::UnboundedReceiver;

const EVENT_TIMEOUT: Duration = Duration::from_secs(10);

async fn until(events: &mut UnboundedReceiver<ChatEvent>, wanted: fn(&ChatEvent) -> bool) {
    let found = tokio::time::timeout(EVENT_TIMEOUT, async {
        while let Some(e) = events.recv().await {
            if wanted(&e) {
                return true;
            }
        }
        false
    })
    .await;
    assert!(
        matches!(found, Ok(true)),
        "the expected event did not come within {EVENT_TIMEOUT:?}"
    );
}

/// The bare floor: tokio-tungstenite connect + upgrade + one text echo (small buffers, Nagle
/// off, as Natter's client).
async fn floor_sample(echo: &ServerChild) -> Duration {
    let start = Instant::now();
    let ws = wire::floor_once(wire::source(0), echo.addr)
        .await
        .expect("the echo server accepts");
    let elapsed = start.elapsed();
    drop(ws);
    elapsed
}

/// The same bare client logging in to Natter's server: what the server adds, with no SDK.
async fn raw_login_sample(natter: &ServerChild, sig: &str, i: usize) -> Duration {
    let frame = wire::login_frame("bench-raw", sig, &format!("raw-{i}"));
    let start = Instant::now();
    let ws = wire::natter_login(wire::source(0), natter.addr, &frame)
        .await
        .expect("a raw login");
    let elapsed = start.elapsed();
    drop(ws);
    elapsed
}

/// The same bare client with the login in the upgrade request (2 round trips instead of 3); a
/// user of its own, so it never kicks or replaces the frame login's sessions.
async fn raw_header_login_sample(natter: &ServerChild, sig: &str, i: usize) -> Duration {
    let login = wire::login_header(&wire::login_frame("bench-rawh", sig, &format!("rawh-{i}")));
    let start = Instant::now();
    let ws = wire::natter_header_login(wire::source(0), natter.addr, &login)
        .await
        .expect("a raw header login");
    let elapsed = start.elapsed();
    drop(ws);
    elapsed
}

pub async fn login(natter: &ServerChild, echo: &ServerChild, n: usize) -> Vec<Row> {
    let sig = wire::user_sig("bench-login");
    let raw_sig = wire::user_sig("bench-raw");
    let raw_header_sig = wire::user_sig("bench-rawh");
    let (mut floor, mut raw, mut raw_header, mut resolved, mut ready) = (vec![], vec![], vec![], vec![], vec![]);
    for i in 0..n {
        floor.push(floor_sample(echo).await);
        raw.push(raw_login_sample(natter, &raw_sig, i).await);
        raw_header.push(raw_header_login_sample(natter, &raw_header_sig, i).await);
        let start = Instant::now();
        let client = ChatClient::new(ChatConfig::new(natter_server::DEV_SDK_APP_ID).with_server_url(natter.url()))
            .expect("a valid config");
        let mut events = client.events();
        client.login("bench-login", &sig).await.expect("login succeeds");
        resolved.push(start.elapsed());
        until(&mut events, |e| *e == ChatEvent::SdkReady).await;
        ready.push(start.elapsed());
        client.destroy().await.expect("destroy");
    }
    let mut rows = vec![];
    for (q, label) in [(0.5, "p50"), (0.99, "p99")] {
        let f = quantile_us(&mut floor, q);
        rows.push(
            Row::new(
                "1",
                format!("login: bare ws client → loginOk (no SDK), {label}"),
                quantile_us(&mut raw, q),
                "µs",
            )
            .against("ws connect+upgrade+echo", f)
            .note("what the server adds"),
        );
        rows.push(
            Row::new(
                "1",
                format!("login: bare ws client, header login → loginOk (no SDK), {label}"),
                quantile_us(&mut raw_header, q),
                "µs",
            )
            .against("ws connect+upgrade+echo", f)
            .note("login in the upgrade request: 2 round trips"),
        );
        rows.push(
            Row::new(
                "1",
                format!("login: new client → login() resolved, {label}"),
                quantile_us(&mut resolved, q),
                "µs",
            )
            .against("ws connect+upgrade+echo", f)
            .note(format!("{n} logins")),
        );
        rows.push(
            Row::new(
                "1",
                format!("login: new client → SDK_READY, {label}"),
                quantile_us(&mut ready, q),
                "µs",
            )
            .against("ws connect+upgrade+echo", f)
            .note(format!("{n} logins")),
        );
    }
    rows
}

/// Kick samples: two instances of one user, the first on `first`, the second on `second`, take
/// turns logging in; each sample runs from the newcomer's `login()` call to the other's
/// `KICKED_OUT`. `on_round` runs before each kick (the floor sample, interleaved).
async fn kick_samples(
    first: &ServerChild,
    second: &ServerChild,
    n: usize,
    mut floor: Option<&mut (wire::Ws, Vec<Duration>)>,
) -> Vec<Duration> {
    let user = "bench-kick";
    let sig = wire::user_sig(user);
    let config = |server: &ServerChild| ChatConfig::new(natter_server::DEV_SDK_APP_ID).with_server_url(server.url());
    let mut pair = [
        ChatClient::new(config(first)).unwrap(),
        ChatClient::new(config(second)).unwrap(),
    ];
    let mut events = [pair[0].events(), pair[1].events()];
    pair[0].login(user, &sig).await.expect("first login");
    let mut kick = vec![];
    for i in 0..n {
        if let Some((ws, samples)) = floor.as_mut() {
            let start = Instant::now();
            wire::echo(ws).await.expect("echo");
            samples.push(start.elapsed());
        }
        // Alternate: the instance kicked last round logs in and kicks the other one.
        let (newcomer, victim) = if i % 2 == 0 { (1, 0) } else { (0, 1) };
        // Drop what the newcomer saw before (its own kick and SDK_NOT_READY).
        while events[newcomer].try_recv().is_ok() {}
        let start = Instant::now();
        let login = pair[newcomer].login(user, &sig);
        let kicked = async {
            until(&mut events[victim], |e| matches!(e, ChatEvent::KickedOut { .. })).await;
            start.elapsed()
        };
        let (result, took) = tokio::join!(login, kicked);
        kick.push(took);
        result.expect("the newcomer logs in");
    }
    for c in &mut pair {
        let _ = c.destroy().await;
    }
    kick
}

pub async fn kick(natter: &ServerChild, echo: &ServerChild, n: usize) -> Vec<Row> {
    let echo_ws = wire::open(wire::source(0), echo.addr)
        .await
        .expect("the echo server accepts");
    let mut floor = (echo_ws, vec![]);
    let mut kick = kick_samples(natter, natter, n, Some(&mut floor)).await;
    let mut rows = vec![];
    for (q, label) in [(0.5, "p50"), (0.99, "p99")] {
        rows.push(
            Row::new(
                "2",
                format!("kick: second login sent → KICKED_OUT, {label}"),
                quantile_us(&mut kick, q),
                "µs",
            )
            .against("one echo round trip", quantile_us(&mut floor.1, q))
            .note(format!("{n} kicks, 1 node")),
        );
    }
    rows
}

/// p50 and p99 (µs) of kicks whose two instances log in to `first` and `second`.
pub async fn kick_between(first: &ServerChild, second: &ServerChild, n: usize) -> Vec<(&'static str, f64)> {
    let mut kick = kick_samples(first, second, n, None).await;
    vec![
        ("p50", quantile_us(&mut kick, 0.5)),
        ("p99", quantile_us(&mut kick, 0.99)),
    ]
}
