//! UPI: unique payable amounts under concurrency, credits that complete payments, and UTRs
//! that never complete two. On both backends.

use crate::common::{Backend, TestApp};
use serde_json::{json, Value};
use std::collections::HashSet;
use std::sync::Arc;

async fn upi_app(backend: Backend) -> Arc<TestApp> {
    // Two hundred creates at once: more than the default burst of one key.
    let app = TestApp::spawn_with(
        backend,
        hundi::config::Config {
            rate_limits: crate::common::raised_rate_limits(),
            ..Default::default()
        },
    )
    .await;
    app.set_upi("shop@okaxis", "Corner Shop").await;
    Arc::new(app)
}

async fn inr(app: &TestApp, amount: &str) -> Value {
    let (status, p) = app
        .post(
            &app.shop.test_key,
            "/v1/payments",
            json!({"amount": amount, "currency": "INR"}),
        )
        .await;
    assert_eq!(status, 201, "{p}");
    p
}

/// 200 concurrent creates of one amount: the first 100 get the 100 payable amounts it offers
/// (499.00 down to 498.01), each its own; the rest are refused with 409, never underpriced.
async fn two_hundred_creates_share_a_hundred_amounts(backend: Backend) {
    let app = upi_app(backend).await;
    let barrier = Arc::new(tokio::sync::Barrier::new(200));
    let mut tasks = Vec::new();
    for _ in 0..200 {
        let (app, barrier) = (app.clone(), barrier.clone());
        tasks.push(tokio::spawn(async move {
            barrier.wait().await;
            app.post(
                &app.shop.test_key,
                "/v1/payments",
                json!({"amount": "500.00", "currency": "INR"}),
            )
            .await
        }));
    }
    let mut amounts = HashSet::new();
    let mut refused = 0;
    for t in tasks {
        let (status, p) = t.await.unwrap();
        if status == 409 {
            assert_eq!(p["error"]["code"], "payable_amounts_exhausted", "{p}");
            refused += 1;
            continue;
        }
        assert_eq!(status, 201, "{p}");
        let payable = p["upi"]["payable_amount"].as_str().unwrap().to_string();
        let minor: i64 = payable.replace('.', "").parse().unwrap();
        assert!((49801..=49900).contains(&minor), "{payable}");
        amounts.insert(payable);
    }
    assert_eq!(
        amounts.len(),
        100,
        "every pending payment asks for its own amount"
    );
    assert_eq!(refused, 100);
    assert!(
        amounts.contains("499.00"),
        "the first takes requested - 1.00"
    );
}

/// The cost of finding a payable amount does not depend on the amount: the largest INR
/// amounts are created as fast as small ones (before, 10,000,000.00 took seconds and
/// gigabytes, and 999,999,999.99 aborted the process).
async fn huge_amounts_are_created_quickly(backend: Backend) {
    let app = upi_app(backend).await;
    let (small, _) = timed(&app, "100.00").await;
    for (amount, payable) in [
        ("999999999.99", "999999998.99"),
        ("10000000.00", "9999999.00"),
    ] {
        let (took, p) = timed(&app, amount).await;
        assert_eq!(p["upi"]["payable_amount"], payable);
        assert!(
            took < std::time::Duration::from_secs(2)
                && took < small * 50 + std::time::Duration::from_millis(500),
            "{amount} took {took:?} (100.00 took {small:?})"
        );
    }
}

async fn timed(app: &TestApp, amount: &str) -> (std::time::Duration, Value) {
    let started = std::time::Instant::now();
    let p = inr(app, amount).await;
    (started.elapsed(), p)
}

/// 110 pending 50.00 payments on one UPI id: 100 get 49.00 down to 48.01; the next are
/// refused in each front door's own error shape, never offered 47.99 or less.
async fn exhausted_payables_are_refused_in_every_dialect(backend: Backend) {
    let app = upi_app(backend).await;
    let key = app.shop.test_key.clone();
    let mut lowest = i64::MAX;
    for _ in 0..100 {
        let p = inr(&app, "50.00").await;
        let minor: i64 = p["upi"]["payable_amount"]
            .as_str()
            .unwrap()
            .replace('.', "")
            .parse()
            .unwrap();
        lowest = lowest.min(minor);
    }
    assert_eq!(lowest, 4801, "the floor is requested - 1.99");
    for _ in 0..10 {
        let (status, body) = app
            .post(
                &key,
                "/v1/payments",
                json!({"amount": "50.00", "currency": "INR"}),
            )
            .await;
        assert_eq!(status, 409, "{body}");
        assert_eq!(body["error"]["code"], "payable_amounts_exhausted");
        assert_eq!(body["error"]["param"], "amount");
        let message = body["error"]["message"].as_str().unwrap();
        assert!(message.contains("49.00 INR down to 48.01 INR"), "{message}");
    }
    // Another amount, whose range does not overlap, is still offered.
    assert_eq!(inr(&app, "60.00").await["upi"]["payable_amount"], "59.00");

    let send = |path: &'static str, header: &'static str, body: String| {
        let (app, key) = (&app, &key);
        async move {
            let res = app
                .http
                .post(format!("{}{path}", app.url))
                .header(header, key)
                .header("content-type", "application/json")
                .body(body)
                .send()
                .await
                .unwrap();
            crate::common::read(res).await
        }
    };
    // PayGate: {"success":false,"error":…}.
    let (status, body) = send(
        "/api/v1/create-payment",
        "X-API-Key",
        json!({"amount": 50}).to_string(),
    )
    .await;
    assert_eq!(status, 409, "{body}");
    assert_eq!(body["success"], false);
    assert!(
        body["error"].as_str().unwrap().contains("payable amount"),
        "{body}"
    );
    app.credential("kazawallet").await;
    // Kazawallet: {"success":false,"error":{"message","details":{"key","field"}}}.
    let (status, body) = send(
        "/wallet/createPaymentLink",
        "x-api-key",
        json!({"amount": "50.00", "currency": "INR", "email": "a@b.co"}).to_string(),
    )
    .await;
    assert_eq!(status, 409, "{body}");
    assert_eq!(body["success"], false);
    assert_eq!(
        body["error"]["details"],
        json!({"key": "PAYABLE_AMOUNTS_EXHAUSTED", "field": "amount"})
    );
    // XPay: {"success":false,"responseStatus":…,"message":…}, signed with the HMAC secret.
    let xpay = app.credential("xpay_hmac").await;
    let body = json!({"amount": 50, "currency": "INR", "customer": {"email": "a@b.co", "name": "A", "phone": "03001234567"}, "metadata": {"order_reference": "o1"}}).to_string();
    let res = app
        .http
        .post(format!("{}/public/v1/payment/checkout", app.url))
        .header("x-api-key", &key)
        .header("x-account-id", xpay.public_id.clone().unwrap())
        .header(
            "x-signature",
            hundi::dialects::signing::hmac_sha256_hex(xpay.secret.as_bytes(), body.as_bytes()),
        )
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap();
    let (status, body) = crate::common::read(res).await;
    assert_eq!(status, 409, "{body}");
    assert_eq!(body["success"], false);
    assert!(
        body["message"].as_str().unwrap().contains("payable amount"),
        "{body}"
    );
    // Waypay: {"code","message","details":[{"field","issue"}]}, signed with MD5.
    let waypay = app.credential("waypay").await;
    let unsigned =
        r#"{"amount":50,"currency":"INR","description":"Order","orderRef":{"orderRef":"ORD1"}}"#;
    let mut map: serde_json::Map<String, Value> = serde_json::from_str(unsigned).unwrap();
    let sig = hundi::dialects::signing::waypay_signatures(unsigned, &waypay.secret)[0].clone();
    map.insert("signature".into(), json!(sig));
    let (status, body) = send(
        "/Gateway/v1/Payment/initiate-checkout",
        "SWICH-API-Key",
        Value::Object(map).to_string(),
    )
    .await;
    assert_eq!(status, 409, "{body}");
    assert_eq!(body["code"], "conflict");
    assert_eq!(body["details"][0]["field"], "amount", "{body}");
}

/// Payable amounts are per UPI id and per mode: test payments never push a live payment's
/// amount down, and a live credit completes only the live payment.
async fn test_payments_never_push_live_ones_down(backend: Backend) {
    let app = upi_app(backend).await;
    let test = inr(&app, "100.00").await;
    assert_eq!(test["upi"]["payable_amount"], "99.00");
    let (status, live) = app
        .post(
            &app.shop.live_key,
            "/v1/payments",
            json!({"amount": "100.00", "currency": "INR"}),
        )
        .await;
    assert_eq!(status, 201, "{live}");
    assert_eq!(live["livemode"], true);
    assert_eq!(live["upi"]["payable_amount"], "99.00");
    assert_eq!(inr(&app, "100.00").await["upi"]["payable_amount"], "98.99");
    let (status, res) = app
        .post(
            &app.shop.live_key,
            "/v1/credits",
            json!({"utr": "410512349999", "amount": "99.00"}),
        )
        .await;
    assert_eq!(status, 201, "{res}");
    assert_eq!(res["payment"]["id"], live["id"]);
    let (_, still) = app
        .get(
            &app.shop.test_key,
            &format!("/v1/payments/{}", test["id"].as_str().unwrap()),
        )
        .await;
    assert_eq!(still["status"], "pending");
}

async fn a_credit_completes_the_right_payment(backend: Backend) {
    let app = upi_app(backend).await;
    let a = inr(&app, "100.00").await;
    let b = inr(&app, "100.00").await;
    assert_eq!(a["upi"]["payable_amount"], "99.00");
    assert_eq!(b["upi"]["payable_amount"], "98.99");
    let link = b["upi"]["deeplink"].as_str().unwrap();
    assert!(
        link.starts_with("upi://pay?pa=shop%40okaxis&pn=Corner+Shop&am=98.99&cu=INR&tn=pay_"),
        "{link}"
    );
    let (status, res) = app
        .post(
            &app.shop.test_key,
            "/v1/credits",
            json!({"utr": "410512345678", "amount": "98.99", "payer": "ravi@oksbi"}),
        )
        .await;
    assert_eq!(status, 201, "{res}");
    assert_eq!(res["payment"]["id"], b["id"]);
    assert_eq!(res["credit"]["matched"], true);
    let (_, got_b) = app
        .get(
            &app.shop.test_key,
            &format!("/v1/payments/{}", b["id"].as_str().unwrap()),
        )
        .await;
    assert_eq!(got_b["status"], "succeeded");
    assert_eq!(
        got_b["payment_method"],
        json!({"type": "upi", "reference": "410512345678"})
    );
    let (_, got_a) = app
        .get(
            &app.shop.test_key,
            &format!("/v1/payments/{}", a["id"].as_str().unwrap()),
        )
        .await;
    assert_eq!(got_a["status"], "pending", "the other payment is untouched");
    let events = app
        .events_of(&app.shop.test_key, b["id"].as_str().unwrap())
        .await;
    assert_eq!(events.last().unwrap()["type"], "payment.succeeded");
    // Once b is no longer pending its amount is free again.
    let c = inr(&app, "100.00").await;
    assert_eq!(c["upi"]["payable_amount"], "98.99");
}

async fn one_utr_completes_one_payment(backend: Backend) {
    let app = upi_app(backend).await;
    let p = inr(&app, "250.00").await;
    let barrier = Arc::new(tokio::sync::Barrier::new(10));
    let mut tasks = Vec::new();
    for _ in 0..10 {
        let (app, barrier) = (app.clone(), barrier.clone());
        tasks.push(tokio::spawn(async move {
            barrier.wait().await;
            app.post(
                &app.shop.test_key,
                "/v1/credits",
                json!({"utr": "410599990000", "amount": "249.00"}),
            )
            .await
        }));
    }
    let mut created = 0;
    for t in tasks {
        let (status, body) = t.await.unwrap();
        match status {
            201 => created += 1,
            409 => assert!(body["error"]["message"]
                .as_str()
                .unwrap()
                .contains("410599990000")),
            other => panic!("unexpected {other}: {body}"),
        }
    }
    assert_eq!(created, 1);
    let events = app
        .events_of(&app.shop.test_key, p["id"].as_str().unwrap())
        .await;
    let succeeded = events
        .iter()
        .filter(|e| e["type"] == "payment.succeeded")
        .count();
    assert_eq!(succeeded, 1);
}

async fn unmatched_credits_are_kept_and_matched_by_hand(backend: Backend) {
    let app = upi_app(backend).await;
    let key = &app.shop.test_key;
    let p = inr(&app, "100.00").await;
    let pid = p["id"].as_str().unwrap();
    let (status, res) = app
        .post(
            key,
            "/v1/credits",
            json!({"utr": "N104261234567890", "amount": "99.50"}),
        )
        .await;
    assert_eq!(status, 201);
    assert_eq!(res["payment"], Value::Null);
    let credit = res["credit"]["id"].as_str().unwrap().to_string();
    let (_, list) = app.get(key, "/v1/credits?matched=false").await;
    let unmatched: Vec<&str> = list["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    assert_eq!(unmatched, vec![credit.as_str()]);
    let (status, _) = app
        .post(
            &app.other.test_key,
            &format!("/v1/credits/{credit}/match"),
            json!({"payment": pid}),
        )
        .await;
    assert_eq!(status, 404, "another merchant cannot see the credit");
    let (status, matched) = app
        .post(
            key,
            &format!("/v1/credits/{credit}/match"),
            json!({"payment": pid}),
        )
        .await;
    assert_eq!(status, 200, "{matched}");
    assert_eq!(matched["payment"]["status"], "succeeded");
    assert_eq!(matched["credit"]["payment"], pid);
    let (status, _) = app
        .post(
            key,
            &format!("/v1/credits/{credit}/match"),
            json!({"payment": pid}),
        )
        .await;
    assert_eq!(status, 409);
    let (_, list) = app.get(key, "/v1/credits?matched=false").await;
    assert!(list["data"].as_array().unwrap().is_empty());
    let (_, list) = app.get(key, "/v1/credits?matched=true").await;
    assert_eq!(list["data"].as_array().unwrap().len(), 1);
    // A second unmatched credit cannot pay an already paid payment.
    let (_, res) = app
        .post(
            key,
            "/v1/credits",
            json!({"utr": "410500000002", "amount": "1.00"}),
        )
        .await;
    let other = res["credit"]["id"].as_str().unwrap();
    let (status, _) = app
        .post(
            key,
            &format!("/v1/credits/{other}/match"),
            json!({"payment": pid}),
        )
        .await;
    assert_eq!(status, 409);
    let (_, still) = app.get(key, &format!("/v1/credits/{other}")).await;
    assert_eq!(still["matched"], false, "a refused match changes nothing");
}

/// A manual match needs the payment's currency and at least its payable amount: a 1.00
/// credit does not complete a 10,000.00 payment through the API (only a dashboard user who
/// confirms the shortfall can, see tests/it/dashboard.rs).
async fn short_credits_are_not_matched_by_the_api(backend: Backend) {
    let app = upi_app(backend).await;
    let key = &app.shop.test_key;
    let p = inr(&app, "10000.00").await;
    let pid = p["id"].as_str().unwrap();
    let (_, res) = app
        .post(
            key,
            "/v1/credits",
            json!({"utr": "410500000101", "amount": "1.00"}),
        )
        .await;
    assert_eq!(res["payment"], Value::Null);
    let credit = res["credit"]["id"].as_str().unwrap().to_string();
    let (status, body) = app
        .post(
            key,
            &format!("/v1/credits/{credit}/match"),
            json!({"payment": pid}),
        )
        .await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["error"]["code"], "credit_short");
    let message = body["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("9999.00 INR") && message.contains("9998.00 INR short"),
        "{message}"
    );
    let (_, still) = app.get(key, &format!("/v1/payments/{pid}")).await;
    assert_eq!(still["status"], "pending");
    let (_, unmatched) = app.get(key, &format!("/v1/credits/{credit}")).await;
    assert_eq!(unmatched["matched"], false);
    // Another currency never pays, whatever the amounts.
    let (_, pkr) = app
        .post(
            key,
            "/v1/payments",
            json!({"amount": "1.00", "currency": "PKR"}),
        )
        .await;
    let (status, body) = app
        .post(
            key,
            &format!("/v1/credits/{credit}/match"),
            json!({"payment": pkr["id"]}),
        )
        .await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["error"]["param"], "payment");
    assert!(body["error"]["message"].as_str().unwrap().contains("PKR"));
    // A credit of at least the payable amount (here more) is matched.
    let (_, res) = app
        .post(
            key,
            "/v1/credits",
            json!({"utr": "410500000102", "amount": "9999.50"}),
        )
        .await;
    let enough = res["credit"]["id"].as_str().unwrap();
    let (status, body) = app
        .post(
            key,
            &format!("/v1/credits/{enough}/match"),
            json!({"payment": pid}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["payment"]["status"], "succeeded");
    assert_eq!(body["credit"]["shortfall_accepted"], Value::Null);
}

async fn upi_rules_and_alerts(backend: Backend) {
    let app = upi_app(backend).await;
    let key = &app.shop.test_key;
    let (status, body) = app
        .post(
            key,
            "/v1/payments",
            json!({"amount": "10", "currency": "PKR", "methods": ["upi"]}),
        )
        .await;
    assert_eq!(status, 422);
    assert_eq!(body["error"]["param"], "methods");
    let (_, pkr) = app
        .post(
            key,
            "/v1/payments",
            json!({"amount": "10", "currency": "PKR"}),
        )
        .await;
    assert!(!pkr["methods"].as_array().unwrap().contains(&json!("upi")));
    assert_eq!(pkr["upi"], Value::Null);
    let (status, _) = app
        .post(
            &app.other.test_key,
            "/v1/payments",
            json!({"amount": "10", "currency": "INR", "methods": ["upi"]}),
        )
        .await;
    assert_eq!(status, 422, "a merchant without a UPI id cannot take UPI");
    for (body, param) in [
        (json!({"utr": "12", "amount": "1"}), "utr"),
        (json!({"utr": "410512345678", "amount": "0"}), "amount"),
        (json!({"utr": "410512345678", "amount": "1.001"}), "amount"),
    ] {
        let (status, res) = app.post(key, "/v1/credits", body).await;
        assert_eq!(status, 422);
        assert_eq!(res["error"]["param"], param);
    }
    let p = inr(&app, "1500.00").await;
    let alert = "Dear Customer, Rs.1,499.00 credited to your A/c XX1234 on 14-04-26 by UPI Ref No 410512340000. Avl Bal Rs.25,000.00 -SBI";
    let (status, parsed) = app
        .post(key, "/v1/credits/parse", json!({"text": alert}))
        .await;
    assert_eq!(status, 200, "{parsed}");
    assert_eq!(
        (parsed["utr"].as_str(), parsed["amount"].as_str()),
        (Some("410512340000"), Some("1499.00"))
    );
    assert_eq!(
        parsed["recorded"],
        Value::Null,
        "parsing alone records nothing"
    );
    let (_, recorded) = app
        .post(
            key,
            "/v1/credits/parse",
            json!({"text": alert, "record": true}),
        )
        .await;
    assert_eq!(recorded["recorded"]["payment"]["id"], p["id"]);
    let (status, res) = app
        .post(
            key,
            "/v1/credits/parse",
            json!({"text": "Rs.200.00 debited from A/c XX1234 UPI Ref 410500001111"}),
        )
        .await;
    assert_eq!(status, 422);
    assert_eq!(res["error"]["code"], "alert_not_understood");
    // Keys without credits:write cannot post credits.
    let reader = hundi::service::keys::create_key(
        &*app.store,
        &hundi::service::access::Acting::cli(&app.shop.id, false),
        hundi::service::keys::NewKey::new(
            hundi::domain::key::Mode::Test,
            "r",
            vec![hundi::domain::key::Permission::PaymentsWrite],
        ),
    )
    .await
    .unwrap();
    let (status, _) = app
        .post(
            &reader.secret,
            "/v1/credits",
            json!({"utr": "410512345670", "amount": "1"}),
        )
        .await;
    assert_eq!(status, 403);
}

on_both_backends!(
    two_hundred_creates_share_a_hundred_amounts,
    huge_amounts_are_created_quickly,
    exhausted_payables_are_refused_in_every_dialect,
    test_payments_never_push_live_ones_down,
    short_credits_are_not_matched_by_the_api,
    a_credit_completes_the_right_payment,
    one_utr_completes_one_payment,
    unmatched_credits_are_kept_and_matched_by_hand,
    upi_rules_and_alerts,
);
