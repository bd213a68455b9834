//! The address of the person behind a request, for rate limits and captcha checks.
//!
//! `X-Forwarded-For` is written by whoever sent the request, so it is believed only as far as
//! our own proxies vouch for it: starting from the TCP peer, each trusted hop tells us who
//! connected to it (the entry to its left), and the first address that is not one of our
//! proxies is the client. Anything left of that is the client's own claim and is ignored.

use std::net::{IpAddr, SocketAddr};

use actix_web::HttpRequest;
use ipnet::IpNet;

/// The client's address given the TCP peer, the request's `X-Forwarded-For` (all its values
/// joined by commas) and the proxies we run. `None` only when there is no peer address
/// (in `actix_web::test` requests).
///
/// A garbage entry stops the walk: the last hop we could read is the answer, because whatever
/// is left of garbage cannot be attributed to anyone.
pub fn client_ip(
    peer: Option<IpAddr>,
    x_forwarded_for: Option<&str>,
    trusted: &[IpNet],
) -> Option<IpAddr> {
    let peer = peer?.to_canonical();
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|net| net.contains(ip));
    let Some(forwarded) = x_forwarded_for.filter(|_| is_trusted(&peer)) else {
        return Some(peer);
    };
    let mut last_good = peer;
    for entry in forwarded.rsplit(',') {
        let Some(hop) = parse_hop(entry) else {
            break;
        };
        if !is_trusted(&hop) {
            return Some(hop);
        }
        last_good = hop;
    }
    Some(last_good)
}

/// [`client_ip`] for an actix request. Several `X-Forwarded-For` headers count as one list in
/// order; a header that is not visible ASCII is garbage and stops the walk.
pub fn client_ip_of(req: &HttpRequest, trusted: &[IpNet]) -> Option<IpAddr> {
    let mut forwarded = String::new();
    for value in req.headers().get_all("x-forwarded-for") {
        if !forwarded.is_empty() {
            forwarded.push(',');
        }
        // A non-ASCII value still takes its place in the list, as one unreadable hop.
        forwarded.push_str(value.to_str().unwrap_or("?"));
    }
    let forwarded = (!forwarded.is_empty()).then_some(forwarded.as_str());
    client_ip(req.peer_addr().map(|addr| addr.ip()), forwarded, trusted)
}

/// One `X-Forwarded-For` entry: an address, optionally with a port (`1.2.3.4:80`, `[::1]:80`),
/// as some proxies write it.
fn parse_hop(entry: &str) -> Option<IpAddr> {
    let entry = entry.trim();
    entry
        .parse::<IpAddr>()
        .or_else(|_| entry.parse::<SocketAddr>().map(|addr| addr.ip()))
        .ok()
        .map(|ip| ip.to_canonical())
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;

    fn nets(list: &[&str]) -> Vec<IpNet> {
        list.iter().map(|net| net.parse().unwrap()).collect()
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    const CLIENT: &str = "203.0.113.7";

    #[test]
    fn without_a_peer_there_is_no_address() {
        assert_eq!(client_ip(None, Some(CLIENT), &nets(&["0.0.0.0/0"])), None);
    }

    #[test]
    fn forwarded_for_from_an_untrusted_peer_is_ignored() {
        let peer = Some(ip("198.51.100.1"));
        let trusted = nets(&["10.0.0.0/8"]);
        assert_eq!(
            client_ip(peer, Some(CLIENT), &trusted),
            Some(ip("198.51.100.1"))
        );
        assert_eq!(client_ip(peer, Some(CLIENT), &[]), Some(ip("198.51.100.1")));
    }

    #[test]
    fn trusted_peer_without_forwarded_for_is_the_client() {
        let peer = Some(ip("10.0.0.1"));
        assert_eq!(
            client_ip(peer, None, &nets(&["10.0.0.0/8"])),
            Some(ip("10.0.0.1"))
        );
    }

    #[test]
    fn trusted_hops_are_walked_right_to_left() {
        let trusted = nets(&["10.0.0.0/8", "192.0.2.0/24"]);
        let forwarded = format!("1.1.1.1, {CLIENT}, 192.0.2.9, 10.1.2.3");
        assert_eq!(
            client_ip(Some(ip("10.0.0.1")), Some(&forwarded), &trusted),
            Some(ip(CLIENT)),
            "the spoofed 1.1.1.1 left of the client is not believed"
        );
    }

    #[test]
    fn all_trusted_hops_give_the_leftmost() {
        let trusted = nets(&["10.0.0.0/8"]);
        assert_eq!(
            client_ip(Some(ip("10.0.0.1")), Some("10.0.0.3, 10.0.0.2"), &trusted),
            Some(ip("10.0.0.3"))
        );
    }

    #[test]
    fn garbage_stops_the_walk_at_the_last_good_hop() {
        let trusted = nets(&["10.0.0.0/8"]);
        let peer = Some(ip("10.0.0.1"));
        assert_eq!(
            client_ip(peer, Some("1.1.1.1, not-an-ip, 10.0.0.2"), &trusted),
            Some(ip("10.0.0.2"))
        );
        assert_eq!(
            client_ip(peer, Some("1.1.1.1, unknown"), &trusted),
            Some(ip("10.0.0.1"))
        );
        assert_eq!(client_ip(peer, Some(""), &trusted), Some(ip("10.0.0.1")));
    }

    #[test]
    fn entries_with_ports_and_ipv6_are_read() {
        let trusted = nets(&["10.0.0.0/8", "fd00::/8"]);
        let peer = Some(ip("fd00::1"));
        assert_eq!(
            client_ip(peer, Some("[2001:db8::5]:4711, 10.0.0.2:80"), &trusted),
            Some(ip("2001:db8::5"))
        );
    }

    #[test]
    fn ipv4_mapped_ipv6_peers_match_ipv4_proxies() {
        let trusted = nets(&["10.0.0.0/8"]);
        assert_eq!(
            client_ip(Some(ip("::ffff:10.0.0.1")), Some(CLIENT), &trusted),
            Some(ip(CLIENT))
        );
    }

    #[test]
    fn actix_requests_use_the_peer_and_every_forwarded_header() {
        let trusted = nets(&["10.0.0.0/8"]);
        let req = TestRequest::default()
            .peer_addr("10.0.0.1:5555".parse().unwrap())
            .append_header(("X-Forwarded-For", "1.1.1.1, 203.0.113.7"))
            .append_header(("X-Forwarded-For", "10.0.0.2"))
            .to_http_request();
        assert_eq!(client_ip_of(&req, &trusted), Some(ip(CLIENT)));
    }

    #[test]
    fn actix_test_requests_have_no_address() {
        let req = TestRequest::default().to_http_request();
        assert_eq!(client_ip_of(&req, &[]), None);
    }
}
