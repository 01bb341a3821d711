//! The node's Prometheus series (one [`prometheus::Registry`] per server, no global recorder, so
//! tests run many servers in one process). Updating them is a few atomic operations, so they are
//! always kept; only serving them is opt-in (`--metrics-listen`, see `metrics_listener.rs`).

use natter_protocol::{KickType, Platform};
use prometheus::{Histogram, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, IntGaugeVec, Opts};
use std::time::Duration;

/// Heartbeat round trips: loopback (~100 µs) to a mobile link on its last legs (10 s).
const RTT_BUCKETS: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];
/// Session-directory operations: in-memory map (~µs) to a Redis round trip under load.
const DIRECTORY_BUCKETS: &[f64] = &[
    0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0,
];

/// Why a TCP connection was refused before any HTTP parsing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnectionRefusal {
    /// `max_connections_per_source` reached (HTTP 429).
    Source,
    /// `max_connections` reached (HTTP 503).
    Global,
}

impl ConnectionRefusal {
    fn label(self) -> &'static str {
        match self {
            ConnectionRefusal::Source => "source",
            ConnectionRefusal::Global => "global",
        }
    }
}

/// The session-directory calls timed into `natter_directory_op_seconds{op}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DirectoryOp {
    Admit,
    Remove,
    KickSelf,
    KickUser,
    KickInstance,
    Instances,
    RememberedKicks,
}

impl DirectoryOp {
    const ALL: [DirectoryOp; 7] = [
        DirectoryOp::Admit,
        DirectoryOp::Remove,
        DirectoryOp::KickSelf,
        DirectoryOp::KickUser,
        DirectoryOp::KickInstance,
        DirectoryOp::Instances,
        DirectoryOp::RememberedKicks,
    ];

    fn label(self) -> &'static str {
        match self {
            DirectoryOp::Admit => "admit",
            DirectoryOp::Remove => "remove",
            DirectoryOp::KickSelf => "kick_self",
            DirectoryOp::KickUser => "kick_user",
            DirectoryOp::KickInstance => "kick_instance",
            DirectoryOp::Instances => "instances",
            DirectoryOp::RememberedKicks => "remembered_kicks",
        }
    }
}

/// Where `value` sits in `all` (an enum's `ALL`, which lists every value): the index of its
/// label child in the vectors below.
fn index_in<T: PartialEq>(all: &[T], value: &T) -> usize {
    all.iter()
        .position(|x| x == value)
        .unwrap_or_else(|| unreachable!("ALL lists every value"))
}

/// Every series one node exports.
#[derive(Debug)]
pub struct Metrics {
    registry: prometheus::Registry,
    logins_refused: IntCounterVec,
    kicks: IntCounterVec,
    connections_open: IntGauge,
    connections_accepted: IntCounter,
    connections_refused: IntCounterVec,
    heartbeat_rtt: Histogram,
    // The children of the bounded label sets resolved once: `with_label_values` hashes the
    // labels and takes a lock, several times per login otherwise.
    /// By `Platform::ALL` position.
    sessions_by_platform: Vec<IntGauge>,
    /// By `Platform::ALL` position.
    logins_ok_by_platform: Vec<IntCounter>,
    /// By `DirectoryOp::ALL` position.
    directory_op_latency: Vec<Histogram>,
}

/// `prometheus` only fails on a bad name or a duplicate registration, both fixed in this file.
fn fixed<T>(r: prometheus::Result<T>) -> T {
    r.unwrap_or_else(|e| unreachable!("metric definitions are static and valid: {e}"))
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Metrics {
        let registry = prometheus::Registry::new();
        let sessions = fixed(IntGaugeVec::new(
            Opts::new("natter_sessions", "Logged-in sessions on this node, by platform"),
            &["platform"],
        ));
        let logins_ok = fixed(IntCounterVec::new(
            Opts::new("natter_logins_ok_total", "Logins accepted, by platform"),
            &["platform"],
        ));
        let logins_refused = fixed(IntCounterVec::new(
            Opts::new(
                "natter_logins_refused_total",
                "Logins refused with an error frame, by its code (70001, 60003, ...)",
            ),
            &["code"],
        ));
        let kicks = fixed(IntCounterVec::new(
            Opts::new(
                "natter_kicks_total",
                "Sessions on this node ended by a kick frame, by kick type",
            ),
            &["type"],
        ));
        let connections_open = fixed(IntGauge::new(
            "natter_connections_open",
            "TCP connections holding a slot now (WebSocket, REST, not yet identified)",
        ));
        let connections_accepted = fixed(IntCounter::new(
            "natter_connections_accepted_total",
            "TCP connections accepted into a slot",
        ));
        let connections_refused = fixed(IntCounterVec::new(
            Opts::new(
                "natter_connections_refused_total",
                "TCP connections refused before HTTP: source = per-source cap (429), global = max_connections (503)",
            ),
            &["reason"],
        ));
        let heartbeat_rtt = fixed(Histogram::with_opts(
            HistogramOpts::new(
                "natter_heartbeat_rtt_seconds",
                "Server-measured round trip: a WebSocket ping sent with the pong of a client heartbeat, to its pong",
            )
            .buckets(RTT_BUCKETS.to_vec()),
        ));
        let directory_latency = fixed(HistogramVec::new(
            HistogramOpts::new(
                "natter_directory_op_seconds",
                "Session-directory call latency, by operation",
            )
            .buckets(DIRECTORY_BUCKETS.to_vec()),
            &["op"],
        ));
        // Every bounded label value exists from the start, so a scrape sees 0 rather than nothing.
        let sessions_by_platform = Platform::ALL
            .iter()
            .map(|p| sessions.with_label_values(&[p.as_str()]))
            .collect();
        let logins_ok_by_platform = Platform::ALL
            .iter()
            .map(|p| logins_ok.with_label_values(&[p.as_str()]))
            .collect();
        let directory_op_latency = DirectoryOp::ALL
            .iter()
            .map(|op| directory_latency.with_label_values(&[op.label()]))
            .collect();
        for k in KickType::ALL {
            kicks.with_label_values(&[k.as_str()]);
        }
        for r in [ConnectionRefusal::Source, ConnectionRefusal::Global] {
            connections_refused.with_label_values(&[r.label()]);
        }
        for c in [
            Box::new(sessions.clone()) as Box<dyn prometheus::core::Collector>,
            Box::new(logins_ok.clone()),
            Box::new(logins_refused.clone()),
            Box::new(kicks.clone()),
            Box::new(connections_open.clone()),
            Box::new(connections_accepted.clone()),
            Box::new(connections_refused.clone()),
            Box::new(heartbeat_rtt.clone()),
            Box::new(directory_latency.clone()),
        ] {
            fixed(registry.register(c));
        }
        Metrics {
            registry,
            logins_refused,
            kicks,
            connections_open,
            connections_accepted,
            connections_refused,
            heartbeat_rtt,
            sessions_by_platform,
            logins_ok_by_platform,
            directory_op_latency,
        }
    }

    /// A login was accepted; the returned guard counts the session until it is dropped.
    pub fn login_ok(&self, platform: Platform) -> SessionGauge {
        let i = index_in(Platform::ALL, &platform);
        self.logins_ok_by_platform[i].inc();
        let gauge = self.sessions_by_platform[i].clone();
        gauge.inc();
        SessionGauge { gauge }
    }

    /// A login was refused with an `error` frame carrying `code`.
    pub fn login_refused(&self, code: i32) {
        self.logins_refused
            .with_label_values(&[code.to_string().as_str()])
            .inc();
    }

    /// A session of this node got a `kicked` frame.
    pub fn kicked(&self, kick: KickType) {
        self.kicks.with_label_values(&[kick.as_str()]).inc();
    }

    pub fn connection_accepted(&self) {
        self.connections_accepted.inc();
    }

    pub fn connection_refused(&self, why: ConnectionRefusal) {
        self.connections_refused.with_label_values(&[why.label()]).inc();
    }

    pub fn heartbeat_rtt(&self, rtt: Duration) {
        self.heartbeat_rtt.observe(rtt.as_secs_f64());
    }

    /// One session-directory call `op` took `took`.
    pub fn directory_op(&self, op: DirectoryOp, took: Duration) {
        self.directory_op_latency[index_in(&DirectoryOp::ALL, &op)].observe(took.as_secs_f64());
    }

    /// The text exposition (`text/plain; version=0.0.4`), with `open_connections` read at scrape
    /// time from the connection slots (the one source of truth for that number).
    pub fn render(&self, open_connections: u32) -> String {
        self.connections_open.set(i64::from(open_connections));
        prometheus::TextEncoder::new()
            .encode_to_string(&self.registry.gather())
            .unwrap_or_else(|e| format!("# encoding failed: {e}\n"))
    }
}

/// Counts one logged-in session in `natter_sessions{platform}` while it lives.
#[derive(Debug)]
pub struct SessionGauge {
    gauge: IntGauge,
}

impl Drop for SessionGauge {
    fn drop(&mut self) {
        self.gauge.dec();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn value(text: &str, series: &str) -> Option<f64> {
        text.lines()
            .find_map(|l| l.strip_prefix(series).and_then(|rest| rest.trim().parse().ok()))
    }

    #[test]
    fn every_series_is_exported_and_moves() {
        let m = Metrics::new();
        let text = m.render(0);
        assert_eq!(value(&text, "natter_sessions{platform=\"web\"}"), Some(0.0));
        assert_eq!(value(&text, "natter_kicks_total{type=\"REST_API_Kick\"}"), Some(0.0));
        let guard = m.login_ok(Platform::Android);
        m.login_refused(70001);
        m.kicked(KickType::MultipleDevice);
        m.connection_accepted();
        m.connection_refused(ConnectionRefusal::Global);
        m.heartbeat_rtt(Duration::from_millis(3));
        m.directory_op(DirectoryOp::Admit, Duration::from_micros(20));
        let text = m.render(7);
        for (series, v) in [
            ("natter_sessions{platform=\"android\"}", 1.0),
            ("natter_logins_ok_total{platform=\"android\"}", 1.0),
            ("natter_logins_refused_total{code=\"70001\"}", 1.0),
            ("natter_kicks_total{type=\"multipleDevice\"}", 1.0),
            ("natter_connections_open", 7.0),
            ("natter_connections_accepted_total", 1.0),
            ("natter_connections_refused_total{reason=\"global\"}", 1.0),
            ("natter_heartbeat_rtt_seconds_count", 1.0),
            ("natter_heartbeat_rtt_seconds_bucket{le=\"0.005\"}", 1.0),
            ("natter_heartbeat_rtt_seconds_bucket{le=\"0.0025\"}", 0.0),
            ("natter_directory_op_seconds_count{op=\"admit\"}", 1.0),
        ] {
            assert_eq!(value(&text, series), Some(v), "{series} in\n{text}");
        }
        drop(guard);
        assert_eq!(value(&m.render(0), "natter_sessions{platform=\"android\"}"), Some(0.0));
    }
}
