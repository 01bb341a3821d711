//! Benchmark (not a test): login round trip on loopback, against the bare WebSocket floor
//! measured in the same run.
//!
//!     cargo run --release --example bench_login [-- N]
//!
//! floor  = tokio-tungstenite connect + upgrade + one text echo (what any login must cost at least)
//! login  = `ChatClient::login()` from call to resolve: connect, upgrade, login frame, UserSig
//!          check (HMAC-SHA256 + inflate), instance registry, reply
//! ready  = `login()` call to the `SDK_READY` listener call

use futures_util::{SinkExt, StreamExt};
use natter::{ChatClient, ChatConfig, ChatEvent};
use std::time::{Duration, Instant};
use tokio_tungstenite::tungstenite::Message;

#[tokio::main]
async fn main() {
    let n: usize = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(500);
    let floor = bench_floor(n).await;
    let (login, ready) = bench_login(n).await;
    println!("loopback, {n} runs each (µs)      p50      p90      p99      max");
    report("floor: ws connect+upgrade+echo", floor);
    report("login() resolve", login);
    report("login() → SDK_READY listener", ready);
}

fn report(name: &str, mut samples: Vec<Duration>) {
    samples.sort();
    let at = |q: f64| samples[((samples.len() - 1) as f64 * q) as usize].as_micros();
    println!(
        "{name:<32} {:>8} {:>8} {:>8} {:>8}",
        at(0.5),
        at(0.9),
        at(0.99),
        at(1.0)
    );
}

async fn bench_floor(n: usize) -> Vec<Duration> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            tokio::spawn(async move {
                let Ok(mut ws) = tokio_tungstenite::accept_async(socket).await else {
                    return;
                };
                while let Some(Ok(msg)) = ws.next().await {
                    if msg.is_text() && ws.send(msg).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    let url = format!("ws://{addr}/ws");
    let mut samples = Vec::with_capacity(n);
    for _ in 0..n {
        let start = Instant::now();
        let (mut ws, _) = tokio_tungstenite::connect_async(url.as_str()).await.unwrap();
        ws.send(Message::text("{\"type\":\"ping\",\"id\":1}")).await.unwrap();
        ws.next().await.unwrap().unwrap();
        samples.push(start.elapsed());
        let _ = ws.close(None).await;
    }
    samples
}

async fn bench_login(n: usize) -> (Vec<Duration>, Vec<Duration>) {
    let cfg = natter_server::ServerConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        max_connections_per_source: 100_000,
        ..Default::default()
    };
    let server = natter_server::start(cfg).await.unwrap();
    let sig = server.user_sig("bench", 3600);
    let (mut login, mut ready) = (Vec::with_capacity(n), Vec::with_capacity(n));
    for _ in 0..n {
        let client =
            ChatClient::new(ChatConfig::new(server.config().sdk_app_id).with_server_url(server.ws_url())).unwrap();
        let mut events = client.events();
        let start = Instant::now();
        client.login("bench", &sig).await.unwrap();
        login.push(start.elapsed());
        while let Some(e) = events.recv().await {
            if e == ChatEvent::SdkReady {
                ready.push(start.elapsed());
                break;
            }
        }
        client.destroy().await.unwrap();
    }
    server.shutdown().await;
    (login, ready)
}
