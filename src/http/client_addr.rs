//! The client's address: the peer of the connection, or, behind proxies the operator trusts
//! (`HUNDI_TRUSTED_PROXIES`), the address they report in `X-Forwarded-For`. A header from
//! anyone else is ignored: a client could write any address there.

use axum::extract::{ConnectInfo, FromRef, FromRequestParts};
use axum::http::request::Parts;
use axum::http::HeaderMap;
use ipnet::IpNet;
use std::convert::Infallible;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

/// The proxies whose `X-Forwarded-For` is believed (addresses or CIDR ranges).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TrustedProxies(Vec<IpNet>);

impl TrustedProxies {
    /// A list separated by commas or spaces: `10.0.0.5, 10.1.0.0/16, ::1`.
    pub fn parse(list: &str) -> Result<TrustedProxies, String> {
        list.split([',', ' '])
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| {
                s.parse::<IpNet>()
                    .or_else(|_| s.parse::<IpAddr>().map(IpNet::from))
                    .map_err(|_| format!("{s} is not an IP address or CIDR range"))
            })
            .collect::<Result<Vec<_>, _>>()
            .map(TrustedProxies)
    }

    fn trusts(&self, ip: IpAddr) -> bool {
        self.0.iter().any(|net| net.contains(&ip))
    }

    /// The client behind `peer`: walking `X-Forwarded-For` from the right (each trusted
    /// proxy appends whom it heard from) while the hop is trusted; the first untrusted
    /// hop is the client. A malformed entry ends the walk at the last hop known.
    pub fn client(&self, peer: Option<IpAddr>, headers: &HeaderMap) -> Option<IpAddr> {
        let mut client = peer.map(|ip| ip.to_canonical())?;
        if !self.trusts(client) {
            return Some(client);
        }
        let hops: Vec<&str> = headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .collect();
        for hop in hops.iter().rev() {
            let hop = hop.trim();
            let Some(ip) = hop
                .parse::<IpAddr>()
                .ok()
                .or_else(|| hop.parse::<SocketAddr>().ok().map(|a| a.ip()))
            else {
                break;
            };
            client = ip.to_canonical();
            if !self.trusts(client) {
                break;
            }
        }
        Some(client)
    }
}

/// The client's address as [`TrustedProxies`] decides; `None` when the server was not given
/// the connection's peer (a router driven without a socket).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ClientAddr(pub Option<IpAddr>);

impl ClientAddr {
    /// What a per-address limit counts under: the IPv4 address, or the IPv6 /64 (one
    /// subscriber commonly holds a whole /64).
    pub fn throttle_key(&self) -> String {
        match self.0 {
            Some(IpAddr::V4(ip)) => ip.to_string(),
            Some(IpAddr::V6(ip)) => {
                let s = ip.segments();
                format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
            }
            None => "unknown".to_string(),
        }
    }
}

impl<S> FromRequestParts<S> for ClientAddr
where
    Arc<TrustedProxies>: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<ClientAddr, Infallible> {
        let proxies = Arc::<TrustedProxies>::from_ref(state);
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0.ip());
        Ok(ClientAddr(proxies.client(peer, &parts.headers)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn forwarded(v: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert("x-forwarded-for", HeaderValue::from_str(v).unwrap());
        h
    }

    fn ip(s: &str) -> Option<IpAddr> {
        Some(s.parse().unwrap())
    }

    #[test]
    fn the_header_counts_only_from_a_trusted_proxy() {
        let none = TrustedProxies::default();
        assert_eq!(
            none.client(ip("203.0.113.9"), &forwarded("1.2.3.4")),
            ip("203.0.113.9")
        );
        let lb = TrustedProxies::parse("10.0.0.0/8, 192.168.1.1").unwrap();
        assert_eq!(
            lb.client(ip("10.0.0.2"), &forwarded("1.2.3.4")),
            ip("1.2.3.4")
        );
        // A client's own forged entry sits left of the one the proxy appended.
        assert_eq!(
            lb.client(ip("10.0.0.2"), &forwarded("6.6.6.6, 1.2.3.4, 192.168.1.1")),
            ip("1.2.3.4")
        );
        assert_eq!(lb.client(ip("10.0.0.2"), &HeaderMap::new()), ip("10.0.0.2"));
        assert_eq!(
            lb.client(ip("10.0.0.2"), &forwarded("garbage")),
            ip("10.0.0.2")
        );
        assert_eq!(
            lb.client(ip("::ffff:10.0.0.2"), &forwarded("1.2.3.4:5555")),
            ip("1.2.3.4")
        );
        assert!(TrustedProxies::parse("10.0.0.0/33").is_err());
        assert!(TrustedProxies::parse("proxy.example").is_err());
    }

    #[test]
    fn ipv6_clients_count_per_64() {
        let a = ClientAddr(ip("2001:db8:1:2:aaaa::1")).throttle_key();
        let b = ClientAddr(ip("2001:db8:1:2:bbbb::9")).throttle_key();
        assert_eq!(a, b);
        assert_ne!(a, ClientAddr(ip("2001:db8:1:3::1")).throttle_key());
        assert_eq!(ClientAddr(ip("192.0.2.7")).throttle_key(), "192.0.2.7");
    }
}
