//! Kick orders between nodes over Redis pub/sub: each node subscribes to its own channel
//! `{prefix}:kicks:{node}`; an order for a connection held elsewhere is published there as
//! `seq|control`. An order whose node is gone is simply lost: the directory already dropped
//! that session, and a dead node has no socket left to close.

use super::KickBus;
use crate::directory::{Control, KickOrder, NodeId};
use crate::local_sessions::LocalSessions;
use async_trait::async_trait;
use futures_util::StreamExt;
use natter_protocol::KickType;
use redis::aio::ConnectionManager;
use redis::AsyncCommands;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// Pause before subscribing again after the subscription broke (Redis restarting): a retry
/// backoff, so a down Redis is not hammered.
const RESUBSCRIBE_BACKOFF: Duration = Duration::from_millis(200);

pub fn channel(prefix: &str, node: &NodeId) -> String {
    format!("{prefix}:kicks:{node}")
}

fn encode(order: &KickOrder) -> String {
    let control = match order.control {
        Control::Replaced => "replaced",
        Control::Kick(kt) => kt.as_str(),
    };
    format!("{}|{control}", order.conn.seq)
}

fn decode(node: &NodeId, payload: &str) -> Option<KickOrder> {
    let (seq, control) = payload.split_once('|')?;
    let control = match control {
        "replaced" => Control::Replaced,
        kt => Control::Kick(kt.parse::<KickType>().ok()?),
    };
    Some(KickOrder {
        user_id: String::new(),
        instance_id: String::new(),
        conn: crate::directory::ConnId {
            node: node.clone(),
            seq: seq.parse().ok()?,
        },
        control,
    })
}

pub struct RedisBus {
    prefix: String,
    sessions: Arc<LocalSessions>,
    con: ConnectionManager,
}

impl std::fmt::Debug for RedisBus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisBus")
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

impl RedisBus {
    pub fn new(prefix: String, sessions: Arc<LocalSessions>, con: ConnectionManager) -> Self {
        RedisBus { prefix, sessions, con }
    }
}

#[async_trait]
impl KickBus for RedisBus {
    async fn send(&self, orders: Vec<KickOrder>) {
        for order in &orders {
            if order.conn.node == *self.sessions.node() {
                self.sessions.deliver(order);
                continue;
            }
            let published: Result<i64, _> = self
                .con
                .clone()
                .publish(channel(&self.prefix, &order.conn.node), encode(order))
                .await;
            match published {
                Ok(0) => tracing::debug!(conn = %order.conn, "kick order for a node that is not listening (dead?)"),
                Ok(_) => {}
                Err(e) => tracing::warn!(conn = %order.conn, error = %e, "could not publish a kick order"),
            }
        }
    }
}

/// Delivers this node's orders from its channel until `cancel`; subscribes again whenever the
/// subscription breaks. `subscribed` counts the successful subscriptions.
pub async fn subscribe_loop(
    client: redis::Client,
    prefix: String,
    sessions: Arc<LocalSessions>,
    cancel: CancellationToken,
    subscribed: tokio::sync::watch::Sender<u64>,
) {
    let node = sessions.node().clone();
    let name = channel(&prefix, &node);
    while !cancel.is_cancelled() {
        let pubsub = async {
            let mut ps = client.get_async_pubsub().await?;
            ps.subscribe(&name).await?;
            Ok::<_, redis::RedisError>(ps)
        };
        let mut ps = match tokio::select! { _ = cancel.cancelled() => return, r = pubsub => r } {
            Ok(ps) => ps,
            Err(e) => {
                tracing::debug!(error = %e, "kick channel: cannot subscribe yet");
                tokio::select! { _ = cancel.cancelled() => return, _ = tokio::time::sleep(RESUBSCRIBE_BACKOFF) => {} }
                continue;
            }
        };
        tracing::debug!(channel = %name, "kick channel subscribed");
        subscribed.send_modify(|n| *n += 1);
        let mut messages = ps.on_message();
        loop {
            let msg = tokio::select! { _ = cancel.cancelled() => return, m = messages.next() => m };
            let Some(msg) = msg else { break };
            let Ok(payload) = msg.get_payload::<String>() else {
                continue;
            };
            match decode(&node, &payload) {
                Some(order) => {
                    sessions.deliver(&order);
                }
                None => tracing::warn!(payload = %crate::log_safe::Escaped(&payload), "malformed kick order ignored"),
            }
        }
        tracing::warn!(channel = %name, "kick channel lost; subscribing again");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn orders_round_trip() {
        let node = NodeId("n1".into());
        for control in [
            Control::Replaced,
            Control::Kick(KickType::RestApi),
            Control::Kick(KickType::MultipleAccount),
        ] {
            let o = KickOrder {
                user_id: "u".into(),
                instance_id: "i".into(),
                conn: crate::directory::ConnId {
                    node: node.clone(),
                    seq: 9,
                },
                control,
            };
            let back = decode(&node, &encode(&o)).unwrap();
            assert_eq!((back.conn, back.control), (o.conn, control));
        }
        assert!(decode(&node, "x|replaced").is_none());
        assert!(decode(&node, "1|nonsense").is_none());
    }
}
