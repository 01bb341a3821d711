//! The admin listener that serves `GET /metrics` (Prometheus text format). It is separate from
//! the client listener so the series are never reachable by clients: an operator binds it to a
//! private or loopback address (`--metrics-listen 127.0.0.1:9100`). Off unless configured.

use crate::metrics::Metrics;
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// Reads the number of open client connections at scrape time.
pub(crate) type OpenConnections = Arc<dyn Fn() -> u32 + Send + Sync>;

/// Binds `addr` and serves `/metrics` until `cancel` fires; returns the bound address.
pub(crate) async fn start(
    addr: SocketAddr,
    metrics: Arc<Metrics>,
    open_connections: OpenConnections,
    cancel: CancellationToken,
    tracker: &TaskTracker,
) -> std::io::Result<SocketAddr> {
    let listener = TcpListener::bind(addr).await?;
    let local = listener.local_addr()?;
    let router = axum::Router::new().route(
        "/metrics",
        get(move || {
            let body = metrics.render(open_connections());
            async move { ([(header::CONTENT_TYPE, prometheus::TEXT_FORMAT)], body) }
        }),
    );
    let router =
        router.fallback(|| async { (StatusCode::NOT_FOUND, "only /metrics is served here\n").into_response() });
    tracing::info!(%local, "metrics listening on http://{local}/metrics");
    tracker.spawn(async move {
        let served = axum::serve(listener, router)
            .with_graceful_shutdown(async move { cancel.cancelled().await })
            .await;
        if let Err(e) = served {
            tracing::warn!(error = %e, "metrics listener stopped");
        }
    });
    Ok(local)
}
