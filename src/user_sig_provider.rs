//! The app's source of fresh UserSigs (`userSigProvider` on `create()`): asked by the session
//! ahead of expiry, one request at a time, retried with jitter when it fails.

use crate::error::ChatError;
use std::future::Future;
use std::pin::Pin;

/// What a provider returns: the new UserSig, or why there is none (the session retries).
pub type UserSigFuture = Pin<Box<dyn Future<Output = Result<String, ChatError>> + Send + 'static>>;

/// Fetches a new UserSig for the logged-in user (typically from the app's backend).
pub trait UserSigProvider: Send + Sync {
    fn user_sig(&self) -> UserSigFuture;
}

impl<F, Fut> UserSigProvider for F
where
    F: Fn() -> Fut + Send + Sync,
    Fut: Future<Output = Result<String, ChatError>> + Send + 'static,
{
    fn user_sig(&self) -> UserSigFuture {
        Box::pin(self())
    }
}
