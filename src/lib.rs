//! Natter client core: the login/session part of the Tencent Cloud Chat SDK, in Rust.
//!
//! ```no_run
//! # async fn demo() -> Result<(), natter::ChatError> {
//! use natter::{ChatClient, ChatConfig};
//! let client = ChatClient::new(ChatConfig::new(1400000001).with_server_url("ws://127.0.0.1:9800/ws"))?;
//! let mut events = client.events();
//! client.login("alice", "<UserSig>").await?;
//! assert!(client.is_ready());
//! println!("{:?}", events.recv().await); // Some(SdkReady)
//! client.destroy().await?;
//! # Ok(()) }
//! ```
//!
//! Layers: `session` is a sans-IO state machine; `driver` runs it on the crate's own tokio
//! runtime with `transport` (WebSockets) and `dispatcher` (one ordered stream of events and call
//! outcomes); `client` is the public handle; [`hub`] is the id-based API the React Native and
//! Node faces marshal (exported over UniFFI with the `ChatClient` object of `ffi`).

mod client;
mod config;
mod dispatcher;
mod driver;
mod error;
mod event;
mod ffi;
pub mod hub;
mod logging;
mod runtime;
mod session;
mod transport;
mod user_sig_provider;

/// Internals for Natter's own tests and fuzz targets (the sans-IO session machine). Not a
/// stable API.
#[doc(hidden)]
pub mod testing {
    pub use crate::session::{
        local_unix_ms, AppState, Backoff, Call, CallOutcome, ConnId, Jitter, LoginResult, Output, ServerClock, Session,
        SessionParams, SessionState, Token,
    };
}

pub use client::ChatClient;
pub use config::{ChatConfig, DEFAULT_SERVER_URL};
pub use dispatcher::ListenerId;
pub use error::{code, ChatError};
pub use event::{ChatEvent, ChatListener, NetReason};
pub use logging::{init_logging, set_log_level};
pub use natter_protocol::{KickType, NetState, Platform};
pub use session::{local_unix_ms, AppState, LastKick, LoginResult, SessionState};
pub use user_sig_provider::{UserSigFuture, UserSigProvider};

uniffi::setup_scaffolding!();
