//! Spec §4: instance limits, multi-platform policies, the four kick types, no kick ping-pong.

mod common;

use common::*;
use natter::{ChatEvent, KickType, NetState, Platform};
use natter_server::Policy;
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn second_web_instance_kicks_the_first_with_multiple_account() {
    let server = server().await;
    let mut first = client(&server, Platform::Web);
    let mut second = client(&server, Platform::Web);
    first.login_ready(&server, "alice").await;
    second.login_ready(&server, "alice").await;
    first.events.expect_kicked(KickType::MultipleAccount).await;
    assert!(!first.client.is_ready());
    assert_eq!(first.client.login_user(), "");
    assert!(second.client.is_ready());
    assert_eq!(online_platforms(&server, "alice").await, vec!["Web"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn second_device_of_a_native_platform_kicks_with_multiple_device() {
    let server = server().await;
    let mut phone = client(&server, Platform::Android);
    let mut other_phone = client(&server, Platform::Android);
    phone.login_ready(&server, "alice").await;
    other_phone.login_ready(&server, "alice").await;
    phone.events.expect_kicked(KickType::MultipleDevice).await;
    assert!(other_phone.client.is_ready());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_oldest_instance_is_kicked_when_the_limit_is_exceeded() {
    let server = server_with(|c| c.max_instances_per_platform = 2).await;
    let mut clients = vec![];
    for _ in 0..3 {
        let mut c = client(&server, Platform::Ios);
        c.login_ready(&server, "alice").await;
        clients.push(c);
    }
    clients[0].events.expect_kicked(KickType::MultipleDevice).await;
    assert!(clients[1].client.is_ready() && clients[2].client.is_ready());
    wait_online_count(&server, "alice", 2).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn multi_policy_lets_each_platform_keep_its_own_instance() {
    let server = server_with(|c| c.policy = Policy::Multi).await;
    let mut all = vec![];
    for p in [
        Platform::Web,
        Platform::Android,
        Platform::Ios,
        Platform::Windows,
        Platform::Mac,
    ] {
        let mut c = client(&server, p);
        c.login_ready(&server, "alice").await;
        all.push(c);
    }
    wait_online_count(&server, "alice", 5).await;
    for c in &mut all {
        assert!(c.client.is_ready());
        assert!(!c
            .events
            .drain()
            .iter()
            .any(|e| matches!(e, ChatEvent::KickedOut { .. })));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn single_policy_allows_one_instance_across_platforms() {
    let server = server_with(|c| c.policy = Policy::Single).await;
    let mut web = client(&server, Platform::Web);
    let mut mac = client(&server, Platform::Mac);
    web.login_ready(&server, "alice").await;
    mac.login_ready(&server, "alice").await;
    web.events.expect_kicked(KickType::MultipleDevice).await;
    let mut web2 = client(&server, Platform::Web);
    web2.login_ready(&server, "alice").await;
    mac.events.expect_kicked(KickType::MultipleDevice).await;
    assert_eq!(online_platforms(&server, "alice").await, vec!["Web"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dual_policy_allows_one_native_instance_plus_web() {
    let server = server_with(|c| c.policy = Policy::Dual).await;
    let mut web = client(&server, Platform::Web);
    let mut phone = client(&server, Platform::Android);
    let mut desktop = client(&server, Platform::Windows);
    web.login_ready(&server, "alice").await;
    phone.login_ready(&server, "alice").await;
    desktop.login_ready(&server, "alice").await;
    phone.events.expect_kicked(KickType::MultipleDevice).await;
    assert!(web.client.is_ready(), "web is its own group");
    assert!(desktop.client.is_ready());
    assert!(!web
        .events
        .drain()
        .iter()
        .any(|e| matches!(e, ChatEvent::KickedOut { .. })));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn triple_policy_allows_one_mobile_one_desktop_plus_web() {
    let server = server_with(|c| c.policy = Policy::Triple).await;
    let mut web = client(&server, Platform::Web);
    let mut phone = client(&server, Platform::Android);
    let mut desktop = client(&server, Platform::Linux);
    let mut tablet = client(&server, Platform::Ipad);
    for c in [&mut web, &mut phone, &mut desktop] {
        c.login_ready(&server, "alice").await;
    }
    wait_online_count(&server, "alice", 3).await;
    tablet.login_ready(&server, "alice").await;
    phone.events.expect_kicked(KickType::MultipleDevice).await;
    assert!(web.client.is_ready() && desktop.client.is_ready() && tablet.client.is_ready());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rest_api_kick_ends_every_instance_of_the_user() {
    let server = server_with(|c| c.max_instances_per_platform = 3).await;
    let mut a = client(&server, Platform::Web);
    let mut b = client(&server, Platform::Android);
    let mut bob = client(&server, Platform::Web);
    a.login_ready(&server, "alice").await;
    b.login_ready(&server, "alice").await;
    bob.login_ready(&server, "bob").await;
    let reply = natter_server::admin::kick(&server, "alice").await.unwrap();
    assert_eq!(reply["ActionStatus"], "OK", "{reply}");
    assert_eq!(reply["ErrorCode"], 0);
    a.events.expect_kicked(KickType::RestApi).await;
    b.events.expect_kicked(KickType::RestApi).await;
    wait_online_count(&server, "alice", 0).await;
    assert!(bob.client.is_ready(), "other users are untouched");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expiring_user_sig_kicks_the_online_session() {
    let server = server().await;
    let mut c = client(&server, Platform::Web);
    let now = natter::local_unix_ms() / 1000;
    let cfg = server.config();
    // Issued 8 s ago, valid for 10 s: expires within two seconds of login (never during it).
    let sig = natter_server::usersig::generate(cfg.sdk_app_id, &cfg.secret_key, "alice", 10, now - 8).unwrap();
    c.client.login("alice", &sig).await.unwrap();
    c.events.expect_next(ChatEvent::SdkReady).await;
    // Past its renewal time already: the app is told at once (no provider), then the kick.
    let expire_time_ms = (now + 2) * 1000;
    c.events
        .expect_next(ChatEvent::UserSigExpiring { expire_time_ms })
        .await;
    c.events.expect_kicked(KickType::UserSigExpired).await;
    assert!(!c.client.is_ready());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kicked_client_does_not_log_back_in_but_an_explicit_login_works() {
    let server = server().await;
    let mut first = client(&server, Platform::Web);
    let mut second = client(&server, Platform::Web);
    first.login_ready(&server, "alice").await;
    second.login_ready(&server, "alice").await;
    first.events.expect_kicked(KickType::MultipleAccount).await;
    // No reconnect: the kicked instance settles disconnected and the survivor is never kicked
    // back (no ping-pong). Checked over a window several backoff ceilings long.
    let quiet = tokio::time::timeout(Duration::from_millis(1500), async {
        loop {
            match first.events.0.recv().await {
                Some(ChatEvent::NetStateChange {
                    state: NetState::Disconnected,
                    ..
                }) => continue,
                other => return other,
            }
        }
    })
    .await;
    assert!(quiet.is_err(), "the kicked client did something on its own: {quiet:?}");
    assert!(second
        .events
        .drain()
        .iter()
        .all(|e| !matches!(e, ChatEvent::KickedOut { .. })));
    assert!(second.client.is_ready());

    // The app logs in again explicitly: that works and kicks the other page, as it should.
    first.login_ready(&server, "alice").await;
    second.events.expect_kicked(KickType::MultipleAccount).await;
}
