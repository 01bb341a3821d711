//! `InstanceOptions`: the options of `TencentCloudChat.create()` as a face passes them (JS
//! names, JS numbers as `f64`), validated once, here, into a [`ChatConfig`].

use crate::config::{ChatConfig, DEFAULT_SERVER_URL};
use crate::error::ChatError;
use natter_protocol::Platform;
use std::time::Duration;

/// Largest integer a JS number holds exactly (`Number.MAX_SAFE_INTEGER`).
const MAX_SAFE_INTEGER: f64 = 9_007_199_254_740_991.0;
/// Longest duration accepted, in ms (about 31 years): beyond it timers stop meaning anything.
const MAX_DURATION_MS: f64 = 1e12;

/// Options of one instance. `None` takes the default of [`ChatConfig::new`].
#[derive(Debug, Clone, Default, PartialEq, uniffi::Record)]
pub struct InstanceOptions {
    /// JS `SDKAppID`: a positive integer (missing, zero, negative or fractional: code 2000).
    #[uniffi(default = None)]
    pub sdk_app_id: Option<f64>,
    /// JS `proxyServer`: `ws://` or `wss://` URL of the server (default the local dev server).
    #[uniffi(default = None)]
    pub proxy_server: Option<String>,
    /// `web` (default), `android`, `ios`, `ipad`, `windows`, `mac` or `linux`.
    #[uniffi(default = None)]
    pub platform: Option<String>,
    #[uniffi(default = None)]
    pub heartbeat_interval_ms: Option<f64>,
    #[uniffi(default = None)]
    pub request_timeout_ms: Option<f64>,
    #[uniffi(default = None)]
    pub login_timeout_ms: Option<f64>,
    #[uniffi(default = None)]
    pub reconnect_min_delay_ms: Option<f64>,
    #[uniffi(default = None)]
    pub reconnect_max_delay_ms: Option<f64>,
    /// Natter extension `extraRootCertsPem`: PEM text of one or more CA certificates trusted for
    /// `wss://` besides the Mozilla roots (a private CA). Bad PEM: code 9001.
    #[uniffi(default = None)]
    pub extra_root_certs_pem: Option<String>,
    /// JS `probeTimeoutMs`: deadline of the ping sent on foreground / network back.
    #[uniffi(default = None)]
    pub probe_timeout_ms: Option<f64>,
    /// The face has a `userSigProvider`: the hub asks it through `userSigNeeded` items.
    #[uniffi(default = None)]
    pub user_sig_provider: Option<bool>,
}

impl InstanceOptions {
    /// The config these options describe: 2000 for a bad SDKAppID, 9001 for any other bad option.
    pub fn to_config(&self) -> Result<ChatConfig, ChatError> {
        let sdk_app_id = match self.sdk_app_id {
            None => return Err(ChatError::NoSdkAppId),
            Some(v) if v.is_finite() && v >= 1.0 && v.fract() == 0.0 && v <= MAX_SAFE_INTEGER => v as u64,
            Some(v) => {
                return Err(ChatError::InvalidSdkAppId {
                    detail: format!("SDKAppID must be a positive integer, got {v}"),
                })
            }
        };
        let mut config = ChatConfig::new(sdk_app_id);
        config.server_url = self
            .proxy_server
            .clone()
            .unwrap_or_else(|| DEFAULT_SERVER_URL.to_owned());
        if let Some(p) = &self.platform {
            config.platform = p.parse::<Platform>().map_err(|e| {
                ChatError::invalid(format!(
                    "platform: {e}; expected web, android, ios, ipad, windows, mac or linux"
                ))
            })?;
        }
        let durations = [
            (
                "heartbeatIntervalMs",
                self.heartbeat_interval_ms,
                &mut config.heartbeat_interval,
            ),
            ("requestTimeoutMs", self.request_timeout_ms, &mut config.request_timeout),
            ("loginTimeoutMs", self.login_timeout_ms, &mut config.login_timeout),
            (
                "reconnectMinDelayMs",
                self.reconnect_min_delay_ms,
                &mut config.reconnect_min_delay,
            ),
            (
                "reconnectMaxDelayMs",
                self.reconnect_max_delay_ms,
                &mut config.reconnect_max_delay,
            ),
            ("probeTimeoutMs", self.probe_timeout_ms, &mut config.probe_timeout),
        ];
        for (name, value, slot) in durations {
            if let Some(v) = value {
                *slot = duration(name, v)?;
            }
        }
        config.extra_root_certs_pem = self.extra_root_certs_pem.iter().cloned().collect();
        config.validate()?;
        Ok(config)
    }
}

fn duration(name: &str, ms: f64) -> Result<Duration, ChatError> {
    if ms.is_finite() && ms >= 1.0 && ms.fract() == 0.0 && ms <= MAX_DURATION_MS {
        Ok(Duration::from_millis(ms as u64))
    } else {
        Err(ChatError::invalid(format!(
            "{name} must be a positive whole number of milliseconds, got {ms}"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_id(id: f64) -> InstanceOptions {
        InstanceOptions {
            sdk_app_id: Some(id),
            ..Default::default()
        }
    }

    #[test]
    fn defaults_match_the_rust_defaults() {
        let c = with_id(1400000001.0).to_config().unwrap();
        assert_eq!(c, ChatConfig::new(1400000001));
    }

    #[test]
    fn extra_root_certificates_are_checked_here() {
        let o = InstanceOptions {
            extra_root_certs_pem: Some("not a certificate".into()),
            ..with_id(1.0)
        };
        let e = o.to_config().unwrap_err();
        assert_eq!(e.code(), 9001);
        assert!(e.to_string().contains("extra root certificate"), "{e}");
    }

    #[test]
    fn every_bad_sdk_app_id_is_2000() {
        assert_eq!(InstanceOptions::default().to_config().unwrap_err().code(), 2000);
        for id in [0.0, -1.0, 1.5, f64::NAN, f64::INFINITY, -0.0, 1e300] {
            assert_eq!(with_id(id).to_config().unwrap_err().code(), 2000, "{id}");
        }
    }

    #[test]
    fn every_bad_duration_is_9001_and_names_the_option() {
        for v in [0.0, -5.0, 0.5, 10.25, f64::NAN, f64::NEG_INFINITY, 1e13] {
            let o = InstanceOptions {
                heartbeat_interval_ms: Some(v),
                ..with_id(1.0)
            };
            let e = o.to_config().unwrap_err();
            assert_eq!(e.code(), 9001, "{v}");
            assert!(e.to_string().contains("heartbeatIntervalMs"), "{e}");
        }
        let o = InstanceOptions {
            reconnect_min_delay_ms: Some(500.0),
            reconnect_max_delay_ms: Some(100.0),
            ..with_id(1.0)
        };
        assert_eq!(o.to_config().unwrap_err().code(), 9001);
    }

    #[test]
    fn platform_and_url_are_checked() {
        let o = InstanceOptions {
            platform: Some("tablet".into()),
            ..with_id(1.0)
        };
        assert_eq!(o.to_config().unwrap_err().code(), 9001);
        let o = InstanceOptions {
            proxy_server: Some("http://x/ws".into()),
            ..with_id(1.0)
        };
        assert_eq!(o.to_config().unwrap_err().code(), 9001);
        let o = InstanceOptions {
            platform: Some("ios".into()),
            proxy_server: Some("wss://chat.example.com/ws".into()),
            login_timeout_ms: Some(2500.0),
            ..with_id(7.0)
        };
        let c = o.to_config().unwrap();
        assert_eq!(c.platform, Platform::Ios);
        assert_eq!(c.server_url, "wss://chat.example.com/ws");
        assert_eq!(c.login_timeout, Duration::from_millis(2500));
    }
}
