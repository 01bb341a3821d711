//! The admin REST API handlers under `/v4/`, in the reference service's shape, plus Natter's own
//! per-instance endpoints under `/v4/natter/`.

use crate::directory::DirectoryError;
use crate::state::Shared;
use axum::body::{to_bytes, Body};
use axum::extract::{Query, Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use natter_protocol::{code, KickType, Platform};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::Arc;

pub const KICK_PATH: &str = "/v4/im_open_login_svc/kick";
pub const QUERY_ONLINE_STATUS_PATH: &str = "/v4/openim/query_online_status";
/// Natter: the online instances of one user (platform, instance id, node, connected-at, version).
pub const LIST_INSTANCES_PATH: &str = "/v4/natter/list_instances";
/// Natter: kick one instance of a user (`REST_API_Kick`), wherever it is connected.
pub const KICK_INSTANCE_PATH: &str = "/v4/natter/kick_instance";
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
        RestError::new(code::INVALID_PARAMETER, info)
    }
}

impl From<DirectoryError> for RestError {
    fn from(e: DirectoryError) -> Self {
        tracing::warn!(error = %e, "REST call failed: session directory unavailable");
        RestError {
            status: StatusCode::SERVICE_UNAVAILABLE,
            code: code::SERVER_OVERLOADED,
            info: e.to_string(),
        }
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

pub(crate) async fn not_found() -> RestError {
    RestError {
        status: StatusCode::NOT_FOUND,
        code: code::UNKNOWN_API,
        info: "unknown API path".into(),
    }
}

pub(crate) async fn method_not_allowed() -> RestError {
    RestError {
        status: StatusCode::METHOD_NOT_ALLOWED,
        code: code::UNKNOWN_API,
        info: "method not allowed; use POST".into(),
    }
}

/// Any method but GET on a WebSocket path (`/ws`, `/binfo`, `/info`): coded like the REST
/// paths' 405 instead of axum's empty answer, so every non-upgrade answer is the same JSON.
pub(crate) async fn upgrade_method_not_allowed() -> RestError {
    RestError {
        status: StatusCode::METHOD_NOT_ALLOWED,
        code: code::UNKNOWN_API,
        info: "method not allowed; this path is a WebSocket upgrade (GET)".into(),
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
        .map_err(|_| RestError::new(code::REST_BAD_QUERY, "invalid query string"))?
        .0;
    let param = |name: &str| params.get(name).map(String::as_str).filter(|v| !v.is_empty());
    let (Some(app), Some(identifier), Some(sig)) = (param("sdkappid"), param("identifier"), param("usersig")) else {
        return Err(RestError::new(
            code::REST_BAD_QUERY,
            "missing sdkappid, identifier or usersig in the query string",
        ));
    };
    if app.parse::<u64>().ok() != Some(cfg.sdk_app_id) {
        return Err(RestError::new(
            code::REST_APP_MISMATCH,
            "sdkappid does not match this server",
        ));
    }
    if identifier != cfg.admin_identifier {
        return Err(RestError::new(
            code::REST_NOT_ADMIN,
            "identifier is not the admin account",
        ));
    }
    if let Err(e) = shared.verify_user_sig(sig, identifier) {
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

pub(crate) async fn kick(State(shared): State<Arc<Shared>>, req: Request<Body>) -> Result<Response, RestError> {
    let body = admin_request(&shared, req).await?;
    let user = user_field(&body)?;
    let n = shared.kick_user(user, KickType::RestApi).await?;
    tracing::info!(user = %user, instances = n, "REST kick");
    Ok(ok(json!({})))
}

/// The body's `UserID`, checked against the identifier rule.
fn user_field(body: &serde_json::Map<String, Value>) -> Result<&str, RestError> {
    let user = match body.get("UserID") {
        Some(Value::String(u)) => u,
        _ => return Err(RestError::bad_request("body needs a UserID string")),
    };
    if let Err(e) = natter_protocol::identifier::validate(user) {
        return Err(RestError::bad_request(format!("UserID {e}")));
    }
    Ok(user)
}

/// The platform names of the vendor's REST API (`query_online_status`): desktops are all `PC`.
pub fn vendor_platform(p: Platform) -> &'static str {
    match p {
        Platform::Ios => "iPhone",
        Platform::Android => "Android",
        Platform::Web => "Web",
        Platform::Windows | Platform::Linux => "PC",
        Platform::Ipad => "iPad",
        Platform::Mac => "Mac",
    }
}

/// `{"UserID": "u"}` → `{"Instances": [{"InstanceID", "Platform", "Node", "ConnectedAt", "ClientVersion"}]}`,
/// oldest login first, across every node. `Platform` is the vendor name; `ConnectedAt` Unix ms.
pub(crate) async fn list_instances(
    State(shared): State<Arc<Shared>>,
    req: Request<Body>,
) -> Result<Response, RestError> {
    let body = admin_request(&shared, req).await?;
    let user = user_field(&body)?;
    let instances: Vec<Value> = shared
        .instances(user)
        .await?
        .into_iter()
        .map(|i| {
            json!({"InstanceID": i.instance_id, "Platform": vendor_platform(i.platform), "Node": &*i.conn.node.0,
                   "ConnectedAt": i.connected_at_ms, "ClientVersion": i.client_version})
        })
        .collect();
    Ok(ok(json!({"Instances": instances})))
}

/// `{"UserID": "u", "InstanceID": "i"}` → `{"Kicked": 1}` (0 when that instance was not online).
pub(crate) async fn kick_instance(
    State(shared): State<Arc<Shared>>,
    req: Request<Body>,
) -> Result<Response, RestError> {
    let body = admin_request(&shared, req).await?;
    let user = user_field(&body)?;
    let instance = match body.get("InstanceID") {
        Some(Value::String(i)) => i,
        _ => return Err(RestError::bad_request("body needs an InstanceID string")),
    };
    if let Err(e) = natter_protocol::identifier::validate_instance_id(instance) {
        return Err(RestError::bad_request(format!("InstanceID {e}")));
    }
    let found = shared.kick_instance(user, instance, KickType::RestApi).await?;
    tracing::info!(user = %user, instance = %instance, found, "REST kick of one instance");
    Ok(ok(json!({"Kicked": u8::from(found)})))
}

pub(crate) async fn query_online_status(
    State(shared): State<Arc<Shared>>,
    req: Request<Body>,
) -> Result<Response, RestError> {
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
        let online = shared.instances(user).await?;
        let mut r = json!({"To_Account": user, "Status": if online.is_empty() { "Offline" } else { "Online" }});
        if detail {
            r["Detail"] = online
                .iter()
                .map(|i| json!({"Platform": vendor_platform(i.platform), "Status": "Online"}))
                .collect();
        }
        results.push(r);
    }
    Ok(ok(json!({"QueryResult": results})))
}
