//! Pakhi Pay's callback signature, whatever the strings: the body is JSON holding the payload
//! and its `signature`, which verifies over the payload without it; `X-Signature` verifies
//! over the exact body.
#![no_main]

use hundi::dialects::signing::{hmac_sha256_hex, pakhipay_callback};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|parts: (String, String, String, String, Option<String>)| {
    let (key, status, transaction_id, amount, order_id) = parts;
    let (body, header) =
        pakhipay_callback(&key, &status, &transaction_id, &amount, order_id.as_deref());
    assert_eq!(header, hmac_sha256_hex(key.as_bytes(), body.as_bytes()));
    let mut value: serde_json::Value = serde_json::from_str(&body).expect("the body is JSON");
    let signature = value["signature"].as_str().expect("signature").to_string();
    assert_eq!(value["status"], status.as_str());
    assert_eq!(value["amount"], amount.as_str());
    value.as_object_mut().unwrap().remove("signature");
    let payload = serde_json::to_string(&value).unwrap();
    assert_eq!(
        signature,
        hmac_sha256_hex(key.as_bytes(), payload.as_bytes())
    );
});
