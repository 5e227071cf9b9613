//! XPay's request signature: never panics; a signature over the raw body, or over
//! `JSON.stringify(JSON.parse(body))`, is accepted; with another secret it is not.
#![no_main]

use hundi::dialects::js_json;
use hundi::dialects::signing::{hmac_sha256_hex, xpay_request_ok};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let secret = "hmac_sc_api_3b8f";
    let raw = hmac_sha256_hex(secret.as_bytes(), data);
    assert!(xpay_request_ok(secret, data, &raw));
    assert!(!xpay_request_ok("other", data, &raw));
    if let Some(canonical) = std::str::from_utf8(data)
        .ok()
        .and_then(js_json::canonicalize)
    {
        let sig = hmac_sha256_hex(secret.as_bytes(), canonical.as_bytes());
        assert!(xpay_request_ok(secret, data, &sig));
        // The canonical body verifies with the same signature.
        assert!(xpay_request_ok(secret, canonical.as_bytes(), &sig));
    }
    let _ = xpay_request_ok(secret, data, &String::from_utf8_lossy(data));
});
