//! The UniFFI surface (Kotlin, Swift): a thin, logic-free layer over [`crate::ChatClient`].
//!
//! Every exported call converts its arguments, calls the Rust API and converts the result. Work
//! runs on Natter's own tokio runtime: the core's async methods only await a channel answered by
//! the instance's driver task, so the foreign future needs no tokio context (no
//! `async_runtime` attribute, no second runtime). A panic inside an exported call is caught and
//! surfaces as `ChatError::Internal` (code 9003); it never unwinds into the foreign language.

use crate::event::ChatEvent;
use crate::session::{AppState, LoginResult, SessionState};
use futures_util::FutureExt;
use natter_protocol::{KickType, NetState, Platform};
use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;
use std::time::Duration;

/// Options of one client instance. Unset optional fields take the Rust defaults
/// (`ChatConfig::new`): web platform, 10 s heartbeat, 15 s request and 30 s login timeouts.
#[derive(Debug, Clone, uniffi::Record)]
pub struct ChatConfig {
    /// The app's SDKAppID (required, non-zero: 0 fails with code 2000).
    pub sdk_app_id: u64,
    /// `ws://` or `wss://` URL of the server's WebSocket endpoint.
    #[uniffi(default = "ws://127.0.0.1:9800/ws")]
    pub server_url: String,
    #[uniffi(default = None)]
    pub platform: Option<Platform>,
    #[uniffi(default = None)]
    pub heartbeat_interval_ms: Option<u64>,
    #[uniffi(default = None)]
    pub request_timeout_ms: Option<u64>,
    #[uniffi(default = None)]
    pub login_timeout_ms: Option<u64>,
    #[uniffi(default = None)]
    pub reconnect_min_delay_ms: Option<u64>,
    #[uniffi(default = None)]
    pub reconnect_max_delay_ms: Option<u64>,
    /// Deadline of the ping sent on `set_app_state(Active)` / `set_network_reachable(true)`.
    #[uniffi(default = None)]
    pub probe_timeout_ms: Option<u64>,
    /// PEM text of CA certificates trusted for `wss://` besides the Mozilla roots (a private
    /// CA); each entry may hold several certificates. Bad PEM fails with 9001.
    #[uniffi(default = [])]
    pub extra_root_certs_pem: Vec<String>,
}

impl From<ChatConfig> for crate::ChatConfig {
    fn from(c: ChatConfig) -> Self {
        let mut config = crate::ChatConfig::new(c.sdk_app_id).with_server_url(c.server_url);
        let ms = Duration::from_millis;
        if let Some(p) = c.platform {
            config.platform = p;
        }
        if let Some(v) = c.heartbeat_interval_ms {
            config.heartbeat_interval = ms(v);
        }
        if let Some(v) = c.request_timeout_ms {
            config.request_timeout = ms(v);
        }
        if let Some(v) = c.login_timeout_ms {
            config.login_timeout = ms(v);
        }
        if let Some(v) = c.reconnect_min_delay_ms {
            config.reconnect_min_delay = ms(v);
        }
        if let Some(v) = c.reconnect_max_delay_ms {
            config.reconnect_max_delay = ms(v);
        }
        if let Some(v) = c.probe_timeout_ms {
            config.probe_timeout = ms(v);
        }
        config.extra_root_certs_pem = c.extra_root_certs_pem;
        config
    }
}

// The protocol's enums and the core's event are exported as they are (no mirror types): the
// protocol crate knows nothing of UniFFI, so its enums are described here once.

/// The kind of device an instance runs on; the server counts instances per platform.
#[uniffi::remote(Enum)]
pub enum Platform {
    Web,
    Android,
    Ios,
    Ipad,
    Windows,
    Mac,
    Linux,
}

/// Why the server ended a session (`KICKED_OUT` `data.type`: `multipleAccount`,
/// `multipleDevice`, `userSigExpired`, `REST_API_Kick`).
#[uniffi::remote(Enum)]
pub enum KickType {
    MultipleAccount,
    MultipleDevice,
    UserSigExpired,
    RestApi,
}

/// Link state (`NET_STATE_CHANGE` `data.state`: `connected`, `connecting`, `disconnected`).
#[uniffi::remote(Enum)]
pub enum NetState {
    Connected,
    Connecting,
    Disconnected,
}

/// Receives a client's events one at a time, in order, on Natter's runtime thread (never the
/// caller's thread). An exception thrown by a listener is caught and logged; it stops neither
/// the client nor other listeners. Return quickly.
#[uniffi::export(foreign)]
pub trait ChatListener: Send + Sync {
    fn on_event(&self, event: ChatEvent);
}

/// Adapts a foreign listener to the core's listener trait.
struct ForeignListener(Arc<dyn ChatListener>);

impl crate::ChatListener for ForeignListener {
    fn on_event(&self, event: ChatEvent) {
        self.0.on_event(event);
    }
}

/// The app's source of fresh UserSigs (Kotlin `suspend fun`, Swift `async throws`): called ahead
/// of expiry, one call at a time; a thrown error is retried with jitter until the sig expires.
#[uniffi::export(foreign)]
#[async_trait::async_trait]
pub trait UserSigProvider: Send + Sync {
    async fn fetch_user_sig(&self) -> Result<String, ChatError>;
}

/// Adapts a foreign provider to the core's provider trait.
struct ForeignProvider(Arc<dyn UserSigProvider>);

impl crate::UserSigProvider for ForeignProvider {
    fn user_sig(&self) -> crate::UserSigFuture {
        let provider = self.0.clone();
        Box::pin(async move {
            provider.fetch_user_sig().await.map_err(|e| crate::ChatError::Internal {
                detail: format!("the UserSig provider failed: {e}"),
            })
        })
    }
}

/// Every failure, each variant carrying its numeric `code` (the reference SDK's where it has
/// one, listed in the README of the Natter repository; Natter's own in the 9000 range) and an English `detail`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, uniffi::Error)]
pub enum ChatError {
    /// 2000
    #[error("{code}: {detail}")]
    NoSdkAppId { code: i32, detail: String },
    /// 2002
    #[error("{code}: {detail}")]
    NoUserId { code: i32, detail: String },
    /// 2003
    #[error("{code}: {detail}")]
    NoUserSig { code: i32, detail: String },
    /// 2024
    #[error("{code}: {detail}")]
    NotLoggedIn { code: i32, detail: String },
    /// 2025: a login is still in flight.
    #[error("{code}: {detail}")]
    LoginInProgress { code: i32, detail: String },
    /// 2800
    #[error("{code}: {detail}")]
    Network { code: i32, detail: String },
    /// 2801
    #[error("{code}: {detail}")]
    Timeout { code: i32, detail: String },
    /// The server's code: 70001, 70003, 70009, 70013, 70014, 70050, 60020, …
    #[error("{code}: {detail}")]
    Server { code: i32, detail: String },
    /// 9001
    #[error("{code}: {detail}")]
    InvalidArgument { code: i32, detail: String },
    /// 9002: the instance was destroyed.
    #[error("{code}: {detail}")]
    Destroyed { code: i32, detail: String },
    /// 9003: a bug inside Natter (e.g. a caught panic).
    #[error("{code}: {detail}")]
    Internal { code: i32, detail: String },
}

/// Exported to Kotlin and Swift as methods of the error's base type (`ChatException.code()`,
/// `ChatError.code()`), so a bridge or an app reads the code and detail of any variant without
/// matching on all of them.
#[uniffi::export]
impl ChatError {
    /// The numeric code every variant carries.
    pub fn code(&self) -> i32 {
        self.parts().0
    }

    /// The English detail every variant carries.
    pub fn detail(&self) -> String {
        self.parts().1.to_owned()
    }
}

impl ChatError {
    fn parts(&self) -> (i32, &str) {
        match self {
            ChatError::NoSdkAppId { code, detail }
            | ChatError::NoUserId { code, detail }
            | ChatError::NoUserSig { code, detail }
            | ChatError::NotLoggedIn { code, detail }
            | ChatError::LoginInProgress { code, detail }
            | ChatError::Network { code, detail }
            | ChatError::Timeout { code, detail }
            | ChatError::Server { code, detail }
            | ChatError::InvalidArgument { code, detail }
            | ChatError::Destroyed { code, detail }
            | ChatError::Internal { code, detail } => (*code, detail),
        }
    }

    pub(crate) fn internal(detail: impl Into<String>) -> Self {
        ChatError::Internal {
            code: crate::code::INTERNAL,
            detail: detail.into(),
        }
    }
}

impl From<crate::ChatError> for ChatError {
    fn from(e: crate::ChatError) -> Self {
        use crate::ChatError as E;
        let code = e.code();
        let detail = e.to_string();
        match e {
            E::NoSdkAppId | E::InvalidSdkAppId { .. } => ChatError::NoSdkAppId { code, detail },
            E::NoUserId => ChatError::NoUserId { code, detail },
            E::NoUserSig => ChatError::NoUserSig { code, detail },
            E::NotLoggedIn => ChatError::NotLoggedIn { code, detail },
            E::LoginInProgress => ChatError::LoginInProgress { code, detail },
            E::Network { .. } => ChatError::Network { code, detail },
            E::Timeout => ChatError::Timeout { code, detail },
            E::Server { .. } => ChatError::Server { code, detail },
            E::InvalidArgument { .. } => ChatError::InvalidArgument { code, detail },
            E::Destroyed => ChatError::Destroyed { code, detail },
            E::Internal { .. } => ChatError::Internal { code, detail },
        }
    }
}

pub(crate) fn panic_detail(payload: &(dyn std::any::Any + Send)) -> String {
    let text = payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic payload".to_owned());
    format!("panic inside Natter: {text}")
}

/// Runs a synchronous call, turning a panic into `ChatError::Internal`.
pub(crate) fn guard<T>(f: impl FnOnce() -> Result<T, ChatError>) -> Result<T, ChatError> {
    catch_unwind(AssertUnwindSafe(f)).unwrap_or_else(|p| Err(ChatError::internal(panic_detail(&*p))))
}

/// Runs an asynchronous call, turning a panic while polling it into `ChatError::Internal`.
async fn guard_async<T>(f: impl Future<Output = Result<T, ChatError>>) -> Result<T, ChatError> {
    AssertUnwindSafe(f)
        .catch_unwind()
        .await
        .unwrap_or_else(|p| Err(ChatError::internal(panic_detail(&*p))))
}

/// Getters that cannot fail still must not unwind into the foreign language.
pub(crate) fn guard_value<T>(fallback: T, f: impl FnOnce() -> T) -> T {
    catch_unwind(AssertUnwindSafe(f)).unwrap_or(fallback)
}

/// One client instance (a page, a device, an account). Many may live in one process.
#[derive(uniffi::Object)]
pub struct ChatClient {
    inner: crate::ChatClient,
}

#[uniffi::export]
impl ChatClient {
    /// Validates `config` (bad options fail with 2000 or 9001) and starts the instance. Does not
    /// connect: the WebSocket opens at `login`. Callable from any thread, including the UI thread.
    #[uniffi::constructor]
    pub fn new(config: ChatConfig) -> Result<Arc<Self>, ChatError> {
        Self::with_user_sig_provider(config, None)
    }

    /// `new` with an optional UserSig provider, asked for a new sig ahead of expiry (the earlier
    /// of 5 min before it or 80 % of its lifetime). Without one, `UserSigExpiring` is emitted.
    #[uniffi::constructor]
    pub fn with_user_sig_provider(
        config: ChatConfig,
        provider: Option<Arc<dyn UserSigProvider>>,
    ) -> Result<Arc<Self>, ChatError> {
        guard(|| {
            crate::init_logging();
            let provider = provider.map(|p| Arc::new(ForeignProvider(p)) as Arc<dyn crate::UserSigProvider>);
            let inner = crate::ChatClient::with_user_sig_provider(config.into(), provider)?;
            Ok(Arc::new(ChatClient { inner }))
        })
    }

    /// Presents a new UserSig for the live session; refused (70013 another user's, …): the
    /// session continues on the old one. Not logged in: 2024.
    pub async fn update_user_sig(&self, user_sig: String) -> Result<(), ChatError> {
        guard_async(async { Ok(self.inner.update_user_sig(&user_sig).await?) }).await
    }

    /// App lifecycle: `Active` after `Background` probes the link and reconnects at once if dead.
    pub fn set_app_state(&self, state: AppState) {
        guard_value((), || self.inner.set_app_state(state))
    }

    /// Reachability: `false` disconnects at once with no attempts; `true` probes or reconnects.
    pub fn set_network_reachable(&self, reachable: bool) {
        guard_value((), || self.inner.set_network_reachable(reachable))
    }

    /// Ready, user, link state, last kick, reconnect attempt, next retry, UserSig expiry.
    pub fn get_session_state(&self) -> SessionState {
        guard_value(SessionState::default(), || self.inner.session_state())
    }

    /// Logs in; resolves once the server accepted (then `SdkReady` follows). Already logged in:
    /// resolves with `repeat_login = true` and changes nothing.
    pub async fn login(&self, user_id: String, user_sig: String) -> Result<LoginResult, ChatError> {
        guard_async(async { Ok(self.inner.login(&user_id, &user_sig).await?) }).await
    }

    /// Logs out (emits `SdkNotReady`); fails with 2024 when not logged in.
    pub async fn logout(&self) -> Result<(), ChatError> {
        guard_async(async { Ok(self.inner.logout().await?) }).await
    }

    /// Logs out if needed, stops everything, emits `SdkDestroy`. Later calls fail with 9002; a
    /// second destroy succeeds. (Kotlin: `destroyClient()` — uniffi renamed, see uniffi.toml —
    /// because the generated Disposable.destroy() clashes; Swift keeps `destroy()`.)
    pub async fn destroy(&self) -> Result<(), ChatError> {
        guard_async(async { Ok(self.inner.destroy().await?) }).await
    }

    pub fn is_ready(&self) -> bool {
        guard_value(false, || self.inner.is_ready())
    }

    /// The logged-in userID, `""` when not logged in.
    pub fn login_user(&self) -> String {
        guard_value(String::new(), || self.inner.login_user())
    }

    /// The server's clock in Unix milliseconds (local monotonic clock + offset measured at login
    /// and refreshed by heartbeats); before the first login, the local clock.
    pub fn server_time_ms(&self) -> i64 {
        guard_value(0, || self.inner.server_time_ms())
    }

    /// The random id that tells this instance apart from others of the same user.
    pub fn instance_id(&self) -> String {
        self.inner.instance_id().to_owned()
    }

    /// Registers a listener; returns an id for `remove_listener`. Adding one twice calls it twice.
    pub fn add_listener(&self, listener: Arc<dyn ChatListener>) -> u64 {
        guard_value(0, || self.inner.add_listener(Arc::new(ForeignListener(listener))))
    }

    pub fn remove_listener(&self, id: u64) -> bool {
        guard_value(false, || self.inner.remove_listener(id))
    }
}

/// `setLogLevel`: 0 = debug, 1 = info, 2 = warn, 3 = error, 4 = silent. Other values fail (9001).
#[uniffi::export]
pub fn set_log_level(level: i32) -> Result<(), ChatError> {
    guard(|| {
        crate::init_logging();
        Ok(crate::set_log_level(level)?)
    })
}

/// Diagnostic for binding tests: panics inside Rust (synchronously, or while polling a future
/// when `in_future` is true) so callers can check that a panic surfaces as
/// `ChatError::Internal` (9003) instead of aborting. Never useful in an app.
#[uniffi::export]
pub async fn debug_panic(in_future: bool) -> Result<(), ChatError> {
    if !in_future {
        return guard(|| panic!("debug_panic requested (sync)"));
    }
    guard_async(async { panic!("debug_panic requested (async)") }).await
}

/// Android: Natter's runtime thread attaches to the JVM once, when it starts, instead of JNA
/// attaching and detaching on every callback. The JVM is known only when the library was loaded
/// with `System.loadLibrary("natter")` (which calls `JNI_OnLoad`); the Android module does that
/// before JNA binds the library. Without it, JNA's per-callback attach still works.
#[cfg(target_os = "android")]
pub(crate) mod android {
    use jni::sys::{jint, JNI_VERSION_1_6};
    use jni::JavaVM;
    use std::ffi::c_void;
    use std::sync::OnceLock;

    static VM: OnceLock<JavaVM> = OnceLock::new();

    /// Called by the JVM on `System.loadLibrary("natter")`: remembers the VM.
    ///
    /// # Safety
    /// Called by the JVM only, with a valid `JavaVM` pointer.
    #[no_mangle]
    pub unsafe extern "system" fn JNI_OnLoad(vm: *mut jni::sys::JavaVM, _reserved: *mut c_void) -> jint {
        match JavaVM::from_raw(vm) {
            Ok(vm) => {
                let _ = VM.set(vm);
            }
            Err(e) => log::warn!("JNI_OnLoad: cannot use the JavaVM: {e}"),
        }
        JNI_VERSION_1_6
    }

    /// Run first by Natter's runtime thread (the one that calls listeners and sinks): attaches it
    /// to the JVM for its whole life, so JNA finds it attached on every callback.
    pub(crate) fn attach_current_thread() {
        if let Some(vm) = VM.get() {
            if let Err(e) = vm.attach_current_thread_permanently() {
                log::warn!("cannot attach a Natter runtime thread to the JVM: {e}");
            }
        }
    }
}
