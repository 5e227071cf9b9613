//! Kazawallet's webhook `secret`, whatever the strings: base64 of HMAC-SHA512 over the
//! SHA-256 of `amount:::order_id:::api_key`, as the PHP example computes it.
#![no_main]

use base64::Engine;
use hmac::{Hmac, Mac};
use hundi::dialects::signing::kazawallet_secret;
use libfuzzer_sys::fuzz_target;
use sha2::{Digest, Sha256, Sha512};

fuzz_target!(|parts: (String, String, String, String)| {
    let (amount, order_id, api_key, api_secret) = parts;
    let secret = kazawallet_secret(&amount, &order_id, &api_key, &api_secret);
    let raw = base64::engine::general_purpose::STANDARD
        .decode(&secret)
        .expect("base64");
    assert_eq!(raw.len(), 64);
    let digest = Sha256::digest(format!("{amount}:::{order_id}:::{api_key}").as_bytes());
    let mut mac = Hmac::<Sha512>::new_from_slice(api_secret.as_bytes()).unwrap();
    mac.update(&digest);
    assert_eq!(raw, mac.finalize().into_bytes().to_vec());
});
