//! The vendor-compat endpoint: the session wire of the reference web SDK (`@tencentcloud/chat`),
//! so that SDK, pointed at this server with `proxyServer`, logs in, is kicked and reads the server
//! time like Natter's own clients, in the same directory and under the same instance policy.
//! The wire is described in `docs/vendor-wire.md`.

pub(crate) mod a2key;
mod commands;
mod directory;
pub(crate) mod envelope;
mod ids;
mod query;
mod session;

use crate::rest::RestError;
use crate::state::{ConnInfo, Shared};
use axum::extract::ws::WebSocketUpgrade;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use axum::Extension;
use std::collections::HashMap;
use std::sync::Arc;

/// The SDK appends these to `proxyServer`: binary frames on `/binfo`, text frames on `/info`.
pub(crate) const BINARY_PATH: &str = "/binfo";
pub(crate) const TEXT_PATH: &str = "/info";
/// The SDK's telemetry frames run to tens of KiB; its session frames are small.
const MAX_FRAME_BYTES: usize = 64 * 1024;
const READ_BUFFER: usize = 8 * 1024;
const WRITE_BUFFER: usize = 8 * 1024;
const MAX_WRITE_BUFFER: usize = 256 * 1024;

pub(crate) async fn upgrade_binary(
    state: State<Arc<Shared>>,
    info: Extension<ConnInfo>,
    q: Query<HashMap<String, String>>,
    ws: WebSocketUpgrade,
) -> Response {
    upgrade(state, info, q, ws, true)
}

pub(crate) async fn upgrade_text(
    state: State<Arc<Shared>>,
    info: Extension<ConnInfo>,
    q: Query<HashMap<String, String>>,
    ws: WebSocketUpgrade,
) -> Response {
    upgrade(state, info, q, ws, false)
}

fn upgrade(
    State(shared): State<Arc<Shared>>,
    Extension(info): Extension<ConnInfo>,
    Query(q): Query<HashMap<String, String>>,
    ws: WebSocketUpgrade,
    binary: bool,
) -> Response {
    let query = match query::parse(&q) {
        Ok(q) => q,
        Err(e) => return RestError::bad_request(e.to_string()).into_response(),
    };
    // Holding a tracker token keeps `shutdown` waiting until the session has ended.
    let token = shared.tracker.token();
    ws.read_buffer_size(READ_BUFFER)
        .write_buffer_size(WRITE_BUFFER)
        .max_write_buffer_size(MAX_WRITE_BUFFER)
        .max_message_size(MAX_FRAME_BYTES)
        .max_frame_size(MAX_FRAME_BYTES)
        .on_failed_upgrade(|e| tracing::debug!(error = %e, "vendor websocket upgrade failed"))
        .on_upgrade(move |socket| async move {
            session::run(shared, socket, info, query, binary).await;
            drop(token);
        })
}
