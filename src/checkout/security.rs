//! The checkout's defences: stateless CSRF tokens, the embed origin check, and the headers
//! (a strict CSP with framing limited to the SDK's parent page).

use axum::http::{HeaderMap, HeaderValue};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

/// The checkout keeps no cookies (it must work in a cross-site iframe), so the CSRF token is
/// an HMAC of the payment id under an instance secret: only a page Hundi rendered has it.
pub fn csrf_token(secret: &[u8], payment_id: &str) -> String {
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret) else {
        return String::new();
    };
    mac.update(b"checkout-csrf:");
    mac.update(payment_id.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

pub fn csrf_ok(secret: &[u8], payment_id: &str, presented: Option<&str>) -> bool {
    let expected = csrf_token(secret, payment_id);
    match presented {
        Some(p) => !expected.is_empty() && bool::from(p.as_bytes().ct_eq(expected.as_bytes())),
        None => false,
    }
}

/// Normalises an embedding page's origin (`scheme://host[:port]`), or refuses it.
pub fn parse_origin(text: &str) -> Option<String> {
    let url = url::Url::parse(text).ok()?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return None;
    }
    let origin = url.origin().ascii_serialization();
    // An origin has no path: refuse anything that was more than one.
    (text.trim_end_matches('/') == origin).then_some(origin)
}

/// The security headers of every checkout page. `frame_ancestor` is the one origin allowed to
/// frame the page (the SDK's parent), or none at all.
pub fn page_headers(frame_ancestor: Option<&str>) -> HeaderMap {
    let frame = frame_ancestor.unwrap_or("'none'");
    let csp = format!(
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
         connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors {frame}"
    );
    let mut h = HeaderMap::new();
    if let Ok(v) = HeaderValue::from_str(&csp) {
        h.insert("content-security-policy", v);
    }
    if frame_ancestor.is_none() {
        h.insert("x-frame-options", HeaderValue::from_static("DENY"));
    }
    h.insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    h.insert("referrer-policy", HeaderValue::from_static("no-referrer"));
    h.insert("cache-control", HeaderValue::from_static("no-store"));
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_bound_to_the_payment_and_the_secret() {
        let t = csrf_token(b"secret", "pay_1");
        assert!(csrf_ok(b"secret", "pay_1", Some(&t)));
        assert!(!csrf_ok(b"secret", "pay_2", Some(&t)));
        assert!(!csrf_ok(b"other", "pay_1", Some(&t)));
        assert!(!csrf_ok(b"secret", "pay_1", None));
        assert!(!csrf_ok(b"secret", "pay_1", Some("")));
    }

    #[test]
    fn only_plain_origins_may_embed() {
        assert_eq!(
            parse_origin("https://shop.example").as_deref(),
            Some("https://shop.example")
        );
        assert_eq!(
            parse_origin("http://127.0.0.1:8080").as_deref(),
            Some("http://127.0.0.1:8080")
        );
        assert_eq!(parse_origin("https://shop.example/path"), None);
        assert_eq!(parse_origin("javascript:alert(1)"), None);
        assert_eq!(parse_origin("https://a.example 'unsafe-inline'"), None);
        assert_eq!(parse_origin("data:text/html,hi"), None);
    }
}
