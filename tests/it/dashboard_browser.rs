//! The dashboard in headless Chromium, end to end: sign in, see the demo payment, filter, open
//! it, refund part of it and see the refund in its timeline, create an API key and use it,
//! revoke it and see the API refuse it, export the CSV. Screenshots of each page go to
//! target/tmp/screenshots/ (scripts/update_screenshots.sh refreshes docs/screenshots/ from them).

use crate::common::browser::Browser;
use crate::common::{Backend, TestApp};
use serde_json::{json, Value};
use std::time::Duration;

use crate::common::PASSWORD;

async fn shot(b: &Browser, name: &str) {
    b.screenshot(&format!("dashboard-{name}.png")).await;
}

async fn a_merchant_runs_the_business_from_the_dashboard(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.add_user("owner@shop.example", hundi::domain::role::Role::Owner)
        .await;
    // The demo payment, paid, and a few others.
    let (_, demo) = app
        .post(
            &app.shop.test_key,
            "/v1/payments",
            json!({"amount": "1500.00", "currency": "PKR", "description": "Demo order",
                   "reference": "DEMO-1",
                   "customer": {"name": "Ayesha Khan", "email": "ayesha@example.com"}}),
        )
        .await;
    let demo_id = demo["id"].as_str().unwrap().to_string();
    app.post(
        &app.shop.test_key,
        &format!("/v1/test/payments/{demo_id}/succeed"),
        json!({}),
    )
    .await;
    for amount in ["250.00", "99.00"] {
        app.payment(amount).await;
    }

    let b = Browser::start(1280, 900).await;
    b.goto(&format!("{}/dashboard", app.url)).await;
    b.wait_for_url(&format!("{}/dashboard/login", app.url), 5)
        .await;
    shot(&b, "login").await;
    b.fill("input[name=email]", "owner@shop.example").await;
    b.fill("input[name=password]", PASSWORD).await;
    b.click("[data-testid=sign-in]").await;
    b.find("[data-testid=revenue-today]").await;
    assert_eq!(b.text("[data-testid=revenue-today]").await, "PKR 1,500.00");
    assert_eq!(b.text("[data-testid=mode]").await, "Test mode");
    b.find("[data-testid=revenue-chart]").await;
    assert!(b
        .text("[data-testid=payments-table]")
        .await
        .contains("Ayesha Khan"));
    shot(&b, "overview").await;

    // Payments: filter to the succeeded ones.
    b.goto(&format!("{}/dashboard/payments", app.url)).await;
    assert_eq!(
        b.client
            .find_all(fantoccini::Locator::Css("tr[data-payment]"))
            .await
            .unwrap()
            .len(),
        3
    );
    b.find("[data-testid=filter-status]")
        .await
        .select_by_value("succeeded")
        .await
        .unwrap();
    b.click("[data-testid=apply-filters]").await;
    b.wait_for_url(
        &format!("{}/dashboard/payments?status=succeeded", app.url),
        5,
    )
    .await;
    let rows = b
        .client
        .find_all(fantoccini::Locator::Css("tr[data-payment]"))
        .await
        .unwrap();
    assert_eq!(rows.len(), 1);
    shot(&b, "payments").await;

    // The CSV of the filtered rows, fetched by the page itself (with its session).
    let csv_href = b
        .find("[data-testid=export-csv]")
        .await
        .attr("href")
        .await
        .unwrap()
        .unwrap();
    let csv: Value = b
        .client
        .execute_async(
            "const done = arguments[arguments.length - 1];
             fetch(arguments[0]).then(r => r.text()).then(done, e => done('error ' + e));",
            vec![json!(csv_href)],
        )
        .await
        .unwrap();
    let csv = csv.as_str().unwrap().to_string();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), 2, "{csv}");
    assert!(lines[1].starts_with(&format!("{demo_id},")), "{csv}");
    assert!(lines[1].contains("Ayesha Khan"));

    // The payment's page: refund part of it, confirm, see the refund in the timeline.
    b.click(&format!("tr[data-payment='{demo_id}'] a")).await;
    b.wait_for_url(&format!("{}/dashboard/payments/{demo_id}", app.url), 5)
        .await;
    assert_eq!(b.text("[data-testid=payment-status]").await, "succeeded");
    shot(&b, "payment").await;
    b.fill("[data-testid=refund-amount]", "500.00").await;
    b.click("[data-testid=refund]").await;
    b.client
        .accept_alert()
        .await
        .expect("the refund asks first");
    b.wait_for_text("Refunded PKR 500.00.", 10).await;
    assert_eq!(
        b.text("[data-testid=payment-status]").await,
        "partially_refunded"
    );
    b.find("[data-event='refund.succeeded']").await;
    assert_eq!(
        b.client
            .find_all(fantoccini::Locator::Css("[data-testid=refund-row]"))
            .await
            .unwrap()
            .len(),
        1
    );
    shot(&b, "payment-refunded").await;
    let (_, native) = app
        .get(&app.shop.test_key, &format!("/v1/payments/{demo_id}"))
        .await;
    assert_eq!(native["amount_refunded"], "500.00");

    // A new key: its secret shown once, and it works with the API.
    b.goto(&format!("{}/dashboard/keys", app.url)).await;
    b.fill("[data-testid=key-label]", "Web shop").await;
    b.click("[data-testid=create-key-submit]").await;
    let secret = b.text("[data-testid=secret-value]").await;
    assert!(secret.starts_with("hk_test_"), "{secret}");
    shot(&b, "keys").await;
    let (status, made) = app
        .post(
            &secret,
            "/v1/payments",
            json!({"amount": "10.00", "currency": "PKR"}),
        )
        .await;
    assert_eq!(status, 201, "{made}");
    // Revoke it: the API refuses it from then on (within the key cache's second).
    let shown = b.text("[data-testid=shown-secret] .alert").await;
    let key_id = shown
        .split_whitespace()
        .find(|w| w.starts_with("key_"))
        .unwrap()
        .to_string();
    b.click(&format!("tr[data-key='{key_id}'] [data-testid=revoke]"))
        .await;
    b.client.accept_alert().await.expect("revoking asks first");
    b.wait_for_text("revoked", 10).await;
    let mut refused = 0;
    for _ in 0..30 {
        refused = app.get(&secret, "/v1/payments").await.0;
        if refused == 401 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(refused, 401);

    for page in ["webhooks", "credits", "settings"] {
        b.goto(&format!("{}/dashboard/{page}", app.url)).await;
        b.find("main.content h1").await;
        shot(&b, page).await;
    }
    // A phone-sized window still works.
    b.client.set_window_size(360, 800).await.unwrap();
    b.goto(&format!("{}/dashboard/payments", app.url)).await;
    b.find("[data-testid=payments-table]").await;
    shot(&b, "payments-phone").await;
    b.close().await;
}

on_sqlite!(a_merchant_runs_the_business_from_the_dashboard);
