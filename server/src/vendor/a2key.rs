//! The A2Key: the vendor SDK's session ticket. After a login the SDK stops sending the UserSig and
//! sends `a2` (and `tinyid`) in every head, also when it silently logs in again on a new socket
//! after a lost link. Natter has no ticket service, so the A2Key is a self-contained,
//! HMAC-signed (with the app's secret key) statement "user U of app A, instance I, valid until T",
//! where T is the UserSig's own expiry: any node holding the key can check it, nothing is stored.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use natter_protocol::code;
use sha2::Sha256;

/// Separates these MACs from UserSig signatures made with the same key.
const DOMAIN: &[u8] = b"natter-vendor-a2/v1\n";

/// What a valid A2Key says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Ticket {
    pub user_id: String,
    /// Unix seconds (the expiry of the UserSig it was issued for).
    pub expires_at: i64,
}

/// Why an A2Key is refused, with the vendor error code the SDK reacts to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub(crate) enum A2Error {
    /// 70001: the SDK treats it as "UserSig expired" (kicked `userSigExpired`).
    #[error("A2Key expired")]
    Expired,
    /// 70003: not ours, tampered with, or issued to another app or instance.
    #[error("A2Key invalid")]
    Invalid,
}

impl A2Error {
    pub(crate) fn code(self) -> i32 {
        match self {
            A2Error::Expired => code::USERSIG_EXPIRED,
            A2Error::Invalid => code::USERSIG_INVALID,
        }
    }
}

fn mac(key: &str) -> Hmac<Sha256> {
    let mut m = Hmac::<Sha256>::new_from_slice(key.as_bytes()).expect("HMAC takes any key length");
    m.update(DOMAIN);
    m
}

/// The A2Key for `user_id` on `instance_id` of `sdk_app_id`, valid until `expires_at`.
pub(crate) fn issue(key: &str, sdk_app_id: u64, user_id: &str, instance_id: &str, expires_at: i64) -> String {
    let payload = format!("{sdk_app_id}\n{user_id}\n{instance_id}\n{expires_at}");
    let mut m = mac(key);
    m.update(payload.as_bytes());
    let tag = m.finalize().into_bytes();
    format!("{}.{}", URL_SAFE_NO_PAD.encode(payload), URL_SAFE_NO_PAD.encode(tag))
}

/// Checks an A2Key presented by `instance_id` of `sdk_app_id` at `now` (Unix seconds).
pub(crate) fn verify(key: &str, token: &str, sdk_app_id: u64, instance_id: &str, now: i64) -> Result<Ticket, A2Error> {
    let (payload_b64, tag_b64) = token.split_once('.').ok_or(A2Error::Invalid)?;
    let payload = URL_SAFE_NO_PAD.decode(payload_b64).map_err(|_| A2Error::Invalid)?;
    let tag = URL_SAFE_NO_PAD.decode(tag_b64).map_err(|_| A2Error::Invalid)?;
    let mut m = mac(key);
    m.update(&payload);
    m.verify_slice(&tag).map_err(|_| A2Error::Invalid)?;
    let payload = String::from_utf8(payload).map_err(|_| A2Error::Invalid)?;
    let mut parts = payload.split('\n');
    let (Some(app), Some(user), Some(instance), Some(expires), None) =
        (parts.next(), parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(A2Error::Invalid);
    };
    if app.parse::<u64>().ok() != Some(sdk_app_id) || instance != instance_id {
        return Err(A2Error::Invalid);
    }
    let expires_at: i64 = expires.parse().map_err(|_| A2Error::Invalid)?;
    if now >= expires_at {
        return Err(A2Error::Expired);
    }
    Ok(Ticket {
        user_id: user.to_owned(),
        expires_at,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "k";

    #[test]
    fn round_trips_and_binds_app_instance_and_expiry() {
        let t = issue(KEY, 1400000001, "alice", "inst1", 1_000);
        assert_eq!(
            verify(KEY, &t, 1400000001, "inst1", 999),
            Ok(Ticket {
                user_id: "alice".into(),
                expires_at: 1_000
            })
        );
        assert_eq!(verify(KEY, &t, 1400000001, "inst1", 1_000), Err(A2Error::Expired));
        assert_eq!(verify(KEY, &t, 1400000002, "inst1", 999), Err(A2Error::Invalid));
        assert_eq!(verify(KEY, &t, 1400000001, "inst2", 999), Err(A2Error::Invalid));
        assert_eq!(verify("other", &t, 1400000001, "inst1", 999), Err(A2Error::Invalid));
    }

    #[test]
    fn refuses_tampered_and_garbage_tokens() {
        let t = issue(KEY, 1, "alice", "i", 1_000);
        let (p, tag) = t.split_once('.').unwrap();
        let forged_payload = URL_SAFE_NO_PAD.encode("1\nmallory\ni\n1000");
        assert_eq!(
            verify(KEY, &format!("{forged_payload}.{tag}"), 1, "i", 0),
            Err(A2Error::Invalid)
        );
        assert_eq!(verify(KEY, p, 1, "i", 0), Err(A2Error::Invalid));
        for junk in ["", ".", "a.b", "%%.%%", "a2"] {
            assert_eq!(verify(KEY, junk, 1, "i", 0), Err(A2Error::Invalid), "{junk:?}");
        }
        assert_eq!(A2Error::Expired.code(), 70001);
        assert_eq!(A2Error::Invalid.code(), 70003);
    }
}
