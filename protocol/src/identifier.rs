//! Natter's rule for the strings a client names itself with, in ONE place for the server and the
//! client core: user identifiers (they are signed into UserSigs, so a newline in one could forge
//! the signed text) and instance ids (the server remembers kicked ones, so they must be small).

use std::fmt;

/// Longest user identifier, in bytes (the official UserSig generator's documented limit).
pub const MAX_USER_ID_BYTES: usize = 32;
/// Longest instance id, in bytes (the client core sends 32 hex characters).
pub const MAX_INSTANCE_ID_BYTES: usize = 64;

/// Why a user identifier or instance id was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IdentifierError {
    Empty,
    /// Longer than the limit (in bytes).
    TooLong {
        max: usize,
    },
    /// A character outside `[A-Za-z0-9_-]` (this includes every control character).
    InvalidCharacter,
}

impl fmt::Display for IdentifierError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            IdentifierError::Empty => f.write_str("is empty"),
            IdentifierError::TooLong { max } => write!(f, "is longer than {max} bytes"),
            IdentifierError::InvalidCharacter => f.write_str("holds a character outside [A-Za-z0-9_-]"),
        }
    }
}

impl std::error::Error for IdentifierError {}

fn check(s: &str, max: usize) -> Result<(), IdentifierError> {
    if s.is_empty() {
        return Err(IdentifierError::Empty);
    }
    if s.len() > max {
        return Err(IdentifierError::TooLong { max });
    }
    if !s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-') {
        return Err(IdentifierError::InvalidCharacter);
    }
    Ok(())
}

/// A user identifier: 1–32 bytes of `[A-Za-z0-9_-]`.
pub fn validate(user_id: &str) -> Result<(), IdentifierError> {
    check(user_id, MAX_USER_ID_BYTES)
}

/// An instance id: 1–64 bytes of `[A-Za-z0-9_-]`.
pub fn validate_instance_id(instance_id: &str) -> Result<(), IdentifierError> {
    check(instance_id, MAX_INSTANCE_ID_BYTES)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_ids() {
        for ok in ["a", "alice", "user_42-x", "administrator", &"x".repeat(32), "A-Z_0-9"] {
            assert_eq!(validate(ok), Ok(()), "{ok:?}");
        }
        assert_eq!(validate(""), Err(IdentifierError::Empty));
        assert_eq!(validate(&"x".repeat(33)), Err(IdentifierError::TooLong { max: 32 }));
        for bad in [
            "a\nb",
            "a b",
            "a.b",
            "é",
            "a\u{1b}[31m",
            "a\r",
            "a\0",
            "admin@x",
            "a/b",
            "TLS.time:0",
        ] {
            assert_eq!(validate(bad), Err(IdentifierError::InvalidCharacter), "{bad:?}");
        }
    }

    #[test]
    fn instance_ids() {
        assert_eq!(validate_instance_id("0123456789abcdef0123456789abcdef"), Ok(()));
        assert_eq!(validate_instance_id(&"f".repeat(64)), Ok(()));
        assert_eq!(
            validate_instance_id(&"f".repeat(65)),
            Err(IdentifierError::TooLong { max: 64 })
        );
        assert_eq!(validate_instance_id(""), Err(IdentifierError::Empty));
        assert_eq!(validate_instance_id("i\n1"), Err(IdentifierError::InvalidCharacter));
    }

    #[test]
    fn errors_read_well() {
        assert_eq!(
            IdentifierError::InvalidCharacter.to_string(),
            "holds a character outside [A-Za-z0-9_-]"
        );
        assert_eq!(
            IdentifierError::TooLong { max: 32 }.to_string(),
            "is longer than 32 bytes"
        );
    }
}
