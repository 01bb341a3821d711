//! Items 1 and 2: login latency (a new `ChatClient` → `login()` resolved → `SDK_READY`) and kick
//! latency (second login sent → the first instance's `KICKED_OUT`), each sample interleaved
//! with a floor sample so both see the same machine load.

use crate::child::ServerChild;
use crate::report::Row;
use crate::stats::quantile_us;
use crate::wire;
use futures_util::{SinkExt, StreamExt};
use natter::{ChatClient, ChatConfig, ChatEvent};
use std::time::{Duration, Instant};
use tokio::sync::mpsc::UnboundedReceiver;
use tokio_tungstenite::tungstenite::Message;

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

/// The bare floor as any app would write it: `connect_async` (Nagle off) + one text echo.
async fn floor_sample(url: &str) -> Duration {
    let start = Instant::now();
    let (mut ws, _) = tokio_tungstenite::connect_async_with_config(url, None, true)
        .await
        .expect("the echo server accepts");
    ws.send(Message::text(wire::ECHO_TEXT)).await.expect("send");
    ws.next().await.expect("an echo").expect("an echo");
    let elapsed = start.elapsed();
    let _ = ws.close(None).await;
    elapsed
}

pub async fn login(natter: &ServerChild, echo: &ServerChild, n: usize) -> Vec<Row> {
    let sig = wire::user_sig("bench-login");
    let (mut floor, mut resolved, mut ready) = (vec![], vec![], vec![]);
    for _ in 0..n {
        floor.push(floor_sample(&echo.url()).await);
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

pub async fn kick(natter: &ServerChild, echo: &ServerChild, n: usize) -> Vec<Row> {
    let user = "bench-kick";
    let sig = wire::user_sig(user);
    let config = ChatConfig::new(natter_server::DEV_SDK_APP_ID).with_server_url(natter.url());
    let mut pair = [
        ChatClient::new(config.clone()).unwrap(),
        ChatClient::new(config).unwrap(),
    ];
    let mut events = [pair[0].events(), pair[1].events()];
    pair[0].login(user, &sig).await.expect("first login");
    let mut echo_ws = wire::open(wire::source(0), echo.addr)
        .await
        .expect("the echo server accepts");
    let (mut kick, mut floor) = (vec![], vec![]);
    for i in 0..n {
        let start = Instant::now();
        wire::echo(&mut echo_ws).await.expect("echo");
        floor.push(start.elapsed());
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
    let mut rows = vec![];
    for (q, label) in [(0.5, "p50"), (0.99, "p99")] {
        rows.push(
            Row::new(
                "2",
                format!("kick: second login sent → KICKED_OUT, {label}"),
                quantile_us(&mut kick, q),
                "µs",
            )
            .against("one echo round trip", quantile_us(&mut floor, q))
            .note(format!("{n} kicks, 1 node")),
        );
    }
    rows
}
