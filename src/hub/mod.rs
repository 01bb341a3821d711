//! `Hub`: the instances of one face (the React Native module, the Node addon) behind one API
//! whose behaviour lives here, once: options are validated here, calls are submitted in call
//! order and answered by call id, and one sink receives a single ordered stream of events and
//! settlements. A face only marshals values (see `docs/architecture.md`, "Faces").
//!
//! Ordering contract: per instance, items reach the sink in the order the session produced
//! them, so each `Settled` comes after every event its instance emitted before it (a login
//! settles, then its `sdkStateReady` follows; `sdkStateNotReady` precedes the logout's
//! settlement; `sdkDestroy` precedes the destroy's). Items pushed while no sink is attached
//! queue and are delivered, in order, once one is.

mod options;
mod outbox;
mod sig_requests;

pub use crate::ffi::ChatError;
pub use options::InstanceOptions;
pub use sig_requests::USER_SIG_NEEDED;

use crate::dispatcher::{CallResult, Reply};
use crate::event::ChatEvent;
use crate::ffi::{guard, guard_value};
use crate::session::{local_unix_ms, AppState, Call, CallOutcome as SessionOutcome, SessionState};
use crate::user_sig_provider::UserSigProvider;
use crate::ChatClient;
use outbox::Outbox;
use serde_json::json;
use sig_requests::{FaceProvider, SigRequests};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};

/// Receives every item of a hub, one at a time, on Natter's runtime thread, never while a lock
/// is held. It must return quickly and must not wait for a call of the hub to settle (that
/// settlement is a later item of the same stream).
#[uniffi::export(foreign)]
pub trait HubSink: Send + Sync {
    fn on_item(&self, item: HubItem);
}

/// One item of the hub's stream.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Enum)]
pub enum HubItem {
    /// `name`: the reference SDK's event value (`sdkStateReady`, `kickedOut`, …); `data_json`:
    /// the event's data object as JSON text (`{}`, `{"type":"multipleAccount"}`,
    /// `{"state":"connected"}`, `{"code":..,"message":..}`, `{"SDKAppID":..}`).
    Event {
        instance_id: String,
        name: String,
        data_json: String,
    },
    /// One per call id, after every event the call's instance emitted before it settled.
    Settled { call_id: u64, outcome: CallOutcome },
}

/// How a call ended.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Enum)]
pub enum CallOutcome {
    /// `data_json`: login → `{"repeatLogin":false}` or `{"repeatLogin":true,"errorInfo":"…"}`;
    /// logout and destroy → `{}`.
    Ok { data_json: String },
    /// `code`: the documented numeric code (2024, 2025, 2800, 70001, 9002, …).
    Err { code: i32, message: String },
}

/// Owns the instances of one face. Many hubs may exist; each has its own instances and sink.
#[derive(uniffi::Object)]
pub struct Hub {
    state: Arc<HubState>,
}

struct HubState {
    instances: Mutex<HashMap<String, ChatClient>>,
    next_call: AtomicU64,
    outbox: Arc<Outbox>,
    sig_requests: Arc<SigRequests>,
}

impl HubState {
    fn instances(&self) -> MutexGuard<'_, HashMap<String, ChatClient>> {
        // A poisoned map is still consistent: every mutation is one insert or remove.
        self.instances.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn client(&self, instance_id: &str) -> Option<ChatClient> {
        self.instances().get(instance_id).cloned()
    }

    fn settle(&self, call_id: u64, result: CallResult) {
        self.outbox.push(settled(call_id, result));
    }
}

#[uniffi::export]
impl Hub {
    #[uniffi::constructor]
    pub fn new() -> Arc<Self> {
        crate::init_logging();
        Arc::new(Hub {
            state: Arc::new(HubState {
                instances: Mutex::default(),
                next_call: AtomicU64::new(1),
                outbox: Outbox::start(),
                sig_requests: Arc::default(),
            }),
        })
    }

    /// Attaches the one sink (replacing any other); items queued before it are delivered first,
    /// in order.
    pub fn set_sink(&self, sink: Arc<dyn HubSink>) {
        self.state.outbox.attach(sink);
    }

    /// Detaches the sink; later items queue again until the next `set_sink`.
    pub fn clear_sink(&self) {
        self.state.outbox.detach();
    }

    /// Validates `options` (JS option names and number semantics) and starts an instance; does
    /// not connect. Bad options: 2000 (SDKAppID missing, zero, negative or fractional) or 9001
    /// (any other option: zero, negative, fractional or NaN durations, bad URL, unknown platform).
    pub fn create(&self, options: InstanceOptions) -> Result<String, ChatError> {
        guard(|| {
            let config = options.to_config()?;
            let sdk_app_id = config.sdk_app_id;
            // The instance id is known only once the client exists; the provider reads it then.
            let provider_instance = Arc::new(Mutex::new(String::new()));
            let provider = options.user_sig_provider.unwrap_or(false).then(|| {
                Arc::new(FaceProvider {
                    instance_id: provider_instance.clone(),
                    requests: self.state.sig_requests.clone(),
                    outbox: self.state.outbox.clone(),
                }) as Arc<dyn UserSigProvider>
            });
            let client = ChatClient::with_user_sig_provider(config, provider)?;
            let id = client.instance_id().to_owned();
            *provider_instance.lock().unwrap_or_else(|e| e.into_inner()) = id.clone();
            let outbox = self.state.outbox.clone();
            let instance_id = id.clone();
            client.add_listener(Arc::new(move |e: ChatEvent| {
                outbox.push(event_item(&instance_id, sdk_app_id, &e));
            }));
            self.state.instances().insert(id.clone(), client);
            Ok(id)
        })
    }

    /// Submits a login now; its outcome arrives as `Settled { call_id }` (unknown id: 9002).
    pub fn login(&self, instance_id: String, user_id: String, user_sig: String) -> u64 {
        self.submit(&instance_id, Call::Login { user_id, user_sig })
    }

    /// Submits `updateUserSig` now (unknown id: 9002; not logged in: 2024; refused: the server's
    /// code, e.g. 70013, and the session continues).
    pub fn update_user_sig(&self, instance_id: String, user_sig: String) -> u64 {
        self.submit(&instance_id, Call::UpdateUserSig { user_sig })
    }

    /// Answers a `userSigNeeded {requestId}` item: `user_sig` when the face's provider gave one,
    /// otherwise `error` (the provider threw; the session retries with jitter). Returns false for
    /// an unknown or already answered request.
    pub fn provide_user_sig(&self, request_id: u64, user_sig: Option<String>, error: Option<String>) -> bool {
        guard_value(false, || {
            let answer = match user_sig {
                Some(sig) => Ok(sig),
                None => Err(crate::ChatError::Internal {
                    detail: format!(
                        "the UserSig provider failed: {}",
                        error.unwrap_or_else(|| "no reason given".into())
                    ),
                }),
            };
            self.state.sig_requests.answer(request_id, answer)
        })
    }

    /// `setAppState('active' | 'background')`; anything else fails with 9001, as does an unknown id.
    pub fn set_app_state(&self, instance_id: String, state: String) -> Result<(), ChatError> {
        guard(|| {
            let state: AppState = state.parse()?;
            self.client_or_destroyed(&instance_id)?.set_app_state(state);
            Ok(())
        })
    }

    /// `setNetworkReachable(bool)` (unknown id: 9002).
    pub fn set_network_reachable(&self, instance_id: String, reachable: bool) -> Result<(), ChatError> {
        guard(|| {
            self.client_or_destroyed(&instance_id)?.set_network_reachable(reachable);
            Ok(())
        })
    }

    /// `getSessionState()` as JSON text: `{ready, loginUser, netState, lastKick?: {type, at},
    /// reconnectAttempt, nextRetryAt?, userSigExpireTime?}` (times in Unix ms); an unknown or
    /// destroyed id reads as a fresh, disconnected instance.
    pub fn session_state(&self, instance_id: String) -> String {
        guard_value("{}".into(), || {
            let state = self
                .state
                .client(&instance_id)
                .map(|c| c.session_state())
                .unwrap_or_default();
            session_state_json(&state).to_string()
        })
    }

    /// Submits a logout now (unknown id: 9002; not logged in: 2024).
    pub fn logout(&self, instance_id: String) -> u64 {
        self.submit(&instance_id, Call::Logout)
    }

    /// Submits a destroy now; it settles `Ok` also for an unknown or destroyed id. The instance
    /// leaves the hub when its destroy settles.
    pub fn destroy(&self, instance_id: String) -> u64 {
        self.submit(&instance_id, Call::Destroy)
    }

    pub fn is_ready(&self, instance_id: String) -> bool {
        guard_value(false, || self.state.client(&instance_id).is_some_and(|c| c.is_ready()))
    }

    /// The logged-in userID, `""` when not logged in or unknown.
    pub fn login_user(&self, instance_id: String) -> String {
        guard_value(String::new(), || {
            self.state
                .client(&instance_id)
                .map(|c| c.login_user())
                .unwrap_or_default()
        })
    }

    /// `setLogLevel` (process-wide): 0 = debug, 1 = info, 2 = warn, 3 = error, 4 = silent; any
    /// other number, a fractional one included, fails with 9001.
    pub fn set_log_level(&self, level: f64) -> Result<(), ChatError> {
        guard(|| {
            if level.fract() != 0.0 || !(0.0..=4.0).contains(&level) {
                return Err(
                    crate::ChatError::invalid(format!("log level must be 0, 1, 2, 3 or 4, got {level}")).into(),
                );
            }
            Ok(crate::set_log_level(level as i32)?)
        })
    }

    /// The server's clock in Unix ms; the local clock before the first login or for an unknown id.
    pub fn server_time_ms(&self, instance_id: String) -> f64 {
        guard_value(0.0, || {
            self.state
                .client(&instance_id)
                .map_or_else(local_unix_ms, |c| c.server_time_ms()) as f64
        })
    }
}

impl Hub {
    /// How many instances the hub holds (created and not yet destroyed): leak checks.
    pub fn instance_count(&self) -> usize {
        self.state.instances().len()
    }

    fn client_or_destroyed(&self, instance_id: &str) -> Result<ChatClient, crate::ChatError> {
        self.state.client(instance_id).ok_or(crate::ChatError::Destroyed)
    }

    fn submit(&self, instance_id: &str, call: Call) -> u64 {
        let call_id = self.state.next_call.fetch_add(1, Ordering::Relaxed);
        let submitted = guard_value(false, || {
            let is_destroy = call == Call::Destroy;
            let Some(client) = self.state.client(instance_id) else {
                let result = if is_destroy {
                    Ok(SessionOutcome::Done)
                } else {
                    Err(crate::ChatError::Destroyed)
                };
                self.state.settle(call_id, result);
                return true;
            };
            let state = Arc::downgrade(&self.state);
            let id = instance_id.to_owned();
            client.submit(
                call,
                Reply::new(move |result| {
                    let result = match result {
                        Err(crate::ChatError::Destroyed) if is_destroy => Ok(SessionOutcome::Done),
                        other => other,
                    };
                    let done = is_destroy && result.is_ok();
                    if let Some(state) = Weak::upgrade(&state) {
                        // Forget the instance before the settlement goes out: once a face sees
                        // its destroy resolved, the hub no longer holds it.
                        if done {
                            state.instances().remove(&id);
                        }
                        state.settle(call_id, result);
                    }
                }),
            );
            true
        });
        if !submitted {
            self.state.settle(
                call_id,
                Err(crate::ChatError::Internal {
                    detail: "panic inside Natter while submitting a call".into(),
                }),
            );
        }
        call_id
    }
}

fn event_item(instance_id: &str, sdk_app_id: u64, event: &ChatEvent) -> HubItem {
    let data = match event {
        ChatEvent::SdkReady | ChatEvent::SdkNotReady => json!({}),
        ChatEvent::KickedOut { kick_type } => json!({ "type": kick_type.as_str() }),
        ChatEvent::NetStateChange {
            state,
            reason,
            retry_in_ms,
        } => match retry_in_ms {
            Some(ms) => json!({ "state": state.as_str(), "reason": reason.as_str(), "retryInMs": ms }),
            None => json!({ "state": state.as_str(), "reason": reason.as_str() }),
        },
        ChatEvent::UserSigExpiring { expire_time_ms } => json!({ "expireTime": expire_time_ms }),
        ChatEvent::Error { code, message } => json!({ "code": code, "message": message }),
        ChatEvent::SdkDestroy => json!({ "SDKAppID": sdk_app_id }),
    };
    HubItem::Event {
        instance_id: instance_id.to_owned(),
        name: event.name().to_owned(),
        data_json: data.to_string(),
    }
}

/// The JS shape of `getSessionState()`: optional fields are left out rather than null.
fn session_state_json(s: &SessionState) -> serde_json::Value {
    let mut v = json!({
        "ready": s.ready,
        "loginUser": s.login_user,
        "netState": s.net_state.as_str(),
        "reconnectAttempt": s.reconnect_attempt,
    });
    if let Some(k) = s.last_kick {
        v["lastKick"] = json!({ "type": k.kick_type.as_str(), "at": k.at_ms });
    }
    if let Some(at) = s.next_retry_at_ms {
        v["nextRetryAt"] = json!(at);
    }
    if let Some(at) = s.user_sig_expire_time_ms {
        v["userSigExpireTime"] = json!(at);
    }
    v
}

fn settled(call_id: u64, result: CallResult) -> HubItem {
    let outcome = match result {
        Ok(SessionOutcome::Login(r)) => {
            let data = match r.error_info {
                Some(info) if r.repeat_login => json!({ "repeatLogin": true, "errorInfo": info }),
                _ => json!({ "repeatLogin": r.repeat_login }),
            };
            CallOutcome::Ok {
                data_json: data.to_string(),
            }
        }
        Ok(SessionOutcome::Done) => CallOutcome::Ok { data_json: "{}".into() },
        Err(e) => CallOutcome::Err {
            code: e.code(),
            message: e.to_string(),
        },
    };
    HubItem::Settled { call_id, outcome }
}

#[cfg(test)]
mod tests;
