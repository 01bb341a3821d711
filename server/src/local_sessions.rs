//! The sessions whose sockets this node holds: connection → the channel to its task. Kick orders
//! from the directory (local or from another node via the kick bus) end up here.

use crate::directory::{Admission, ConnId, Control, KickOrder, NodeId};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use tokio::sync::oneshot;

/// Where a session task hears its one order: a session ends on the first, and the map hands each
/// out once (taken out of it), so a oneshot does (an unbounded mpsc channel cost ~0.5 KiB more per
/// session). Dropped unsent, it reads as `Replaced` (the session is gone from this node).
pub type ControlSender = oneshot::Sender<Control>;
pub type ControlReceiver = oneshot::Receiver<Control>;

/// A new session's order channel.
pub fn control_channel() -> (ControlSender, ControlReceiver) {
    oneshot::channel()
}

#[derive(Debug)]
struct Local {
    tx: ControlSender,
    /// What this session was admitted with, so a node can register it again after Redis lost it.
    admission: Arc<Admission>,
}

#[derive(Debug)]
pub struct LocalSessions {
    node: NodeId,
    next_seq: AtomicU64,
    map: Mutex<HashMap<u64, Local>>,
}

impl LocalSessions {
    pub fn new(node: NodeId) -> Self {
        LocalSessions {
            node,
            next_seq: AtomicU64::new(0),
            map: Mutex::new(HashMap::new()),
        }
    }

    pub fn node(&self) -> &NodeId {
        &self.node
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<u64, Local>> {
        self.map.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A connection id never used before in the cluster (node id + this node's counter).
    pub fn next_conn(&self) -> ConnId {
        ConnId {
            node: self.node.clone(),
            seq: self.next_seq.fetch_add(1, Ordering::Relaxed) + 1,
        }
    }

    /// Registers a session before it asks the directory for a place, so an order for it that
    /// follows the admission at once cannot miss it.
    pub fn insert(&self, admission: Arc<Admission>, tx: ControlSender) {
        debug_assert_eq!(admission.conn.node, self.node);
        self.lock().insert(admission.conn.seq, Local { tx, admission });
    }

    pub fn remove(&self, conn: &ConnId) {
        if conn.node == self.node {
            self.lock().remove(&conn.seq);
        }
    }

    /// Hands `order` to its session; false if that session is not (or no longer) on this node.
    pub fn deliver(&self, order: &KickOrder) -> bool {
        if order.conn.node != self.node {
            return false;
        }
        let local = self.lock().remove(&order.conn.seq);
        match local {
            Some(l) => l.tx.send(order.control).is_ok(),
            None => false,
        }
    }

    /// Ends one local session without the directory (it lost the session and may not take it back).
    pub fn deliver_local(&self, seq: u64, control: Control) {
        if let Some(l) = self.lock().remove(&seq) {
            let _ = l.tx.send(control);
        }
    }

    /// The admissions of every live local session, oldest login first.
    pub fn admissions(&self) -> Vec<Arc<Admission>> {
        let mut all: Vec<Arc<Admission>> = self.lock().values().map(|l| Arc::clone(&l.admission)).collect();
        all.sort_by_key(|a| a.conn.seq);
        all
    }

    pub fn len(&self) -> usize {
        self.lock().len()
    }
}
