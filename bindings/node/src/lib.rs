//! `natter-node`: the Node.js addon of the Natter core. Pure marshalling over one
//! [`natter::hub::Hub`] per `NatterHub` object, with the shape of the React Native contract
//! (`js/src/NativeNatter.ts`) so the TypeScript layer drives both the same way
//! (`js/src/backend.ts` wraps it). Validation, call order, event order and queueing all live
//! in the hub; nothing here waits, queues or keeps instances.

use napi::bindgen_prelude::{Function, Result, Status};
use napi::threadsafe_function::{ThreadsafeFunction, ThreadsafeFunctionCallMode};
use napi_derive::napi;
use natter::hub::{CallOutcome, ChatError, Hub, HubItem, HubSink, InstanceOptions};
use serde_json::{json, Value};
use std::sync::Arc;

/// The JS item callback, called as `callback(item)`; weak, so it never keeps Node alive.
type ItemCallback = ThreadsafeFunction<Value, (), Value, Status, false, true>;

/// `TencentCloudChat.create()` options, read as they are (JS names; numbers as doubles).
#[napi(object)]
pub struct CreateOptions {
    #[napi(js_name = "SDKAppID")]
    pub sdk_app_id: Option<f64>,
    pub proxy_server: Option<String>,
    pub platform: Option<String>,
    pub heartbeat_interval_ms: Option<f64>,
    pub request_timeout_ms: Option<f64>,
    pub login_timeout_ms: Option<f64>,
    pub reconnect_min_delay_ms: Option<f64>,
    pub reconnect_max_delay_ms: Option<f64>,
    pub extra_root_certs_pem: Option<String>,
    pub probe_timeout_ms: Option<f64>,
    /// True when the JS `create()` options carry a `userSigProvider` function.
    pub user_sig_provider: Option<bool>,
}

impl From<CreateOptions> for InstanceOptions {
    fn from(o: CreateOptions) -> Self {
        InstanceOptions {
            sdk_app_id: o.sdk_app_id,
            proxy_server: o.proxy_server,
            platform: o.platform,
            heartbeat_interval_ms: o.heartbeat_interval_ms,
            request_timeout_ms: o.request_timeout_ms,
            login_timeout_ms: o.login_timeout_ms,
            reconnect_min_delay_ms: o.reconnect_min_delay_ms,
            reconnect_max_delay_ms: o.reconnect_max_delay_ms,
            extra_root_certs_pem: o.extra_root_certs_pem,
            probe_timeout_ms: o.probe_timeout_ms,
            user_sig_provider: o.user_sig_provider,
        }
    }
}

/// Hands each hub item to JS as a `NatterItem` (`js/src/NativeNatter.ts`), in order.
struct JsSink(ItemCallback);

impl HubSink for JsSink {
    fn on_item(&self, item: HubItem) {
        let value = match item {
            HubItem::Event {
                instance_id,
                name,
                data_json,
            } => json!({ "kind": "event", "instanceId": instance_id, "name": name, "data": data_json }),
            HubItem::Settled {
                call_id,
                outcome: CallOutcome::Ok { data_json },
            } => json!({ "kind": "settled", "callId": call_id, "ok": true, "data": data_json }),
            HubItem::Settled {
                call_id,
                outcome: CallOutcome::Err { code, message },
            } => json!({ "kind": "settled", "callId": call_id, "ok": false, "code": code, "message": message }),
        };
        let _ = self.0.call(value, ThreadsafeFunctionCallMode::NonBlocking);
    }
}

fn error_value(e: &ChatError) -> Value {
    json!({ "code": e.code(), "message": e.detail() })
}

/// The instances of one JS module: `js/src/backend.ts` makes one.
#[napi]
pub struct NatterHub {
    hub: Arc<Hub>,
}

#[napi]
impl NatterHub {
    #[napi(constructor)]
    #[allow(clippy::new_without_default)] // a JS constructor
    pub fn new() -> Self {
        NatterHub { hub: Hub::new() }
    }

    /// `{instanceId}` or `{code, message}`.
    #[napi]
    pub fn create(&self, options: CreateOptions) -> Value {
        match self.hub.create(options.into()) {
            Ok(id) => json!({ "instanceId": id }),
            Err(e) => error_value(&e),
        }
    }

    /// The call id; the outcome arrives as a `settled` item.
    #[napi]
    pub fn login(&self, instance_id: String, user_id: String, user_sig: String) -> f64 {
        self.hub.login(instance_id, user_id, user_sig) as f64
    }

    #[napi]
    pub fn logout(&self, instance_id: String) -> f64 {
        self.hub.logout(instance_id) as f64
    }

    #[napi]
    pub fn destroy(&self, instance_id: String) -> f64 {
        self.hub.destroy(instance_id) as f64
    }

    #[napi]
    pub fn update_user_sig(&self, instance_id: String, user_sig: String) -> f64 {
        self.hub.update_user_sig(instance_id, user_sig) as f64
    }

    /// Answers a `userSigNeeded` item: the provider's sig, or its error message.
    #[napi]
    pub fn provide_user_sig(&self, request_id: f64, user_sig: Option<String>, error: Option<String>) -> bool {
        self.hub.provide_user_sig(request_id as u64, user_sig, error)
    }

    /// `{}` or `{code, message}`.
    #[napi]
    pub fn set_app_state(&self, instance_id: String, state: String) -> Value {
        match self.hub.set_app_state(instance_id, state) {
            Ok(()) => json!({}),
            Err(e) => error_value(&e),
        }
    }

    /// `{}` or `{code, message}`.
    #[napi]
    pub fn set_network_reachable(&self, instance_id: String, reachable: bool) -> Value {
        match self.hub.set_network_reachable(instance_id, reachable) {
            Ok(()) => json!({}),
            Err(e) => error_value(&e),
        }
    }

    /// `getSessionState()` as JSON text.
    #[napi]
    pub fn get_session_state(&self, instance_id: String) -> String {
        self.hub.session_state(instance_id)
    }

    #[napi]
    pub fn is_ready(&self, instance_id: String) -> bool {
        self.hub.is_ready(instance_id)
    }

    #[napi]
    pub fn get_login_user(&self, instance_id: String) -> String {
        self.hub.login_user(instance_id)
    }

    #[napi]
    pub fn get_server_time(&self, instance_id: String) -> f64 {
        self.hub.server_time_ms(instance_id)
    }

    /// 0 = debug … 4 = silent: `{}` or `{code, message}`.
    #[napi]
    pub fn set_log_level(&self, level: f64) -> Value {
        match self.hub.set_log_level(level) {
            Ok(()) => json!({}),
            Err(e) => error_value(&e),
        }
    }

    /// Attaches the item callback (the `onNatterItem` emitter of the contract); items queued
    /// before it are delivered first, in order.
    #[napi]
    pub fn set_sink(&self, callback: Function<Value, ()>) -> Result<()> {
        let tsfn: ItemCallback = callback
            .build_threadsafe_function::<Value>()
            .callee_handled::<false>()
            .weak::<true>()
            .build()?;
        self.hub.set_sink(Arc::new(JsSink(tsfn)));
        Ok(())
    }

    /// How many instances are alive (created and not yet destroyed): leak checks in tests.
    #[napi]
    pub fn instance_count(&self) -> u32 {
        self.hub.instance_count() as u32
    }
}
