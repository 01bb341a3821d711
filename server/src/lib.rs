//! Natter reference server: the login/session WebSocket endpoint (`/ws`) and the admin REST API
//! (`/v4/...`) on one listener, compatible with the login part of Tencent Cloud Chat.
//!
//! Every server started with [`start`] is independent: no global state, so tests can run many in
//! one process.

pub mod admin;
pub mod cli;
mod cluster;
mod config;
pub mod directory;
#[doc(hidden)]
pub mod fuzzing;
mod kick_bus;
mod kick_memory;
mod limits;
mod local_sessions;
mod log_safe;
pub mod login_refusal;
mod node_id;
pub mod policy;
pub mod rest;
mod router;
mod server;
mod state;
mod throttle;
pub mod usersig;
mod ws;

pub use config::{
    default_max_connections, ParsePolicyError, Policy, ServerConfig, DEV_SDK_APP_ID, DEV_SECRET_KEY, FD_RESERVE,
};
pub use server::{start, ServerHandle};
