//! Every failure the public API reports: a typed enum whose variants carry the reference SDK's
//! numeric codes (the README lists them), plus Natter's own codes in the 9000 range.

/// Numeric codes, named as in the reference SDK where it has one. The values live in the table the
/// server shares (`natter_protocol::code`); this module re-exports the client's part of it.
pub mod code {
    pub use natter_protocol::code::{
        INSTANCE_DESTROYED, INTERNAL, INVALID_ARGUMENT, KICKED_OUT_MULT_ACCOUNT, KICKED_OUT_MULT_DEVICE,
        KICKED_OUT_REST_API, KICKED_OUT_USERSIG_EXPIRED, LOGGED_OUT, LOGIN_FAILED, NETWORK_ERROR, NETWORK_TIMEOUT,
        NO_IDENTIFIER, NO_SDKAPPID, NO_USERSIG, REPEAT_LOGIN, SDK_IS_NOT_READY, SERVER_OVERLOADED, USER_NOT_LOGGED_IN,
    };
}

/// Error returned by every fallible call. `code()` is the number apps switch on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChatError {
    #[error("SDKAppID is missing or zero")]
    NoSdkAppId,
    /// Negative, fractional or not a number (same code as a missing one, as the reference).
    #[error("invalid SDKAppID: {detail}")]
    InvalidSdkAppId { detail: String },
    #[error("userID is missing or empty")]
    NoUserId,
    #[error("userSig is missing or empty")]
    NoUserSig,
    #[error("not logged in")]
    NotLoggedIn,
    #[error("another login is still in progress")]
    LoginInProgress,
    #[error("network error: {detail}")]
    Network { detail: String },
    #[error("request timed out")]
    Timeout,
    /// The server refused the request with one of its documented codes (70001, 70003, …).
    #[error("server refused the request ({code}): {detail}")]
    Server { code: i32, detail: String },
    #[error("invalid argument: {detail}")]
    InvalidArgument { detail: String },
    #[error("this instance has been destroyed")]
    Destroyed,
    #[error("internal error: {detail}")]
    Internal { detail: String },
}

impl ChatError {
    pub fn code(&self) -> i32 {
        match self {
            ChatError::NoSdkAppId | ChatError::InvalidSdkAppId { .. } => code::NO_SDKAPPID,
            ChatError::NoUserId => code::NO_IDENTIFIER,
            ChatError::NoUserSig => code::NO_USERSIG,
            ChatError::NotLoggedIn => code::USER_NOT_LOGGED_IN,
            ChatError::LoginInProgress => code::REPEAT_LOGIN,
            ChatError::Network { .. } => code::NETWORK_ERROR,
            ChatError::Timeout => code::NETWORK_TIMEOUT,
            ChatError::Server { code, .. } => *code,
            ChatError::InvalidArgument { .. } => code::INVALID_ARGUMENT,
            ChatError::Destroyed => code::INSTANCE_DESTROYED,
            ChatError::Internal { .. } => code::INTERNAL,
        }
    }

    pub(crate) fn network(detail: impl std::fmt::Display) -> Self {
        ChatError::Network {
            detail: detail.to_string(),
        }
    }

    pub(crate) fn invalid(detail: impl Into<String>) -> Self {
        ChatError::InvalidArgument { detail: detail.into() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_variant_has_its_documented_code() {
        let cases = [
            (ChatError::NoSdkAppId, 2000),
            (ChatError::InvalidSdkAppId { detail: "x".into() }, 2000),
            (ChatError::NoUserId, 2002),
            (ChatError::NoUserSig, 2003),
            (ChatError::NotLoggedIn, 2024),
            (ChatError::LoginInProgress, 2025),
            (ChatError::network("x"), 2800),
            (ChatError::Timeout, 2801),
            (
                ChatError::Server {
                    code: 70001,
                    detail: "expired".into(),
                },
                70001,
            ),
            (ChatError::invalid("x"), 9001),
            (ChatError::Destroyed, 9002),
            (ChatError::Internal { detail: "x".into() }, 9003),
        ];
        for (err, code) in cases {
            assert_eq!(err.code(), code, "{err}");
            assert!(!err.to_string().is_empty());
        }
    }
}
