//! Webhook endpoints and the Standard Webhooks signature; which addresses a webhook may
//! never reach (SSRF).

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

#[derive(Debug, Clone, PartialEq)]
pub struct Endpoint {
    pub id: String,
    pub merchant_id: String,
    pub livemode: bool,
    pub url: String,
    pub description: Option<String>,
    /// Event types delivered; `["*"]` for all.
    pub events: Vec<String>,
    pub enabled: bool,
    /// `whsec_` + base64 of the key bytes.
    pub secret: String,
    /// After a rotation the old secret signs too, until `previous_secret_until`.
    pub previous_secret: Option<String>,
    pub previous_secret_until: Option<DateTime<Utc>>,
    pub failing_since: Option<DateTime<Utc>>,
    pub disabled_reason: Option<String>,
    /// An API key's own webhook URL: only events about payments made with that key.
    pub key_id: Option<String>,
    /// How deliveries are shaped and signed: [`FORMAT_NATIVE`], [`FORMAT_AUTO`] or a dialect's name.
    pub format: String,
    /// A callback URL given with one payment: only that payment's events.
    pub payment_id: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Endpoint {
    /// What an endpoint's sealed secrets are bound to: a value copied to another endpoint's
    /// row does not open.
    pub fn seal_context(endpoint_id: &str) -> String {
        format!("webhook_endpoint/{endpoint_id}")
    }

    /// A new, enabled endpoint with a fresh id and signing secret, created `now`. The narrower
    /// kinds (an API key's own URL, one payment's callback) set `key_id` or `payment_id` on it.
    pub fn new(
        merchant_id: &str,
        livemode: bool,
        url: String,
        events: Vec<String>,
        description: Option<String>,
        format: &str,
        now: DateTime<Utc>,
    ) -> Endpoint {
        Endpoint {
            id: crate::domain::ids::new_id("we"),
            merchant_id: merchant_id.to_string(),
            livemode,
            url,
            description,
            events,
            enabled: true,
            secret: generate_secret(),
            previous_secret: None,
            previous_secret_until: None,
            failing_since: None,
            disabled_reason: None,
            key_id: None,
            format: format.to_string(),
            payment_id: None,
            created_at: now,
            updated_at: now,
        }
    }
}

/// Standard Webhooks: the event's JSON, `webhook-id/-timestamp/-signature` headers.
pub const FORMAT_NATIVE: &str = "native";
/// An API key's own webhook URL: each payment's events in the format of the dialect that
/// created it (native for native payments), so a dialect's client gets its own webhooks.
pub const FORMAT_AUTO: &str = "auto";

/// Event types an endpoint may subscribe to.
pub const EVENT_TYPES: [&str; 9] = [
    "payment.created",
    "payment.succeeded",
    "payment.canceled",
    "payment.expired",
    "payment.failed",
    "refund.succeeded",
    "credit.received",
    "credit.unmatched",
    "webhook_endpoint.disabled",
];

/// The stored form of an event list: `,a,b,` so that one `LIKE '%,a,%'` finds a subscriber.
pub fn events_column(events: &[String]) -> String {
    format!(",{},", events.join(","))
}

pub fn events_from_column(column: &str) -> Vec<String> {
    column
        .split(',')
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

pub fn generate_secret() -> String {
    use rand::RngCore;
    let mut key = [0u8; 24];
    rand::rngs::OsRng.fill_bytes(&mut key);
    format!("whsec_{}", B64.encode(key))
}

/// The key bytes of a `whsec_…` secret.
pub fn secret_key(secret: &str) -> Option<Vec<u8>> {
    B64.decode(secret.strip_prefix("whsec_").unwrap_or(secret))
        .ok()
}

/// Standard Webhooks: `v1,` + base64(HMAC-SHA256(key, "{id}.{timestamp}.{body}")).
pub fn sign(secret: &str, msg_id: &str, timestamp: i64, body: &[u8]) -> Option<String> {
    let key = secret_key(secret)?;
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).ok()?;
    mac.update(msg_id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    Some(format!("v1,{}", B64.encode(mac.finalize().into_bytes())))
}

/// Addresses no webhook may reach unless the operator allows private targets: loopback,
/// private, link-local (cloud metadata), CGNAT, multicast, unspecified, broadcast, reserved,
/// and their IPv6 forms (including IPv4-mapped and NAT64 addresses of them).
pub fn forbidden_ip(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => forbidden_v4(v4),
        IpAddr::V6(v6) => forbidden_v6(v6),
    }
}

fn forbidden_v4(ip: Ipv4Addr) -> bool {
    let [a, b, ..] = ip.octets();
    ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_multicast()
        || ip.is_unspecified()
        || ip.is_broadcast()
        || ip.is_documentation()
        || a == 0
        || (a == 100 && (64..=127).contains(&b)) // CGNAT 100.64.0.0/10
        || (a == 192 && b == 0 && ip.octets()[2] == 0) // IETF protocol assignments
        || (a == 198 && (b == 18 || b == 19)) // benchmarking
        || a >= 240 // reserved
}

fn forbidden_v6(ip: Ipv6Addr) -> bool {
    if let Some(v4) = ip.to_ipv4_mapped() {
        return forbidden_v4(v4);
    }
    let s = ip.segments();
    // NAT64 (64:ff9b::/96) carries an IPv4 address in its last 32 bits.
    if s[0] == 0x64 && s[1] == 0xff9b && s[2..6] == [0, 0, 0, 0] {
        return forbidden_v4(v4_of(s[6], s[7]));
    }
    // 6to4 (2002::/16) carries the IPv4 address of its relay in bits 16..48: a relay on the
    // operator's network would deliver to it.
    if s[0] == 0x2002 {
        return forbidden_v4(v4_of(s[1], s[2]));
    }
    // Teredo (2001::/32): the server's IPv4 address in bits 32..64, the client's in the last
    // 32 bits, inverted. Either one inside the operator's network is refused.
    if s[0] == 0x2001 && s[1] == 0 {
        return forbidden_v4(v4_of(s[2], s[3])) || forbidden_v4(v4_of(!s[6], !s[7]));
    }
    ip.is_loopback()
        || ip.is_unspecified()
        || ip.is_multicast()
        || (s[0] & 0xfe00) == 0xfc00 // unique local fc00::/7 (includes fd00:ec2::254)
        || (s[0] & 0xffc0) == 0xfe80 // link-local fe80::/10
        || (s[0] & 0xffc0) == 0xfec0 // site-local (deprecated)
        || s[0] == 0x2001 && s[1] == 0x0db8 // documentation
        || (s[0..5] == [0, 0, 0, 0, 0] && s[5] == 0) // IPv4-compatible ::a.b.c.d
}

/// The IPv4 address two 16-bit segments of an IPv6 address carry.
fn v4_of(high: u16, low: u16) -> Ipv4Addr {
    let [a, b] = high.to_be_bytes();
    let [c, d] = low.to_be_bytes();
    Ipv4Addr::new(a, b, c, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_follow_standard_webhooks() {
        // The example of the Standard Webhooks specification's reference libraries.
        let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
        let body = br#"{"test": 2432232314}"#;
        let sig = sign(secret, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body).unwrap();
        assert_eq!(sig, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
    }

    #[test]
    fn the_published_native_signature_vector() {
        let sig = sign(
            "whsec_aHVuZGktdGVzdC1zZWNyZXQtMDEyMzQ1Njc4OWFiY2Q=",
            "msg_2Kx9",
            1767225600,
            br#"{"type":"payment.succeeded","data":{"id":"pay_123"}}"#,
        );
        assert_eq!(
            sig.unwrap(),
            "v1,v0J7MfyfRNunLxy4WcNB2Fqk0yyb3yS+KbIOCxX0kv8="
        );
    }

    #[test]
    fn secrets_are_whsec_base64() {
        let s = generate_secret();
        assert!(s.starts_with("whsec_"));
        assert_eq!(secret_key(&s).unwrap().len(), 24);
    }

    #[test]
    fn forbidden_address_classes() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "224.0.0.1",
            "255.255.255.255",
            "::1",
            "::",
            "fe80::1",
            "fd00:ec2::254",
            "fc00::1",
            "ff02::1",
            "::ffff:127.0.0.1",
            "::ffff:169.254.169.254",
            "64:ff9b::a9fe:a9fe",
            // 6to4 of 127.0.0.1, 169.254.169.254, 10.0.0.1 and 192.168.1.1.
            "2002:7f00:1::1",
            "2002:a9fe:a9fe::",
            "2002:a00:1:1::1",
            "2002:c0a8:101::",
            // Teredo: server 8.8.8.8 with client 127.0.0.1 (inverted: 80ff:fffe), client
            // 169.254.169.254 (5601:5601); and a server at 10.0.0.1.
            "2001:0:808:808::80ff:fffe",
            "2001:0:808:808:0:0:5601:5601",
            "2001:0:a00:1::f7f7:f7f7",
        ] {
            assert!(forbidden_ip(ip.parse().unwrap()), "{ip} must be refused");
        }
        for ip in [
            "93.184.216.34",
            "8.8.8.8",
            "2606:4700::1111",
            "::ffff:8.8.8.8",
            // 6to4 of 8.8.8.8; Teredo with server and client both public (8.8.8.8, 1.1.1.1).
            "2002:808:808::1",
            "2001:0:808:808::fefe:fefe",
        ] {
            assert!(!forbidden_ip(ip.parse().unwrap()), "{ip} is public");
        }
    }

    #[test]
    fn event_lists_round_trip() {
        let events = vec![
            "payment.succeeded".to_string(),
            "refund.succeeded".to_string(),
        ];
        let col = events_column(&events);
        assert_eq!(col, ",payment.succeeded,refund.succeeded,");
        assert_eq!(events_from_column(&col), events);
    }
}
