//! Options of one client instance, with the defaults an app gets when it sets nothing.

use crate::error::ChatError;
use crate::transport::{parse_roots, Endpoint};
use natter_protocol::Platform;
use std::time::Duration;

/// The local development server started by `natter-server` with no arguments.
pub const DEFAULT_SERVER_URL: &str = "ws://127.0.0.1:9800/ws";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChatConfig {
    /// The app's SDKAppID (required, non-zero).
    pub sdk_app_id: u64,
    /// `ws://` or `wss://` URL of the server's WebSocket endpoint (the JS option `proxyServer`).
    /// A URL with no path (`wss://im.example.com`) means the default path `/ws`.
    pub server_url: String,
    /// Reported to the server, which limits instances per platform.
    pub platform: Platform,
    /// How often a heartbeat goes out; a link with no traffic for two intervals is dead.
    pub heartbeat_interval: Duration,
    /// Deadline for logout and for opening a connection.
    pub request_timeout: Duration,
    /// Deadline for a login (connect + authenticate).
    pub login_timeout: Duration,
    /// Reconnect backoff: the n-th retry waits a random time in `[0, min(max, min_delay·2ⁿ)]`.
    pub reconnect_min_delay: Duration,
    pub reconnect_max_delay: Duration,
    /// Deadline of the one ping sent when the app returns to the foreground or the network comes
    /// back (`set_app_state`, `set_network_reachable`): unanswered, the link is replaced at once.
    pub probe_timeout: Duration,
    /// PEM CA certificates trusted for `wss://` on top of the Mozilla roots (a private or test
    /// CA). Verification itself cannot be turned off.
    pub extra_root_certs_pem: Vec<String>,
}

impl ChatConfig {
    /// A config for `sdk_app_id` with every other option at its default.
    pub fn new(sdk_app_id: u64) -> Self {
        ChatConfig {
            sdk_app_id,
            server_url: DEFAULT_SERVER_URL.to_owned(),
            platform: Platform::Web,
            heartbeat_interval: Duration::from_secs(10),
            request_timeout: Duration::from_secs(15),
            login_timeout: Duration::from_secs(30),
            reconnect_min_delay: Duration::from_millis(500),
            reconnect_max_delay: Duration::from_secs(20),
            probe_timeout: Duration::from_secs(2),
            extra_root_certs_pem: Vec::new(),
        }
    }

    pub fn with_server_url(mut self, url: impl Into<String>) -> Self {
        self.server_url = url.into();
        self
    }

    pub fn with_platform(mut self, platform: Platform) -> Self {
        self.platform = platform;
        self
    }

    /// Checks every option; `ChatClient::new` calls this so bad options fail fast.
    pub fn validate(&self) -> Result<(), ChatError> {
        if self.sdk_app_id == 0 {
            return Err(ChatError::NoSdkAppId);
        }
        Endpoint::parse(&self.server_url).map_err(ChatError::invalid)?;
        parse_roots(&self.extra_root_certs_pem).map_err(ChatError::invalid)?;
        let positive = [
            ("heartbeat interval", self.heartbeat_interval),
            ("request timeout", self.request_timeout),
            ("login timeout", self.login_timeout),
            ("reconnect min delay", self.reconnect_min_delay),
            ("probe timeout", self.probe_timeout),
        ];
        for (name, value) in positive {
            if value.is_zero() {
                return Err(ChatError::invalid(format!("{name} must be greater than zero")));
            }
        }
        if self.reconnect_max_delay < self.reconnect_min_delay {
            return Err(ChatError::invalid(
                "reconnect max delay must not be below the min delay",
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_point_at_the_dev_server() {
        let c = ChatConfig::new(1400000001);
        c.validate().unwrap();
        assert_eq!(c.server_url, DEFAULT_SERVER_URL);
        assert_eq!(c.platform, Platform::Web);
    }

    #[test]
    fn bad_options_fail_with_coded_errors() {
        assert_eq!(ChatConfig::new(0).validate().unwrap_err().code(), 2000);
        for url in ["http://x/ws", "x", "", "ws://", "wss:///ws", "ws://a b/"] {
            let err = ChatConfig::new(1).with_server_url(url).validate().unwrap_err();
            assert_eq!(err.code(), 9001, "{url}");
        }
        let mut c = ChatConfig::new(1);
        c.heartbeat_interval = Duration::ZERO;
        assert_eq!(c.validate().unwrap_err().code(), 9001);
        let mut c = ChatConfig::new(1);
        c.reconnect_max_delay = Duration::from_millis(1);
        assert_eq!(c.validate().unwrap_err().code(), 9001);
        for url in [
            "wss://chat.example.com:443/ws",
            "wss://im.example.com",
            "ws://127.0.0.1:9800/",
        ] {
            ChatConfig::new(1).with_server_url(url).validate().unwrap();
        }
        let mut c = ChatConfig::new(1);
        c.extra_root_certs_pem = vec!["-----BEGIN CERTIFICATE-----\nnot base64!\n-----END CERTIFICATE-----\n".into()];
        assert_eq!(c.validate().unwrap_err().code(), 9001);
    }
}
