//! The router: `/ws` (and `/`), the vendor SDK's `/binfo` and `/info`, plus the admin REST API under `/v4/`. It only wires paths to the
//! handlers in `ws` and `rest`, which depend on `state`, never on this module.

use crate::rest::{self, method_not_allowed, not_found, upgrade_method_not_allowed};
use crate::state::Shared;
use crate::{vendor, ws};
use axum::routing::{get, post};
use axum::Router;
use std::sync::Arc;

pub(crate) fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route(
            natter_protocol::WS_PATH,
            get(ws::upgrade_refused).fallback(upgrade_method_not_allowed),
        )
        // The reference SDK's `proxyServer` is a bare host: the upgrade is served at `/` too
        // (other methods on `/` stay "unknown API path", as before). Upgrades on both paths are
        // taken before the router (`request_head`); what reaches it here is refused.
        .route("/", get(ws::upgrade_refused).fallback(not_found))
        // The reference web SDK's own session wire (docs/vendor-wire.md).
        .route(
            vendor::BINARY_PATH,
            get(vendor::upgrade_binary).fallback(upgrade_method_not_allowed),
        )
        .route(
            vendor::TEXT_PATH,
            get(vendor::upgrade_text).fallback(upgrade_method_not_allowed),
        )
        .route(rest::KICK_PATH, post(rest::kick).fallback(method_not_allowed))
        .route(
            rest::QUERY_ONLINE_STATUS_PATH,
            post(rest::query_online_status).fallback(method_not_allowed),
        )
        .route(
            rest::LIST_INSTANCES_PATH,
            post(rest::list_instances).fallback(method_not_allowed),
        )
        .route(
            rest::KICK_INSTANCE_PATH,
            post(rest::kick_instance).fallback(method_not_allowed),
        )
        .fallback(not_found)
        .with_state(shared)
}
