//! Hub behaviour that needs no server: validation codes, calls on unknown ids, queueing while
//! no sink is attached, and a sink that calls back into the hub.

use super::*;
use std::sync::mpsc;
use std::time::Duration;

const SOON: Duration = Duration::from_secs(10);

struct Recorder(Mutex<mpsc::Sender<HubItem>>);

impl HubSink for Recorder {
    fn on_item(&self, item: HubItem) {
        let _ = self.0.lock().unwrap().send(item);
    }
}

fn attach(hub: &Hub) -> mpsc::Receiver<HubItem> {
    let (tx, rx) = mpsc::channel();
    hub.set_sink(Arc::new(Recorder(Mutex::new(tx))));
    rx
}

fn settled_code(item: HubItem) -> (u64, Option<i32>) {
    match item {
        HubItem::Settled {
            call_id,
            outcome: CallOutcome::Ok { .. },
        } => (call_id, None),
        HubItem::Settled {
            call_id,
            outcome: CallOutcome::Err { code, .. },
        } => (call_id, Some(code)),
        other => panic!("expected a settlement, got {other:?}"),
    }
}

fn opts(sdk_app_id: f64) -> InstanceOptions {
    InstanceOptions {
        sdk_app_id: Some(sdk_app_id),
        // Nothing listens there: these tests never log in successfully.
        proxy_server: Some("ws://127.0.0.1:9/ws".into()),
        ..Default::default()
    }
}

fn create_code(hub: &Hub, o: InstanceOptions) -> i32 {
    match hub.create(o).unwrap_err() {
        ChatError::NoSdkAppId { code, .. } | ChatError::InvalidArgument { code, .. } => code,
        other => panic!("unexpected error {other:?}"),
    }
}

#[test]
fn create_validates_with_the_documented_codes() {
    let hub = Hub::new();
    assert_eq!(create_code(&hub, InstanceOptions::default()), 2000);
    for id in [-1.0, 0.0, 2.5, f64::NAN] {
        assert_eq!(create_code(&hub, opts(id)), 2000, "SDKAppID {id}");
    }
    for ms in [0.0, 0.5, -100.0, f64::NAN] {
        let o = InstanceOptions {
            request_timeout_ms: Some(ms),
            ..opts(1.0)
        };
        assert_eq!(create_code(&hub, o), 9001, "requestTimeoutMs {ms}");
    }
    let o = InstanceOptions {
        platform: Some("tablet".into()),
        ..opts(1.0)
    };
    assert_eq!(create_code(&hub, o), 9001);
    assert_eq!(hub.instance_count(), 0);
    let id = hub.create(opts(1.0)).unwrap();
    assert_eq!(id.len(), 32);
    assert_eq!(hub.instance_count(), 1);
    assert!(!hub.is_ready(id.clone()));
    assert_eq!(hub.login_user(id), "");
}

#[test]
fn items_queue_until_a_sink_is_attached_and_keep_call_order() {
    let hub = Hub::new();
    let calls: Vec<u64> = (0..20)
        .map(|i| {
            if i % 2 == 0 {
                hub.login("nope".into(), "u".into(), "s".into())
            } else {
                hub.destroy("nope".into())
            }
        })
        .collect();
    let rx = attach(&hub);
    for (i, call) in calls.iter().enumerate() {
        let (id, code) = settled_code(rx.recv_timeout(SOON).unwrap());
        assert_eq!(id, *call);
        assert_eq!(code, if i % 2 == 0 { Some(9002) } else { None });
    }
    hub.clear_sink();
    let later = hub.logout("nope".into());
    assert!(
        rx.recv_timeout(Duration::from_millis(300)).is_err(),
        "nothing while detached"
    );
    let rx = attach(&hub);
    assert_eq!(settled_code(rx.recv_timeout(SOON).unwrap()), (later, Some(9002)));
}

#[test]
fn argument_errors_and_destroy_go_through_the_instance_in_order() {
    let hub = Hub::new();
    let rx = attach(&hub);
    let id = hub.create(opts(1400000001.0)).unwrap();
    let no_user = hub.login(id.clone(), "".into(), "sig".into());
    let no_sig = hub.login(id.clone(), "alice".into(), " ".into());
    let not_logged_in = hub.logout(id.clone());
    let destroy = hub.destroy(id.clone());
    assert_eq!(settled_code(rx.recv_timeout(SOON).unwrap()), (no_user, Some(2002)));
    assert_eq!(settled_code(rx.recv_timeout(SOON).unwrap()), (no_sig, Some(2003)));
    assert_eq!(
        settled_code(rx.recv_timeout(SOON).unwrap()),
        (not_logged_in, Some(2024))
    );
    match rx.recv_timeout(SOON).unwrap() {
        HubItem::Event {
            instance_id,
            name,
            data_json,
        } => {
            assert_eq!((instance_id.as_str(), name.as_str()), (id.as_str(), "sdkDestroy"));
            assert_eq!(data_json, r#"{"SDKAppID":1400000001}"#);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(settled_code(rx.recv_timeout(SOON).unwrap()), (destroy, None));
    assert_eq!(hub.instance_count(), 0);
}

/// A sink that calls the hub re-entrantly: no lock is held while it runs, so nothing deadlocks.
struct Reentrant {
    hub: Mutex<Option<Arc<Hub>>>,
    out: Mutex<mpsc::Sender<HubItem>>,
}

impl HubSink for Reentrant {
    fn on_item(&self, item: HubItem) {
        let hub = self.hub.lock().unwrap().clone();
        if let (Some(hub), HubItem::Settled { call_id: 1, .. }) = (hub, &item) {
            let _ = hub.is_ready("nope".into());
            let _ = hub.create(opts(1.0));
            hub.destroy("nope".into());
        }
        let _ = self.out.lock().unwrap().send(item);
    }
}

#[test]
fn a_sink_may_call_the_hub() {
    let hub = Hub::new();
    let (tx, rx) = mpsc::channel();
    let sink = Arc::new(Reentrant {
        hub: Mutex::new(Some(hub.clone())),
        out: Mutex::new(tx),
    });
    hub.set_sink(sink.clone());
    assert_eq!(hub.logout("nope".into()), 1);
    assert_eq!(settled_code(rx.recv_timeout(SOON).unwrap()), (1, Some(9002)));
    assert_eq!(settled_code(rx.recv_timeout(SOON).unwrap()), (2, None));
    *sink.hub.lock().unwrap() = None; // break the test's reference cycle
}

#[test]
fn log_levels_are_whole_numbers_from_0_to_4() {
    let hub = Hub::new();
    for level in [4.0, 0.0, 2.0] {
        hub.set_log_level(level).unwrap();
    }
    for level in [1.5, -1.0, 5.0, f64::NAN] {
        assert!(
            matches!(
                hub.set_log_level(level),
                Err(ChatError::InvalidArgument { code: 9001, .. })
            ),
            "{level}"
        );
    }
}
