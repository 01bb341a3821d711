//! The router: `/ws` (and `/`) plus the admin REST API under `/v4/`, in the reference service's shape.

use crate::server::Shared;
use crate::{usersig, vendor, ws};
use axum::body::{to_bytes, Body};
use axum::extract::{Query, Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use natter_protocol::KickType;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::Arc;

pub const KICK_PATH: &str = "/v4/im_open_login_svc/kick";
pub const QUERY_ONLINE_STATUS_PATH: &str = "/v4/openim/query_online_status";
/// Largest request body we read.
const MAX_BODY_BYTES: usize = 256 * 1024;
/// Most accounts one query may ask about.
pub const MAX_QUERY_ACCOUNTS: usize = 500;

/// A failed REST call: the reference error code, an English text and the HTTP status.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {info}")]
pub struct RestError {
    pub status: StatusCode,
    pub code: i32,
    pub info: String,
}

impl RestError {
    fn new(code: i32, info: impl Into<String>) -> Self {
        RestError {
            status: StatusCode::OK,
            code,
            info: info.into(),
        }
    }
    pub(crate) fn bad_request(info: impl Into<String>) -> Self {
        RestError::new(60003, info)
    }
}

impl IntoResponse for RestError {
    fn into_response(self) -> Response {
        (
            self.status,
            Json(json!({"ActionStatus": "FAIL", "ErrorCode": self.code, "ErrorInfo": self.info})),
        )
            .into_response()
    }
}

pub(crate) fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route(natter_protocol::WS_PATH, get(ws::upgrade))
        // The reference SDK's `proxyServer` is a bare host: serve the upgrade at `/` too (other
        // methods on `/` stay "unknown API path", as before).
        .route("/", get(ws::upgrade).fallback(not_found))
        // The reference web SDK's own session wire (docs/vendor-wire.md).
        .route(vendor::BINARY_PATH, get(vendor::upgrade_binary))
        .route(vendor::TEXT_PATH, get(vendor::upgrade_text))
        .route(KICK_PATH, post(kick).fallback(method_not_allowed))
        .route(
            QUERY_ONLINE_STATUS_PATH,
            post(query_online_status).fallback(method_not_allowed),
        )
        .fallback(not_found)
        .with_state(shared)
}

async fn not_found() -> RestError {
    RestError {
        status: StatusCode::NOT_FOUND,
        code: 60009,
        info: "unknown API path".into(),
    }
}

async fn method_not_allowed() -> RestError {
    RestError {
        status: StatusCode::METHOD_NOT_ALLOWED,
        code: 60009,
        info: "method not allowed; use POST".into(),
    }
}

fn ok(extra: Value) -> Response {
    let mut body = json!({"ActionStatus": "OK", "ErrorCode": 0, "ErrorInfo": ""});
    if let (Some(b), Value::Object(extra)) = (body.as_object_mut(), extra) {
        b.extend(extra);
    }
    Json(body).into_response()
}

/// Checks the query-string credentials, then reads the body as a JSON object.
async fn admin_request(shared: &Shared, req: Request) -> Result<serde_json::Map<String, Value>, RestError> {
    let cfg = &shared.config;
    let params = Query::<HashMap<String, String>>::try_from_uri(req.uri())
        .map_err(|_| RestError::new(60002, "invalid query string"))?
        .0;
    let param = |name: &str| params.get(name).map(String::as_str).filter(|v| !v.is_empty());
    let (Some(app), Some(identifier), Some(sig)) = (param("sdkappid"), param("identifier"), param("usersig")) else {
        return Err(RestError::new(
            60002,
            "missing sdkappid, identifier or usersig in the query string",
        ));
    };
    if app.parse::<u64>().ok() != Some(cfg.sdk_app_id) {
        return Err(RestError::new(60006, "sdkappid does not match this server"));
    }
    if identifier != cfg.admin_identifier {
        return Err(RestError::new(60010, "identifier is not the admin account"));
    }
    if let Err(e) = usersig::verify_with_skew(
        sig,
        cfg.sdk_app_id,
        &cfg.secret_key,
        identifier,
        shared.now_unix(),
        cfg.usersig_max_future_secs,
    ) {
        tracing::info!(code = e.code(), "REST call refused: bad admin UserSig");
        return Err(RestError::new(e.code(), e.to_string()));
    }
    let bytes: axum::body::Bytes =
        tokio::time::timeout(cfg.request_body_timeout, to_bytes(req.into_body(), MAX_BODY_BYTES))
            .await
            .map_err(|_| RestError::bad_request("request body did not arrive in time"))?
            .map_err(|_| RestError::bad_request("request body unreadable or too large"))?;
    match serde_json::from_slice::<Value>(&bytes) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(_) => Err(RestError::bad_request("request body must be a JSON object")),
        Err(_) => Err(RestError::bad_request("request body is not valid JSON")),
    }
}

async fn kick(State(shared): State<Arc<Shared>>, req: Request<Body>) -> Result<Response, RestError> {
    let body = admin_request(&shared, req).await?;
    let user = match body.get("UserID") {
        Some(Value::String(u)) => u,
        _ => return Err(RestError::bad_request("body needs a UserID string")),
    };
    if let Err(e) = natter_protocol::identifier::validate(user) {
        return Err(RestError::bad_request(format!("UserID {e}")));
    }
    let n = shared
        .registry
        .kick_user(user, KickType::RestApi, std::time::Instant::now());
    tracing::info!(user = %user, instances = n, "REST kick");
    Ok(ok(json!({})))
}

async fn query_online_status(State(shared): State<Arc<Shared>>, req: Request<Body>) -> Result<Response, RestError> {
    let body = admin_request(&shared, req).await?;
    let Some(Value::Array(accounts)) = body.get("To_Account") else {
        return Err(RestError::bad_request("body needs a To_Account array"));
    };
    if accounts.len() > MAX_QUERY_ACCOUNTS {
        return Err(RestError::bad_request(format!(
            "To_Account holds more than {MAX_QUERY_ACCOUNTS} accounts"
        )));
    }
    let detail = match body.get("IsNeedDetail") {
        None => false,
        Some(v) => match v.as_u64() {
            Some(n) => n == 1,
            None => return Err(RestError::bad_request("IsNeedDetail must be 0 or 1")),
        },
    };
    let mut results = Vec::with_capacity(accounts.len());
    for a in accounts {
        let Some(user) = a.as_str() else {
            return Err(RestError::bad_request("To_Account entries must be strings"));
        };
        if let Err(e) = natter_protocol::identifier::validate(user) {
            return Err(RestError::bad_request(format!("To_Account entry {e}")));
        }
        let online = shared.registry.online(user);
        let mut r = json!({"To_Account": user, "Status": if online.is_empty() { "Offline" } else { "Online" }});
        if detail {
            r["Detail"] = online
                .iter()
                .map(|p| json!({"Platform": p.as_str(), "Status": "Online"}))
                .collect();
        }
        results.push(r);
    }
    Ok(ok(json!({"QueryResult": results})))
}
