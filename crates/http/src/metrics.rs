//! Prometheus metrics: the recorder (installed once a process), the
//! request samples, and `/metrics` on the public listener (behind a
//! bearer token) or on a listener of its own.

use std::sync::Arc;
use std::time::Duration;

use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use subtle::ConstantTimeEq as _;

use crate::ApiError;

/// Buckets for latencies, in seconds: 0.5 ms to 10 s.
const LATENCY_BUCKETS: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

type Sampler = Box<dyn Fn() + Send + Sync>;

/// What `/metrics` renders, and who may read it.
#[derive(Clone)]
pub struct Metrics {
    handle: PrometheusHandle,
    /// Called before each rendering: sets the gauges read from elsewhere
    /// (the database pool, the hashing queue).
    sample: Arc<std::sync::OnceLock<Sampler>>,
    token: Option<app::SecretString>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics")
            .field("token", &self.token)
            .finish_non_exhaustive()
    }
}

/// The recorder could not be installed (another one is).
#[derive(Debug, thiserror::Error)]
#[error("cannot install the metrics recorder: {0}")]
pub struct MetricsError(String);

impl Metrics {
    /// Installs the process's recorder; from then on every metric is kept.
    /// `token`: the bearer token `/metrics` asks for.
    pub fn install(token: Option<app::SecretString>) -> Result<Self, MetricsError> {
        let handle = PrometheusBuilder::new()
            .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), LATENCY_BUCKETS)
            .map_err(|e| MetricsError(e.to_string()))?
            .install_recorder()
            .map_err(|e| MetricsError(e.to_string()))?;
        describe();
        let upkeep = handle.clone();
        // Histograms' samples folded into their buckets between scrapes,
        // so that memory stays flat when no one scrapes.
        std::thread::Builder::new()
            .name("ls-metrics".into())
            .spawn(move || {
                loop {
                    std::thread::sleep(Duration::from_secs(5));
                    upkeep.run_upkeep();
                }
            })
            .map_err(|e| MetricsError(e.to_string()))?;
        Ok(Self {
            handle,
            sample: Arc::default(),
            token,
        })
    }

    /// `sample` runs before each rendering, in every clone (the first one
    /// set stays).
    pub fn set_sampler(&self, sample: impl Fn() + Send + Sync + 'static) {
        let _ = self.sample.set(Box::new(sample));
    }

    /// Whether the public listener serves `/metrics` (only with a token).
    pub(crate) fn on_public_listener(&self) -> bool {
        self.token.is_some()
    }

    /// The text format, after the sampler.
    pub fn render(&self) -> String {
        if let Some(sample) = self.sample.get() {
            sample();
        }
        self.handle.render()
    }

    /// `GET /metrics`: with a token configured, `Authorization: Bearer
    /// <token>` is required (compared in constant time); 401 otherwise.
    pub(crate) fn answer(&self, headers: &HeaderMap) -> Response {
        if let Some(token) = &self.token {
            let presented = headers
                .get(header::AUTHORIZATION)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| {
                    let (scheme, rest) = v.split_once(' ')?;
                    scheme.eq_ignore_ascii_case("bearer").then_some(rest.trim())
                })
                .unwrap_or("");
            let ok: bool = presented.as_bytes().ct_eq(token.expose().as_bytes()).into();
            if !ok {
                let mut resp = ApiError::NotAuthenticated.into_response();
                resp.headers_mut()
                    .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
                return resp;
            }
        }
        (
            StatusCode::OK,
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
            )],
            self.render(),
        )
            .into_response()
    }
}

fn describe() {
    use metrics::{Unit, describe_counter, describe_gauge, describe_histogram};
    describe_counter!(
        "http_requests_total",
        "HTTP requests answered, by route template, method and status"
    );
    describe_histogram!(
        "http_request_duration_seconds",
        Unit::Seconds,
        "Time to the response head, by route template and method"
    );
    describe_counter!(
        "ls_logins_total",
        "Password logins by result: ok, failed, throttled, error"
    );
    describe_counter!(
        "ls_signups_total",
        "Accounts created, by channel: open, invite, administrator, first_run"
    );
    describe_gauge!(
        "ls_hash_queue_depth",
        "Password hashes waiting for a thread"
    );
    describe_histogram!(
        "ls_hash_wait_seconds",
        Unit::Seconds,
        "Time a password hash waited for a thread"
    );
    describe_gauge!(
        "ls_db_pool_connections",
        "Database connections open in the pool"
    );
    describe_gauge!("ls_db_pool_idle", "Database connections idle in the pool");
    describe_histogram!(
        "ls_sqlite_writer_wait_seconds",
        Unit::Seconds,
        "Time a write waited for this process's writer slot (SQLite)"
    );
    describe_histogram!(
        "ls_sqlite_begin_seconds",
        Unit::Seconds,
        "Time BEGIN IMMEDIATE took (SQLite; waits on other processes' writes)"
    );
    describe_counter!(
        "ls_sqlite_busy_waits_total",
        "Writes whose BEGIN IMMEDIATE waited on another process's write (SQLite)"
    );
}

/// One answered request.
pub(crate) fn record_request(method: &'static str, route: String, status: u16, elapsed: Duration) {
    metrics::counter!(
        "http_requests_total",
        "route" => route.clone(),
        "method" => method,
        "status" => status.to_string()
    )
    .increment(1);
    metrics::histogram!(
        "http_request_duration_seconds",
        "route" => route,
        "method" => method
    )
    .record(elapsed.as_secs_f64());
}

/// Serves `/metrics` (and nothing else) on `listener` until `stop`.
pub async fn serve_metrics(
    listener: tokio::net::TcpListener,
    metrics: Metrics,
    stop: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let router = axum::Router::new()
        .route(
            "/metrics",
            axum::routing::get(move |headers: HeaderMap| {
                let m = metrics.clone();
                async move { m.answer(&headers) }
            }),
        )
        .fallback(|| async { ApiError::NotFound });
    axum::serve(listener, router)
        .with_graceful_shutdown(stop)
        .await
}
