//! UPI: unique payable amounts under concurrency, credits that complete payments, and UTRs
//! that never complete two. On both backends.

mod common;

use common::{Backend, TestApp};
use serde_json::{json, Value};
use std::collections::HashSet;
use std::sync::Arc;

async fn upi_app(backend: Backend) -> Arc<TestApp> {
    // Two hundred creates at once: more than the default burst of one key.
    let app = TestApp::spawn_with(
        backend,
        hundi::server::ServerOptions {
            rate_limits: common::raised_rate_limits(),
            ..Default::default()
        },
    )
    .await;
    hundi::admin::set_upi(
        &*app.store,
        &app.shop.id,
        Some("shop@okaxis"),
        Some("Corner Shop"),
    )
    .await
    .unwrap();
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

async fn two_hundred_creates_get_distinct_amounts(backend: Backend) {
    let app = upi_app(backend).await;
    let barrier = Arc::new(tokio::sync::Barrier::new(200));
    let mut tasks = Vec::new();
    for _ in 0..200 {
        let (app, barrier) = (app.clone(), barrier.clone());
        tasks.push(tokio::spawn(async move {
            barrier.wait().await;
            inr(&app, "500.00").await
        }));
    }
    let mut amounts = HashSet::new();
    for t in tasks {
        let p = t.await.unwrap();
        let payable = p["upi"]["payable_amount"].as_str().unwrap().to_string();
        let minor: i64 = payable.replace('.', "").parse().unwrap();
        assert!((29701..=49900).contains(&minor), "{payable}");
        amounts.insert(payable);
    }
    assert_eq!(
        amounts.len(),
        200,
        "every pending payment asks for its own amount"
    );
    assert!(
        amounts.contains("499.00"),
        "the first takes requested - 1.00"
    );
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
            json!({"utr": "N104261234567890", "amount": "97.50"}),
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
    let reader = hundi::admin::create_key(
        &*app.store,
        &app.shop.id,
        hundi::domain::key::Mode::Test,
        "r",
        vec![hundi::domain::key::Permission::PaymentsWrite],
        None,
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
    two_hundred_creates_get_distinct_amounts,
    a_credit_completes_the_right_payment,
    one_utr_completes_one_payment,
    unmatched_credits_are_kept_and_matched_by_hand,
    upi_rules_and_alerts,
);
