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

/// Shards detached but not listening yet: started before the node opens anything, so their
/// tables copy as little as possible (a listener copied into a shard's table would stay bound
/// until that shard ends).
pub(crate) struct Detached(Vec<DetachedRuntime>);

pub(crate) fn detach(count: u32) -> std::io::Result<Detached> {
    fd_table::detached_runtimes(count as usize, "natter-shard").map(Detached)
}

impl Detached {
    /// Each shard binds `addr` (the main listener holds it already, with `SO_REUSEPORT`, so the
    /// port is known and taken) in its own table and serves it until the node stops. Returns once
    /// every one listens, or the first error; each [`Ended`] resolves once its shard's thread has
    /// dropped its runtime (and with it its listener and its connections).
    pub(crate) fn listen(self, shared: &Arc<Shared>, addr: SocketAddr) -> std::io::Result<Vec<Ended>> {
        self.0
            .into_iter()
            .map(|runtime| {
                let shared = Arc::clone(shared);
                runtime.serve(
                    move || bind(addr, true),
                    move |rt, listener| {
                        rt.block_on(async {
                            accept_loop(Arc::clone(&shared), listener).await;
                            // This shard's connections and sessions still closing (1001 on shutdown).
                            shared.tracker.wait().await;
                        })
                    },
                )
            })
            .collect()
    }
}
