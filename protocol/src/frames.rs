use crate::{KickType, Platform};
use serde::{Deserialize, Serialize};

/// Frames a client sends. `id` is chosen by the client and echoed by the reply.
/// `Debug` is written by hand below so that logging a frame can never print a UserSig.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "camelCase", rename_all_fields = "camelCase")]
pub enum ClientFrame {
    /// First frame on every connection. `resume` is true when the client re-authenticates
    /// after a lost link (silent re-login): the server then refuses it with a `kicked` frame
    /// if this instance was kicked while it was away, instead of kicking someone else.
    Login {
        id: u64,
        version: u32,
        sdk_app_id: u64,
        user_id: String,
        user_sig: String,
        platform: Platform,
        /// Random per client instance; a login with the same instance id replaces the old
        /// connection of that instance instead of counting as a second instance.
        instance_id: String,
        #[serde(default)]
        resume: bool,
    },
    Logout {
        id: u64,
    },
    /// Heartbeat and clock sample; the server answers with `pong`.
    Ping {
        id: u64,
    },
    /// A new UserSig for the live session (same user and app): the server verifies it and moves
    /// the expiry kick (`userSigRenewed`), or refuses it with `error {id, code}` and the session
    /// continues on the old sig.
    RenewUserSig {
        id: u64,
        user_sig: String,
    },
    #[serde(other)]
    Unknown,
}

/// Frames the server sends.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "camelCase", rename_all_fields = "camelCase")]
pub enum ServerFrame {
    /// Login accepted. `server_time_ms` is the server's Unix clock when it sent the reply.
    LoginOk {
        id: u64,
        server_time_ms: i64,
        /// The accepted UserSig's lifetime, so the client can renew it ahead of expiry (absent
        /// from servers that predate renewal).
        #[serde(default, flatten, skip_serializing_if = "Option::is_none")]
        user_sig: Option<SigLifetime>,
    },
    /// Answer to `renewUserSig`: the new sig is the session's; the expiry kick moved.
    UserSigRenewed {
        id: u64,
        #[serde(flatten)]
        user_sig: SigLifetime,
    },
    LogoutOk {
        id: u64,
    },
    Pong {
        id: u64,
        server_time_ms: i64,
    },
    /// A request failed (`id` set) or the connection is being refused (`id` absent).
    /// `code` is one of the documented server codes (70001, 70003, …).
    Error {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        id: Option<u64>,
        code: i32,
        message: String,
    },
    /// The session is over; the server closes the socket with `CloseCode::Kicked` next.
    Kicked {
        kick_type: KickType,
    },
    #[serde(other)]
    Unknown,
}

/// When a UserSig was issued and when it expires, both in Unix milliseconds (`TLS.time` and
/// `TLS.time + TLS.expire`); on the wire `userSigIssueTime` and `userSigExpireTime`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SigLifetime {
    pub user_sig_issue_time: i64,
    pub user_sig_expire_time: i64,
}

impl std::fmt::Debug for ClientFrame {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ClientFrame::Login {
                id,
                version,
                sdk_app_id,
                user_id,
                user_sig: _,
                platform,
                instance_id,
                resume,
            } => f
                .debug_struct("Login")
                .field("id", id)
                .field("version", version)
                .field("sdk_app_id", sdk_app_id)
                .field("user_id", user_id)
                .field("user_sig", &"<redacted>")
                .field("platform", platform)
                .field("instance_id", instance_id)
                .field("resume", resume)
                .finish(),
            ClientFrame::Logout { id } => f.debug_struct("Logout").field("id", id).finish(),
            ClientFrame::Ping { id } => f.debug_struct("Ping").field("id", id).finish(),
            ClientFrame::RenewUserSig { id, user_sig: _ } => f
                .debug_struct("RenewUserSig")
                .field("id", id)
                .field("user_sig", &"<redacted>")
                .finish(),
            ClientFrame::Unknown => f.write_str("Unknown"),
        }
    }
}

impl ClientFrame {
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("client frames always serialize")
    }
}

impl ServerFrame {
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("server frames always serialize")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn login_frame_has_documented_shape() {
        let f = ClientFrame::Login {
            id: 1,
            version: crate::PROTOCOL_VERSION,
            sdk_app_id: 1400000001,
            user_id: "alice".into(),
            user_sig: "sig".into(),
            platform: Platform::Web,
            instance_id: "i-1".into(),
            resume: false,
        };
        let v: serde_json::Value = serde_json::from_str(&f.to_json()).unwrap();
        assert_eq!(v["type"], "login");
        assert_eq!(v["sdkAppId"], 1400000001u64);
        assert_eq!(v["userId"], "alice");
        assert_eq!(v["instanceId"], "i-1");
        assert_eq!(v["platform"], "web");
        assert_eq!(serde_json::from_value::<ClientFrame>(v).unwrap(), f);
    }

    #[test]
    fn debug_output_never_contains_the_user_sig() {
        let f = ClientFrame::Login {
            id: 1,
            version: 1,
            sdk_app_id: 1,
            user_id: "alice".into(),
            user_sig: "eJwSECRET".into(),
            platform: Platform::Android,
            instance_id: "i".into(),
            resume: true,
        };
        let shown = format!("{f:?} {f:#?}");
        assert!(!shown.contains("eJwSECRET"), "{shown}");
        assert!(shown.contains("alice") && shown.contains("<redacted>"));
    }

    #[test]
    fn renewal_frames_have_documented_shape_and_hide_the_sig() {
        let f = ClientFrame::RenewUserSig {
            id: 3,
            user_sig: "eJwSECRET".into(),
        };
        assert_eq!(f.to_json(), r#"{"type":"renewUserSig","id":3,"userSig":"eJwSECRET"}"#);
        assert!(!format!("{f:?}").contains("eJwSECRET"));
        let lifetime = SigLifetime {
            user_sig_issue_time: 1_000,
            user_sig_expire_time: 61_000,
        };
        let r = ServerFrame::UserSigRenewed {
            id: 3,
            user_sig: lifetime,
        };
        assert_eq!(
            r.to_json(),
            r#"{"type":"userSigRenewed","id":3,"userSigIssueTime":1000,"userSigExpireTime":61000}"#
        );
        assert_eq!(serde_json::from_str::<ServerFrame>(&r.to_json()).unwrap(), r);
        let ok = ServerFrame::LoginOk {
            id: 1,
            server_time_ms: 5,
            user_sig: Some(lifetime),
        };
        assert_eq!(serde_json::from_str::<ServerFrame>(&ok.to_json()).unwrap(), ok);
        // A server that predates renewal sends no lifetime.
        let old: ServerFrame = serde_json::from_str(r#"{"type":"loginOk","id":1,"serverTimeMs":5}"#).unwrap();
        assert_eq!(
            old,
            ServerFrame::LoginOk {
                id: 1,
                server_time_ms: 5,
                user_sig: None
            }
        );
    }

    #[test]
    fn resume_defaults_to_false() {
        let f: ClientFrame = serde_json::from_str(
            r#"{"type":"login","id":1,"version":1,"sdkAppId":1,"userId":"a","userSig":"s","platform":"ios","instanceId":"x"}"#,
        )
        .unwrap();
        assert!(matches!(f, ClientFrame::Login { resume: false, .. }));
    }

    #[test]
    fn unknown_frame_types_are_tolerated_both_ways() {
        let c: ClientFrame = serde_json::from_str(r#"{"type":"typing","to":"bob"}"#).unwrap();
        assert_eq!(c, ClientFrame::Unknown);
        let s: ServerFrame = serde_json::from_str(r#"{"type":"futureThing","x":[1,2]}"#).unwrap();
        assert_eq!(s, ServerFrame::Unknown);
    }

    #[test]
    fn server_frames_use_camel_case_and_reference_kick_names() {
        let k = ServerFrame::Kicked {
            kick_type: KickType::RestApi,
        }
        .to_json();
        assert_eq!(k, r#"{"type":"kicked","kickType":"REST_API_Kick"}"#);
        let e = ServerFrame::Error {
            id: None,
            code: 70001,
            message: "expired".into(),
        }
        .to_json();
        assert_eq!(e, r#"{"type":"error","code":70001,"message":"expired"}"#);
        let p = ServerFrame::Pong {
            id: 7,
            server_time_ms: 5,
        }
        .to_json();
        assert_eq!(p, r#"{"type":"pong","id":7,"serverTimeMs":5}"#);
    }

    #[test]
    fn malformed_frames_are_errors_not_panics() {
        for bad in [
            "",
            "{",
            "[]",
            "null",
            r#"{"type":"login"}"#,
            r#"{"id":1}"#,
            r#"{"type":5}"#,
        ] {
            assert!(serde_json::from_str::<ClientFrame>(bad).is_err(), "{bad}");
        }
    }
}
