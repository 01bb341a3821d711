//! Many independent instances in one process against one server.

mod common;

use common::*;
use futures_util::future::join_all;
use natter::{ChatEvent, Platform};

const CLIENTS: usize = 200;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_clients_log_in_concurrently_and_stay_independent() {
    let server = server().await;
    let users: Vec<String> = (0..CLIENTS).map(|i| format!("user-{i}")).collect();
    let mut clients: Vec<TestClient> = (0..CLIENTS).map(|_| client(&server, Platform::Web)).collect();
    let logins = clients.iter().zip(&users).map(|(c, u)| {
        let sig = server.user_sig(u, 3600);
        async move { c.client.login(u, &sig).await }
    });
    for result in join_all(logins).await {
        assert!(!result.expect("every login succeeds").repeat_login);
    }
    for (c, u) in clients.iter_mut().zip(&users) {
        assert_eq!(c.client.login_user(), *u);
        c.events.expect_next(ChatEvent::SdkReady).await;
    }
    let names: Vec<&str> = users.iter().map(String::as_str).collect();
    let status = natter_server::admin::query_online_status(&server, &names, false)
        .await
        .unwrap();
    let online = status["QueryResult"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["Status"] == "Online")
        .count();
    assert_eq!(online, CLIENTS, "{status}");

    // Logging one out touches nobody else.
    clients[0].client.logout().await.unwrap();
    assert!(clients[1..].iter().all(|c| c.client.is_ready()));

    join_all(clients.iter().map(|c| c.client.destroy()))
        .await
        .into_iter()
        .for_each(|r| r.unwrap());
    for c in &mut clients {
        c.events.until(&ChatEvent::SdkDestroy).await;
    }
}
