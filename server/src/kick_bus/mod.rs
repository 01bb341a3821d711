//! Delivers kick orders to the node that holds the socket. [`LocalBus`] (memory engine) hands them
//! to this node's sessions; [`redis::RedisBus`] publishes orders for other nodes on their own
//! Redis channel and runs this node's subscriber.
pub mod redis;

use crate::directory::KickOrder;
use crate::local_sessions::LocalSessions;
use async_trait::async_trait;
use std::sync::Arc;

#[async_trait]
pub trait KickBus: Send + Sync + std::fmt::Debug {
    /// Sends every order towards its node. An order for a session that is gone is dropped: the
    /// directory already forgot the session, so there is nothing left to end.
    async fn send(&self, orders: Vec<KickOrder>);
}

/// One node: every connection is local.
#[derive(Debug)]
pub struct LocalBus {
    sessions: Arc<LocalSessions>,
}

impl LocalBus {
    pub fn new(sessions: Arc<LocalSessions>) -> Self {
        LocalBus { sessions }
    }
}

#[async_trait]
impl KickBus for LocalBus {
    async fn send(&self, orders: Vec<KickOrder>) {
        for order in &orders {
            self.sessions.deliver(order);
        }
    }
}
