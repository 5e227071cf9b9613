//! A payment link end to end in a real headless Chromium: an admin makes a link in the
//! dashboard (its page shows the link and its QR code), a customer on a phone opens the link,
//! types an amount within its bounds, pays by card on the checkout, and the link's page in
//! the dashboard shows the payment and the revenue.

use crate::common::browser::Browser;
use crate::common::{Backend, TestApp, PASSWORD};
use hundi::domain::role::Role;

async fn a_payment_link_is_made_shared_and_paid(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.add_user("admin@shop.example", Role::Admin).await;
    let admin = Browser::start(1280, 900).await;
    admin.goto(&format!("{}/dashboard/login", app.url)).await;
    admin.fill("input[name=email]", "admin@shop.example").await;
    admin.fill("input[name=password]", PASSWORD).await;
    admin.click("[data-testid=sign-in]").await;
    admin.find("[data-testid=mode]").await;
    admin.goto(&format!("{}/dashboard/links", app.url)).await;
    admin
        .fill("[data-testid=link-description]", "Gift for the school fund")
        .await;
    admin.fill("[data-testid=link-min]", "100").await;
    admin.fill("[data-testid=link-max]", "5000").await;
    admin.fill("[data-testid=link-max-payments]", "50").await;
    admin.click("[data-testid=link-create]").await;
    let url = admin.text("[data-testid=link-url]").await;
    assert!(url.starts_with(&format!("{}/l/", app.url)), "{url}");
    admin.find("[data-testid=link-qr] svg").await;
    assert_eq!(admin.text("[data-testid=link-status]").await, "active");

    let customer = Browser::start(360, 800).await;
    customer.goto(&url).await;
    assert!(customer
        .text("[data-testid=description]")
        .await
        .contains("school fund"));
    customer.fill("[data-testid=link-amount]", "50").await;
    customer.click("[data-testid=link-pay]").await;
    customer
        .wait_for_text("The amount must be 100.00 to 5000.00 INR", 5)
        .await;
    customer.fill("[data-testid=link-amount]", "750").await;
    customer.screenshot("payment-link-phone-360.png").await;
    customer.click("[data-testid=link-pay]").await;
    customer.wait_for_url(&format!("{}/pay/", app.url), 5).await;
    assert_eq!(customer.text("[data-testid=amount]").await, "INR 750.00");
    customer
        .fill(
            "details[data-method=card] input[name=number]",
            "4242424242424242",
        )
        .await;
    customer
        .fill("details[data-method=card] input[name=expiry]", "12/40")
        .await;
    customer
        .fill("details[data-method=card] input[name=cvc]", "123")
        .await;
    customer.click("details[data-method=card] button.pay").await;
    customer.wait_for_text("Payment successful", 5).await;
    customer.close().await;

    admin.goto(&format!("{}/dashboard/links", app.url)).await;
    admin.click("[data-testid=links-table] a").await;
    assert_eq!(admin.text("[data-testid=link-revenue]").await, "INR 750.00");
    assert!(admin
        .text("[data-testid=link-payments]")
        .await
        .contains("succeeded"));
    admin.close().await;
}

crate::on_sqlite!(a_payment_link_is_made_shared_and_paid);
