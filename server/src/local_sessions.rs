//! The sessions whose sockets this node holds: connection → the channel to its task. Kick orders
//! from the directory (local or from another node via the kick bus) end up here.

use crate::directory::{Admission, ConnId, Control, KickOrder, NodeId};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use tokio::sync::oneshot;

/// Where a session task hears its one order: a session ends on the first, and the map hands each
/// out once (taken out of it), so a oneshot does (an unbounded mpsc channel cost ~0.5 KiB more per
/// session). Dropped unsent, it reads as `Replaced` (the session is gone from this node), or as
/// the server shutting down once its cancel token has fired ([`LocalSessions::close`]): that is
/// how a session hears of a shutdown, so its loop polls no shared cancellation future (each poll
/// of one locks a mutex every session of the node shares).
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
    map: Mutex<Map>,
}

#[derive(Debug, Default)]
struct Map {
    live: HashMap<u64, Local>,
    /// Set by [`LocalSessions::close`]: a session registering after it hears the shutdown at once.
    closed: bool,
}

impl LocalSessions {
    pub fn new(node: NodeId) -> Self {
        LocalSessions {
            node,
            next_seq: AtomicU64::new(0),
            map: Mutex::new(Map::default()),
        }
    }

    pub fn node(&self) -> &NodeId {
        &self.node
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Map> {
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
        let mut map = self.lock();
        if map.closed {
            // Dropped: the session's receiver reads the shutdown at once.
            return;
        }
        map.live.insert(admission.conn.seq, Local { tx, admission });
    }

    /// Shutdown: every session's channel is dropped unsent, and any registering later gets the
    /// same. Call after cancelling the node's token, so a session that wakes sees it cancelled.
    pub fn close(&self) {
        let ended = {
            let mut map = self.lock();
            map.closed = true;
            std::mem::take(&mut map.live)
        };
        // Outside the lock: dropping a sender wakes its session.
        drop(ended);
    }

    pub fn remove(&self, conn: &ConnId) {
        if conn.node == self.node {
            self.lock().live.remove(&conn.seq);
        }
    }

    /// Hands `order` to its session; false if that session is not (or no longer) on this node.
    pub fn deliver(&self, order: &KickOrder) -> bool {
        if order.conn.node != self.node {
            return false;
        }
        let local = self.lock().live.remove(&order.conn.seq);
        match local {
            Some(l) => l.tx.send(order.control).is_ok(),
            None => false,
        }
    }

    /// Ends one local session without the directory (it lost the session and may not take it back).
    pub fn deliver_local(&self, seq: u64, control: Control) {
        if let Some(l) = self.lock().live.remove(&seq) {
            let _ = l.tx.send(control);
        }
    }

    /// The admissions of every live local session, oldest login first.
    pub fn admissions(&self) -> Vec<Arc<Admission>> {
        let mut all: Vec<Arc<Admission>> = self.lock().live.values().map(|l| Arc::clone(&l.admission)).collect();
        all.sort_by_key(|a| a.conn.seq);
        all
    }

    pub fn len(&self) -> usize {
        self.lock().live.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use natter_protocol::Platform;

    fn admission(sessions: &LocalSessions, user: &str) -> Arc<Admission> {
        Arc::new(Admission {
            user_id: user.to_owned(),
            instance_id: user.to_owned(),
            platform: Platform::Web,
            resume: false,
            conn: sessions.next_conn(),
            connected_at_ms: 0,
            client_version: "test".to_owned(),
        })
    }

    #[test]
    fn close_ends_every_session_and_any_that_registers_later() {
        let sessions = LocalSessions::new(NodeId("n".into()));
        let (tx, mut before) = control_channel();
        sessions.insert(admission(&sessions, "a"), tx);
        let (tx, mut kept) = control_channel();
        sessions.insert(admission(&sessions, "b"), tx);
        assert_eq!(before.try_recv(), Err(oneshot::error::TryRecvError::Empty));

        sessions.close();
        assert_eq!(before.try_recv(), Err(oneshot::error::TryRecvError::Closed));
        assert_eq!(kept.try_recv(), Err(oneshot::error::TryRecvError::Closed));
        assert_eq!(sessions.len(), 0);

        let (tx, mut late) = control_channel();
        let late_admission = admission(&sessions, "c");
        sessions.insert(Arc::clone(&late_admission), tx);
        assert_eq!(late.try_recv(), Err(oneshot::error::TryRecvError::Closed));
        assert_eq!(sessions.len(), 0);
        assert!(sessions.admissions().is_empty());
        // An order for a closed session finds nobody.
        let order = KickOrder {
            user_id: "c".into(),
            instance_id: "c".into(),
            conn: late_admission.conn.clone(),
            control: Control::Replaced,
        };
        assert!(!sessions.deliver(&order));
    }
}
