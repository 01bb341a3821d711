//! Why a login is refused with an `error` frame, each reason with its documented code
//! (`natter_protocol::code`). A refused `resume` of a kicked instance is not here: that client
//! gets a `kicked` frame instead.

use crate::usersig::UserSigError;
use natter_protocol::code;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LoginRefusal {
    /// `userId` or `instanceId` breaks the identifier rule.
    #[error("{field} {reason}")]
    InvalidIdentifier { field: &'static str, reason: String },
    #[error("too many failed logins from this source; try again later")]
    Throttled,
    #[error("SDKAppID {0} not found")]
    UnknownApp(u64),
    #[error("app is not enabled")]
    AppDisabled,
    #[error(transparent)]
    UserSig(#[from] UserSigError),
    /// The session directory cannot be reached (Redis down); the client retries with backoff.
    #[error("session directory unavailable; try again later")]
    DirectoryUnavailable,
}

impl LoginRefusal {
    pub fn code(&self) -> i32 {
        match self {
            LoginRefusal::InvalidIdentifier { .. } => code::INVALID_PARAMETER,
            LoginRefusal::Throttled => code::LOGIN_THROTTLED,
            LoginRefusal::UnknownApp(_) => code::APP_NOT_FOUND,
            LoginRefusal::AppDisabled => code::APP_DISABLED,
            LoginRefusal::UserSig(e) => e.code(),
            LoginRefusal::DirectoryUnavailable => code::SERVER_OVERLOADED,
        }
    }

    /// Whether it counts towards the failed-login throttle: wrong credentials do; being
    /// throttled already or our own outage do not.
    pub fn counts_as_failure(&self) -> bool {
        !matches!(self, LoginRefusal::Throttled | LoginRefusal::DirectoryUnavailable)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_refusal_has_its_documented_code() {
        let cases = [
            (
                LoginRefusal::InvalidIdentifier {
                    field: "userId",
                    reason: "x".into(),
                },
                60003,
                true,
            ),
            (LoginRefusal::Throttled, 70050, false),
            (LoginRefusal::UnknownApp(1), 70020, true),
            (LoginRefusal::AppDisabled, 60020, true),
            (LoginRefusal::UserSig(UserSigError::Expired), 70001, true),
            (LoginRefusal::UserSig(UserSigError::BadSignature), 70009, true),
            (LoginRefusal::DirectoryUnavailable, 60022, false),
        ];
        for (r, code, counts) in cases {
            assert_eq!((r.code(), r.counts_as_failure()), (code, counts), "{r}");
            assert!(!r.to_string().is_empty());
        }
    }
}
