//! Events a client raises, and the listener trait that receives them.

use natter_protocol::{KickType, NetState};

/// One event, named as the reference SDK's `TencentCloudChat.EVENT` values (see [`ChatEvent::name`]).
/// Exported over UniFFI as it is.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Enum)]
pub enum ChatEvent {
    /// `sdkStateReady`: a login succeeded (delivered right after its call resolved).
    SdkReady,
    /// `sdkStateNotReady`: logged out or kicked.
    SdkNotReady,
    /// `kickedOut`, followed by `SdkNotReady`. No automatic re-login.
    KickedOut { kick_type: KickType },
    /// `netStateChange`, only on an actual change. `reason` says why (a Natter addition, as is
    /// `retry_in_ms`: set on `Disconnected` while a reconnect attempt is scheduled).
    NetStateChange {
        state: NetState,
        reason: NetReason,
        retry_in_ms: Option<u64>,
    },
    /// Natter `userSigExpiring`: the session's UserSig expires at `expire_time_ms` (Unix ms,
    /// server clock) and no provider renews it: call `update_user_sig` before then.
    UserSigExpiring { expire_time_ms: i64 },
    /// `error`.
    Error { code: i32, message: String },
    /// `sdkDestroy`: the instance's last event.
    SdkDestroy,
}

impl ChatEvent {
    /// The reference SDK's event value (`sdkStateReady`, `kickedOut`, …).
    pub fn name(&self) -> &'static str {
        match self {
            ChatEvent::SdkReady => "sdkStateReady",
            ChatEvent::SdkNotReady => "sdkStateNotReady",
            ChatEvent::KickedOut { .. } => "kickedOut",
            ChatEvent::NetStateChange { .. } => "netStateChange",
            ChatEvent::Error { .. } => "error",
            ChatEvent::UserSigExpiring { .. } => "userSigExpiring",
            ChatEvent::SdkDestroy => "sdkDestroy",
        }
    }
}

impl std::fmt::Display for ChatEvent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ChatEvent::KickedOut { kick_type } => write!(f, "{} {kick_type}", self.name()),
            ChatEvent::NetStateChange { state, reason, .. } => {
                write!(f, "{} {state} ({})", self.name(), reason.as_str())
            }
            ChatEvent::Error { code, message } => write!(f, "{} {code} {message}", self.name()),
            _ => f.write_str(self.name()),
        }
    }
}

/// Why the link state changed (`NET_STATE_CHANGE` `data.reason`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum NetReason {
    /// `login`: connecting for a `login` call.
    Login,
    /// `reconnect`: connecting again after a lost link (silent re-login).
    Reconnect,
    /// `foreground`: connecting at once because the app came back to the foreground.
    Foreground,
    /// `networkBack`: connecting at once because the network came back.
    NetworkBack,
    /// `loggedIn`: the server accepted the (re-)login.
    LoggedIn,
    /// `linkLost`: the connection failed, closed, or stopped answering.
    LinkLost,
    /// `networkUnreachable`: the app said the network is gone; no attempts until it returns.
    NetworkUnreachable,
    /// `loginFailed`: a login was refused or timed out.
    LoginFailed,
    /// `loggedOut`, `kicked`, `destroyed`: the session ended.
    LoggedOut,
    Kicked,
    Destroyed,
}

impl NetReason {
    pub fn as_str(self) -> &'static str {
        match self {
            NetReason::Login => "login",
            NetReason::Reconnect => "reconnect",
            NetReason::Foreground => "foreground",
            NetReason::NetworkBack => "networkBack",
            NetReason::LoggedIn => "loggedIn",
            NetReason::LinkLost => "linkLost",
            NetReason::NetworkUnreachable => "networkUnreachable",
            NetReason::LoginFailed => "loginFailed",
            NetReason::LoggedOut => "loggedOut",
            NetReason::Kicked => "kicked",
            NetReason::Destroyed => "destroyed",
        }
    }
}

/// Receives a client's events, one at a time and in order, on Natter's runtime thread.
/// A panicking listener is caught and logged; it never stops delivery to other listeners.
/// Return quickly: a slow listener delays later events of its client.
pub trait ChatListener: Send + Sync {
    fn on_event(&self, event: ChatEvent);
}

impl<F: Fn(ChatEvent) + Send + Sync> ChatListener for F {
    fn on_event(&self, event: ChatEvent) {
        self(event)
    }
}
