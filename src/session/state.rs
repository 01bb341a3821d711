//! What an app can ask about its session (`getSessionState`), and the mobile inputs the session
//! machine takes besides API calls and the network: app lifecycle and reachability.

use natter_protocol::{KickType, NetState};

/// Whether the app is on screen (`setAppState`). Coming back to `Active` probes the link.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum AppState {
    Active,
    Background,
}

impl AppState {
    /// `active` / `background`, as the JS face spells them.
    pub fn as_str(self) -> &'static str {
        match self {
            AppState::Active => "active",
            AppState::Background => "background",
        }
    }
}

impl std::str::FromStr for AppState {
    type Err = crate::ChatError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "active" => Ok(AppState::Active),
            "background" => Ok(AppState::Background),
            other => Err(crate::ChatError::invalid(format!(
                "app state must be 'active' or 'background', got {other:?}"
            ))),
        }
    }
}

/// The last kick this instance received, `at_ms` in Unix milliseconds (local clock).
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Record)]
pub struct LastKick {
    pub kick_type: KickType,
    pub at_ms: i64,
}

/// A snapshot of one instance's session (`getSessionState()`); times are Unix milliseconds.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct SessionState {
    /// Between `SDK_READY` and `SDK_NOT_READY`.
    pub ready: bool,
    /// The logged-in userID, `""` when not logged in.
    pub login_user: String,
    pub net_state: NetState,
    pub last_kick: Option<LastKick>,
    /// Reconnect attempts since the link was last up and stable.
    pub reconnect_attempt: u32,
    /// When the next reconnect attempt starts, while one is being waited for (local clock).
    pub next_retry_at_ms: Option<i64>,
    /// When the session's current UserSig expires (server clock), once the server told us.
    pub user_sig_expire_time_ms: Option<i64>,
}

impl Default for SessionState {
    fn default() -> Self {
        SessionState {
            ready: false,
            login_user: String::new(),
            net_state: NetState::Disconnected,
            last_kick: None,
            reconnect_attempt: 0,
            next_retry_at_ms: None,
            user_sig_expire_time_ms: None,
        }
    }
}
