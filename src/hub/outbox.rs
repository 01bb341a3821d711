//! The hub's single ordered stream to its sink: one task drains one channel, so items keep the
//! order they were pushed in; while no sink is attached the task waits and items queue.

use super::{HubItem, HubSink};
use crate::runtime;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;
use tokio::sync::{mpsc, watch};

type SinkSlot = Option<Arc<dyn HubSink>>;

pub(crate) struct Outbox {
    items: mpsc::UnboundedSender<HubItem>,
    sink: watch::Sender<SinkSlot>,
}

impl Outbox {
    pub(crate) fn start() -> Arc<Self> {
        let (items, items_rx) = mpsc::unbounded_channel();
        let (sink, sink_rx) = watch::channel(None);
        runtime::handle().spawn(deliver(items_rx, sink_rx));
        Arc::new(Outbox { items, sink })
    }

    pub(crate) fn push(&self, item: HubItem) {
        // Fails only once the delivery task is gone, i.e. the runtime is shutting down.
        let _ = self.items.send(item);
    }

    pub(crate) fn attach(&self, sink: Arc<dyn HubSink>) {
        self.sink.send_replace(Some(sink));
    }

    pub(crate) fn detach(&self) {
        self.sink.send_replace(None);
    }
}

/// Hands each item to the sink attached at that moment, waiting for one if none is. The sink
/// is cloned out of the watch first: it is never called while a lock is held.
async fn deliver(mut items: mpsc::UnboundedReceiver<HubItem>, mut sink: watch::Receiver<SinkSlot>) {
    while let Some(item) = items.recv().await {
        let target = match sink.wait_for(Option::is_some).await {
            Ok(slot) => slot.clone(),
            Err(_) => return, // the hub is gone and never attached a sink again
        };
        let Some(target) = target else { continue };
        if catch_unwind(AssertUnwindSafe(|| target.on_item(item))).is_err() {
            log::error!("the hub sink panicked; later items are still delivered");
        }
    }
}
