//! Natter reference server: the login/session WebSocket endpoint (`/ws`) and the admin REST API
//! (`/v4/...`) on one listener, compatible with the login part of Tencent Cloud Chat.
//!
//! Every server started with [`start`] is independent: no global state, so tests can run many in
//! one process.

pub mod admin;
pub mod cli;
mod config;
#[doc(hidden)]
pub mod fuzzing;
mod kick_memory;
mod limits;
mod log_safe;
pub mod policy;
mod registry;
mod rest;
mod server;
mod sig_renewal;
mod throttle;
pub mod usersig;
mod ws;

pub use config::{
    default_max_connections, ParsePolicyError, Policy, ServerConfig, DEV_SDK_APP_ID, DEV_SECRET_KEY, FD_RESERVE,
};
pub use server::{start, ServerHandle};
