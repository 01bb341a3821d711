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
//! runtime with `transport` (WebSockets) and `dispatcher` (ordered listener calls); `client`
//! is the public handle.

mod client;
mod config;
mod dispatcher;
mod driver;
mod error;
mod event;
pub mod ffi;
mod logging;
mod runtime;
pub mod session;
mod transport;

pub use client::ChatClient;
pub use config::{ChatConfig, DEFAULT_SERVER_URL};
pub use dispatcher::ListenerId;
pub use error::{code, ChatError};
pub use event::{ChatEvent, ChatListener};
pub use logging::{init_logging, set_log_level};
pub use natter_protocol::{KickType, NetState, Platform};
pub use session::LoginResult;

uniffi::setup_scaffolding!();
