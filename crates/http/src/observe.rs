//! Every request observed: a request id (taken from a trusted proxy's
//! `X-Request-Id`, generated otherwise, echoed in the response), and one
//! access-log line and one metrics sample with the route template (never
//! the path or query, which may carry an invite or reset token), method,
//! status and latency.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use axum::extract::{ConnectInfo, MatchedPath, Request};
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::Response;
use tracing::Instrument as _;

/// The header a request id travels in, both ways.
pub(crate) const REQUEST_ID: &str = "x-request-id";

/// The route a response answered, put on it by [`record_route`].
#[derive(Debug, Clone)]
pub(crate) struct RouteTemplate(pub(crate) String);

/// Inside the router, on matched routes only: the route's template
/// (`/api/users/{id}`), without the trailing slash its twin route has.
pub(crate) async fn record_route(req: Request, next: Next) -> Response {
    let route = req.extensions().get::<MatchedPath>().map(|m| {
        let t = m.as_str();
        let t = t.strip_suffix('/').filter(|t| !t.is_empty()).unwrap_or(t);
        t.to_owned()
    });
    let mut resp = next.run(req).await;
    if let Some(r) = route {
        resp.extensions_mut().insert(RouteTemplate(r));
    }
    resp
}

/// The method as a label: the standard ones, and `other` for the rest (a
/// client could otherwise make a new series with every made-up method).
fn known_method(m: &axum::http::Method) -> &'static str {
    use axum::http::Method;
    match *m {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PATCH => "PATCH",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        Method::TRACE => "TRACE",
        Method::CONNECT => "CONNECT",
        _ => "other",
    }
}

/// A request id a proxy may hand us: 1 to 128 visible ASCII characters
/// with no quote or backslash (it goes into log lines as is).
fn sane(id: &str) -> bool {
    (1..=128).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_graphic() && b != b'"' && b != b'\\')
}

/// 128 random bits as 32 hex characters.
fn generated() -> String {
    let mut bytes = [0u8; 16];
    if getrandom::fill(&mut bytes).is_err() {
        // Not a secret: a clock-derived id is still an id.
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        bytes = nanos.to_le_bytes();
    }
    hex::encode(bytes)
}

/// The outermost layer: everything below runs in the request's span.
pub(crate) async fn observe(req: Request, next: Next, trusted: Arc<[ipnet::IpNet]>) -> Response {
    let started = Instant::now();
    let peer = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip().to_canonical());
    let from_proxy = peer.is_some_and(|p| trusted.iter().any(|n| n.contains(&p)));
    let id = req
        .headers()
        .get(REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|v| from_proxy && sane(v))
        .map_or_else(generated, str::to_owned);
    let method = known_method(req.method());
    // At error level, so that a filter by level (`warn`, say) keeps it:
    // every line logged while serving the request carries its id.
    let span = tracing::error_span!("request", request_id = %id);
    let mut resp = next.run(req).instrument(span.clone()).await;
    let elapsed = started.elapsed();
    let route = resp
        .extensions_mut()
        .remove::<RouteTemplate>()
        .map_or_else(|| "unmatched".to_owned(), |r| r.0);
    let status = resp.status().as_u16();
    span.in_scope(|| {
        tracing::info!(
            target: "ls_http::access",
            method = %method,
            route = %route,
            status,
            latency_ms = elapsed.as_secs_f64() * 1000.0,
            "request"
        );
    });
    crate::metrics::record_request(method, route, status, elapsed);
    if let Ok(v) = HeaderValue::from_str(&id) {
        resp.headers_mut().insert(REQUEST_ID, v);
    }
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_sane_ids_are_taken() {
        assert!(sane("req-1234_abc.def:9"));
        assert!(!sane(""));
        assert!(!sane("has space"));
        assert!(!sane("quote\"d"));
        assert!(!sane("line\nbreak"));
        assert!(!sane(&"x".repeat(129)));
        assert_eq!(generated().len(), 32);
        assert_ne!(generated(), generated());
    }
}
