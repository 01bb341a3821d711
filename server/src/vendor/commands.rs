//! The commands (`servcmd`) the vendor endpoint answers, and its error codes. Anything else gets
//! the vendor's error shape with [`UNKNOWN_COMMAND`], so an SDK feature Natter does not serve
//! (messages, groups, profiles…) fails fast instead of waiting for the SDK's request timeout.

use natter_protocol::{code, KickType};

pub(crate) const LOGIN: &str = "im_open_status.wslogin";
pub(crate) const LOGOUT: &str = "im_open_status.wslogout";
pub(crate) const HELLO: &str = "im_open_status.wshello";
pub(crate) const PING: &str = "heartbeat.alive";
/// The SDK's own telemetry: accepted and dropped.
pub(crate) const STAT_REPORT: &str = "imopenstat.tim_web_report_v2";
/// Servcmd of the kick push.
pub(crate) const FORCE_OFFLINE_PUSH: &str = "im_open_status.stat_forceoffline";

/// A command this server does not serve (the REST API's "unknown API path" code).
pub(crate) const UNKNOWN_COMMAND: i32 = code::UNKNOWN_API;
/// A session command before a successful `wslogin` on this socket (Natter's protocol-violation code).
pub(crate) const NOT_LOGGED_IN: i32 = code::PROTOCOL_ERROR;
/// The vendor's "kicked out" answer; with a `KickType` the SDK reports that kick.
pub(crate) const KICKED_OUT: i32 = 1002;
/// The vendor's "UserSig (A2Key) expired": the SDK reports `userSigExpired`.
pub(crate) const EXPIRED: i32 = code::USERSIG_EXPIRED;

/// The numeric `KickType` of the kick push and of a 1002 answer. `None` for a UserSig expiry,
/// which the SDK learns from a 70001 answer instead.
pub(crate) fn kick_number(kick: KickType) -> Option<u8> {
    match kick {
        KickType::MultipleAccount => Some(1),
        KickType::MultipleDevice => Some(2),
        KickType::RestApi => Some(3),
        KickType::UserSigExpired => None,
    }
}
