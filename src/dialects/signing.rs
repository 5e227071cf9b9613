//! The signatures of the five dialects, byte for byte as the gateways' published test
//! vectors compute them (the tests below).

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

/// Waypay's MD5 signatures for a request body: top-level fields except `signature`, without
/// null, empty, object or array values, keys lowercased and sorted by byte, `k=v` joined by
/// `&`, the secret appended. Also the variant that adds `orderref` (and only it) as its compact
/// JSON.
///
/// Numbers become text the way the client's language prints them: the raw JSON token, the
/// shortest form (`1000`, `1000.5`) or a fixed number of decimals (`1000.00`, `1000.0`). One
/// language prints all its numbers one way, except that the amount is often formatted on its
/// own: so the other numbers take one of these styles together, and `amount` any of them. That
/// is at most 4 × 4 strings per variant, however many numbers the body holds, where trying
/// every number in every style would grow exponentially with the number of numeric fields.
///
/// Returns every acceptable signature, the first being the document's own guide (raw tokens,
/// no objects).
pub fn waypay_signatures(raw_body: &str, secret: &str) -> Vec<String> {
    let Some(fields) = waypay_fields(raw_body) else {
        return Vec::new();
    };
    waypay_candidates(&fields)
        .map(|c| hex::encode(c.digest(&fields, secret)))
        .collect()
}

pub fn waypay_request_ok(raw_body: &str, secret: &str, presented: &str) -> bool {
    let presented = presented.trim().to_ascii_lowercase();
    // An MD5 in hex is 32 characters: anything else cannot match, so nothing is computed.
    if presented.len() != 32 || !presented.bytes().all(|b| b.is_ascii_hexdigit()) {
        return false;
    }
    let Some(fields) = waypay_fields(raw_body) else {
        return false;
    };
    let mut ok = subtle::Choice::from(0u8);
    for candidate in waypay_candidates(&fields) {
        let digest = hex::encode(candidate.digest(&fields, secret));
        ok |= subtle::ConstantTimeEq::ct_eq(digest.as_bytes(), presented.as_bytes());
    }
    ok.into()
}

/// One signed field of a Waypay body: its lowercased key and its value.
struct WaypayField<'a> {
    key: String,
    value: WaypayValue<'a>,
}

enum WaypayValue<'a> {
    Text(String),
    /// The raw JSON token and the double it denotes.
    Number(&'a str, f64),
    /// `orderRef` as compact JSON: signed only in the variant that includes it.
    OrderRef(String),
}

/// How a number is printed.
#[derive(Clone, Copy, PartialEq)]
enum NumberStyle {
    Raw,
    Shortest,
    Fixed2,
    Fixed1,
}

const NUMBER_STYLES: [NumberStyle; 4] = [
    NumberStyle::Raw,
    NumberStyle::Shortest,
    NumberStyle::Fixed2,
    NumberStyle::Fixed1,
];

impl NumberStyle {
    fn print<'t>(self, raw: &'t str, value: f64, buf: &'t mut String) -> &'t str {
        use std::fmt::Write as _;
        buf.clear();
        // Fixed decimals only below 10^21, where every language still prints digits (beyond,
        // they switch to exponent form); this also keeps `1e308` from becoming 300 digits.
        let fixed = value.is_finite() && value.abs() < 1e21;
        match self {
            NumberStyle::Raw => return raw,
            NumberStyle::Fixed2 if fixed => {
                let _ = write!(buf, "{value:.2}");
            }
            NumberStyle::Fixed1 if fixed => {
                let _ = write!(buf, "{value:.1}");
            }
            _ if value.is_finite() => {
                buf.push_str(ryu_js::Buffer::new().format_finite(value));
            }
            _ => return raw,
        }
        buf
    }
}

/// The fields that take part in a Waypay signature, sorted by lowercased key; `None` when the
/// body is not a JSON object. Each value is read once from its own raw text, so the whole
/// body is read in one linear pass.
fn waypay_fields(raw_body: &str) -> Option<Vec<WaypayField<'_>>> {
    use serde_json::value::RawValue;
    // Later duplicates replace earlier ones, as in the map the handler validates.
    let map: std::collections::BTreeMap<String, &RawValue> = serde_json::from_str(raw_body).ok()?;
    let mut fields = Vec::with_capacity(map.len());
    for (k, raw) in map {
        if k.eq_ignore_ascii_case("signature") {
            continue;
        }
        let key = k.to_ascii_lowercase();
        let text = raw.get().trim();
        let value = match text.as_bytes().first() {
            None | Some(b'n') | Some(b'[') => continue,
            Some(b'{') if key == "orderref" => {
                let v: serde_json::Value = serde_json::from_str(text).ok()?;
                WaypayValue::OrderRef(super::js_json::stringify(&v))
            }
            Some(b'{') => continue,
            Some(b'"') => {
                let s: String = serde_json::from_str(text).ok()?;
                if s.is_empty() {
                    continue;
                }
                WaypayValue::Text(s)
            }
            Some(b't') | Some(b'f') => WaypayValue::Text(text.to_string()),
            Some(_) => {
                let n: serde_json::Number = serde_json::from_str(text).ok()?;
                WaypayValue::Number(text, n.as_f64().unwrap_or(f64::NAN))
            }
        };
        fields.push(WaypayField { key, value });
    }
    fields.sort_by(|a, b| a.key.as_bytes().cmp(b.key.as_bytes()));
    Some(fields)
}

/// One string that may have been signed.
struct WaypayCandidate {
    with_order_ref: bool,
    amount: NumberStyle,
    others: NumberStyle,
}

/// The distinct candidates: styles that print every number the same are tried once.
fn waypay_candidates(fields: &[WaypayField<'_>]) -> impl Iterator<Item = WaypayCandidate> {
    let numbers = |amount: bool| {
        fields.iter().filter_map(move |f| match f.value {
            WaypayValue::Number(raw, v) if (f.key == "amount") == amount => Some((raw, v)),
            _ => None,
        })
    };
    // The first style of each group of styles that print these numbers identically.
    let distinct = |amount: bool| -> Vec<NumberStyle> {
        let (mut a, mut b) = (String::new(), String::new());
        let mut kept: Vec<NumberStyle> = Vec::new();
        for style in NUMBER_STYLES {
            let same_as_kept = kept.iter().any(|&k| {
                numbers(amount)
                    .all(|(raw, v)| k.print(raw, v, &mut a) == style.print(raw, v, &mut b))
            });
            if !same_as_kept {
                kept.push(style);
            }
        }
        kept
    };
    let amount_styles = distinct(true);
    let other_styles = distinct(false);
    let has_order_ref = fields
        .iter()
        .any(|f| matches!(f.value, WaypayValue::OrderRef(_)));
    let variants: &[bool] = if has_order_ref {
        &[false, true]
    } else {
        &[false]
    };
    let mut out = Vec::new();
    for &with_order_ref in variants {
        for &others in &other_styles {
            for &amount in &amount_styles {
                out.push(WaypayCandidate {
                    with_order_ref,
                    amount,
                    others,
                });
            }
        }
    }
    out.into_iter()
}

impl WaypayCandidate {
    /// MD5 of the candidate string and the secret, written straight into the hasher.
    fn digest(&self, fields: &[WaypayField<'_>], secret: &str) -> [u8; 16] {
        let mut md5 = Md5::new();
        let mut buf = String::new();
        let mut first = true;
        for f in fields {
            let value: &str = match &f.value {
                WaypayValue::Text(s) => s,
                WaypayValue::OrderRef(json) if self.with_order_ref => json,
                WaypayValue::OrderRef(_) => continue,
                WaypayValue::Number(raw, v) => {
                    let style = if f.key == "amount" {
                        self.amount
                    } else {
                        self.others
                    };
                    style.print(raw, *v, &mut buf)
                }
            };
            if !first {
                md5.update(b"&");
            }
            first = false;
            md5.update(f.key.as_bytes());
            md5.update(b"=");
            md5.update(value.as_bytes());
        }
        md5.update(secret.as_bytes());
        md5.finalize().into()
    }
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
    //! Every signature test vector the gateways publish, computed byte for byte.
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

    /// md5 of a canonical string and the vectors' secret.
    fn waypay_sign(canonical: &str) -> String {
        hex::encode(Md5::digest(format!("{canonical}wp_secret_77aa").as_bytes()))
    }

    #[test]
    fn waypay_orderref_variant_adds_only_orderref() {
        let body = r#"{"amount":1000,"currency":"PKR","description":"Product Purchase","orderRef":{"orderRef":"ORD123456","discount":"10","tax":"15"},"customerRef":{"name":"Ali","cnic":"3520212345678"},"tags":["a"],"callbackUrl":"https://yoursite.com/payment/callback","intentType":"checkout","paymentMethod":1}"#;
        let with_orderref = waypay_sign(
            r#"amount=1000&callbackurl=https://yoursite.com/payment/callback&currency=PKR&description=Product Purchase&intenttype=checkout&orderref={"orderRef":"ORD123456","discount":"10","tax":"15"}&paymentmethod=1"#,
        );
        assert!(waypay_request_ok(body, "wp_secret_77aa", &with_orderref));
        // The canonical string without objects is still the first, and accepted.
        assert_eq!(
            waypay_signatures(body, "wp_secret_77aa")[0],
            "6000512ed00eeb44e6f1b8a45464e495"
        );
        // customerRef is never signed, neither is an array.
        let with_customer = waypay_sign(
            r#"amount=1000&callbackurl=https://yoursite.com/payment/callback&currency=PKR&customerref={"name":"Ali","cnic":"3520212345678"}&description=Product Purchase&intenttype=checkout&orderref={"orderRef":"ORD123456","discount":"10","tax":"15"}&paymentmethod=1"#,
        );
        assert!(!waypay_request_ok(body, "wp_secret_77aa", &with_customer));
    }

    /// A body with many numbers: the candidates stay few (the numbers other than the amount
    /// share one style), where every combination would be 3^n.
    #[test]
    fn waypay_candidates_do_not_grow_with_the_numeric_fields() {
        let mut body = serde_json::json!({
            "amount": 1000,
            "description": "Product Purchase",
            "orderRef": {"orderRef": "ORD1"},
            "paymentMethod": 1,
        });
        for i in 0..10 {
            body[format!("n{i}")] = serde_json::json!(i + 1);
        }
        let body = body.to_string();
        let sigs = waypay_signatures(&body, "wp_secret_77aa");
        assert!(sigs.len() <= 32, "{} candidates", sigs.len());

        // 24 extra numbers, each in a form that has four renderings: answered at once.
        let mut big = serde_json::json!({"amount": 1000.5, "description": "x", "orderRef": {"orderRef": "O"}});
        for i in 0..24 {
            big[format!("n{i:02}")] = serde_json::json!(i as f64 + 0.25);
        }
        let big = big.to_string();
        let started = std::time::Instant::now();
        assert!(!waypay_request_ok(
            &big,
            "wp_secret_77aa",
            "00000000000000000000000000000000"
        ));
        assert!(started.elapsed() < std::time::Duration::from_millis(500));
    }

    #[test]
    fn waypay_numbers_in_one_style_and_the_amount_in_any() {
        let body = r#"{"amount":1000.5,"description":"Product Purchase","orderRef":{"orderRef":"ORD1"},"paymentMethod":1,"tip":2.50}"#;
        for canonical in [
            // raw tokens
            "amount=1000.5&description=Product Purchase&paymentmethod=1&tip=2.50",
            // shortest
            "amount=1000.5&description=Product Purchase&paymentmethod=1&tip=2.5",
            // everything with two decimals
            "amount=1000.50&description=Product Purchase&paymentmethod=1.00&tip=2.50",
            // the amount with two decimals, the rest as the language prints them
            "amount=1000.50&description=Product Purchase&paymentmethod=1&tip=2.5",
            "amount=1000.50&description=Product Purchase&paymentmethod=1.0&tip=2.5",
        ] {
            assert!(
                waypay_request_ok(body, "wp_secret_77aa", &waypay_sign(canonical)),
                "{canonical}"
            );
        }
        assert!(!waypay_request_ok(
            body,
            "wp_secret_77aa",
            &waypay_sign("amount=1000.5&description=Product Purchase&paymentmethod=1&tip=2.49")
        ));
        // Not 32 hex digits: refused without computing anything.
        assert!(!waypay_request_ok(body, "wp_secret_77aa", "zz"));
    }

    #[test]
    fn kazawallet_vector() {
        assert_eq!(
            kazawallet_secret("150.00", "lnk_8Yq2xZ", "kw_test_key_123", "kw_test_secret_456"),
            "7dqBhQBXX5kpvlDxwyhmG2YhX+6jRtVdkmMESUoTnTrr1WQp35YLPUx6utxOxicWX9CeGn+y+P0WB5OlrsAmtw=="
        );
    }
}
