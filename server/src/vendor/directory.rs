//! The one place the vendor endpoint touches the session directory. A vendor session is an
//! ordinary entry (same admission, same instance policy, same kick memory, on every node of a
//! cluster), so vendor and Natter sessions of one user kick each other.

use crate::directory::{Admission, AdmitError, ConnId};
use crate::local_sessions::{control_channel, ControlReceiver};
use crate::state::Shared;
use natter_protocol::{KickType, Platform};
use std::sync::Arc;

/// A vendor session's entry in the directory and in this node's local sessions. Released
/// (awaited) where the session ends; dropped unreleased it is still removed, from a spawned task.
pub(crate) struct Presence {
    shared: Arc<Shared>,
    user_id: String,
    conn: ConnId,
    released: bool,
}

/// What the SDK says it runs, as the admin API lists it.
const CLIENT_VERSION: &str = "tencentcloud-chat-web";

/// Admits a login. `resume` is the SDK's silent re-login with an A2Key after a lost link: refused
/// with the kick if this instance was kicked while away.
pub(crate) async fn enter(
    shared: &Arc<Shared>,
    user_id: &str,
    instance_id: &str,
    platform: Platform,
    resume: bool,
) -> Result<(Presence, ControlReceiver), AdmitError> {
    let (tx, rx) = control_channel();
    let admission = Arc::new(Admission {
        user_id: user_id.to_owned(),
        instance_id: instance_id.to_owned(),
        platform,
        resume,
        conn: shared.sessions.next_conn(),
        connected_at_ms: shared.now_ms(),
        client_version: CLIENT_VERSION.to_owned(),
    });
    let conn = admission.conn.clone();
    // Local first: an order for this connection that follows the admission at once must find it.
    shared.sessions.insert(Arc::clone(&admission), tx);
    match shared.directory.admit(&admission).await {
        Ok(orders) => {
            shared.bus.send(orders).await;
            let presence = Presence {
                shared: Arc::clone(shared),
                user_id: user_id.to_owned(),
                conn,
                released: false,
            };
            Ok((presence, rx))
        }
        Err(e) => {
            shared.sessions.remove(&conn);
            Err(e)
        }
    }
}

impl Presence {
    /// Ends the session with a server-side kick (UserSig expiry) and remembers it. False if the
    /// directory already dropped the entry (a kick order is then on its way); an unreachable
    /// directory counts as done (the session ends unremembered: nothing else can be done).
    pub(crate) async fn kick_self(&self, kick: KickType) -> bool {
        !matches!(
            self.shared.directory.kick_self(&self.user_id, &self.conn, kick).await,
            Ok(false)
        )
    }

    /// Leaves the directory (logout, close, kick, idle).
    pub(crate) async fn release(mut self) {
        self.released = true;
        self.shared.sessions.remove(&self.conn);
        if let Err(e) = self.shared.directory.remove(&self.user_id, &self.conn).await {
            tracing::warn!(user = %self.user_id, conn = %self.conn, error = %e, "could not remove a vendor session from the directory");
        }
    }
}

impl Drop for Presence {
    fn drop(&mut self) {
        if self.released {
            return;
        }
        self.shared.sessions.remove(&self.conn);
        let shared = Arc::clone(&self.shared);
        let (user, conn) = (std::mem::take(&mut self.user_id), self.conn.clone());
        self.shared.tracker.spawn(async move {
            let _ = shared.directory.remove(&user, &conn).await;
        });
    }
}
