//! Accept shards (`accept_shards` > 0): more event loops in the same process, each on its own
//! `SO_REUSEPORT` listener of the node's address and its own file-descriptor table.
//!
//! Why: every connection is a descriptor, and `RLIMIT_NOFILE` caps each descriptor table. Where
//! the hard limit cannot be raised (a container without `CAP_SYS_RESOURCE`) one table caps the
//! node; a shard's thread detaches its table ([`crate::fd_table`]) so it holds as many again. The
//! kernel spreads new connections over the listeners of the port by a hash of the 4-tuple.
//!
//! A shard is one thread running a current-thread runtime: its accept loop and every connection
//! and session task it spawns (tokio spawns on the current runtime) stay on that thread, so a
//! socket is only ever used in the table it was opened in. The state they share (directory,
//! local sessions, limits, metrics, cancel token, task tracker) is memory, and kicks between
//! sessions of different shards are channel sends, which work across runtimes.

use crate::fd_table::{self, DetachedRuntime, Ended};
use crate::server::{accept_loop, bind};
use crate::state::Shared;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::sync::oneshot;

/// Shards detached but not listening yet: started before the node opens anything, so their
/// tables copy as little as possible (a listener copied into a shard's table would stay bound
/// until that shard ends).
pub(crate) struct Detached(Vec<DetachedRuntime>);

/// One running shard; [`Shard::stopped`] resolves once its thread has dropped its runtime (and
/// with it its listener and its connections).
#[derive(Debug)]
pub(crate) struct Shard(Ended);

impl Shard {
    pub(crate) async fn stopped(self) {
        self.0.wait().await;
    }
}

pub(crate) fn detach(count: u32) -> std::io::Result<Detached> {
    if count == 0 {
        return Ok(Detached(Vec::new()));
    }
    fd_table::detached_runtimes(count as usize, "natter-shard").map(Detached)
}

impl Detached {
    /// Each shard binds `addr` (the main listener holds it already, with `SO_REUSEPORT`, so the
    /// port is known and taken) in its own table and serves it until the node stops. Returns once
    /// every one listens, or the first error.
    pub(crate) async fn listen(self, shared: &Arc<Shared>, addr: SocketAddr) -> std::io::Result<Vec<Shard>> {
        let mut shards = Vec::with_capacity(self.0.len());
        for runtime in self.0 {
            let (listening_tx, listening) = oneshot::channel();
            let shared = Arc::clone(shared);
            let ended = runtime.run(move |rt| {
                let bound = {
                    let _entered = rt.enter();
                    bind(addr, true)
                };
                let listener = match bound {
                    Ok(l) => l,
                    Err(e) => return drop(listening_tx.send(Err(e))),
                };
                let _ = listening_tx.send(Ok(()));
                rt.block_on(async {
                    accept_loop(Arc::clone(&shared), listener).await;
                    // This shard's connections and sessions still closing (1001 on shutdown).
                    shared.tracker.wait().await;
                });
            });
            listening
                .await
                .map_err(|_| std::io::Error::other("an accept shard ended before listening"))??;
            shards.push(Shard(ended));
        }
        Ok(shards)
    }
}
