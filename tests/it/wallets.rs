//! Wallets: each offered only in its own currency, sandbox forms in test mode, and in live
//! mode a transfer to the merchant's own number with a unique payable amount that a
//! received-money credit completes. On both backends.

use crate::common::{Backend, TestApp};
use hundi::domain::wallet::Wallet;
use serde_json::{json, Value};

async fn create(app: &TestApp, key: &str, body: Value) -> (u16, Value) {
    app.post(key, "/v1/payments", body).await
}

async fn each_wallet_is_offered_in_its_currency_only(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let key = &app.shop.test_key;
    for (currency, offered) in [
        ("PKR", json!(["card", "jazzcash", "easypaisa"])),
        ("BDT", json!(["card", "bkash", "nagad"])),
        ("USD", json!(["card"])),
    ] {
        let (status, p) = create(&app, key, json!({"amount": "10.00", "currency": currency})).await;
        assert_eq!(status, 201, "{p}");
        assert_eq!(p["methods"], offered, "{currency}");
        assert_eq!(
            p["payable_amount"],
            Value::Null,
            "test mode keeps the sandbox forms"
        );
    }
    let (status, e) = create(
        &app,
        key,
        json!({"amount": "10.00", "currency": "BDT", "methods": ["bkash", "jazzcash"]}),
    )
    .await;
    assert_eq!(status, 422, "{e}");
    assert_eq!(e["error"]["param"], "methods");
    assert!(
        e["error"]["message"]
            .as_str()
            .unwrap()
            .contains("jazzcash takes only PKR"),
        "{e}"
    );
    // The BDT checkout offers the Bangladeshi wallets' forms, with their number shape.
    let (_, p) = create(&app, key, json!({"amount": "10.00", "currency": "BDT"})).await;
    let html = app.page_text(p["checkout_url"].as_str().unwrap()).await;
    assert!(html.contains(r#"data-method="bkash""#) && html.contains(r#"data-method="nagad""#));
    assert!(!html.contains(r#"data-method="jazzcash""#), "{html}");
    assert!(html.contains("01xxxxxxxxx"));
}

async fn a_live_wallet_payment_is_paid_by_a_transfer_of_its_exact_amount(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let key = &app.shop.live_key;
    app.set_wallets(&[
        (Wallet::JazzCash, "0300 1234567"),
        (Wallet::Bkash, "+8801712345678"),
    ])
    .await;
    // Without the merchant's number a live wallet cannot be offered.
    let (status, e) = create(
        &app,
        key,
        json!({"amount": "1000.00", "currency": "PKR", "methods": ["easypaisa"]}),
    )
    .await;
    assert_eq!(status, 422, "{e}");
    assert!(
        e["error"]["message"]
            .as_str()
            .unwrap()
            .contains("Easypaisa number"),
        "{e}"
    );
    let (status, first) = create(&app, key, json!({"amount": "1000.00", "currency": "PKR"})).await;
    assert_eq!(status, 201, "{first}");
    assert_eq!(
        first["methods"],
        json!(["card", "jazzcash"]),
        "easypaisa has no number"
    );
    assert_eq!(first["payable_amount"], "999.00");
    assert_eq!(first["upi"], Value::Null);
    let (_, second) = create(&app, key, json!({"amount": "1000.00", "currency": "PKR"})).await;
    assert_eq!(
        second["payable_amount"], "998.99",
        "each pending payment its own amount"
    );

    // The checkout shows the number and the exact amount.
    let html = app
        .page_text(second["checkout_url"].as_str().unwrap())
        .await;
    assert!(html.contains("03001234567"), "{html}");
    assert!(html.contains("998.99"), "{html}");

    // The wallet's credit of 998.99 completes the second payment, and only it.
    let (status, done) = app
        .post(
            key,
            "/v1/credits",
            json!({"method": "jazzcash", "utr": "29876543210", "amount": "998.99"}),
        )
        .await;
    assert_eq!(status, 201, "{done}");
    assert_eq!(done["credit"]["method"], "jazzcash");
    assert_eq!(done["payment"]["id"], second["id"]);
    assert_eq!(done["payment"]["status"], "succeeded");
    assert_eq!(done["payment"]["payment_method"]["type"], "jazzcash");
    assert_eq!(
        done["payment"]["payment_method"]["reference"],
        "29876543210"
    );
    let (_, first_now) = app
        .get(
            key,
            &format!("/v1/payments/{}", first["id"].as_str().unwrap()),
        )
        .await;
    assert_eq!(first_now["status"], "pending");

    // A transaction id is recorded once per wallet; another rail may use the same digits.
    let (status, again) = app
        .post(
            key,
            "/v1/credits",
            json!({"method": "jazzcash", "utr": "29876543210", "amount": "999.00"}),
        )
        .await;
    assert_eq!(status, 409, "{again}");
    let (_, still) = app
        .get(
            key,
            &format!("/v1/payments/{}", first["id"].as_str().unwrap()),
        )
        .await;
    assert_eq!(
        still["status"], "pending",
        "a replayed id completed nothing"
    );

    // A BDT credit for an amount nobody asked for is kept, unmatched, in taka.
    let (status, stray) = app
        .post(
            key,
            "/v1/credits",
            json!({"method": "bkash", "utr": "BLU1H6X87P", "amount": "5075.00"}),
        )
        .await;
    assert_eq!(status, 201, "{stray}");
    assert_eq!(stray["payment"], Value::Null);
    assert_eq!(stray["credit"]["currency"], "BDT");
    assert_eq!(stray["credit"]["matched"], false);
    let (status, _) = app
        .post(
            key,
            "/v1/credits",
            json!({"method": "sadapay", "utr": "BLU1H6X87P", "amount": "1.00"}),
        )
        .await;
    assert_eq!(status, 422);
}

crate::on_both_backends!(
    each_wallet_is_offered_in_its_currency_only,
    a_live_wallet_payment_is_paid_by_a_transfer_of_its_exact_amount,
);
