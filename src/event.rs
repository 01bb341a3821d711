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
    /// `netStateChange`, only on an actual change.
    NetStateChange { state: NetState },
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
            ChatEvent::SdkDestroy => "sdkDestroy",
        }
    }
}

impl std::fmt::Display for ChatEvent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ChatEvent::KickedOut { kick_type } => write!(f, "{} {kick_type}", self.name()),
            ChatEvent::NetStateChange { state } => write!(f, "{} {state}", self.name()),
            ChatEvent::Error { code, message } => write!(f, "{} {code} {message}", self.name()),
            _ => f.write_str(self.name()),
        }
    }
}

/// Receives a client's events, one at a time and in order, on a Natter runtime thread.
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
