//! The client's address, for throttling: the TCP peer, unless the peer is
//! a configured trusted proxy, in which case the rightmost address in
//! `X-Forwarded-For` that is not itself a trusted proxy. A client can write
//! anything at the left of that header; only what our own proxies appended
//! at its right is believed.

use std::net::IpAddr;

use ipnet::IpNet;

/// Parses `10.0.0.0/8`, `2001:db8::/32`, or a bare address (one host).
pub fn parse_trusted(raw: &str) -> Result<IpNet, String> {
    let raw = raw.trim();
    if let Ok(net) = raw.parse::<IpNet>() {
        return Ok(net.trunc());
    }
    raw.parse::<IpAddr>()
        .map(IpNet::from)
        .map_err(|_| format!("{raw:?} is not an IP address or CIDR network"))
}

fn trusted(ip: IpAddr, proxies: &[IpNet]) -> bool {
    let ip = canonical(ip);
    proxies.iter().any(|n| n.contains(&ip))
}

/// IPv4-mapped IPv6 (`::ffff:1.2.3.4`) is the IPv4 address.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

/// One `X-Forwarded-For` element: an address, maybe `[v6]`, maybe with a port.
fn element(raw: &str) -> Option<IpAddr> {
    let s = raw.trim();
    if let Ok(ip) = s.parse::<IpAddr>() {
        return Some(canonical(ip));
    }
    if let Some(rest) = s.strip_prefix('[') {
        let (v6, _) = rest.split_once(']')?;
        return v6.parse::<IpAddr>().ok().map(canonical);
    }
    let (host, port) = s.rsplit_once(':')?;
    port.parse::<u16>().ok()?;
    host.parse::<std::net::Ipv4Addr>().ok().map(IpAddr::V4)
}

/// The address throttling counts against. `forwarded` holds every
/// `X-Forwarded-For` header value, in order.
pub(crate) fn client_address(peer: IpAddr, forwarded: &[&str], proxies: &[IpNet]) -> IpAddr {
    let peer = canonical(peer);
    if !trusted(peer, proxies) {
        return peer;
    }
    let mut hop = peer;
    let elements = forwarded.iter().flat_map(|v| v.split(','));
    for raw in elements.collect::<Vec<_>>().into_iter().rev() {
        match element(raw) {
            // Garbage where our proxy should have written: stop at the last
            // hop we trust rather than believe anything further left.
            None => return hop,
            Some(ip) if trusted(ip, proxies) => hop = ip,
            Some(ip) => return ip,
        }
    }
    hop
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn nets(list: &[&str]) -> Vec<IpNet> {
        list.iter().map(|s| parse_trusted(s).unwrap()).collect()
    }

    #[test]
    fn untrusted_peers_are_taken_as_they_are() {
        let none = nets(&[]);
        assert_eq!(
            client_address(ip("203.0.113.9"), &["1.2.3.4"], &none),
            ip("203.0.113.9")
        );
        let lo = nets(&["127.0.0.1"]);
        assert_eq!(
            client_address(ip("203.0.113.9"), &["1.2.3.4"], &lo),
            ip("203.0.113.9")
        );
    }

    #[test]
    fn trusted_proxies_give_the_rightmost_untrusted_hop() {
        let p = nets(&["127.0.0.1", "10.0.0.0/8"]);
        let lo = ip("127.0.0.1");
        assert_eq!(
            client_address(lo, &["198.51.100.7"], &p),
            ip("198.51.100.7")
        );
        // A client-written prefix is ignored.
        assert_eq!(
            client_address(lo, &["6.6.6.6, 198.51.100.7, 10.1.2.3"], &p),
            ip("198.51.100.7")
        );
        assert_eq!(
            client_address(lo, &["6.6.6.6", "198.51.100.7:4711"], &p),
            ip("198.51.100.7")
        );
        assert_eq!(
            client_address(lo, &["[2001:db8::1]:80"], &p),
            ip("2001:db8::1")
        );
        // No header, or only proxies: the last trusted hop.
        assert_eq!(client_address(lo, &[], &p), lo);
        assert_eq!(client_address(lo, &["10.0.0.1"], &p), ip("10.0.0.1"));
        // Garbage at the right: nothing further left is believed.
        assert_eq!(client_address(lo, &["6.6.6.6, garbage"], &p), lo);
        // IPv4-mapped peers are their IPv4 address.
        assert_eq!(
            client_address(ip("::ffff:127.0.0.1"), &["198.51.100.7"], &p),
            ip("198.51.100.7")
        );
    }

    #[test]
    fn trusted_list_parsing() {
        assert!(parse_trusted("10.0.0.0/8").is_ok());
        assert!(parse_trusted(" ::1 ").is_ok());
        assert!(parse_trusted("10.0.0.0/33").is_err());
        assert!(parse_trusted("localhost").is_err());
    }

    proptest! {
        /// Whatever a client writes, from an untrusted peer it is the peer;
        /// from a trusted one it is never one of our proxies unless only
        /// proxies are in the header.
        #[test]
        fn the_client_cannot_choose_a_trusted_address(xff in "\\PC{0,80}", peer in any::<[u8; 4]>()) {
            let p = nets(&["127.0.0.0/8"]);
            let peer = IpAddr::from(peer);
            let got = client_address(peer, &[xff.as_str()], &p);
            if !trusted(peer, &p) {
                prop_assert_eq!(got, peer);
            }
        }
    }
}
