//! The IO half of a client: one tokio task that owns the session machine, feeds it commands,
//! transport events and timer ticks, and carries out what it outputs.

use crate::dispatcher::{Delivery, Reply};
use crate::error::ChatError;
use crate::session::{
    local_unix_ms, AppState, Call, CallOutcome, ConnId, Output, ServerClock, Session, SessionState, Token,
};
use crate::transport::{self, Outgoing, TransportEvent};
use crate::user_sig_provider::UserSigProvider;
use futures_util::FutureExt;
use std::collections::HashMap;
use std::panic::AssertUnwindSafe;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

pub enum Command {
    Call(Call, Reply),
    /// App lifecycle and reachability: inputs without an outcome.
    AppState(AppState),
    NetworkReachable(bool),
}

/// What the synchronous getters read. Written by the driver before it hands any outcome to the
/// dispatcher, so a caller whose `login` just returned sees `is_ready() == true`.
#[derive(Debug, Default, Clone)]
pub struct Snapshot {
    pub login_user: Option<String>,
    pub clock: Option<ServerClock>,
    /// `getSessionState`.
    pub state: SessionState,
    /// The driver task died of a panic (a Natter bug); calls report `ChatError::Internal`.
    pub crashed: bool,
}

#[derive(Debug, Default)]
pub struct Shared {
    snapshot: Mutex<Snapshot>,
}

impl Shared {
    pub fn read(&self) -> MutexGuard<'_, Snapshot> {
        self.snapshot.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Marks the client as crashed if the driver unwinds, so callers get a clear error.
struct PanicGuard(Arc<Shared>);

impl Drop for PanicGuard {
    fn drop(&mut self) {
        if std::thread::panicking() {
            let mut s = self.0.read();
            s.crashed = true;
            s.login_user = None;
            log::error!("the Natter session driver panicked; this instance is now unusable");
        }
    }
}

struct Connection {
    outgoing: mpsc::UnboundedSender<Outgoing>,
    task: JoinHandle<()>,
}

pub struct Driver {
    session: Session,
    target: Arc<transport::Target>,
    shared: Arc<Shared>,
    /// Events and call outcomes, in the machine's order, one batch per flush: the dispatcher
    /// settles a login with its `SdkReady` already queued behind it.
    deliveries: mpsc::UnboundedSender<Vec<Delivery>>,
    transport_tx: mpsc::UnboundedSender<TransportEvent>,
    replies: HashMap<Token, Reply>,
    connections: HashMap<ConnId, Connection>,
    next_token: Token,
    provider: Option<Arc<dyn UserSigProvider>>,
    /// How long one provider call may take before it counts as failed (the login timeout).
    provider_timeout: Duration,
    /// Answers of the provider (a channel of its own: the command channel closing means every
    /// handle is gone, which a sender held here would prevent).
    provided_tx: mpsc::UnboundedSender<Result<String, ChatError>>,
    provided_rx: mpsc::UnboundedReceiver<Result<String, ChatError>>,
}

impl Driver {
    pub fn new(
        session: Session,
        target: Arc<transport::Target>,
        shared: Arc<Shared>,
        deliveries: mpsc::UnboundedSender<Vec<Delivery>>,
        provider: Option<Arc<dyn UserSigProvider>>,
        provider_timeout: Duration,
    ) -> (Self, mpsc::UnboundedReceiver<TransportEvent>) {
        let (transport_tx, transport_rx) = mpsc::unbounded_channel();
        let (provided_tx, provided_rx) = mpsc::unbounded_channel();
        let driver = Driver {
            session,
            target,
            shared,
            deliveries,
            transport_tx,
            replies: HashMap::new(),
            connections: HashMap::new(),
            next_token: 0,
            provider,
            provider_timeout,
            provided_tx,
            provided_rx,
        };
        (driver, transport_rx)
    }

    pub async fn run(
        mut self,
        mut commands: mpsc::UnboundedReceiver<Command>,
        mut transport_rx: mpsc::UnboundedReceiver<TransportEvent>,
    ) {
        let _guard = PanicGuard(self.shared.clone());
        let mut handles_alive = true;
        loop {
            self.flush();
            if self.session.is_destroyed() {
                break;
            }
            let deadline = self.session.poll_timeout();
            tokio::select! {
                command = commands.recv(), if handles_alive => match command {
                    Some(Command::Call(call, reply)) => {
                        self.next_token += 1;
                        self.replies.insert(self.next_token, reply);
                        self.session.handle_call(self.next_token, call, Instant::now());
                    }
                    Some(Command::AppState(state)) => self.session.handle_app_state(state, Instant::now()),
                    Some(Command::NetworkReachable(r)) => self.session.handle_network_reachable(r, Instant::now()),
                    None => {
                        // Every ChatClient handle is gone: destroy quietly so nothing leaks.
                        handles_alive = false;
                        self.next_token += 1;
                        self.session.handle_call(self.next_token, Call::Destroy, Instant::now());
                    }
                },
                Some(event) = transport_rx.recv() => self.on_transport(event),
                Some(sig) = self.provided_rx.recv() => self.session.handle_provided_user_sig(sig, Instant::now()),
                _ = sleep_until(deadline), if deadline.is_some() => self.session.handle_timeout(Instant::now()),
            }
        }
        drop(transport_rx);
        self.shutdown(commands).await;
    }

    fn on_transport(&mut self, event: TransportEvent) {
        let now = Instant::now();
        match event {
            TransportEvent::Connected { conn, login_sent } => self.session.handle_connected(conn, login_sent),
            TransportEvent::Frame(conn, frame) => self.session.handle_frame(conn, frame, now),
            TransportEvent::Closed { conn, code, detail } => {
                self.connections.remove(&conn);
                self.session.handle_closed(conn, code, &detail, now);
            }
            TransportEvent::Failed { conn, error } => {
                self.connections.remove(&conn);
                self.session.handle_connect_failed(conn, error, now);
            }
        }
    }

    /// Publishes the getters' snapshot, then carries out the machine's outputs in order.
    fn flush(&mut self) {
        {
            let mut s = self.shared.read();
            s.login_user = self.session.login_user().map(str::to_owned);
            s.clock = self.session.server_clock();
            s.state = self.session.state(Instant::now(), local_unix_ms());
        }
        let mut batch = Vec::new();
        while let Some(output) = self.session.poll_output() {
            match output {
                Output::Connect { conn, login } => self.connect(conn, login.to_json()),
                Output::Send(conn, frame) => {
                    if let Some(c) = self.connections.get(&conn) {
                        // A failed send means the connection task ended; its Closed event follows.
                        let _ = c.outgoing.send(Outgoing::Text(frame.to_json()));
                    }
                }
                Output::Close(conn) => {
                    if let Some(c) = self.connections.remove(&conn) {
                        let _ = c.outgoing.send(Outgoing::Close);
                        self.reap(c);
                    }
                }
                Output::Event(event) => batch.push(Delivery::Event(event)),
                Output::Complete(token, result) => {
                    if let Some(reply) = self.replies.remove(&token) {
                        batch.push(Delivery::Settle(reply, result));
                    }
                }
                Output::FetchUserSig => self.fetch_user_sig(),
            }
        }
        if !batch.is_empty() {
            // The dispatcher outlives the driver (it holds no sender of ours); a failed send
            // means it panicked, and the dropped replies report that.
            let _ = self.deliveries.send(batch);
        }
    }

    /// Runs the provider on its own task; a panic or a dropped future counts as a failure, so
    /// the machine always gets its answer and retries.
    fn fetch_user_sig(&self) {
        let tx = self.provided_tx.clone();
        let Some(provider) = self.provider.clone() else {
            let _ = tx.send(Err(ChatError::Internal {
                detail: "no UserSig provider".into(),
            }));
            return;
        };
        // A provider that never answers (a face that went away) must not stop renewals for good.
        let deadline = self.provider_timeout;
        tokio::spawn(async move {
            let call = AssertUnwindSafe(async move { provider.user_sig().await }).catch_unwind();
            let answer = match tokio::time::timeout(deadline, call).await {
                Ok(Ok(answer)) => answer,
                Ok(Err(p)) => Err(ChatError::Internal {
                    detail: crate::ffi::panic_detail(&*p),
                }),
                Err(_) => Err(ChatError::Timeout),
            };
            let _ = tx.send(answer);
        });
    }

    /// Spawns the connection task; it logs in with `login` by itself once the socket is open.
    fn connect(&mut self, conn: ConnId, login: String) {
        let (outgoing, outgoing_rx) = mpsc::unbounded_channel();
        let task = tokio::spawn(transport::run(
            conn,
            self.target.clone(),
            login,
            self.transport_tx.clone(),
            outgoing_rx,
        ));
        self.connections.insert(conn, Connection { outgoing, task });
    }

    /// A closed connection finishes its polite close on its own, bounded; abort it if it hangs.
    fn reap(&self, c: Connection) {
        tokio::spawn(async move {
            let abort = c.task.abort_handle();
            if tokio::time::timeout(Duration::from_secs(3), c.task).await.is_err() {
                abort.abort();
            }
        });
    }

    /// Closes the connections, settles what is left, then answers calls that race with or
    /// follow destroy, in order, until every `ChatClient` handle is gone.
    async fn shutdown(mut self, mut commands: mpsc::UnboundedReceiver<Command>) {
        for (_, c) in self.connections.drain() {
            let _ = c.outgoing.send(Outgoing::Close);
            let abort = c.task.abort_handle();
            if tokio::time::timeout(Duration::from_secs(2), c.task).await.is_err() {
                abort.abort();
            }
        }
        let mut last: Vec<Delivery> = self
            .replies
            .drain()
            .map(|(_, reply)| Delivery::Settle(reply, Err(ChatError::Destroyed)))
            .collect();
        last.push(Delivery::Closed);
        let deliveries = self.deliveries.clone();
        let _ = deliveries.send(last);
        drop(self);
        while let Some(command) = commands.recv().await {
            let Command::Call(call, reply) = command else {
                continue;
            };
            let result = if call == Call::Destroy {
                Ok(CallOutcome::Done)
            } else {
                Err(ChatError::Destroyed)
            };
            let _ = deliveries.send(vec![Delivery::Settle(reply, result)]);
        }
    }
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(d) => tokio::time::sleep_until(tokio::time::Instant::from_std(d)).await,
        None => std::future::pending().await,
    }
}
