//! Delivers one client's events and call outcomes: one task reading one channel, so listeners
//! see events in order and each call settles after every event emitted before it (login: its
//! `SDK_READY` is already queued behind it; logout/destroy: their events were delivered). The
//! listener list is copied out of its lock before any call, so a listener may add or remove
//! listeners, or call the client, without deadlocking. A listener must not *wait* for a call of
//! its own instance: that call settles on this task, after the listener returns.

use crate::error::ChatError;
use crate::event::{ChatEvent, ChatListener};
use crate::session::CallOutcome;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{Arc, Mutex};
use tokio::sync::mpsc;

/// Identifies a registered listener, for `remove_listener`.
pub type ListenerId = u64;

pub type CallResult = Result<CallOutcome, ChatError>;

/// Where one call's outcome goes (a oneshot for `ChatClient`, the sink for the hub). Settled
/// exactly once: a reply dropped unsettled (its driver died) reports an internal error, so no
/// caller waits forever.
pub struct Reply(Option<Box<dyn FnOnce(CallResult) + Send>>);

impl Reply {
    pub fn new(settle: impl FnOnce(CallResult) + Send + 'static) -> Self {
        Reply(Some(Box::new(settle)))
    }

    pub fn settle(mut self, result: CallResult) {
        if let Some(f) = self.0.take() {
            f(result);
        }
    }
}

impl Drop for Reply {
    fn drop(&mut self) {
        if let Some(f) = self.0.take() {
            f(Err(ChatError::Internal {
                detail: "the session driver stopped before the call finished".into(),
            }));
        }
    }
}

/// One item of the instance's ordered stream, from the driver to this task.
pub enum Delivery {
    Event(ChatEvent),
    Settle(Reply, CallResult),
    /// The instance is destroyed and `SdkDestroy` was its last event: release the listeners
    /// (foreign ones hold references across the FFI). Late calls still settle.
    Closed,
}

enum Listener {
    Callback(Arc<dyn ChatListener>),
    /// `ChatClient::events()`: removed once its receiver is dropped.
    Channel(mpsc::UnboundedSender<ChatEvent>),
}

#[derive(Default)]
pub struct Listeners {
    inner: Mutex<ListenerList>,
}

#[derive(Default)]
struct ListenerList {
    next_id: ListenerId,
    entries: Vec<(ListenerId, Arc<Listener>)>,
}

impl Listeners {
    pub fn add(&self, listener: Arc<dyn ChatListener>) -> ListenerId {
        self.push(Listener::Callback(listener))
    }

    pub fn add_channel(&self, tx: mpsc::UnboundedSender<ChatEvent>) -> ListenerId {
        self.push(Listener::Channel(tx))
    }

    fn push(&self, listener: Listener) -> ListenerId {
        let mut list = lock(&self.inner);
        list.next_id += 1;
        let id = list.next_id;
        list.entries.push((id, Arc::new(listener)));
        id
    }

    pub fn remove(&self, id: ListenerId) -> bool {
        let mut list = lock(&self.inner);
        let before = list.entries.len();
        list.entries.retain(|(i, _)| *i != id);
        list.entries.len() != before
    }

    fn clear(&self) {
        lock(&self.inner).entries.clear();
    }

    fn snapshot(&self) -> Vec<(ListenerId, Arc<Listener>)> {
        lock(&self.inner).entries.clone()
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        lock(&self.inner).entries.len()
    }
}

/// A poisoned lock only means a panic happened elsewhere while it was held; the list is still
/// consistent (every mutation is a single push/retain), so keep going.
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Runs until the driver (and every late-call path) dropped its sender.
pub async fn run(listeners: Arc<Listeners>, mut deliveries: mpsc::UnboundedReceiver<Vec<Delivery>>) {
    while let Some(batch) = deliveries.recv().await {
        for delivery in batch {
            match delivery {
                Delivery::Event(event) => deliver(&listeners, event),
                Delivery::Settle(reply, result) => {
                    if catch_unwind(AssertUnwindSafe(|| reply.settle(result))).is_err() {
                        log::error!("settling a call panicked");
                    }
                }
                Delivery::Closed => listeners.clear(),
            }
        }
    }
    listeners.clear();
}

fn deliver(listeners: &Listeners, event: ChatEvent) {
    log::debug!("event {event}");
    for (id, listener) in listeners.snapshot() {
        match &*listener {
            Listener::Callback(l) => {
                let e = event.clone();
                if catch_unwind(AssertUnwindSafe(|| l.on_event(e))).is_err() {
                    log::error!(
                        "a listener panicked while handling {}; other listeners still run",
                        event.name()
                    );
                }
            }
            Listener::Channel(tx) => {
                if tx.send(event.clone()).is_err() {
                    listeners.remove(id);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    fn counter(hits: &Arc<AtomicUsize>) -> Reply {
        let hits = hits.clone();
        Reply::new(move |r| {
            assert!(r.is_err());
            hits.fetch_add(1, Ordering::SeqCst);
        })
    }

    #[test]
    fn a_reply_dropped_unsettled_reports_an_internal_error_once() {
        let hits = Arc::new(AtomicUsize::new(0));
        drop(counter(&hits));
        assert_eq!(hits.load(Ordering::SeqCst), 1);
        counter(&hits).settle(Err(ChatError::Destroyed));
        assert_eq!(hits.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn settlements_and_events_reach_their_targets_in_stream_order() {
        let listeners = Arc::new(Listeners::default());
        let log = Arc::new(Mutex::new(Vec::<String>::new()));
        let l = log.clone();
        listeners.add(Arc::new(move |e: ChatEvent| {
            l.lock().unwrap().push(e.name().to_owned())
        }));
        let (tx, rx) = mpsc::unbounded_channel();
        let settled = |tag: &'static str| {
            let l = log.clone();
            Reply::new(move |_| l.lock().unwrap().push(tag.to_owned()))
        };
        tx.send(vec![
            Delivery::Settle(settled("login"), Ok(CallOutcome::Done)),
            Delivery::Event(ChatEvent::SdkReady),
        ])
        .unwrap();
        tx.send(vec![
            Delivery::Event(ChatEvent::SdkNotReady),
            Delivery::Settle(settled("logout"), Ok(CallOutcome::Done)),
        ])
        .unwrap();
        drop(tx);
        run(listeners, rx).await;
        assert_eq!(
            *log.lock().unwrap(),
            ["login", "sdkStateReady", "sdkStateNotReady", "logout"]
        );
    }

    #[tokio::test]
    async fn a_channel_listener_goes_away_with_its_receiver() {
        let listeners = Arc::new(Listeners::default());
        let (etx, erx) = mpsc::unbounded_channel();
        listeners.add_channel(etx);
        assert_eq!(listeners.len(), 1);
        drop(erx);
        deliver(&listeners, ChatEvent::SdkReady);
        assert_eq!(listeners.len(), 0);
    }

    #[tokio::test]
    async fn closed_releases_listeners_but_later_calls_still_settle() {
        let listeners = Arc::new(Listeners::default());
        listeners.add(Arc::new(|_: ChatEvent| {}));
        let hits = Arc::new(AtomicUsize::new(0));
        let (tx, rx) = mpsc::unbounded_channel();
        tx.send(vec![Delivery::Closed]).unwrap();
        tx.send(vec![Delivery::Settle(counter(&hits), Err(ChatError::Destroyed))])
            .unwrap();
        drop(tx);
        run(listeners.clone(), rx).await;
        assert_eq!(listeners.len(), 0);
        assert_eq!(hits.load(Ordering::SeqCst), 1);
    }
}
