//! Sessions on phones, end to end against the real server over loopback: UserSig renewal on
//! the open link (provider, `UserSigExpiring` + `update_user_sig`, refusals), app lifecycle and
//! reachability through a real black-holing proxy (toxiproxy), and `session_state` after each
//! event.

mod common;

use common::toxiproxy::{Direction, Proxy, Toxic, Toxiproxy};
use common::*;
use natter::{AppState, ChatClient, ChatConfig, ChatError, ChatEvent, KickType, NetReason, NetState, Platform};
use natter_server::ServerHandle;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Lifetime of the short sigs these tests renew: renewal is due at half of it.
const SHORT_SIG_SECS: u64 = 4;

/// Mints sigs for `user` the way an app backend would (same app and secret as the server).
fn minter(server: &ServerHandle, user: &'static str, secs: u64) -> impl Fn() -> String + Send + Sync + 'static {
    let c = server.config();
    let (app, key) = (c.sdk_app_id, c.secret_key.clone());
    move || {
        natter_server::usersig::generate(app, &key, user, secs, natter::local_unix_ms() / 1000).expect("valid user id")
    }
}

/// A client whose provider mints a fresh short sig per call and counts the calls.
fn client_with_provider(server: &ServerHandle, fail: bool) -> (TestClient, Arc<AtomicUsize>) {
    let calls = Arc::new(AtomicUsize::new(0));
    let counter = calls.clone();
    let mint = minter(server, "alice", SHORT_SIG_SECS);
    let provider = move || {
        counter.fetch_add(1, Ordering::SeqCst);
        let answer = if fail {
            Err(ChatError::Network {
                detail: "the app backend is down".into(),
            })
        } else {
            Ok(mint())
        };
        async move { answer }
    };
    let client = ChatClient::with_user_sig_provider(config_for(server, Platform::Android), Some(Arc::new(provider)))
        .expect("valid config");
    let events = Events(client.events());
    (TestClient { client, events }, calls)
}

async fn login_short(c: &mut TestClient, server: &ServerHandle) {
    c.client
        .login("alice", &server.user_sig("alice", SHORT_SIG_SECS))
        .await
        .expect("login succeeds");
    c.events.expect_next(ChatEvent::SdkReady).await;
}

/// Everything delivered in `window`, which the test waits out on purpose (nothing must happen).
async fn collect_for(events: &mut Events, window: Duration) -> Vec<ChatEvent> {
    let mut seen = vec![];
    let end = tokio::time::Instant::now() + window;
    while let Ok(Some(e)) = tokio::time::timeout_at(end, events.0.recv()).await {
        seen.push(e);
    }
    seen
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_provider_renews_short_sigs_before_expiry_and_the_session_never_drops() {
    let server = server().await;
    let (mut c, calls) = client_with_provider(&server, false);
    login_short(&mut c, &server).await;
    let first_expiry = c
        .client
        .session_state()
        .user_sig_expire_time_ms
        .expect("the server reports the expiry");
    // Three sig lifetimes: without renewal the server kicks after the first.
    let seen = collect_for(&mut c.events, Duration::from_secs(SHORT_SIG_SECS * 3)).await;
    assert!(
        seen.iter().all(|e| matches!(e, ChatEvent::NetStateChange { .. })) && seen.is_empty(),
        "a renewed session sees no event at all: {seen:?}"
    );
    let renewals = calls.load(Ordering::SeqCst);
    assert!(renewals >= 3, "the provider was asked {renewals} times");
    let st = c.client.session_state();
    assert!(
        st.ready && st.login_user == "alice" && st.net_state == NetState::Connected,
        "{st:?}"
    );
    assert!(st.user_sig_expire_time_ms.unwrap() > first_expiry, "{st:?}");
    assert!(st.last_kick.is_none());
    wait_online_count(&server, "alice", 1).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_provider_is_retried_and_ends_in_the_usual_user_sig_expired_kick() {
    let server = server().await;
    let (mut c, calls) = client_with_provider(&server, true);
    login_short(&mut c, &server).await;
    c.events.expect_kicked(KickType::UserSigExpired).await;
    assert!(
        calls.load(Ordering::SeqCst) >= 2,
        "retried: {} calls",
        calls.load(Ordering::SeqCst)
    );
    let st = c.client.session_state();
    assert!(!st.ready, "{st:?}");
    assert_eq!(st.last_kick.map(|k| k.kick_type), Some(KickType::UserSigExpired));
    assert_eq!(st.user_sig_expire_time_ms, None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_provider_user_sig_expiring_arrives_in_time_for_update_user_sig() {
    let server = server().await;
    let mut c = client(&server, Platform::Ios);
    login_short(&mut c, &server).await;
    let expiry = c.client.session_state().user_sig_expire_time_ms.unwrap();
    let warned = c.events.next_non_net().await;
    assert_eq!(warned, ChatEvent::UserSigExpiring { expire_time_ms: expiry });
    assert!(natter::local_unix_ms() < expiry, "warned before expiry");
    let sig = server.user_sig("alice", 60);
    c.client.update_user_sig(&sig).await.expect("renewal accepted");
    assert!(c.client.session_state().user_sig_expire_time_ms.unwrap() >= expiry + 50_000);
    // Past the old expiry, and then some: no kick, no not-ready (waiting is the test).
    let seen = collect_for(&mut c.events, Duration::from_secs(SHORT_SIG_SECS)).await;
    assert!(seen.is_empty(), "{seen:?}");
    assert!(c.client.is_ready());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_user_sig_is_refused_with_70013_and_the_session_continues() {
    let server = server().await;
    let mut c = client(&server, Platform::Android);
    c.login_ready(&server, "alice").await;
    let err = c
        .client
        .update_user_sig(&server.user_sig("bob", 3600))
        .await
        .expect_err("bob's sig is not alice's");
    assert_eq!(err.code(), 70013, "{err}");
    let err = c.client.update_user_sig("garbage").await.expect_err("not a sig");
    assert_eq!(err.code(), 70003, "{err}");
    assert!(c.client.is_ready());
    // The link is fine: a good sig is accepted right after, and no event was emitted.
    c.client.update_user_sig(&server.user_sig("alice", 3600)).await.unwrap();
    assert!(c.events.drain().is_empty());
    wait_online_count(&server, "alice", 1).await;
    // Not logged in: 2024.
    c.client.logout().await.unwrap();
    let err = c
        .client
        .update_user_sig(&server.user_sig("alice", 60))
        .await
        .unwrap_err();
    assert_eq!(err.code(), 2024);
}

/// A server, toxiproxy in front, and a client with a short heartbeat through it.
struct Rig {
    server: ServerHandle,
    proxy: Proxy,
    client: TestClient,
    _toxiproxy: Toxiproxy,
}

const HEARTBEAT: Duration = Duration::from_secs(2);
const PROBE: Duration = Duration::from_millis(500);

async fn rig() -> Rig {
    let server = server().await;
    let toxiproxy = Toxiproxy::start().await;
    let proxy = toxiproxy.proxy("natter", server.local_addr()).await;
    let mut config: ChatConfig = config_for(&server, Platform::Ios);
    config.server_url = proxy.ws_url();
    config.heartbeat_interval = HEARTBEAT;
    config.probe_timeout = PROBE;
    config.request_timeout = Duration::from_secs(5);
    Rig {
        client: client_with(config),
        server,
        proxy,
        _toxiproxy: toxiproxy,
    }
}

/// Holds every byte both ways for a minute: the link looks open and carries nothing (what a
/// phone's link looks like after a NAT or radio loss). Held bytes flow once it is removed.
async fn cut(proxy: &Proxy) {
    proxy
        .add(
            "hole-up",
            Direction::Upstream,
            Toxic::Latency {
                ms: 60_000,
                jitter_ms: 0,
            },
        )
        .await;
    proxy
        .add(
            "hole-down",
            Direction::Downstream,
            Toxic::Latency {
                ms: 60_000,
                jitter_ms: 0,
            },
        )
        .await;
}

async fn heal(proxy: &Proxy) {
    proxy.remove("hole-up").await;
    proxy.remove("hole-down").await;
}

/// Waits for the raw net-state change to `state`, returning it with `reason` and `retry_in_ms`.
async fn next_net(events: &mut Events, state: NetState) -> (NetReason, Option<u64>) {
    loop {
        if let ChatEvent::NetStateChange {
            state: s,
            reason,
            retry_in_ms,
        } = events.next_raw().await
        {
            if s == state {
                return (reason, retry_in_ms);
            }
        }
    }
}

/// Background, cut the link, then (after `quiet`) the app comes back at `t0`: with `hint` it
/// calls `set_app_state(Active)`, without it the session finds out on its own. The cut heals as
/// soon as the client has given up on the old link. Returns the time from `t0` to `connected`.
async fn foreground_after_dead_link(hint: bool) -> Duration {
    let mut r = rig().await;
    r.client.login_ready(&r.server, "alice").await;
    r.client.client.set_app_state(AppState::Background);
    cut(&r.proxy).await;
    let t0 = Instant::now();
    if hint {
        r.client.client.set_app_state(AppState::Active);
    }
    let (reason, _) = next_net(&mut r.client.events, NetState::Disconnected).await;
    assert_eq!(reason, NetReason::LinkLost);
    let given_up = t0.elapsed();
    heal(&r.proxy).await;
    let (reason, _) = next_net(&mut r.client.events, NetState::Connected).await;
    assert_eq!(reason, NetReason::LoggedIn);
    let took = t0.elapsed();
    println!("foreground hint {hint}: old link given up after {given_up:?}, connected after {took:?}");
    let st = r.client.client.session_state();
    assert!(st.ready && st.net_state == NetState::Connected, "{st:?}");
    assert!(r
        .client
        .events
        .drain()
        .iter()
        .all(|e| matches!(e, ChatEvent::NetStateChange { .. })));
    wait_online_count(&r.server, "alice", 1).await;
    took
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn foreground_after_a_dead_link_reconnects_within_one_probe_deadline() {
    let took = foreground_after_dead_link(true).await;
    // One probe deadline plus a reconnect on loopback (slack for a loaded 2-core machine);
    // far below the two heartbeats (4 s) the session needs without the hint.
    assert!(took < PROBE + Duration::from_millis(1500), "took {took:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_the_foreground_hint_a_dead_link_takes_the_heartbeat_deadline() {
    let took = foreground_after_dead_link(false).await;
    assert!(took >= HEARTBEAT, "took {took:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unreachable_disconnects_at_once_and_makes_no_attempts_until_the_network_returns() {
    let server = server().await;
    let mut c = client(&server, Platform::Android);
    c.login_ready(&server, "alice").await;
    c.client.set_network_reachable(false);
    let (reason, retry) = next_net(&mut c.events, NetState::Disconnected).await;
    assert_eq!((reason, retry), (NetReason::NetworkUnreachable, None));
    let st = c.client.session_state();
    assert!(
        st.ready && st.net_state == NetState::Disconnected && st.next_retry_at_ms.is_none(),
        "{st:?}"
    );
    wait_online_count(&server, "alice", 0).await;
    // Several backoff ceilings (400 ms) long: no attempt is made (waiting is the test).
    let seen = collect_for(&mut c.events, Duration::from_millis(1500)).await;
    assert!(seen.is_empty(), "no connection attempts while unreachable: {seen:?}");
    assert_eq!(online_platforms(&server, "alice").await.len(), 0);
    c.client.set_network_reachable(true);
    let (reason, _) = next_net(&mut c.events, NetState::Connecting).await;
    assert_eq!(reason, NetReason::NetworkBack);
    let (reason, _) = next_net(&mut c.events, NetState::Connected).await;
    assert_eq!(reason, NetReason::LoggedIn);
    assert!(c.events.drain().is_empty(), "no SDK_NOT_READY / SDK_READY around it");
    wait_online_count(&server, "alice", 1).await;
    assert_eq!(c.client.session_state().reconnect_attempt, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn session_state_follows_each_event_of_a_lost_link() {
    let server = server().await;
    let proxy = BlackholeProxy::start(server.local_addr()).await;
    let mut config = config_for(&server, Platform::Web);
    config.server_url = format!("ws://{}/ws", proxy.addr);
    config.heartbeat_interval = Duration::from_millis(300);
    config.request_timeout = Duration::from_secs(1);
    config.reconnect_min_delay = Duration::from_secs(1);
    config.reconnect_max_delay = Duration::from_secs(2);
    let mut c = client_with(config);
    assert_eq!(c.client.session_state(), natter::SessionState::default());
    c.login_ready(&server, "alice").await;
    let st = c.client.session_state();
    assert!(st.ready && st.net_state == NetState::Connected && st.user_sig_expire_time_ms.is_some());
    // A dead link: found by the heartbeat, then a retry is scheduled.
    proxy.set_frozen(true);
    let (reason, retry) = next_net(&mut c.events, NetState::Disconnected).await;
    assert_eq!(reason, NetReason::LinkLost);
    let retry = retry.expect("retryInMs while waiting");
    let st = c.client.session_state();
    assert_eq!(st.reconnect_attempt, 1);
    let at = st.next_retry_at_ms.expect("nextRetryAt while waiting");
    let now = natter::local_unix_ms();
    assert!(
        at >= now - 50 && at <= now + retry as i64 + 50,
        "{at} vs {now} + {retry}"
    );
    let (reason, _) = next_net(&mut c.events, NetState::Connecting).await;
    assert_eq!(reason, NetReason::Reconnect);
    assert_eq!(c.client.session_state().next_retry_at_ms, None);
    proxy.set_frozen(false);
    next_net(&mut c.events, NetState::Connected).await;
    assert!(c.client.session_state().ready);
}
