//! Every numeric error code of Natter in one table, shared by the client SDK (`ChatError::code`)
//! and the reference server (its `error` frames and REST answers). Values follow the reference
//! SDK and REST API where they have one; Natter's own codes sit in the 9000 range.

// --- Reported by the client SDK itself --------------------------------------------------------
pub const NO_SDKAPPID: i32 = 2000;
pub const NO_IDENTIFIER: i32 = 2002;
pub const NO_USERSIG: i32 = 2003;
pub const USER_NOT_LOGGED_IN: i32 = 2024;
pub const REPEAT_LOGIN: i32 = 2025;
pub const NETWORK_ERROR: i32 = 2800;
pub const NETWORK_TIMEOUT: i32 = 2801;
pub const SDK_IS_NOT_READY: i32 = 2999;
pub const LOGIN_FAILED: i32 = 3001;
pub const KICKED_OUT_MULT_DEVICE: i32 = 3002;
pub const KICKED_OUT_MULT_ACCOUNT: i32 = 3003;
pub const KICKED_OUT_USERSIG_EXPIRED: i32 = 3004;
pub const LOGGED_OUT: i32 = 3005;
pub const KICKED_OUT_REST_API: i32 = 3006;
/// Natter extension: an option or argument is present but invalid (bad URL, zero interval…).
pub const INVALID_ARGUMENT: i32 = 9001;
/// Natter extension: the instance was destroyed; create a new one.
pub const INSTANCE_DESTROYED: i32 = 9002;
/// Natter extension: a bug inside Natter (e.g. a caught panic). Please report it.
pub const INTERNAL: i32 = 9003;

// --- Sent by the server (WebSocket `error` frames and REST `ErrorCode`) -----------------------
/// REST: the query string lacks `sdkappid`, `identifier` or `usersig`, or cannot be parsed.
pub const REST_BAD_QUERY: i32 = 60002;
/// A parameter breaks its rule (identifier syntax, body shape, …).
pub const INVALID_PARAMETER: i32 = 60003;
/// REST: `sdkappid` is not the app this server serves.
pub const REST_APP_MISMATCH: i32 = 60006;
/// WebSocket: a frame that breaks the protocol (not JSON, malformed, wrong order, bad version).
pub const PROTOCOL_ERROR: i32 = 60008;
/// REST: unknown path or method.
pub const UNKNOWN_API: i32 = 60009;
/// REST: `identifier` is not the admin account.
pub const REST_NOT_ADMIN: i32 = 60010;
/// The app is disabled: every login is refused.
pub const APP_DISABLED: i32 = 60020;
/// The server is over one of its connection caps, or its session directory is unreachable;
/// a silent reconnect keeps retrying with backoff.
pub const SERVER_OVERLOADED: i32 = 60022;
pub const USERSIG_EXPIRED: i32 = 70001;
pub const USERSIG_EMPTY: i32 = 70002;
/// Undecodable, badly shaped, or not valid yet.
pub const USERSIG_INVALID: i32 = 70003;
pub const USERSIG_BAD_SIGNATURE: i32 = 70009;
pub const USERSIG_USER_MISMATCH: i32 = 70013;
pub const USERSIG_APP_MISMATCH: i32 = 70014;
/// The login names an SDKAppID this server does not serve.
pub const APP_NOT_FOUND: i32 = 70020;
/// Too many failed logins from this source (for this user, or overall); retry later.
pub const LOGIN_THROTTLED: i32 = 70050;
