use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// Error returned when a string does not name a known enum value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseEnumError {
    pub kind: &'static str,
    pub value: String,
}

impl fmt::Display for ParseEnumError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "unknown {} {:?}", self.kind, self.value)
    }
}

impl std::error::Error for ParseEnumError {}

macro_rules! string_enum {
    ($(#[$meta:meta])* $name:ident, $kind:literal, { $($(#[$vmeta:meta])* $variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        pub enum $name {
            $($(#[$vmeta])* #[serde(rename = $text)] $variant),+
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The wire / reference-SDK spelling.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $name {
            type Err = ParseEnumError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $($text => Ok($name::$variant),)+
                    _ => Err(ParseEnumError { kind: $kind, value: s.to_owned() }),
                }
            }
        }
    };
}

string_enum!(
    /// The kind of device an instance runs on. The server counts instances per platform.
    Platform, "platform", {
        Web => "web",
        Android => "android",
        Ios => "ios",
        Ipad => "ipad",
        Windows => "windows",
        Mac => "mac",
        Linux => "linux",
    }
);

impl Platform {
    pub fn is_web(self) -> bool {
        self == Platform::Web
    }
    pub fn is_mobile(self) -> bool {
        matches!(self, Platform::Android | Platform::Ios | Platform::Ipad)
    }
    pub fn is_desktop(self) -> bool {
        matches!(self, Platform::Windows | Platform::Mac | Platform::Linux)
    }
}

string_enum!(
    /// Why the server ended a session (`TencentCloudChat.TYPES.KICKED_OUT_*` values).
    KickType, "kick type", {
        /// Another instance of the same user on the web platform (several pages).
        MultipleAccount => "multipleAccount",
        /// Another instance of the same user on another device or platform.
        MultipleDevice => "multipleDevice",
        /// The session's UserSig reached its expiry.
        UserSigExpired => "userSigExpired",
        /// The admin REST API kicked the user.
        RestApi => "REST_API_Kick",
    }
);

string_enum!(
    /// Link state reported by `NET_STATE_CHANGE` (`TencentCloudChat.TYPES.NET_STATE_*` values).
    NetState, "net state", {
        Connected => "connected",
        Connecting => "connecting",
        Disconnected => "disconnected",
    }
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enums_round_trip_through_their_reference_spelling() {
        for p in Platform::ALL {
            assert_eq!(p.as_str().parse::<Platform>().unwrap(), *p);
            assert_eq!(serde_json::to_string(p).unwrap(), format!("\"{p}\""));
        }
        for k in KickType::ALL {
            assert_eq!(k.as_str().parse::<KickType>().unwrap(), *k);
        }
        assert_eq!(KickType::RestApi.as_str(), "REST_API_Kick");
        assert_eq!(NetState::Connecting.as_str(), "connecting");
        assert!("tablet".parse::<Platform>().is_err());
    }

    #[test]
    fn platform_groups_partition_the_platforms() {
        for p in Platform::ALL {
            let groups = [p.is_web(), p.is_mobile(), p.is_desktop()];
            assert_eq!(groups.iter().filter(|g| **g).count(), 1, "{p}");
        }
    }
}
