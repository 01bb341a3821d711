//! Natter reference server: the login/session WebSocket endpoint (`/ws`) and the admin REST API
//! (`/v4/...`) on one listener, compatible with the login part of Tencent Cloud Chat.
//!
//! Every server started with [`start`] is independent: no global state, so tests can run many in
//! one process.

mod accept_shard;
pub mod admin;
pub mod cli;
mod cluster;
mod config;
pub mod directory;
pub mod fd_limit;
pub mod fd_table;
#[doc(hidden)]
pub mod fuzzing;
mod heartbeat_rtt;
mod kick_bus;
mod kick_memory;
mod limits;
mod local_sessions;
mod log_safe;
pub mod login_refusal;
mod metrics;
mod metrics_listener;
mod node_id;
pub mod policy;
mod prefixed_stream;
mod request_head;
pub mod rest;
mod router;
mod server;
mod session_size;
mod sig_renewal;
mod state;
mod throttle;
mod timed_directory;
pub mod usersig;
mod vendor;
mod verified_sigs;
mod ws;

pub use config::{
    default_max_connections, ParsePolicyError, Policy, ServerConfig, DEV_SDK_APP_ID, DEV_SECRET_KEY, FD_RESERVE,
    MAX_ACCEPT_SHARDS,
};
pub use server::{start, ServerHandle};
#[doc(hidden)]
pub use session_size::session_future_bytes;
