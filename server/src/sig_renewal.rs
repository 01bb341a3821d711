//! UserSig renewal over the open link: a `renewUserSig` frame presents a new UserSig for the live
//! session. It must verify for the session's own user and app (a sig for someone else is refused
//! with 70013, another app's with 70014); the session then continues on whichever sig is valid,
//! and the expiry kick follows the newest accepted one.

use crate::state::Shared;
use crate::usersig::Claims;
use natter_protocol::SigLifetime;

/// A refused renewal: the reference server's code and an English message. The session goes on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub code: i32,
    pub message: String,
}

/// Verifies `user_sig` for `user_id` of this server's app; returns its lifetime on success.
pub fn verify(shared: &Shared, user_id: &str, user_sig: &str) -> Result<SigLifetime, Refusal> {
    shared
        .verify_user_sig(user_sig, user_id)
        .map(|claims| lifetime(&claims))
        .map_err(|e| Refusal {
            code: e.code(),
            message: format!("UserSig renewal refused: {e}"),
        })
}

/// The wire form of a sig's validity window, in Unix milliseconds.
pub fn lifetime(claims: &Claims) -> SigLifetime {
    SigLifetime {
        user_sig_issue_time: claims.time.saturating_mul(1000),
        user_sig_expire_time: claims.expires_at().saturating_mul(1000),
    }
}
