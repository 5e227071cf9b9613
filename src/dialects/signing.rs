//! The signatures of the five dialects, byte for byte as `seeds/vectors.md` computes them.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use hmac::{Hmac, Mac};
use md5::{Digest as _, Md5};
use sha2::{Sha256, Sha512};

pub fn hmac_sha256_hex(key: &[u8], message: &[u8]) -> String {
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(key) else {
        return String::new();
    };
    mac.update(message);
    hex::encode(mac.finalize().into_bytes())
}

/// Pakhi Pay's callback: the compact JSON (keys in this order) without `signature` is signed
/// with the merchant's API key; the body sent adds the signature as the last field, and
/// `X-Signature` signs the exact body. Returns (body, X-Signature).
pub fn pakhipay_callback(
    api_key: &str,
    status: &str,
    transaction_id: &str,
    amount: &str,
    order_id: Option<&str>,
) -> (String, String) {
    let text = |s: &str| serde_json::to_string(s).unwrap_or_default();
    let message = format!(
        r#"{{"status":{},"transaction_id":{},"amount":{},"order_id":{}}}"#,
        text(status),
        text(transaction_id),
        text(amount),
        order_id.map(text).unwrap_or_else(|| "null".into())
    );
    let signature = hmac_sha256_hex(api_key.as_bytes(), message.as_bytes());
    let body = format!(
        r#"{},"signature":"{signature}"}}"#,
        &message[..message.len() - 1]
    );
    let header = hmac_sha256_hex(api_key.as_bytes(), body.as_bytes());
    (body, header)
}

/// XPay request signatures that verify: over `JSON.stringify(JSON.parse(body))`, or over the
/// raw body as sent.
pub fn xpay_request_ok(hmac_secret: &str, raw_body: &[u8], presented: &str) -> bool {
    let presented = presented.trim().to_ascii_lowercase();
    let mut candidates = vec![hmac_sha256_hex(hmac_secret.as_bytes(), raw_body)];
    if let Some(canonical) = std::str::from_utf8(raw_body)
        .ok()
        .and_then(super::js_json::canonicalize)
    {
        candidates.push(hmac_sha256_hex(
            hmac_secret.as_bytes(),
            canonical.as_bytes(),
        ));
    }
    candidates
        .iter()
        .any(|c| subtle::ConstantTimeEq::ct_eq(c.as_bytes(), presented.as_bytes()).into())
}

/// Waypay's MD5 signature strings for a request body: top-level fields except `signature`,
/// without null, empty, object or array values, keys lowercased and sorted by byte, `k=v`
/// joined by `&`, the secret appended. Also the variant that keeps `orderref` as compact JSON,
/// and for numbers each way a client's language may print them (raw token, shortest,
/// two decimals). Returns every acceptable signature.
pub fn waypay_signatures(raw_body: &str, secret: &str) -> Vec<String> {
    let Ok(serde_json::Value::Object(map)) = serde_json::from_str::<serde_json::Value>(raw_body)
    else {
        return Vec::new();
    };
    // Each field's acceptable renderings; numbers may have several.
    let mut fields: Vec<(String, Vec<String>, bool)> = Vec::new();
    for (k, v) in &map {
        if k.eq_ignore_ascii_case("signature") {
            continue;
        }
        let key = k.to_ascii_lowercase();
        match v {
            serde_json::Value::Null => {}
            serde_json::Value::String(s) if s.is_empty() => {}
            serde_json::Value::String(s) => fields.push((key, vec![s.clone()], false)),
            serde_json::Value::Bool(b) => fields.push((key, vec![b.to_string()], false)),
            serde_json::Value::Number(n) => {
                let mut forms =
                    vec![raw_number_token(raw_body, k).unwrap_or_else(|| n.to_string())];
                forms.push(super::js_json::js_number(n));
                if let Some(f) = n.as_f64() {
                    forms.push(format!("{f:.2}"));
                    forms.push(format!("{f:.1}"));
                }
                forms.dedup();
                fields.push((key, forms, false));
            }
            serde_json::Value::Object(_) | serde_json::Value::Array(_) => {
                fields.push((key, vec![super::js_json::stringify(v)], true));
            }
        }
    }
    fields.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
    let mut out = Vec::new();
    for with_objects in [false, true] {
        let chosen: Vec<&(String, Vec<String>, bool)> = fields
            .iter()
            .filter(|(_, _, is_object)| with_objects || !is_object)
            .collect();
        // Every combination of number renderings (there are few numeric fields).
        let mut strings = vec![String::new()];
        for (i, (key, forms, _)) in chosen.iter().enumerate() {
            let sep = if i == 0 { "" } else { "&" };
            strings = strings
                .iter()
                .flat_map(|prefix| forms.iter().map(move |f| format!("{prefix}{sep}{key}={f}")))
                .collect();
        }
        for s in strings {
            let digest = Md5::digest(format!("{s}{secret}").as_bytes());
            out.push(hex::encode(digest));
        }
    }
    out.dedup();
    out
}

/// The number token exactly as it appears after `"key":` in the raw body.
fn raw_number_token(raw: &str, key: &str) -> Option<String> {
    let needle = format!("\"{key}\"");
    let at = raw.find(&needle)? + needle.len();
    let rest = raw[at..].trim_start().strip_prefix(':')?.trim_start();
    let token: String = rest
        .chars()
        .take_while(|c| c.is_ascii_digit() || matches!(c, '.' | '-' | '+' | 'e' | 'E'))
        .collect();
    (!token.is_empty()).then_some(token)
}

pub fn waypay_request_ok(raw_body: &str, secret: &str, presented: &str) -> bool {
    let presented = presented.trim().to_ascii_lowercase();
    waypay_signatures(raw_body, secret)
        .iter()
        .any(|s| subtle::ConstantTimeEq::ct_eq(s.as_bytes(), presented.as_bytes()).into())
}

/// Kazawallet's webhook `secret`: base64(HMAC-SHA512(key = API secret, message = the raw
/// SHA-256 bytes of `amount:::order_id:::api_key`)).
pub fn kazawallet_secret(amount: &str, order_id: &str, api_key: &str, api_secret: &str) -> String {
    let digest = Sha256::digest(format!("{amount}:::{order_id}:::{api_key}").as_bytes());
    let Ok(mut mac) = Hmac::<Sha512>::new_from_slice(api_secret.as_bytes()) else {
        return String::new();
    };
    mac.update(&digest);
    B64.encode(mac.finalize().into_bytes())
}

#[cfg(test)]
mod tests {
    //! Every vector of seeds/vectors.md.
    use super::*;

    #[test]
    fn pakhipay_callback_vector() {
        let (body, header) = pakhipay_callback(
            "pk_test_4f9a1c",
            "completed",
            "TRX123456789",
            "100.00",
            Some("ORDER123"),
        );
        assert_eq!(
            body,
            r#"{"status":"completed","transaction_id":"TRX123456789","amount":"100.00","order_id":"ORDER123","signature":"e1a61aff842aa2ea61893aaea9657799e91fe42e170ae2c8c1cb9c522beb4e4a"}"#
        );
        assert_eq!(
            header,
            "5102e0fd19cdefd6a62b6fe0b4f8a48febbe3c0981c02986ab35e84edd8f59eb"
        );
    }

    #[test]
    fn paygate_webhook_vector() {
        let body = r#"{"event":"payment.success","session_id":"A1B2C3D4E5F67890","requested_amount":100,"payable_amount":99,"status":"success","customer_name":"John Doe","merchant_ref":"ORDER-123","utr":"103100084802","metadata":{"order_id":"ORD-456"},"timestamp":"2026-04-14T01:05:00.000Z"}"#;
        assert_eq!(
            hmac_sha256_hex(b"whsec_pg_9d2e7b", body.as_bytes()),
            "c8c8c4b965062fe5aedf9f13cc71aad22fcd59abd4110efdcd72d1696e22c456"
        );
        assert_eq!(
            super::super::js_json::canonicalize(body).unwrap(),
            body,
            "survives JSON.stringify(JSON.parse())"
        );
    }

    #[test]
    fn xpay_request_vectors() {
        let raw = br#"{"amount":"150.00","currency":"PKR","customer":{"name":"Zo\u00eb","email":"z@example.com"},"shipping":{"address1":"12\/B Gulberg"},"metadata":{"order_reference":1042}}"#;
        let secret = "hmac_sc_api_3b8f";
        assert!(xpay_request_ok(
            secret,
            raw,
            "1035b1c2add2c5ad4fa823312686639c3386ac0c9231d588c405e91ed0b49c7c"
        ));
        assert!(xpay_request_ok(
            secret,
            raw,
            "b68ea10afad2d4ba906b257f08027ec981638a7d072cf2239f4ceffbd4d369d7"
        ));
        assert!(!xpay_request_ok(secret, raw, "00"));
        assert!(!xpay_request_ok(
            "other",
            raw,
            "1035b1c2add2c5ad4fa823312686639c3386ac0c9231d588c405e91ed0b49c7c"
        ));
    }

    #[test]
    fn xpay_webhook_vector() {
        let body = r#"{"type":"PAYMENT_INTENT_NOTIFICATION","payment_intent_id":"xpay_pi_abababababababababababababababababababababababababababababababab","status":"succeeded","amount":150.5,"currency":"PKR","order_reference":"1042"}"#;
        assert_eq!(
            hmac_sha256_hex(b"whsec_xpay_51c0", body.as_bytes()),
            "ba41cb41889152e31557137c6d87d4ef819abccaf619df86f88638b40b5c2287"
        );
    }

    #[test]
    fn waypay_vectors() {
        let body = r#"{"amount":1000,"currency":"PKR","description":"Product Purchase","orderRef":{"orderRef":"ORD123456","discount":"10","tax":"15"},"callbackUrl":"https://yoursite.com/payment/callback","intentType":"checkout","paymentMethod":1}"#;
        let sigs = waypay_signatures(body, "wp_secret_77aa");
        assert!(
            sigs.contains(&"6000512ed00eeb44e6f1b8a45464e495".to_string()),
            "{sigs:?}"
        );
        assert!(
            sigs.contains(&"d723ff49bd673524c1182fd912d043dc".to_string()),
            "the orderref variant"
        );
        assert!(waypay_request_ok(
            body,
            "wp_secret_77aa",
            "6000512ED00EEB44E6F1B8A45464E495"
        ));
        assert!(!waypay_request_ok(
            body,
            "wrong",
            "6000512ed00eeb44e6f1b8a45464e495"
        ));
        // 1000.00 in the body: the client may have signed 1000, 1000.0 or 1000.00.
        let decimal = body.replace("\"amount\":1000", "\"amount\":1000.00");
        for amount in ["1000", "1000.0", "1000.00"] {
            let canonical = format!("amount={amount}&callbackurl=https://yoursite.com/payment/callback&currency=PKR&description=Product Purchase&intenttype=checkout&paymentmethod=1");
            let sig = hex::encode(Md5::digest(format!("{canonical}wp_secret_77aa").as_bytes()));
            assert!(
                waypay_request_ok(&decimal, "wp_secret_77aa", &sig),
                "{amount}"
            );
        }
    }

    #[test]
    fn kazawallet_vector() {
        assert_eq!(
            kazawallet_secret("150.00", "lnk_8Yq2xZ", "kw_test_key_123", "kw_test_secret_456"),
            "7dqBhQBXX5kpvlDxwyhmG2YhX+6jRtVdkmMESUoTnTrr1WQp35YLPUx6utxOxicWX9CeGn+y+P0WB5OlrsAmtw=="
        );
    }
}
