//! A node's name in the cluster. Generated per process start unless configured, so a restarted
//! node never inherits the sessions (or the heartbeat) of its previous life.

use crate::directory::NodeId;
use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::time::{SystemTime, UNIX_EPOCH};

/// `configured`, or `n` + 16 hex digits mixed from the std hasher's random keys, the process id
/// and the clock.
pub fn resolve(configured: Option<&str>) -> NodeId {
    if let Some(id) = configured {
        return NodeId(id.into());
    }
    let mut h = RandomState::new().build_hasher();
    h.write_u32(std::process::id());
    h.write_u128(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos(),
    );
    NodeId(format!("n{:016x}", h.finish()).into())
}

#[cfg(test)]
mod tests {
    #[test]
    fn generated_ids_differ_and_configured_ones_are_kept() {
        assert_ne!(super::resolve(None), super::resolve(None));
        assert_eq!(&*super::resolve(Some("a1")).0, "a1");
    }
}
