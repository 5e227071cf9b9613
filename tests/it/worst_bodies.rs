//! Every front door answers the worst bodies we can build under the 1 MiB size limit (deep
//! nesting, many fields, long strings and keys, huge numbers, many numeric fields, repeated
//! keys) with a 2xx or 4xx, never a 5xx, and quickly: each request within a bound that a
//! loaded 2-core machine meets with a debug build (the release figures are in
//! docs/performance.md, from bench/worst_bodies.sh). A cost that grew faster than the body
//! (a signature check that tried every combination of number renderings, for instance) would
//! take seconds or minutes here. SQLite is enough: the subject is the parsers, not the store.

use crate::common::{Backend, TestApp};
use serde_json::{json, Map, Value};
use std::time::{Duration, Instant};

/// The server's body limit (1 MiB); bodies stay a little under it.
const LIMIT: usize = 1 << 20;
const ROOM: usize = LIMIT - 8 * 1024;
/// The dialects', the checkout's and the dashboard's limit (64 KiB): their worst bodies are
/// built just under it, and the 1 MiB ones must be refused (413) before they are parsed.
const SMALL_ROOM: usize = 64 * 1024 - 2 * 1024;

/// Far below what a super-linear cost takes on a 1 MiB body (the Waypay check that tried
/// every combination of number renderings ran for minutes and took 15.6 GB), far above what a
/// linear one takes on a debug build of a loaded 2-core machine (about 0.1-0.7 s there; a
/// release build answers in milliseconds, docs/performance.md).
const BOUND: Duration = Duration::from_secs(5);

/// `n` characters of `s` repeated.
fn repeat(s: &str, n: usize) -> String {
    s.repeat(n / s.len().max(1))
}

/// The body `base` (a valid request) with `extra` fields appended while it stays under `ROOM`.
fn with_fields(
    room: usize,
    base: &Map<String, Value>,
    mut field: impl FnMut(usize) -> (String, String),
) -> String {
    let mut out = Value::Object(base.clone()).to_string();
    out.pop(); // the closing brace
    let mut i = 0;
    loop {
        let (k, v) = field(i);
        let piece = format!(",{}:{v}", Value::String(k));
        if out.len() + piece.len() + 1 > room {
            break;
        }
        out.push_str(&piece);
        i += 1;
    }
    out.push('}');
    out
}

/// The worst JSON bodies built on a valid one, just under the server's 1 MiB limit.
fn worst_json(base: &Value) -> Vec<(&'static str, String)> {
    worst_json_under(ROOM, base)
}

/// The worst bodies for a door with the 64 KiB limit: under it, and under the 1 MiB one.
fn small_door_json(base: &Value) -> Vec<(&'static str, String)> {
    let mut bodies = worst_json_under(SMALL_ROOM, base);
    bodies.extend(worst_json(base));
    bodies
}

/// The same bodies, just under `room` bytes.
fn worst_json_under(room: usize, base: &Value) -> Vec<(&'static str, String)> {
    let base = base.as_object().cloned().unwrap_or_default();
    let half = room / 2 - 64;
    let mut bodies = vec![
        (
            "deep array",
            format!("{}{}", "[".repeat(half), "]".repeat(half)),
        ),
        (
            "deep object",
            format!("{}1{}", repeat("{\"a\":", half), "}".repeat(half / 5)),
        ),
        ("unclosed nesting", "[{\"a\":".repeat(room / 6)),
        (
            "many string fields",
            with_fields(room, &base, |i| (format!("f{i}"), "\"v\"".into())),
        ),
        (
            "many numeric fields",
            with_fields(room, &base, |i| (format!("n{i}"), format!("{i}.25"))),
        ),
        (
            "many huge numbers",
            with_fields(room, &base, |i| (format!("h{i}"), "1e308".into())),
        ),
        (
            "one key repeated",
            with_fields(room, &base, |_| ("amount".into(), "1.5".into())),
        ),
        (
            "many empty arrays",
            with_fields(room, &base, |i| {
                (format!("a{i}"), "[[],[],[],[],[],[],[],[]]".into())
            }),
        ),
        (
            "many nested objects",
            with_fields(room, &base, |i| {
                (format!("o{i}"), r#"{"a":{"b":{"c":[1,2.5,"x"]}}}"#.into())
            }),
        ),
        (
            "long key",
            with_fields(room, &base, |i| ("k".repeat(room / 2 + i), "1".into())),
        ),
        (
            "escaped characters",
            with_fields(room, &base, |i| {
                (format!("e{i}"), r#""\ud83d\ude00\u0000\n\"\\\/""#.into())
            }),
        ),
        (
            "trailing commas",
            with_fields(room, &base, |i| (format!("t{i}"), "[1, 2, ]".into())),
        ),
    ];
    // Each field of the valid body in turn: a long string, a huge number, a long digit string.
    for key in base.keys() {
        let mut long = base.clone();
        long.insert(key.clone(), Value::String("x".repeat(room - 2048)));
        bodies.push(("a long string in a field", Value::Object(long).to_string()));
        let mut digits = Value::Object(base.clone()).to_string();
        let token = format!("\"{key}\":");
        if let Some(at) = digits.find(&token) {
            let rest = &digits[at + token.len()..];
            let end = rest
                .find([',', '}'])
                .map(|e| at + token.len() + e)
                .unwrap_or(digits.len());
            digits.replace_range(at + token.len()..end, &"9".repeat(room - 2048));
            bodies.push(("a huge number in a field", digits.clone()));
            let mut exponent = Value::Object(base.clone()).to_string();
            exponent.replace_range(
                at + token.len()..end,
                &format!("1e{}", "9".repeat(room - 2048)),
            );
            bodies.push(("a huge exponent in a field", exponent));
            let mut quoted = Value::Object(base.clone()).to_string();
            quoted.replace_range(
                at + token.len()..end,
                &format!("\"{}.{}\"", "9".repeat(room / 2), "0".repeat(room / 4)),
            );
            bodies.push(("a huge decimal string in a field", quoted));
        }
    }
    bodies
}

/// The worst form bodies built on a valid one.
fn worst_forms(base: &[(&str, &str)]) -> Vec<(&'static str, String)> {
    worst_forms_under(ROOM, base)
}

/// The worst forms for a door with the 64 KiB limit: under it, and under the 1 MiB one.
fn small_door_forms(base: &[(&str, &str)]) -> Vec<(&'static str, String)> {
    let mut bodies = worst_forms_under(SMALL_ROOM, base);
    bodies.extend(worst_forms(base));
    bodies
}

/// The same forms, just under `room` bytes.
fn worst_forms_under(room: usize, base: &[(&str, &str)]) -> Vec<(&'static str, String)> {
    let encoded = serde_urlencoded::to_string(base).unwrap_or_default();
    let grow = |piece: &dyn Fn(usize) -> String| {
        let mut out = encoded.clone();
        let mut i = 0;
        loop {
            let p = piece(i);
            if out.len() + p.len() + 1 > room {
                break;
            }
            out.push('&');
            out.push_str(&p);
            i += 1;
        }
        out
    };
    let mut bodies = vec![
        ("many fields", grow(&|i| format!("f{i}=v"))),
        ("one key repeated", grow(&|_| "number=4242".to_string())),
        (
            "percent escapes",
            grow(&|i| format!("p{i}=%F0%9F%98%80%00%ZZ")),
        ),
        ("empty pairs", grow(&|_| "&&&".to_string())),
    ];
    for (key, _) in base {
        let mut long: Vec<(&str, String)> = base.iter().map(|(k, v)| (*k, v.to_string())).collect();
        for (k, v) in long.iter_mut() {
            if k == key {
                *v = "4".repeat(room - 2048);
            }
        }
        bodies.push((
            "a long value in a field",
            serde_urlencoded::to_string(&long).unwrap_or_default(),
        ));
    }
    bodies
}

/// Headers that sign a body (XPay's `x-signature`).
type Signer = dyn Fn(&str) -> Vec<(&'static str, String)> + Sync;

/// Sends each body and checks the answer's class and time; prints the slowest.
async fn check(
    app: &TestApp,
    door: &str,
    path: &str,
    headers: &[(&str, String)],
    content_type: &str,
    bodies: Vec<(&'static str, String)>,
    sign: Option<&Signer>,
) {
    let mut slowest = (Duration::ZERO, "");
    for (what, body) in bodies {
        assert!(body.len() < LIMIT, "{door}: {what} is {} bytes", body.len());
        let mut req = app
            .http
            .post(format!("{}{path}", app.url))
            .header("content-type", content_type);
        for (k, v) in headers {
            req = req.header(*k, v);
        }
        if let Some(sign) = sign {
            for (k, v) in sign(&body) {
                req = req.header(k, v);
            }
        }
        let started = Instant::now();
        let res = req.body(body).send().await.expect("an answer");
        let status = res.status().as_u16();
        let text = res.text().await.unwrap_or_default();
        let took = started.elapsed();
        assert!(
            (200..500).contains(&status),
            "{door}: {what} answered {status}: {}",
            &text[..text.len().min(300)]
        );
        assert!(took < BOUND, "{door}: {what} took {took:?}");
        if took > slowest.0 {
            slowest = (took, what);
        }
    }
    println!("{door}: slowest {:?} ({})", slowest.0, slowest.1);
}

fn bearer(key: &str) -> Vec<(&'static str, String)> {
    vec![("authorization", format!("Bearer {key}"))]
}

async fn native_payment_create(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let base = json!({"amount": "100.00", "currency": "PKR", "description": "bench",
        "reference": "R1", "metadata": {"a": "b"}, "customer": {"email": "a@example.com"}});
    let headers = bearer(&app.shop.test_key);
    check(
        &app,
        "POST /v1/payments",
        "/v1/payments",
        &headers,
        "application/json",
        worst_json(&base),
        None,
    )
    .await;
}

async fn native_webhook_endpoint_create(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let base = json!({"url": "https://93.184.216.34/hook", "events": ["payment.succeeded"], "description": "d"});
    let mut bodies = worst_json(&base);
    let many_events = format!(
        r#"{{"url":"https://93.184.216.34/hook","events":[{}"payment.succeeded"]}}"#,
        repeat("\"payment.succeeded\",", ROOM - 1024)
    );
    bodies.push(("many events", many_events));
    let headers = bearer(&app.shop.test_key);
    check(
        &app,
        "POST /v1/webhook_endpoints",
        "/v1/webhook_endpoints",
        &headers,
        "application/json",
        bodies,
        None,
    )
    .await;
}

async fn native_credits(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let base = json!({"utr": "410512345678", "amount": "99.00", "payer": "ravi@oksbi"});
    let headers = bearer(&app.shop.test_key);
    check(
        &app,
        "POST /v1/credits",
        "/v1/credits",
        &headers,
        "application/json",
        worst_json(&base),
        None,
    )
    .await;
}

async fn native_credits_parse(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let alert = "Dear Customer, Rs.1,499.00 credited to your A/c XX1234 on 14-04-26 by UPI Ref No 410512345678. Avl Bal Rs.25,000.00 -SBI";
    let mut bodies = worst_json(&json!({"text": alert}));
    // The longest text accepted (10,000 bytes), made of what the scanner looks for.
    for (what, unit) in [
        ("alert: amounts", "Rs.1,00,000.00 "),
        ("alert: verbs", "credited debited sent you "),
        ("alert: references", "UTR No 410512345678 Ref# "),
        ("alert: balances", "Avl Bal Rs.25,000.00 "),
        ("alert: names", "from RAVI KUMAR SHARMA "),
        ("alert: vpas", "ravi@oksbi by "),
        ("alert: rail paths", "UPI/P2M/410598765432/RAVI/"),
        ("alert: digits", "1,"),
        ("alert: markers", "Rs Rs. INR ₹ "),
    ] {
        let text = format!("credited {}", repeat(unit, 10_000 - 9 - unit.len()));
        bodies.push((what, json!({"text": text}).to_string()));
    }
    let headers = bearer(&app.shop.test_key);
    check(
        &app,
        "POST /v1/credits/parse",
        "/v1/credits/parse",
        &headers,
        "application/json",
        bodies,
        None,
    )
    .await;
}

async fn pakhipay_create(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let base = json!({"cus_name": "John", "cus_email": "john@example.com", "amount": "100.00",
        "success_url": "https://shop.example/ok", "cancel_url": "https://shop.example/no"});
    let headers = vec![("api-key", app.shop.test_key.clone())];
    check(
        &app,
        "Pakhi Pay create",
        "/api/request/payment/create",
        &headers,
        "application/json",
        small_door_json(&base),
        None,
    )
    .await;
}

async fn paygate_create(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let base = json!({"amount": 100, "customer_name": "John Doe", "merchant_ref": "ORDER-123",
        "callback_url": "https://shop.example/cb", "metadata": {"order_id": "ORD-456"}});
    let headers = vec![("X-API-Key", app.shop.test_key.clone())];
    check(
        &app,
        "PayGate create",
        "/api/v1/create-payment",
        &headers,
        "application/json",
        small_door_json(&base),
        None,
    )
    .await;
}

async fn xpay_create(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let hmac = app.credential("xpay_hmac").await;
    let base = json!({"amount": "150.00", "currency": "PKR",
        "customer": {"name": "Zoe", "email": "z@example.com"}, "metadata": {"order_reference": 1042}});
    let headers = vec![
        ("x-api-key", app.shop.test_key.clone()),
        ("x-account-id", hmac.public_id.clone().unwrap_or_default()),
    ];
    let secret = hmac.secret.clone();
    // Signed over the raw body, so the request reaches the rules.
    let sign = move |body: &str| {
        vec![(
            "x-signature",
            hundi::dialects::signing::hmac_sha256_hex(secret.as_bytes(), body.as_bytes()),
        )]
    };
    check(
        &app,
        "XPay create",
        "/public/v1/payment/checkout",
        &headers,
        "application/json",
        small_door_json(&base),
        Some(&sign),
    )
    .await;
}

async fn waypay_create(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let secret = app.credential("waypay").await.secret;
    let base = json!({"amount": 1000, "currency": "PKR", "description": "Product Purchase",
        "orderRef": {"orderRef": "ORD123456", "discount": "10", "tax": "15"},
        "intentType": "checkout", "paymentMethod": 1,
        "signature": "00000000000000000000000000000000"});
    let mut bodies = small_door_json(&base);
    // The body that took 15.6 GB: a signed body with 24 extra numeric fields.
    let mut numbers = base.clone();
    numbers["amount"] = json!(1000.5);
    for i in 0..24 {
        numbers[format!("n{i:02}")] = json!(i as f64 + 0.25);
    }
    numbers.as_object_mut().unwrap().remove("signature");
    let unsigned = numbers.to_string();
    numbers["signature"] =
        json!(hundi::dialects::signing::waypay_signatures(&unsigned, &secret)[0]);
    bodies.push(("24 extra numeric fields, signed", numbers.to_string()));
    let headers = vec![("SWICH-API-Key", app.shop.test_key.clone())];
    check(
        &app,
        "Waypay create",
        "/Gateway/v1/Payment/initiate-checkout",
        &headers,
        "application/json",
        bodies,
        None,
    )
    .await;
}

async fn kazawallet_create(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.credential("kazawallet").await;
    let base = json!({"amount": "150.00", "currency": "USD", "email": "buyer@example.com",
        "ref": "inv-1", "redirectUrl": "https://shop.example/done"});
    let headers = vec![("x-api-key", app.shop.test_key.clone())];
    check(
        &app,
        "Kazawallet create",
        "/wallet/createPaymentLink",
        &headers,
        "application/json",
        small_door_json(&base),
        None,
    )
    .await;
}

/// The checkout page's hidden CSRF token.
async fn checkout_csrf(app: &TestApp, url: &str) -> String {
    let page = app
        .http
        .get(url)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let at = page.find("name=\"csrf\" value=\"").expect("a csrf field") + 19;
    page[at..at + 64].to_string()
}

async fn checkout_forms(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let payment = app.payment("100.00").await;
    let url = payment["checkout_url"]
        .as_str()
        .expect("checkout_url")
        .to_string();
    let path = url.strip_prefix(&app.url).unwrap_or(&url).to_string();
    let csrf = checkout_csrf(&app, &url).await;
    for (action, base) in [
        (
            "card",
            vec![
                ("csrf", csrf.as_str()),
                ("number", "4000000000000002"),
                ("expiry", "12/40"),
                ("cvc", "123"),
            ],
        ),
        (
            "wallet",
            vec![
                ("csrf", csrf.as_str()),
                ("wallet", "jazzcash"),
                ("phone", "03001234567"),
            ],
        ),
        (
            "otp",
            vec![
                ("csrf", csrf.as_str()),
                ("attempt", "att_1"),
                ("otp", "000000"),
            ],
        ),
        ("cancel", vec![("csrf", "not-the-token")]),
    ] {
        check(
            &app,
            &format!("checkout {action}"),
            &format!("{path}/{action}"),
            &[],
            "application/x-www-form-urlencoded",
            small_door_forms(&base),
            None,
        )
        .await;
    }
}

async fn dashboard_sign_in(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let page = app
        .http
        .get(format!("{}/dashboard/login", app.url))
        .send()
        .await
        .unwrap();
    let cookie = page
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .map(|v| v.split(';').next().unwrap_or_default().to_string())
        .collect::<Vec<_>>()
        .join("; ");
    let html = page.text().await.unwrap();
    let at = html.find("name=\"csrf\" value=\"").expect("a csrf field") + 19;
    let end = html[at..].find('"').unwrap() + at;
    let csrf = html[at..end].to_string();
    let base = [
        ("email", "nobody@example.com"),
        ("password", "wrong password"),
        ("csrf", csrf.as_str()),
    ];
    let headers = vec![("cookie", cookie)];
    check(
        &app,
        "dashboard sign-in",
        "/dashboard/login",
        &headers,
        "application/x-www-form-urlencoded",
        small_door_forms(&base),
        None,
    )
    .await;
}

/// A body over 64 KiB is refused by each dialect with 413 in its own error shape (and by the
/// checkout and the dashboard with 413), before anything parses it.
async fn small_doors_refuse_large_bodies(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let key = app.shop.test_key.clone();
    let body = json!({"amount": "10.00", "description": "x".repeat(70 * 1024)}).to_string();
    type Shape = fn(&Value) -> bool;
    let doors: [(&str, &str, &str, Shape); 5] = [
        ("/api/request/payment/create", "api-key", "Pakhi Pay", |b| {
            b["status"] == 0
        }),
        ("/api/v1/create-payment", "X-API-Key", "PayGate", |b| {
            b["success"] == false && b["error"].is_string()
        }),
        ("/public/v1/payment/checkout", "x-api-key", "XPay", |b| {
            b["responseStatus"] == "PAYLOAD_TOO_LARGE"
        }),
        (
            "/Gateway/v1/Payment/initiate-checkout",
            "SWICH-API-Key",
            "Waypay",
            |b| b["code"] == "payload_too_large" && b["details"].is_array(),
        ),
        (
            "/wallet/createPaymentLink",
            "x-api-key",
            "Kazawallet",
            |b| b["success"] == false && b["error"]["details"]["key"] == "PAYLOAD_TOO_LARGE",
        ),
    ];
    for (path, header, name, shape) in doors {
        let res = app
            .http
            .post(format!("{}{path}", app.url))
            .header(header, &key)
            .header("content-type", "application/json")
            .body(body.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 413, "{name}");
        let answer: Value = res.json().await.unwrap();
        assert!(shape(&answer), "{name}: {answer}");
        assert!(
            answer.to_string().contains("64 KiB"),
            "{name} says the limit: {answer}"
        );
    }
    // The same body under the limit reaches the dialect's rules (a 4xx that is not 413).
    let small = json!({"amount": "10.00", "description": "x".repeat(32 * 1024)}).to_string();
    let res = app
        .http
        .post(format!("{}/wallet/createPaymentLink", app.url))
        .header("x-api-key", &key)
        .header("content-type", "application/json")
        .body(small)
        .send()
        .await
        .unwrap();
    assert_ne!(res.status(), 413);
    let form = format!("email=a%40b.c&password={}", "p".repeat(70 * 1024));
    for path in [
        "/dashboard/login".to_string(),
        "/pay/pay_x/card".to_string(),
    ] {
        let res = app
            .http
            .post(format!("{}{path}", app.url))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(form.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 413, "{path}");
    }
}

on_sqlite!(
    small_doors_refuse_large_bodies,
    native_payment_create,
    native_webhook_endpoint_create,
    native_credits,
    native_credits_parse,
    pakhipay_create,
    paygate_create,
    xpay_create,
    waypay_create,
    kazawallet_create,
    checkout_forms,
    dashboard_sign_in,
);
