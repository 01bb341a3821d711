//! `natter-node`: the Node.js addon of the Natter core, with the shape of the React Native
//! contract (`js/src/NativeNatter.ts`) so the TypeScript layer drives both the same way. The
//! TS wrapper is `js/src/backend.ts`.
//!
//! - Errors come back as values (`{error: {code, message}}`), never as JS exceptions, so the
//!   numeric code survives (napi errors only carry a string status).
//! - Events of every instance go to the one callback given to `subscribe`, as
//!   `{instanceId, name, data}`, in order. Events raised before JS subscribed are queued here
//!   and delivered, in order, when it subscribes.
//! - `login`/`logout`/`destroy` start on the JS thread, in call order: each call is polled once
//!   synchronously (which queues the command on the instance's driver) before its future is
//!   handed to the runtime. Spawning without that could start two calls made in the same tick in
//!   either order (a second `login` could overtake the first).

use napi::bindgen_prelude::{Env, Function, PromiseRaw, Result, Status};
use napi::threadsafe_function::{ThreadsafeFunction, ThreadsafeFunctionCallMode};
use napi_derive::napi;
use natter::{ChatClient, ChatConfig, ChatError, ChatEvent, Platform};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The JS event callback: called as `callback(event)`; weak, so it never keeps Node alive.
type EventCallback = ThreadsafeFunction<Value, (), Value, Status, false, true>;

#[derive(Default)]
struct Sink {
    callback: Option<EventCallback>,
    pending: Vec<Value>,
}

fn sink() -> &'static Mutex<Sink> {
    static SINK: OnceLock<Mutex<Sink>> = OnceLock::new();
    SINK.get_or_init(Mutex::default)
}

fn instances() -> &'static Mutex<HashMap<String, ChatClient>> {
    static INSTANCES: OnceLock<Mutex<HashMap<String, ChatClient>>> = OnceLock::new();
    INSTANCES.get_or_init(Mutex::default)
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn client(id: &str) -> Option<ChatClient> {
    lock(instances()).get(id).cloned()
}

/// Hands an event to JS, or queues it until JS subscribes. Called under the sink lock so the
/// callback's queue receives the events in the order they were raised.
fn emit(event: Value) {
    let mut s = lock(sink());
    match &s.callback {
        Some(callback) => {
            let _ = callback.call(event, ThreadsafeFunctionCallMode::NonBlocking);
        }
        None => s.pending.push(event),
    }
}

fn event_value(instance_id: &str, sdk_app_id: u64, event: &ChatEvent) -> Value {
    let data = match event {
        ChatEvent::SdkReady | ChatEvent::SdkNotReady => json!({}),
        ChatEvent::KickedOut { kick_type } => json!({ "type": kick_type.as_str() }),
        ChatEvent::NetStateChange { state } => json!({ "state": state.as_str() }),
        ChatEvent::Error { code, message } => json!({ "code": code, "message": message }),
        ChatEvent::SdkDestroy => json!({ "SDKAppID": sdk_app_id }),
    };
    json!({ "instanceId": instance_id, "name": event.name(), "data": data })
}

fn error_value(e: &ChatError) -> Value {
    json!({ "error": { "code": e.code(), "message": e.to_string() } })
}

fn invalid(detail: impl Into<String>) -> ChatError {
    ChatError::InvalidArgument { detail: detail.into() }
}

/// `createInstance` options: `NatterCreateOptions` of the contract.
#[napi(object)]
pub struct CreateOptions {
    pub sdk_app_id: f64,
    pub server_url: String,
    pub platform: String,
    pub heartbeat_interval_ms: Option<f64>,
    pub request_timeout_ms: Option<f64>,
    pub login_timeout_ms: Option<f64>,
}

fn duration(name: &str, value: Option<f64>) -> std::result::Result<Option<Duration>, ChatError> {
    match value {
        None => Ok(None),
        Some(v) if v.is_finite() && v >= 0.0 && v.fract() == 0.0 && v <= 1e12 => {
            Ok(Some(Duration::from_millis(v as u64)))
        }
        Some(v) => Err(invalid(format!(
            "{name} must be a whole number of milliseconds, got {v}"
        ))),
    }
}

fn config(o: &CreateOptions) -> std::result::Result<ChatConfig, ChatError> {
    let id = o.sdk_app_id;
    if id == 0.0 {
        return Err(ChatError::NoSdkAppId);
    }
    if !(id.is_finite() && id > 0.0 && id.fract() == 0.0 && id <= 9_007_199_254_740_991.0) {
        return Err(invalid(format!("SDKAppID must be a positive integer, got {id}")));
    }
    let platform: Platform = o.platform.parse().map_err(|e| invalid(format!("{e}")))?;
    let mut c = ChatConfig::new(id as u64)
        .with_server_url(o.server_url.clone())
        .with_platform(platform);
    if let Some(d) = duration("heartbeatIntervalMs", o.heartbeat_interval_ms)? {
        c.heartbeat_interval = d;
    }
    if let Some(d) = duration("requestTimeoutMs", o.request_timeout_ms)? {
        c.request_timeout = d;
    }
    if let Some(d) = duration("loginTimeoutMs", o.login_timeout_ms)? {
        c.login_timeout = d;
    }
    Ok(c)
}

/// Validates the options and creates an instance: `{instanceId}` or `{error: {code, message}}`.
#[napi]
pub fn create_instance(options: CreateOptions) -> Value {
    natter::init_logging();
    let made = config(&options).and_then(ChatClient::new);
    let client = match made {
        Ok(c) => c,
        Err(e) => return error_value(&e),
    };
    let id = client.instance_id().to_owned();
    let sdk_app_id = client.config().sdk_app_id;
    let listener_id = id.clone();
    client.add_listener(Arc::new(move |e: ChatEvent| {
        emit(event_value(&listener_id, sdk_app_id, &e))
    }));
    lock(instances()).insert(id.clone(), client);
    json!({ "instanceId": id })
}

/// Starts `fut` now, on the JS thread (its first poll queues the command), then lets the
/// runtime finish it; the promise resolves with `finish(output)` (an outcome, never a rejection).
fn start<'env, T, F>(env: &'env Env, fut: F, finish: fn(T) -> Value) -> Result<PromiseRaw<'env, Value>>
where
    T: Send + 'static,
    F: Future<Output = T> + Send + 'static,
{
    let mut fut = Box::pin(fut);
    let first = fut.as_mut().poll(&mut Context::from_waker(Waker::noop()));
    env.spawn_future(async move {
        let out = match first {
            Poll::Ready(out) => out,
            Poll::Pending => fut.await,
        };
        Ok(finish(out))
    })
}

fn destroyed() -> ChatError {
    ChatError::Destroyed
}

fn unit_outcome(r: std::result::Result<(), ChatError>) -> Value {
    match r {
        Ok(()) => json!({ "value": null }),
        Err(e) => error_value(&e),
    }
}

/// `{value: {repeatLogin, errorInfo?}}` or `{error: {code, message}}`.
#[napi]
pub fn login<'env>(
    env: &'env Env,
    instance_id: String,
    user_id: String,
    user_sig: String,
) -> Result<PromiseRaw<'env, Value>> {
    let c = client(&instance_id);
    start(
        env,
        async move {
            match c {
                Some(c) => c.login(&user_id, &user_sig).await,
                None => Err(destroyed()),
            }
        },
        |r| match r {
            Ok(r) => {
                let mut value = json!({ "repeatLogin": r.repeat_login });
                if let Some(info) = r.error_info {
                    value["errorInfo"] = Value::String(info);
                }
                json!({ "value": value })
            }
            Err(e) => error_value(&e),
        },
    )
}

/// `{value: null}` or `{error}`.
#[napi]
pub fn logout<'env>(env: &'env Env, instance_id: String) -> Result<PromiseRaw<'env, Value>> {
    let c = client(&instance_id);
    start(
        env,
        async move {
            match c {
                Some(c) => c.logout().await,
                None => Err(destroyed()),
            }
        },
        unit_outcome,
    )
}

/// `{value: null}` or `{error}`; releases the instance (`instanceCount` drops) once done.
#[napi]
pub fn destroy<'env>(env: &'env Env, instance_id: String) -> Result<PromiseRaw<'env, Value>> {
    let c = client(&instance_id);
    start(
        env,
        async move {
            match c {
                Some(c) => {
                    let r = c.destroy().await;
                    let mut map = lock(instances());
                    if map
                        .get(&instance_id)
                        .is_some_and(|x| x.instance_id() == c.instance_id())
                    {
                        map.remove(&instance_id);
                    }
                    r
                }
                None => Err(destroyed()),
            }
        },
        unit_outcome,
    )
}

#[napi]
pub fn is_ready(instance_id: String) -> bool {
    client(&instance_id).is_some_and(|c| c.is_ready())
}

#[napi]
pub fn get_login_user(instance_id: String) -> String {
    client(&instance_id).map(|c| c.login_user()).unwrap_or_default()
}

/// Server clock in Unix ms (the local clock before the first login or for an unknown id).
#[napi]
pub fn get_server_time(instance_id: String) -> f64 {
    match client(&instance_id) {
        Some(c) => c.server_time_ms() as f64,
        None => SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0.0, |d| d.as_millis() as f64),
    }
}

/// 0 = debug … 4 = silent; `{error}` for another value, else nothing.
#[napi]
pub fn set_log_level(level: i32) -> Option<Value> {
    natter::set_log_level(level).err().map(|e| error_value(&e))
}

/// Sets the event callback (replacing any previous one) and delivers the queued events.
#[napi]
pub fn subscribe(callback: Function<Value, ()>) -> Result<()> {
    let tsfn: EventCallback = callback
        .build_threadsafe_function::<Value>()
        .callee_handled::<false>()
        .weak::<true>()
        .build()?;
    let mut s = lock(sink());
    for event in s.pending.drain(..) {
        let _ = tsfn.call(event, ThreadsafeFunctionCallMode::NonBlocking);
    }
    s.callback = Some(tsfn);
    Ok(())
}

/// How many instances are alive (created and not yet destroyed): leak checks in tests.
#[napi]
pub fn instance_count() -> u32 {
    lock(instances()).len() as u32
}
