//! One test per documented rule of each dialect: the request that breaks it, the status code
//! and the dialect's error shape naming what is wrong. On both backends.

use crate::common::{Backend, TestApp};
use serde_json::{json, Value};

#[derive(Clone, Copy)]
enum Key {
    Good,
    Missing,
    Wrong,
}

/// A request that breaks one rule, and what the dialect must answer.
struct Case {
    dialect: &'static str,
    method: &'static str,
    path: &'static str,
    key: Key,
    /// The body as sent (signed, for XPay and Waypay, unless `signed` is false).
    body: &'static str,
    signed: bool,
    status: u16,
    /// Text the error must contain.
    says: &'static str,
}

const fn case(dialect: &'static str, body: &'static str, status: u16, says: &'static str) -> Case {
    Case {
        dialect,
        method: "POST",
        path: "",
        key: Key::Good,
        body,
        signed: true,
        status,
        says,
    }
}

/// The header a dialect's key goes in, and its create path.
fn dialect(name: &str) -> (&'static str, &'static str) {
    match name {
        "pakhipay" => ("api-key", "/api/request/payment/create/"),
        "paygate" => ("X-API-Key", "/api/v1/create-payment"),
        "xpay" => ("x-api-key", "/public/v1/payment/checkout"),
        "waypay" => ("SWICH-API-Key", "/Gateway/v1/Payment/initiate-checkout"),
        _ => ("x-api-key", "/wallet/createPaymentLink"),
    }
}

/// The error text of a dialect's error body.
fn message(dialect: &str, body: &Value) -> String {
    match dialect {
        "pakhipay" => {
            assert_eq!(body["status"], 0, "{body}");
            body["message"].as_str().unwrap_or_default().to_string()
        }
        "paygate" => {
            assert_eq!(body["success"], false, "{body}");
            body["error"].as_str().unwrap_or_default().to_string()
        }
        "xpay" => {
            assert_eq!(body["success"], false, "{body}");
            body["message"].as_str().unwrap_or_default().to_string()
        }
        "waypay" => {
            assert!(
                body["code"].is_string() && body["details"].is_array(),
                "{body}"
            );
            format!(
                "{} {}",
                body["message"].as_str().unwrap_or_default(),
                body["details"]
            )
        }
        _ => {
            assert_eq!(body["success"], false, "{body}");
            let details = &body["error"]["details"];
            format!(
                "{} {} {}",
                body["error"]["message"].as_str().unwrap_or_default(),
                details["key"].as_str().unwrap_or_default(),
                details["field"].as_str().unwrap_or_default()
            )
        }
    }
}

async fn check(backend: Backend, c: Case) {
    let app = TestApp::spawn(backend).await;
    app.set_upi("shop@okaxis", "Shop").await;
    let xpay = app.credential("xpay_hmac").await;
    let waypay = app.credential("waypay").await;
    let (header, create_path) = dialect(c.dialect);
    let path = if c.path.is_empty() {
        create_path
    } else {
        c.path
    };
    let url = format!("{}{path}", app.url);
    let mut req = match c.method {
        "GET" => app.http.get(&url),
        _ => app
            .http
            .post(&url)
            .header("content-type", "application/json")
            .body(c.body.to_string()),
    };
    match c.key {
        Key::Good => req = req.header(header, &app.shop.test_key),
        Key::Wrong => req = req.header(header, "not_a_key_123"),
        Key::Missing => {}
    }
    if c.dialect == "xpay" {
        req = req.header("x-account-id", xpay.public_id.clone().unwrap());
        if c.signed {
            req = req.header(
                "x-signature",
                hundi::dialects::signing::hmac_sha256_hex(
                    xpay.secret.as_bytes(),
                    c.body.as_bytes(),
                ),
            );
        }
    }
    if c.dialect == "waypay" && c.signed {
        // The signature goes into the body, computed over the rest of it.
        if let Ok(Value::Object(mut map)) = serde_json::from_str::<Value>(c.body) {
            let sig = hundi::dialects::signing::waypay_signatures(c.body, &waypay.secret)
                .first()
                .cloned()
                .unwrap_or_default();
            map.insert("signature".into(), json!(sig));
            req = app
                .http
                .post(&url)
                .header("content-type", "application/json")
                .header(header, &app.shop.test_key)
                .body(Value::Object(map).to_string());
            if let Key::Missing = c.key {
                req = app
                    .http
                    .post(&url)
                    .header("content-type", "application/json")
                    .body(c.body.to_string());
            }
        }
    }
    if c.says.contains("was used before") {
        // The uniqueness rule: the same order reference once before.
        let first = app
            .http
            .post(&url)
            .header(header, &app.shop.test_key)
            .header("content-type", "application/json")
            .body({
                let mut map: serde_json::Map<String, Value> = serde_json::from_str(c.body).unwrap();
                let sig =
                    hundi::dialects::signing::waypay_signatures(c.body, &waypay.secret)[0].clone();
                map.insert("signature".into(), json!(sig));
                Value::Object(map).to_string()
            })
            .send()
            .await
            .unwrap();
        assert_eq!(first.status().as_u16(), 200);
    }
    let (status, body) = crate::common::read(req.send().await.unwrap()).await;
    assert_eq!(status, c.status, "{}: {body}", c.body);
    let text = message(c.dialect, &body);
    assert!(
        text.contains(c.says),
        "the error should say {:?}; it says {text}",
        c.says
    );
}

macro_rules! rules {
    ($($name:ident: $case:expr;)*) => {
        $(
            async fn $name(backend: Backend) {
                check(backend, $case).await
            }
        )*
        on_both_backends!($($name),*);
    };
}

const PAKHI_OK: &str = r#"{"cus_name":"John","cus_email":"john@example.com","amount":"100","success_url":"https://s.example/ok","cancel_url":"https://s.example/no"}"#;
const WAYPAY_OK: &str = r#"{"amount":1000,"currency":"PKR","description":"Product Purchase","orderRef":{"orderRef":"ORD1"}}"#;
const KAZA_OK: &str = r#"{"amount":"10.00","currency":"USD","email":"a@b.co"}"#;

rules! {
    // Pakhi Pay
    pakhipay_needs_a_key: Case { key: Key::Missing, ..case("pakhipay", PAKHI_OK, 401, "api-key header is required") };
    pakhipay_refuses_a_wrong_key: Case { key: Key::Wrong, ..case("pakhipay", PAKHI_OK, 401, "invalid api-key") };
    pakhipay_needs_cus_name: case("pakhipay", r#"{"cus_email":"j@example.com","amount":"100","success_url":"https://s.example/ok","cancel_url":"https://s.example/no"}"#, 400, "cus_name is required");
    pakhipay_needs_cus_email: case("pakhipay", r#"{"cus_name":"J","amount":"100","success_url":"https://s.example/ok","cancel_url":"https://s.example/no"}"#, 400, "cus_email is required");
    pakhipay_needs_a_valid_cus_email: case("pakhipay", r#"{"cus_name":"J","cus_email":"nope","amount":"100","success_url":"https://s.example/ok","cancel_url":"https://s.example/no"}"#, 400, "cus_email");
    pakhipay_needs_amount: case("pakhipay", r#"{"cus_name":"J","cus_email":"j@example.com","success_url":"https://s.example/ok","cancel_url":"https://s.example/no"}"#, 400, "amount is required");
    pakhipay_needs_a_numeric_amount: case("pakhipay", r#"{"cus_name":"J","cus_email":"j@example.com","amount":"ten","success_url":"https://s.example/ok","cancel_url":"https://s.example/no"}"#, 400, "amount");
    pakhipay_needs_success_url: case("pakhipay", r#"{"cus_name":"J","cus_email":"j@example.com","amount":"100","cancel_url":"https://s.example/no"}"#, 400, "success_url is required");
    pakhipay_needs_cancel_url: case("pakhipay", r#"{"cus_name":"J","cus_email":"j@example.com","amount":"100","success_url":"https://s.example/ok"}"#, 400, "cancel_url is required");
    pakhipay_needs_absolute_urls: case("pakhipay", r#"{"cus_name":"J","cus_email":"j@example.com","amount":"100","success_url":"/ok","cancel_url":"https://s.example/no"}"#, 400, "success_url");
    pakhipay_verify_needs_transaction_id: Case { path: "/api/request/payment/verify/", ..case("pakhipay", r#"{"amount":"100"}"#, 400, "transaction_id is required") };

    // PayGate
    paygate_needs_a_key: Case { key: Key::Missing, ..case("paygate", r#"{"amount":100}"#, 401, "X-API-Key header is required") };
    paygate_refuses_a_wrong_key: Case { key: Key::Wrong, ..case("paygate", r#"{"amount":100}"#, 401, "invalid X-API-Key") };
    paygate_needs_amount: case("paygate", r#"{"customer_name":"J"}"#, 400, "amount is required");
    paygate_needs_a_numeric_amount: case("paygate", r#"{"amount":"ten"}"#, 400, "amount");
    paygate_needs_more_than_one_rupee: case("paygate", r#"{"amount":1}"#, 400, "more than 1.00");
    paygate_needs_paise_at_most: case("paygate", r#"{"amount":100.001}"#, 400, "amount");
    paygate_needs_json: case("paygate", r#"{"amount":"#, 400, "Invalid JSON");
    paygate_needs_a_valid_customer_email: case("paygate", r#"{"amount":100,"customer_email":"nope"}"#, 400, "customer_email");
    paygate_needs_text_names: case("paygate", r#"{"amount":100,"customer_name":7}"#, 400, "customer_name must be a string");
    paygate_unknown_session_is_404: Case { method: "GET", path: "/api/v1/payment/0123456789ABCDEF", ..case("paygate", "", 404, "not found") };
    paygate_list_limit_is_at_most_100: Case { method: "GET", path: "/api/v1/payments?limit=101", ..case("paygate", "", 400, "limit") };
    paygate_list_status_is_known: Case { method: "GET", path: "/api/v1/payments?status=paid", ..case("paygate", "", 400, "status") };

    // XPay
    xpay_needs_a_key: Case { key: Key::Missing, ..case("xpay", r#"{"amount":10}"#, 401, "x-api-key header is required") };
    xpay_needs_a_signature: Case { signed: false, ..case("xpay", r#"{"amount":10}"#, 401, "x-signature header is required") };
    xpay_needs_amount: case("xpay", r#"{"currency":"PKR"}"#, 400, "amount is required");
    xpay_needs_a_numeric_amount: case("xpay", r#"{"amount":"abc"}"#, 400, "amount");
    xpay_needs_a_known_currency: case("xpay", r#"{"amount":10,"currency":"ZZZ"}"#, 400, "currency");
    xpay_needs_known_methods: case("xpay", r#"{"amount":10,"payment_methods":["bitcoin"]}"#, 400, "unknown method 'bitcoin'");
    xpay_needs_an_offered_method: case("xpay", r#"{"amount":10,"payment_methods":["dqr"]}"#, 400, "none of these methods");
    xpay_needs_a_valid_customer_email: case("xpay", r#"{"amount":10,"customer":{"email":"nope"}}"#, 400, "customer.email");
    xpay_needs_absolute_urls: case("xpay", r#"{"amount":10,"success_url":"nope"}"#, 400, "success_url");
    xpay_needs_json: case("xpay", r#"{"amount":10,"#, 400, "Invalid JSON");

    // Waypay
    waypay_needs_a_key: Case { key: Key::Missing, ..case("waypay", WAYPAY_OK, 401, "SWICH-API-Key header is required") };
    waypay_needs_json: Case { signed: false, ..case("waypay", r#"{"amount":"#, 400, "Malformed JSON") };
    waypay_needs_a_signature: Case { signed: false, ..case("waypay", WAYPAY_OK, 400, "signature") };
    waypay_needs_the_right_signature: Case { signed: false, ..case("waypay", r#"{"amount":1000,"description":"Product Purchase","orderRef":{"orderRef":"ORD1"},"signature":"00000000000000000000000000000000"}"#, 401, "Invalid signature") };
    waypay_needs_description: case("waypay", r#"{"amount":1000,"orderRef":{"orderRef":"ORD1"}}"#, 400, "description");
    waypay_needs_order_ref: case("waypay", r#"{"amount":1000,"description":"Buy"}"#, 400, "orderRef");
    waypay_needs_more_than_10: case("waypay", r#"{"amount":10,"description":"Buy","orderRef":{"orderRef":"ORD1"}}"#, 422, "greater than 10");
    waypay_description_is_alphanumeric: case("waypay", r#"{"amount":100,"description":"Buy-now","orderRef":{"orderRef":"ORD1"}}"#, 422, "'-' is not allowed");
    waypay_description_is_at_most_200: case("waypay", r#"{"amount":100,"description":"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa","orderRef":{"orderRef":"ORD1"}}"#, 422, "1 to 200 characters");
    waypay_cnic_is_13_digits: case("waypay", r#"{"amount":100,"description":"Buy","orderRef":{"orderRef":"ORD1"},"customerRef":{"cnic":"352010834567"}}"#, 422, "exactly 13 digits");
    waypay_email_is_valid: case("waypay", r#"{"amount":100,"description":"Buy","orderRef":{"orderRef":"ORD1"},"customerRef":{"email":"nope"}}"#, 422, "customerRef.email");
    waypay_order_ref_is_alphanumeric: case("waypay", r#"{"amount":100,"description":"Buy","orderRef":{"orderRef":"TEST-ORD-XXXXX"}}"#, 422, "'-' is not allowed");
    waypay_order_ref_is_unique: case("waypay", r#"{"amount":100,"description":"Buy","orderRef":{"orderRef":"ORDONCE"}}"#, 422, "was used before");
    waypay_callback_is_https_or_test_http: case("waypay", r#"{"amount":100,"description":"Buy","orderRef":{"orderRef":"ORD1"},"callbackUrl":"ftp://s.example/cb"}"#, 422, "callbackUrl");
    waypay_payment_method_is_1_or_2: case("waypay", r#"{"amount":100,"description":"Buy","orderRef":{"orderRef":"ORD1"},"paymentMethod":3}"#, 422, "1 (JazzCash) or 2 (Easypaisa)");
    waypay_currency_is_known: case("waypay", r#"{"amount":100,"currency":"ZZZ","description":"Buy","orderRef":{"orderRef":"ORD1"}}"#, 422, "currency");

    // Kazawallet
    kazawallet_needs_a_key: Case { key: Key::Missing, ..case("kazawallet", KAZA_OK, 401, "USER_NOT_FOUND") };
    kazawallet_refuses_a_wrong_key: Case { key: Key::Wrong, ..case("kazawallet", KAZA_OK, 401, "USER_NOT_FOUND") };
    kazawallet_needs_amount: case("kazawallet", r#"{"currency":"USD","email":"a@b.co"}"#, 400, "INVALID_AMOUNT amount");
    kazawallet_needs_a_numeric_amount: case("kazawallet", r#"{"amount":"ten","currency":"USD","email":"a@b.co"}"#, 400, "INVALID_AMOUNT amount");
    kazawallet_needs_a_positive_amount: case("kazawallet", r#"{"amount":-5,"currency":"USD","email":"a@b.co"}"#, 400, "INVALID_AMOUNT amount");
    kazawallet_needs_currency: case("kazawallet", r#"{"amount":"10","email":"a@b.co"}"#, 400, "INVALID_CURRENCY currency");
    kazawallet_needs_a_known_currency: case("kazawallet", r#"{"amount":"10","currency":"XYZ","email":"a@b.co"}"#, 400, "INVALID_CURRENCY currency");
    kazawallet_needs_email: case("kazawallet", r#"{"amount":"10","currency":"USD"}"#, 400, "INVALID_EMAIL email");
    kazawallet_needs_a_valid_email: case("kazawallet", r#"{"amount":"10","currency":"USD","email":"nope"}"#, 400, "INVALID_EMAIL email");
    kazawallet_needs_an_absolute_redirect: case("kazawallet", r#"{"amount":"10","currency":"USD","email":"a@b.co","redirectUrl":"not a url"}"#, 400, "INVALID_REDIRECT_URL redirectUrl");
    kazawallet_needs_a_json_object: case("kazawallet", "{not json", 400, "INVALID_BODY");
}
