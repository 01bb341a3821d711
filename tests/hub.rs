//! `natter::hub` against a real server over real sockets: call order, the single ordered stream
//! of events and settlements, queueing before the sink is attached.

mod common;

use common::*;
use natter::hub::{CallOutcome, Hub, HubItem, HubSink, InstanceOptions};
use natter_server::ServerHandle;
use serde_json::{json, Value};
use std::sync::Arc;
use tokio::sync::mpsc;

/// A sink recording every item into a channel.
struct Recorder(mpsc::UnboundedSender<HubItem>);

impl HubSink for Recorder {
    fn on_item(&self, item: HubItem) {
        let _ = self.0.send(item);
    }
}

struct Stream(mpsc::UnboundedReceiver<HubItem>);

impl Stream {
    async fn next(&mut self) -> HubItem {
        tokio::time::timeout(SOON, self.0.recv())
            .await
            .expect("an item within the deadline")
            .expect("the hub is alive")
    }

    /// Items up to and including the settlement of every id in `calls`.
    async fn until_settled(&mut self, calls: &[u64]) -> Vec<HubItem> {
        let mut out = Vec::new();
        let mut open: Vec<u64> = calls.to_vec();
        while !open.is_empty() {
            let item = self.next().await;
            if let HubItem::Settled { call_id, .. } = &item {
                open.retain(|c| c != call_id);
            }
            out.push(item);
        }
        out
    }
}

fn attach(hub: &Hub) -> Stream {
    let (tx, rx) = mpsc::unbounded_channel();
    hub.set_sink(Arc::new(Recorder(tx)));
    Stream(rx)
}

fn options(server: &ServerHandle) -> InstanceOptions {
    InstanceOptions {
        sdk_app_id: Some(server.config().sdk_app_id as f64),
        proxy_server: Some(server.ws_url()),
        request_timeout_ms: Some(5000.0),
        login_timeout_ms: Some(10000.0),
        reconnect_min_delay_ms: Some(50.0),
        reconnect_max_delay_ms: Some(400.0),
        ..Default::default()
    }
}

/// A compact form of an item for exact comparisons: `E name data` / `S call ok data` / `S call err code`.
fn show(item: &HubItem) -> String {
    match item {
        HubItem::Event { name, data_json, .. } => format!("E {name} {data_json}"),
        HubItem::Settled {
            call_id,
            outcome: CallOutcome::Ok { data_json },
        } => format!("S {call_id} ok {data_json}"),
        HubItem::Settled {
            call_id,
            outcome: CallOutcome::Err { code, .. },
        } => format!("S {call_id} err {code}"),
    }
}

fn shown(items: &[HubItem]) -> Vec<String> {
    items.iter().map(show).collect()
}

fn position(items: &[HubItem], wanted: &str) -> usize {
    let all = shown(items);
    all.iter()
        .position(|s| s.starts_with(wanted))
        .unwrap_or_else(|| panic!("{wanted:?} not in {all:?}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_logout_destroy_settle_after_the_events_before_them() {
    let server = server().await;
    let hub = Hub::new();
    let mut stream = attach(&hub);
    let id = hub.create(options(&server)).unwrap();
    let login = hub.login(id.clone(), "alice".into(), server.user_sig("alice", 3600));
    let items = stream.until_settled(&[login]).await;
    assert!(hub.is_ready(id.clone()), "the getter is true once login settled");
    assert_eq!(hub.login_user(id.clone()), "alice");
    let logout = hub.logout(id.clone());
    let destroy = hub.destroy(id.clone());
    let mut all = items;
    all.extend(stream.until_settled(&[logout, destroy]).await);
    let sdk_app_id = server.config().sdk_app_id;
    assert_eq!(
        shown(&all),
        vec![
            r#"E netStateChange {"reason":"login","state":"connecting"}"#.to_owned(),
            r#"E netStateChange {"reason":"loggedIn","state":"connected"}"#.to_owned(),
            format!(r#"S {login} ok {{"repeatLogin":false}}"#),
            "E sdkStateReady {}".to_owned(),
            "E sdkStateNotReady {}".to_owned(),
            r#"E netStateChange {"reason":"loggedOut","state":"disconnected"}"#.to_owned(),
            format!("S {logout} ok {{}}"),
            format!(r#"E sdkDestroy {{"SDKAppID":{sdk_app_id}}}"#),
            format!("S {destroy} ok {{}}"),
        ]
    );
    // Every event names its instance.
    for item in &all {
        if let HubItem::Event { instance_id, .. } = item {
            assert_eq!(instance_id, &id);
        }
    }
    assert_eq!(hub.instance_count(), 0, "a destroyed instance leaves the hub");
    // Calls on it now: login/logout 9002, destroy harmless.
    let calls = [
        hub.login(id.clone(), "alice".into(), "sig".into()),
        hub.logout(id.clone()),
        hub.destroy(id.clone()),
    ];
    let after = shown(&stream.until_settled(&calls).await);
    assert_eq!(
        after,
        vec![
            format!("S {} err 9002", calls[0]),
            format!("S {} err 9002", calls[1]),
            format!("S {} ok {{}}", calls[2]),
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_logins_back_to_back_the_first_wins() {
    let server = server().await;
    let hub = Hub::new();
    let mut stream = attach(&hub);
    let id = hub.create(options(&server)).unwrap();
    let first = hub.login(id.clone(), "alice".into(), server.user_sig("alice", 3600));
    let second = hub.login(id.clone(), "bob".into(), server.user_sig("bob", 3600));
    let items = stream.until_settled(&[first, second]).await;
    let all = shown(&items);
    assert!(
        all.contains(&format!(r#"S {first} ok {{"repeatLogin":false}}"#)),
        "{all:?}"
    );
    let second_outcome = &all[position(&items, &format!("S {second} "))];
    let repeat = second_outcome.contains(r#""repeatLogin":true"#);
    assert!(repeat || second_outcome.ends_with("err 2025"), "{all:?}");
    if repeat {
        assert!(position(&items, &format!("S {first} ")) < position(&items, &format!("S {second} ")));
    }
    // The first login is the one that took effect.
    assert_eq!(hub.login_user(id.clone()), "alice");
    assert_eq!(online_platforms(&server, "alice").await, vec!["Web"]);
    assert!(online_platforms(&server, "bob").await.is_empty());
    let destroy = hub.destroy(id);
    stream.until_settled(&[destroy]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_then_logout_back_to_back_keep_their_order() {
    let server = server().await;
    let hub = Hub::new();
    let mut stream = attach(&hub);
    let id = hub.create(options(&server)).unwrap();
    let login = hub.login(id.clone(), "alice".into(), server.user_sig("alice", 3600));
    let logout = hub.logout(id.clone());
    let items = stream.until_settled(&[login, logout]).await;
    let all = shown(&items);
    assert!(
        all.contains(&format!(r#"S {login} ok {{"repeatLogin":false}}"#)),
        "{all:?}"
    );
    let logout_at = position(&items, &format!("S {logout} "));
    if all[logout_at].ends_with("err 2024") {
        // Submitted while the login was in flight: refused, the session stays.
        assert!(hub.is_ready(id.clone()));
    } else {
        // Took effect after the login: its events come between, in order.
        let ready = position(&items, "E sdkStateReady");
        let not_ready = position(&items, "E sdkStateNotReady");
        assert!(position(&items, &format!("S {login} ")) < ready && ready < not_ready && not_ready < logout_at);
    }
    let destroy = hub.destroy(id.clone());
    stream.until_settled(&[destroy]).await;
    assert!(!hub.is_ready(id));
    wait_online_count(&server, "alice", 0).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn destroy_racing_login_ends_the_login_and_destroys() {
    let server = server().await;
    let hub = Hub::new();
    let mut stream = attach(&hub);
    let id = hub.create(options(&server)).unwrap();
    let login = hub.login(id.clone(), "alice".into(), server.user_sig("alice", 3600));
    let destroy = hub.destroy(id.clone());
    let items = stream.until_settled(&[login, destroy]).await;
    let all = shown(&items);
    let login_at = position(&items, &format!("S {login} "));
    let destroy_at = position(&items, &format!("S {destroy} ok"));
    let sdk_destroy = position(&items, "E sdkDestroy");
    assert!(login_at < sdk_destroy && sdk_destroy < destroy_at, "{all:?}");
    assert!(
        all[login_at].ends_with("err 9002") || all[login_at].contains(r#""repeatLogin":false"#),
        "{all:?}"
    );
    assert_eq!(destroy_at, all.len() - 1, "the destroy settles last: {all:?}");
    assert!(!hub.is_ready(id));
    assert_eq!(hub.instance_count(), 0);
    wait_online_count(&server, "alice", 0).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn items_before_the_sink_is_attached_are_flushed_in_order() {
    let server = server().await;
    let hub = Hub::new();
    let id = hub.create(options(&server)).unwrap();
    let login = hub.login(id.clone(), "alice".into(), server.user_sig("alice", 3600));
    // The session is up on the server while nothing could be delivered yet.
    wait_online_count(&server, "alice", 1).await;
    let mut stream = attach(&hub);
    let items = stream.until_settled(&[login]).await;
    assert_eq!(
        shown(&items),
        vec![
            r#"E netStateChange {"reason":"login","state":"connecting"}"#.to_owned(),
            r#"E netStateChange {"reason":"loggedIn","state":"connected"}"#.to_owned(),
            format!(r#"S {login} ok {{"repeatLogin":false}}"#),
        ]
    );
    assert_eq!(show(&stream.next().await), "E sdkStateReady {}");
    // Detached: items queue again, and come out in order on the next attach.
    hub.clear_sink();
    let logout = hub.logout(id.clone());
    wait_online_count(&server, "alice", 0).await;
    let mut stream = attach(&hub);
    assert_eq!(
        shown(&stream.until_settled(&[logout]).await),
        vec![
            "E sdkStateNotReady {}".to_owned(),
            r#"E netStateChange {"reason":"loggedOut","state":"disconnected"}"#.to_owned(),
            format!("S {logout} ok {{}}"),
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kicks_and_errors_carry_their_wire_strings() {
    let server = server().await;
    let hub = Hub::new();
    let mut stream = attach(&hub);
    let a = hub.create(options(&server)).unwrap();
    let b = hub.create(options(&server)).unwrap();
    let first = hub.login(a.clone(), "alice".into(), server.user_sig("alice", 3600));
    stream.until_settled(&[first]).await;
    let second = hub.login(b.clone(), "alice".into(), server.user_sig("alice", 3600));
    let mut items = stream.until_settled(&[second]).await;
    while !shown(&items).iter().any(|s| s == "E sdkStateNotReady {}") {
        items.push(stream.next().await);
    }
    let kicked: Vec<&HubItem> = items
        .iter()
        .filter(|i| matches!(i, HubItem::Event { name, .. } if name == "kickedOut"))
        .collect();
    assert_eq!(kicked.len(), 1, "{:?}", shown(&items));
    let HubItem::Event {
        instance_id, data_json, ..
    } = kicked[0]
    else {
        unreachable!()
    };
    assert_eq!(instance_id, &a, "the older web instance is kicked");
    assert_eq!(
        serde_json::from_str::<Value>(data_json).unwrap(),
        json!({"type": "multipleAccount"})
    );
    let bad = hub.login(b.clone(), "bob".into(), "not-a-usersig".into());
    let outcome = stream.until_settled(&[bad]).await;
    // Already logged in as alice: a repeat login, whatever the credentials.
    assert!(show(outcome.last().unwrap()).contains(r#""repeatLogin":true"#));
    let c = hub.create(options(&server)).unwrap();
    let refused = hub.login(c, "bob".into(), "not-a-usersig".into());
    let last = stream.until_settled(&[refused]).await;
    let HubItem::Settled {
        outcome: CallOutcome::Err { code, message },
        ..
    } = last.last().unwrap()
    else {
        panic!("{:?}", shown(&last))
    };
    assert!(*code >= 70000, "a server code: {code} {message}");
}

// ----- the same order for ChatClient users -----------------------------------------------

use natter::{ChatClient, ChatEvent, NetState, Platform};
use std::sync::Mutex;
use std::time::Duration;

/// A listener that takes its time on every event, then records it: a call that settled behind
/// the event can only see it recorded if the settlement waited for the listener.
fn slow_recorder(client: &ChatClient) -> Arc<Mutex<Vec<ChatEvent>>> {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let s = seen.clone();
    client.add_listener(Arc::new(move |e: ChatEvent| {
        // The slowness is what is being tested, not a stand-in for synchronisation.
        std::thread::sleep(Duration::from_millis(150));
        s.lock().unwrap().push(plain(e));
    }));
    seen
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chat_client_calls_settle_after_their_events_were_delivered() {
    let server = server().await;
    let client = ChatClient::new(config_for(&server, Platform::Web)).unwrap();
    let seen = slow_recorder(&client);
    client.login("alice", &server.user_sig("alice", 3600)).await.unwrap();
    assert_eq!(
        *seen.lock().unwrap(),
        vec![net(NetState::Connecting), net(NetState::Connected)],
        "login resolves after the events before it were delivered"
    );
    client.logout().await.unwrap();
    assert_eq!(
        seen.lock().unwrap()[2..],
        [ChatEvent::SdkReady, ChatEvent::SdkNotReady, net(NetState::Disconnected)],
        "logout resolves after SDK_NOT_READY was delivered"
    );
    client.destroy().await.unwrap();
    assert_eq!(seen.lock().unwrap().last(), Some(&ChatEvent::SdkDestroy));
    // Calls after destroy keep settling (in order, through the same stream).
    assert_eq!(client.login("alice", "x").await.unwrap_err().code(), 9002);
    client.destroy().await.unwrap();
}

/// Waits for the next event item called `name`, returning its data.
async fn next_event(stream: &mut Stream, wanted: &str) -> Value {
    loop {
        if let HubItem::Event { name, data_json, .. } = stream.next().await {
            if name == wanted {
                return serde_json::from_str(&data_json).unwrap();
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_hub_asks_the_faces_provider_and_its_answer_renews_the_session() {
    let server = server().await;
    let hub = Hub::new();
    let mut stream = attach(&hub);
    let id = hub
        .create(InstanceOptions {
            user_sig_provider: Some(true),
            ..options(&server)
        })
        .unwrap();
    let login = hub.login(id.clone(), "alice".into(), server.user_sig("alice", 4));
    stream.until_settled(&[login]).await;
    let first: Value = serde_json::from_str(&hub.session_state(id.clone())).unwrap();
    assert_eq!(
        (first["ready"].clone(), first["loginUser"].clone()),
        (json!(true), json!("alice"))
    );
    assert_eq!(first["netState"], "connected");
    // Renewal time: the hub asks its face, which answers with a fresh sig.
    let request = next_event(&mut stream, natter::hub::USER_SIG_NEEDED).await;
    let request_id = request["requestId"].as_u64().expect("requestId");
    assert!(hub.provide_user_sig(request_id, Some(server.user_sig("alice", 3600)), None));
    assert!(
        !hub.provide_user_sig(request_id, Some("again".into()), None),
        "answered once"
    );
    // The server accepted it: the expiry moved an hour out, and nothing else happened.
    let deadline = tokio::time::Instant::now() + SOON;
    loop {
        let st: Value = serde_json::from_str(&hub.session_state(id.clone())).unwrap();
        if st["userSigExpireTime"].as_i64() > Some(natter::local_unix_ms() + 3_000_000) {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "never renewed: {st}");
        // Poll pacing for a condition with a deadline, not a stand-in for synchronisation.
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert!(hub.is_ready(id.clone()));
    let destroy = hub.destroy(id);
    let rest = shown(&stream.until_settled(&[destroy]).await);
    assert!(!rest.iter().any(|s| s.contains("kickedOut")), "{rest:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hub_lifecycle_calls_validate_and_report_in_the_session_state() {
    let server = server().await;
    let hub = Hub::new();
    let mut stream = attach(&hub);
    let id = hub.create(options(&server)).unwrap();
    match hub.set_app_state(id.clone(), "asleep".into()) {
        Err(e) => assert_eq!(e.code(), 9001),
        Ok(()) => panic!("a bad app state was accepted"),
    }
    assert_eq!(
        hub.set_app_state("nope".into(), "active".into()).unwrap_err().code(),
        9002
    );
    assert_eq!(hub.set_network_reachable("nope".into(), true).unwrap_err().code(), 9002);
    let login = hub.login(id.clone(), "alice".into(), server.user_sig("alice", 3600));
    stream.until_settled(&[login]).await;
    let wrong = hub.update_user_sig(id.clone(), server.user_sig("bob", 3600));
    assert_eq!(
        shown(&stream.until_settled(&[wrong]).await),
        vec![format!("E sdkStateReady {{}}"), format!("S {wrong} err 70013")]
    );
    hub.set_network_reachable(id.clone(), false).unwrap();
    let data = next_event(&mut stream, "netStateChange").await;
    assert_eq!(data, json!({"state": "disconnected", "reason": "networkUnreachable"}));
    let st: Value = serde_json::from_str(&hub.session_state(id.clone())).unwrap();
    assert_eq!(st["ready"], true);
    assert_eq!(st["netState"], "disconnected");
    assert!(st.get("nextRetryAt").is_none(), "{st}");
    hub.set_network_reachable(id.clone(), true).unwrap();
    assert_eq!(
        next_event(&mut stream, "netStateChange").await,
        json!({"state": "connecting", "reason": "networkBack"})
    );
    assert_eq!(
        next_event(&mut stream, "netStateChange").await,
        json!({"state": "connected", "reason": "loggedIn"})
    );
    hub.set_app_state(id.clone(), "background".into()).unwrap();
    hub.set_app_state(id.clone(), "active".into()).unwrap();
    let unknown: Value = serde_json::from_str(&hub.session_state("nope".into())).unwrap();
    assert_eq!(
        unknown,
        json!({"ready": false, "loginUser": "", "netState": "disconnected", "reconnectAttempt": 0})
    );
}
