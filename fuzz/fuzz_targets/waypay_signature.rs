//! Waypay's request signature: never panics, answers at once whatever the body (a handful of
//! MD5s, however many numbers it holds), and accepts the signature its own guide computes.
#![no_main]

use hundi::dialects::signing::{waypay_request_ok, waypay_signatures};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(body) = std::str::from_utf8(data) else {
        return;
    };
    let secret = "wp_secret_77aa";
    let started = std::time::Instant::now();
    let sigs = waypay_signatures(body, secret);
    assert!(sigs.len() <= 32, "{} candidates", sigs.len());
    if let Some(first) = sigs.first() {
        assert!(waypay_request_ok(body, secret, first));
        assert!(waypay_request_ok(body, secret, &first.to_ascii_uppercase()));
        assert!(!waypay_request_ok(body, "another secret", first));
    }
    assert!(!waypay_request_ok(body, secret, "0"));
    assert!(
        started.elapsed().as_millis() < 1000,
        "slow: {:?}",
        started.elapsed()
    );
});
