//! Delivers one client's events to its listeners: one task reading one channel, so events arrive
//! in order; the listener list is copied out of its lock before any call (a listener may add or
//! remove listeners, or call the client, without deadlocking).

use crate::event::{ChatEvent, ChatListener};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{Arc, Mutex};
use tokio::sync::mpsc;

/// Identifies a registered listener, for `remove_listener`.
pub type ListenerId = u64;

#[derive(Default)]
pub struct Listeners {
    inner: Mutex<ListenerList>,
}

#[derive(Default)]
struct ListenerList {
    next_id: ListenerId,
    entries: Vec<(ListenerId, Arc<dyn ChatListener>)>,
}

impl Listeners {
    pub fn add(&self, listener: Arc<dyn ChatListener>) -> ListenerId {
        let mut list = lock(&self.inner);
        list.next_id += 1;
        let id = list.next_id;
        list.entries.push((id, listener));
        id
    }

    pub fn remove(&self, id: ListenerId) -> bool {
        let mut list = lock(&self.inner);
        let before = list.entries.len();
        list.entries.retain(|(i, _)| *i != id);
        list.entries.len() != before
    }

    pub fn clear(&self) {
        lock(&self.inner).entries.clear();
    }

    fn snapshot(&self) -> Vec<Arc<dyn ChatListener>> {
        lock(&self.inner).entries.iter().map(|(_, l)| l.clone()).collect()
    }
}

/// A poisoned lock only means a panic happened elsewhere while it was held; the list is still
/// consistent (every mutation is a single push/retain), so keep going.
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Runs until the driver drops its sender and every queued event has been delivered.
pub async fn run(listeners: Arc<Listeners>, mut events: mpsc::UnboundedReceiver<ChatEvent>) {
    while let Some(event) = events.recv().await {
        log::debug!("event {event}");
        for listener in listeners.snapshot() {
            let e = event.clone();
            if catch_unwind(AssertUnwindSafe(|| listener.on_event(e))).is_err() {
                log::error!(
                    "a listener panicked while handling {}; other listeners still run",
                    event.name()
                );
            }
        }
    }
    // The instance is gone: release the listeners (foreign ones hold references across the FFI).
    listeners.clear();
}
