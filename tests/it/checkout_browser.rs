//! The hosted checkout in a real headless Chromium: what a customer does, end to end.

use crate::common::browser::{Browser, MerchantSite};
use crate::common::{Backend, TestApp};
use serde_json::json;

async fn create(app: &TestApp, body: serde_json::Value) -> (String, String) {
    let (status, p) = app.post(&app.shop.test_key, "/v1/payments", body).await;
    assert_eq!(status, 201, "{p}");
    (
        p["id"].as_str().unwrap().to_string(),
        p["checkout_url"].as_str().unwrap().to_string(),
    )
}

async fn status_of(app: &TestApp, id: &str) -> String {
    let (_, p) = app
        .get(&app.shop.test_key, &format!("/v1/payments/{id}"))
        .await;
    p["status"].as_str().unwrap().to_string()
}

pub async fn pay_with_card(b: &Browser, number: &str) {
    b.fill("details[data-method=card] input[name=number]", number)
        .await;
    b.fill("details[data-method=card] input[name=expiry]", "12/40")
        .await;
    b.fill("details[data-method=card] input[name=cvc]", "123")
        .await;
    b.click("details[data-method=card] button.pay").await;
}

async fn pays_and_lands_on_success_url(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let site = MerchantSite::start(&app.url).await;
    let (id, checkout) = create(
        &app,
        json!({"amount": "1250.50", "currency": "PKR", "description": "Two teas",
               "success_url": format!("{}/thanks", site.url)}),
    )
    .await;
    let b = Browser::start(1280, 900).await;
    b.goto(&checkout).await;
    assert_eq!(b.text("[data-testid=amount]").await, "PKR 1,250.50");
    assert!(b.text(".merchant-name").await.contains("Shop"));
    pay_with_card(&b, "4242 4242 4242 4242").await;
    b.wait_for_text("Payment successful", 10).await;
    let landed = b.wait_for_url(&format!("{}/thanks", site.url), 10).await;
    assert!(landed.ends_with(&format!("payment_id={id}")), "{landed}");
    b.wait_for_text("Thanks for your order", 5).await;
    assert_eq!(status_of(&app, &id).await, "succeeded");
    let events = app.events_of(&app.shop.test_key, &id).await;
    assert_eq!(events.last().unwrap()["type"], "payment.succeeded");
    b.close().await;
}

async fn decline_then_retry(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (id, checkout) = create(&app, json!({"amount": "99", "currency": "PKR"})).await;
    let b = Browser::start(360, 800).await;
    b.goto(&checkout).await;
    pay_with_card(&b, "4000 0000 0000 0002").await;
    assert!(b.text("[data-testid=error]").await.contains("declined"));
    assert_eq!(status_of(&app, &id).await, "pending");
    pay_with_card(&b, "4242 4242 4242 4241").await;
    assert!(
        b.text("[data-field=number]").await.contains("not valid"),
        "inline error for a bad number"
    );
    pay_with_card(&b, "4242 4242 4242 4242").await;
    b.wait_for_text("Payment successful", 10).await;
    assert_eq!(status_of(&app, &id).await, "succeeded");
    b.close().await;
}

async fn otp_card_and_wallet(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (id, checkout) = create(&app, json!({"amount": "10", "currency": "PKR"})).await;
    let b = Browser::start(1280, 900).await;
    b.goto(&checkout).await;
    pay_with_card(&b, "4000 0027 6000 3184").await;
    b.fill("[data-testid=otp-form] input[name=otp]", "123456")
        .await;
    b.click("[data-testid=otp-form] button.pay").await;
    b.wait_for_text("Payment successful", 10).await;
    assert_eq!(status_of(&app, &id).await, "succeeded");

    let (id, checkout) = create(
        &app,
        json!({"amount": "10", "currency": "PKR", "methods": ["easypaisa"]}),
    )
    .await;
    b.goto(&checkout).await;
    b.fill(
        "details[data-method=easypaisa] input[name=phone]",
        "03001234567",
    )
    .await;
    b.click("details[data-method=easypaisa] button.pay").await;
    b.fill("[data-testid=otp-form] input[name=otp]", "123456")
        .await;
    b.click("[data-testid=otp-form] button.pay").await;
    b.wait_for_text("Payment successful", 10).await;
    assert_eq!(status_of(&app, &id).await, "succeeded");
    b.close().await;
}

async fn cancel_returns_to_cancel_url(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let site = MerchantSite::start(&app.url).await;
    let (id, checkout) = create(
        &app,
        json!({"amount": "10", "currency": "PKR", "cancel_url": format!("{}/cart", site.url)}),
    )
    .await;
    let b = Browser::start(1280, 900).await;
    b.goto(&checkout).await;
    b.click("[data-testid=cancel]").await;
    b.wait_for_text("Payment canceled", 10).await;
    b.click("[data-testid=return]").await;
    let landed = b.wait_for_url(&format!("{}/cart", site.url), 10).await;
    assert!(landed.ends_with(&format!("payment_id={id}")));
    assert_eq!(status_of(&app, &id).await, "canceled");
    b.close().await;
}

async fn expires_while_the_page_is_open(backend: Backend) {
    let app = TestApp::spawn_with(
        backend,
        hundi::config::Config {
            expiry_interval: std::time::Duration::from_millis(200),
            ..Default::default()
        },
    )
    .await;
    let (id, checkout) = create(
        &app,
        json!({"amount": "10", "currency": "PKR", "expires_in": 60}),
    )
    .await;
    // Bring the expiry to 3 seconds from now, straight in the database.
    let soon = chrono::Utc::now() + chrono::Duration::seconds(3);
    crate::common::set_expiry(&app.db.url, &id, soon).await;
    let b = Browser::start(1280, 900).await;
    b.goto(&checkout).await;
    b.find("details[data-method=card]").await;
    b.wait_for_text("This payment has expired", 15).await;
    assert!(
        b.client
            .find(fantoccini::Locator::Css("input[name=number]"))
            .await
            .is_err(),
        "no way to pay"
    );
    assert_eq!(status_of(&app, &id).await, "expired");
    b.close().await;
}

async fn merchant_text_is_shown_as_text(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let evil = "<script>document.title='owned'</script><b>bold</b>";
    let (_, checkout) = create(
        &app,
        json!({"amount": "10", "currency": "PKR", "description": evil}),
    )
    .await;
    let b = Browser::start(1280, 900).await;
    b.goto(&checkout).await;
    assert_eq!(b.text("[data-testid=description]").await, evil);
    assert!(!b.client.title().await.unwrap().contains("owned"));
    assert!(b
        .client
        .find(fantoccini::Locator::Css("[data-testid=description] b"))
        .await
        .is_err());
    b.close().await;
}

async fn sdk_modal_on_another_origin(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let site = MerchantSite::start(&app.url).await;
    let (id, checkout) = create(
        &app,
        json!({"amount": "10", "currency": "PKR", "success_url": format!("{}/thanks", site.url)}),
    )
    .await;
    let b = Browser::start(1280, 900).await;
    let page = format!(
        "{}/shop?checkout={}",
        site.url,
        url::form_urlencoded::byte_serialize(checkout.as_bytes()).collect::<String>()
    );
    b.goto(&page).await;
    b.click("#buy").await;
    let frame = b.find("iframe[title='Hundi checkout']").await;
    frame.enter_frame().await.expect("enter the checkout frame");
    pay_with_card(&b, "4242 4242 4242 4242").await;
    // The receipt page tells the SDK, which closes the modal: look at the shop page again.
    b.client
        .enter_parent_frame()
        .await
        .expect("back to the shop");
    b.wait_for_text(&format!("paid {id}"), 10).await;
    assert!(
        b.url().await.starts_with(&format!("{}/shop", site.url)),
        "the shop page stayed"
    );
    assert!(
        b.client
            .find(fantoccini::Locator::Css("iframe[title='Hundi checkout']"))
            .await
            .is_err(),
        "the modal closed"
    );
    assert_eq!(status_of(&app, &id).await, "succeeded");
    b.close().await;
}

async fn upi_page_moves_on_when_the_credit_arrives(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.set_upi("shop@okaxis", "Corner Shop").await;
    let (id, checkout) = create(&app, json!({"amount": "300.00", "currency": "INR"})).await;
    let b = Browser::start(360, 900).await;
    b.goto(&checkout).await;
    assert_eq!(b.text("[data-testid=upi-amount]").await, "INR 299.00");
    b.find("[data-testid=upi-qr] svg").await;
    let href = b
        .find("[data-testid=upi-open]")
        .await
        .attr("href")
        .await
        .unwrap()
        .unwrap();
    assert!(href.starts_with("upi://pay?pa=shop%40okaxis"), "{href}");
    // The page waits on one open stream, not by polling.
    let waiting = app.server.as_ref().unwrap().state.waiting.clone();
    for _ in 0..50 {
        if waiting.count() == 1 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(waiting.count(), 1, "the page holds one waiting stream");
    let (status, _) = app
        .post(
            &app.shop.test_key,
            "/v1/credits",
            json!({"utr": "410512345678", "amount": "299.00"}),
        )
        .await;
    assert_eq!(status, 201);
    let posted = std::time::Instant::now();
    b.wait_for_text("Payment successful", 5).await;
    let took = posted.elapsed();
    assert!(
        took < std::time::Duration::from_secs(2),
        "the page took {took:?} to move on"
    );
    assert!(b
        .text("[data-testid=receipt]")
        .await
        .contains("410512345678"));
    assert_eq!(status_of(&app, &id).await, "succeeded");
    b.close().await;
}

/// Pakhi Pay's SDK example on a shop page of another origin: create, modal, pay, and the shop
/// page goes to its success URL with the transaction id.
async fn pakhipay_sdk_on_a_shop_page(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let site = MerchantSite::start(&app.url).await;
    let b = Browser::start(1280, 900).await;
    let page = format!(
        "{}/pakhi?key={}&back={}",
        site.url,
        app.shop.test_key,
        url::form_urlencoded::byte_serialize(site.url.as_bytes()).collect::<String>()
    );
    b.goto(&page).await;
    b.click("button").await;
    let frame = b.find("iframe[title='Hundi checkout']").await;
    frame.enter_frame().await.expect("enter the checkout frame");
    assert_eq!(b.text("[data-testid=amount]").await, "BDT 100.00");
    pay_with_card(&b, "4242 4242 4242 4242").await;
    b.client
        .enter_parent_frame()
        .await
        .expect("back to the shop");
    let landed = b
        .wait_for_url(&format!("{}/thanks?transaction_id=pay_", site.url), 10)
        .await;
    let id = landed
        .split("transaction_id=")
        .nth(1)
        .unwrap()
        .split('&')
        .next()
        .unwrap()
        .to_string();
    assert!(landed.ends_with(&format!("transactionId={id}")), "{landed}");
    assert_eq!(status_of(&app, &id).await, "succeeded");
    b.close().await;
}

on_sqlite!(
    pakhipay_sdk_on_a_shop_page,
    upi_page_moves_on_when_the_credit_arrives,
    pays_and_lands_on_success_url,
    decline_then_retry,
    otp_card_and_wallet,
    cancel_returns_to_cancel_url,
    expires_while_the_page_is_open,
    merchant_text_is_shown_as_text,
    sdk_modal_on_another_origin,
);
