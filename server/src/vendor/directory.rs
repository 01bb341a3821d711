//! The one place the vendor endpoint touches the session directory (today: the in-process
//! registry). A vendor session is an ordinary entry: same instance policy, same kick memory, so
//! vendor and Natter sessions of one user kick each other.

use crate::registry::{ConnId, Control, LoginRequest};
use crate::server::Shared;
use natter_protocol::{KickType, Platform};
use std::sync::Arc;
use tokio::sync::mpsc;

/// A vendor session's entry in the directory; leaving it (drop) removes the entry.
pub(crate) struct Presence {
    shared: Arc<Shared>,
    user_id: String,
    conn: ConnId,
}

/// Registers a login. `resume` is the SDK's silent re-login with an A2Key after a lost link:
/// refused with the kick if this instance was kicked while away.
pub(crate) fn enter(
    shared: &Arc<Shared>,
    user_id: &str,
    instance_id: &str,
    platform: Platform,
    resume: bool,
) -> Result<(Presence, mpsc::UnboundedReceiver<Control>), KickType> {
    let (tx, rx) = mpsc::unbounded_channel();
    let req = LoginRequest {
        user_id,
        instance_id,
        platform,
        resume,
    };
    let conn = shared.registry.login(&req, tx, std::time::Instant::now())?;
    let presence = Presence {
        shared: Arc::clone(shared),
        user_id: user_id.to_owned(),
        conn,
    };
    Ok((presence, rx))
}

impl Presence {
    /// Ends the session with a server-side kick (UserSig expiry) and remembers it; false if the
    /// directory already dropped the entry (a kick order is then on its way).
    pub(crate) fn kick_self(&self, kick: KickType) -> bool {
        self.shared
            .registry
            .kick_self(&self.user_id, self.conn, kick, std::time::Instant::now())
    }
}

impl Drop for Presence {
    fn drop(&mut self) {
        self.shared.registry.remove(&self.user_id, self.conn);
    }
}
