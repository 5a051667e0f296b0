use std::sync::Arc;

use app::Services;

/// What every handler sees.
#[derive(Debug)]
pub(crate) struct AppState<S> {
    pub(crate) services: Arc<Services<S>>,
    pub(crate) url: PublicUrl,
    pub(crate) body_limit: usize,
    pub(crate) trusted_proxies: Vec<ipnet::IpNet>,
    /// Whether the warning about `X-Forwarded-For` from an untrusted
    /// loopback peer was logged (once a process).
    pub(crate) forwarded_warned: std::sync::atomic::AtomicBool,
    /// Turns for the lists written whole (see `api::stream`).
    pub(crate) lists: crate::stream::ListGate,
}

impl<S> AppState<S> {
    /// The client's address as throttling sees it (see `client_ip`).
    pub(crate) fn client(
        &self,
        headers: &axum::http::HeaderMap,
        peer: Option<std::net::SocketAddr>,
    ) -> Option<std::net::IpAddr> {
        let peer = peer?.ip();
        let forwarded: Vec<&str> = headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .collect();
        if !forwarded.is_empty() {
            self.warn_untrusted_local_proxy(peer);
        }
        Some(crate::client_ip::client_address(
            peer,
            &forwarded,
            &self.trusted_proxies,
        ))
    }
}

impl<S> AppState<S> {
    /// A reverse proxy on this host that is not in `trusted_proxies` makes
    /// every client 127.0.0.1, so per-address limits become site-wide ones:
    /// said once, when a request from loopback carries `X-Forwarded-For`.
    fn warn_untrusted_local_proxy(&self, peer: std::net::IpAddr) {
        let peer = peer.to_canonical();
        if !peer.is_loopback() || self.trusted_proxies.iter().any(|n| n.contains(&peer)) {
            return;
        }
        if !self
            .forwarded_warned
            .swap(true, std::sync::atomic::Ordering::Relaxed)
        {
            tracing::warn!(
                peer = %peer,
                "requests from {peer} carry X-Forwarded-For, but {peer} is not in trusted_proxies: \
                 every client behind that proxy counts as one address for throttling \
                 (set trusted_proxies / LS_TRUSTED_PROXIES to the proxy's address)"
            );
        }
    }
}

pub(crate) type Shared<S> = Arc<AppState<S>>;

/// The public URL, taken apart once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PublicUrl {
    /// Without a trailing slash, path prefix included.
    pub(crate) base: String,
    /// `scheme://host[:port]`, lower-cased, for the same-origin check.
    pub(crate) origin: String,
    /// "" or "/prefix".
    pub(crate) prefix: String,
    pub(crate) https: bool,
}

impl PublicUrl {
    pub(crate) fn parse(url: &str) -> Self {
        let base = url.trim_end_matches('/').to_owned();
        let (scheme, rest) = base.split_once("://").unwrap_or(("http", base.as_str()));
        let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
        Self {
            origin: format!(
                "{}://{}",
                scheme.to_ascii_lowercase(),
                authority.to_ascii_lowercase()
            ),
            prefix: path.to_owned(),
            https: scheme.eq_ignore_ascii_case("https"),
            base,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origin_and_prefix() {
        let u = PublicUrl::parse("https://Labels.Example.com/ls/");
        assert_eq!(u.origin, "https://labels.example.com");
        assert_eq!(u.prefix, "/ls");
        assert!(u.https);
        assert_eq!(u.base, "https://Labels.Example.com/ls");
        let u = PublicUrl::parse("http://127.0.0.1:8080");
        assert_eq!(
            (u.origin.as_str(), u.prefix.as_str(), u.https),
            ("http://127.0.0.1:8080", "", false)
        );
    }
}
