//! `ChatClient`: the public async API of one instance (a page, a device, an account).

use crate::config::ChatConfig;
use crate::dispatcher::{self, ListenerId, Listeners, Reply};
use crate::driver::{Command, Driver, Shared};
use crate::error::ChatError;
use crate::event::{ChatEvent, ChatListener};
use crate::runtime;
use crate::session::{local_unix_ms, AppState, Call, CallOutcome, LoginResult, Session, SessionParams, SessionState};
use crate::transport;
use crate::user_sig_provider::UserSigProvider;
use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;
use std::sync::Arc;
use std::time::Instant;
use tokio::sync::{mpsc, oneshot};

/// One client instance. Cheap to clone (clones share the instance). Every instance is
/// independent: many may live in one process, for one user or several. When the last clone is
/// dropped the instance destroys itself quietly.
#[derive(Clone)]
pub struct ChatClient {
    inner: Arc<Inner>,
}

struct Inner {
    config: ChatConfig,
    instance_id: String,
    commands: mpsc::UnboundedSender<Command>,
    shared: Arc<Shared>,
    listeners: Arc<Listeners>,
}

impl ChatClient {
    /// Validates `config` and starts the instance's tasks on Natter's runtime. Does not connect:
    /// the WebSocket opens at `login`. Callable from any thread, with or without a tokio runtime.
    pub fn new(config: ChatConfig) -> Result<Self, ChatError> {
        Self::with_user_sig_provider(config, None)
    }

    /// [`ChatClient::new`] with an optional `userSigProvider`: the session asks it for a new
    /// UserSig ahead of expiry (the earlier of 5 min before it or 80 % of the sig's lifetime),
    /// one request at a time, retrying with jitter on failure. Without one, the session emits
    /// `UserSigExpiring` at that time instead and the app calls [`ChatClient::update_user_sig`].
    pub fn with_user_sig_provider(
        config: ChatConfig,
        provider: Option<Arc<dyn UserSigProvider>>,
    ) -> Result<Self, ChatError> {
        config.validate()?;
        let target = Arc::new(transport::Target::new(
            &config.server_url,
            &config.extra_root_certs_pem,
        )?);
        let instance_id = random_hex();
        let params = SessionParams {
            sdk_app_id: config.sdk_app_id,
            platform: config.platform,
            instance_id: instance_id.clone(),
            heartbeat_interval: config.heartbeat_interval,
            request_timeout: config.request_timeout,
            login_timeout: config.login_timeout,
            reconnect_min_delay: config.reconnect_min_delay,
            reconnect_max_delay: config.reconnect_max_delay,
            jitter_seed: RandomState::new().hash_one(&instance_id),
            probe_timeout: config.probe_timeout,
            has_user_sig_provider: provider.is_some(),
        };
        let shared = Arc::new(Shared::default());
        let listeners = Arc::new(Listeners::default());
        let (commands, commands_rx) = mpsc::unbounded_channel();
        let (deliveries_tx, deliveries_rx) = mpsc::unbounded_channel();
        let (driver, transport_rx) = Driver::new(
            Session::new(params),
            target,
            shared.clone(),
            deliveries_tx,
            provider,
            config.login_timeout,
        );
        let rt = runtime::handle();
        rt.spawn(dispatcher::run(listeners.clone(), deliveries_rx));
        rt.spawn(driver.run(commands_rx, transport_rx));
        Ok(ChatClient {
            inner: Arc::new(Inner {
                config,
                instance_id,
                commands,
                shared,
                listeners,
            }),
        })
    }

    pub fn config(&self) -> &ChatConfig {
        &self.inner.config
    }

    /// Random id the server uses to tell this instance's reconnects from a second instance.
    pub fn instance_id(&self) -> &str {
        &self.inner.instance_id
    }

    /// Logs in. Resolves once the server accepted the login, with `SDK_READY` already queued
    /// for the listeners (it is delivered right after). Already logged in: resolves with
    /// `repeat_login: true` and changes nothing. Calls of one instance take effect in call order.
    pub async fn login(&self, user_id: &str, user_sig: &str) -> Result<LoginResult, ChatError> {
        let call = Call::Login {
            user_id: user_id.to_owned(),
            user_sig: user_sig.to_owned(),
        };
        match self.call(call).await? {
            CallOutcome::Login(result) => Ok(result),
            CallOutcome::Done => Err(ChatError::Internal {
                detail: "login completed without a result".into(),
            }),
        }
    }

    /// Logs out: tells the server, delivers `SDK_NOT_READY` to the listeners, then resolves
    /// (even if the server did not answer). Fails with 2024 when not logged in.
    pub async fn logout(&self) -> Result<(), ChatError> {
        self.call(Call::Logout).await.map(drop)
    }

    /// Logs out if needed, closes the socket, stops every task, delivers `SDK_DESTROY`, then
    /// resolves. Later calls fail with `ChatError::Destroyed`; a second destroy succeeds.
    pub async fn destroy(&self) -> Result<(), ChatError> {
        match self.call(Call::Destroy).await {
            Err(ChatError::Destroyed) => Ok(()),
            other => other.map(drop),
        }
    }

    /// Presents a new UserSig for the live session: the server verifies it for the same user and
    /// app and moves the expiry kick. Refused (70013 for another user's sig, 70001 expired, …):
    /// the session continues on the old sig. While the link is down, the sig is kept for the
    /// silent re-login and the call resolves at once. Not logged in: 2024.
    pub async fn update_user_sig(&self, user_sig: &str) -> Result<(), ChatError> {
        let call = Call::UpdateUserSig {
            user_sig: user_sig.to_owned(),
        };
        self.call(call).await.map(drop)
    }

    /// Tells the session whether the app is on screen. Returning to `Active` probes the link
    /// with one ping (deadline `probe_timeout`) and reconnects at once if it is dead.
    pub fn set_app_state(&self, state: AppState) {
        let _ = self.inner.commands.send(Command::AppState(state));
    }

    /// Tells the session whether the device has a network. `false`: `NetStateChange
    /// disconnected` at once and no connection attempts; `true` again: probe or reconnect at once.
    pub fn set_network_reachable(&self, reachable: bool) {
        let _ = self.inner.commands.send(Command::NetworkReachable(reachable));
    }

    /// The session as of the last event: ready, user, link state, last kick, reconnect attempt
    /// and next retry, the UserSig's expiry.
    pub fn session_state(&self) -> SessionState {
        self.inner.shared.read().state.clone()
    }

    pub fn is_ready(&self) -> bool {
        self.inner.shared.read().login_user.is_some()
    }

    /// The logged-in userID, or `""` when not logged in.
    pub fn login_user(&self) -> String {
        self.inner.shared.read().login_user.clone().unwrap_or_default()
    }

    /// The server's clock in Unix milliseconds: the local monotonic clock plus the offset
    /// measured at login and refreshed by every heartbeat. Before the first login: the local clock.
    pub fn server_time_ms(&self) -> i64 {
        let clock = self.inner.shared.read().clock;
        clock.map_or_else(local_unix_ms, |c| c.now_ms_at(Instant::now()))
    }

    pub fn add_listener(&self, listener: Arc<dyn ChatListener>) -> ListenerId {
        self.inner.listeners.add(listener)
    }

    pub fn remove_listener(&self, id: ListenerId) -> bool {
        self.inner.listeners.remove(id)
    }

    /// Every event from now on, as a channel (convenient in async Rust and in tests). The
    /// listener behind it goes away at the first event after the receiver was dropped.
    pub fn events(&self) -> mpsc::UnboundedReceiver<ChatEvent> {
        let (tx, rx) = mpsc::unbounded_channel();
        self.inner.listeners.add_channel(tx);
        rx
    }

    async fn call(&self, call: Call) -> Result<CallOutcome, ChatError> {
        let (tx, outcome) = oneshot::channel();
        self.submit(
            call,
            Reply::new(move |result| {
                let _ = tx.send(result);
            }),
        );
        outcome.await.unwrap_or_else(|_| Err(self.gone_error()))
    }

    /// Queues `call` on the driver now (so calls take effect in submission order); `reply` is
    /// settled by the dispatcher, after the events the call's instance emitted before it.
    pub(crate) fn submit(&self, call: Call, reply: Reply) {
        if let Err(mpsc::error::SendError(Command::Call(_, reply))) =
            self.inner.commands.send(Command::Call(call, reply))
        {
            // The driver is gone only when it panicked (a destroyed driver keeps answering).
            reply.settle(Err(self.gone_error()));
        }
    }

    /// Why the driver is gone: destroyed normally, or crashed.
    fn gone_error(&self) -> ChatError {
        if self.inner.shared.read().crashed {
            ChatError::Internal {
                detail: "the session driver stopped unexpectedly".into(),
            }
        } else {
            ChatError::Destroyed
        }
    }
}

impl std::fmt::Debug for ChatClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChatClient")
            .field("sdk_app_id", &self.inner.config.sdk_app_id)
            .field("instance_id", &self.inner.instance_id)
            .field("login_user", &self.login_user())
            .finish()
    }
}

/// 128 random bits from the OS-seeded hasher keys; enough to tell instances apart.
fn random_hex() -> String {
    let a = RandomState::new().hash_one(Instant::now());
    let b = RandomState::new().hash_one(std::process::id());
    format!("{a:016x}{b:016x}")
}
