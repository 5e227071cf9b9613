//! A live bKash payment in a real headless Chromium at a phone's width: the checkout shows the
//! merchant's number and the exact amount, and the forwarded received-money SMS moves the
//! open page on by itself.

use crate::common::browser::Browser;
use crate::common::{Backend, TestApp};
use hundi::domain::wallet::Wallet;
use hundi::service::access::Acting;
use serde_json::json;

async fn a_forwarded_bkash_sms_pays_the_open_checkout(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.set_wallets(&[
        (Wallet::Bkash, "01712345678"),
        (Wallet::Nagad, "01812345678"),
    ])
    .await;
    let (status, p) = app
        .post(
            &app.shop.live_key,
            "/v1/payments",
            json!({"amount": "500.00", "currency": "BDT", "description": "Two notebooks"}),
        )
        .await;
    assert_eq!(status, 201, "{p}");
    let b = Browser::start(360, 900).await;
    b.goto(p["checkout_url"].as_str().unwrap()).await;
    assert_eq!(
        b.text("[data-testid=transfer-amount-bkash]").await,
        "BDT 499.00"
    );
    assert_eq!(
        b.text("[data-testid=wallet-number-bkash]").await,
        "01712345678"
    );
    b.find("[data-method=nagad]").await;
    b.screenshot("checkout-wallet-phone-360.png").await;

    let payments = hundi::service::PaymentService::new(app.store.clone(), app.url.clone());
    let (_, token) = payments
        .create_sms_device(&Acting::cli(&app.shop.id, true), "Shop phone")
        .await
        .unwrap();
    let sms = "You have received Tk 499.00 from 01735814791. Fee Tk 0.00. Balance Tk 1,499.00. TrxID BLU1H6X87P at 30/12/2026 13:22";
    let now = chrono::Utc::now().timestamp_millis();
    let res = app
        .http
        .post(format!("{}/v1/credits/sms", app.url))
        .bearer_auth(&token)
        .json(&json!({"from": "bKash", "text": sms, "sentStamp": now, "receivedStamp": now, "sim": "sim1"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 201);
    let posted = std::time::Instant::now();
    b.wait_for_text("Payment successful", 5).await;
    assert!(posted.elapsed() < std::time::Duration::from_secs(2));
    assert!(b
        .text("[data-testid=receipt]")
        .await
        .contains("bKash · transaction BLU1H6X87P"));
    b.close().await;
}

crate::on_sqlite!(a_forwarded_bkash_sms_pays_the_open_checkout);
