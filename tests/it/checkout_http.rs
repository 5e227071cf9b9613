//! The hosted checkout over plain HTTP (forms, as a browser without JS would send them),
//! on both backends. The real browser runs in tests/it/checkout_browser.rs.

use crate::common::{Backend, TestApp};
use serde_json::{json, Value};

struct Page {
    status: u16,
    headers: reqwest::header::HeaderMap,
    body: String,
}

impl Page {
    fn csrf(&self) -> String {
        let at = self
            .body
            .find("name=\"csrf\" value=\"")
            .expect("a form with a CSRF token")
            + 19;
        self.body[at..at + 64].to_string()
    }

    fn attempt_id(&self) -> String {
        let at = self
            .body
            .find("name=\"attempt\" value=\"")
            .expect("an OTP form")
            + 22;
        let end = self.body[at..].find('"').unwrap();
        self.body[at..at + end].to_string()
    }
}

fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

async fn open(app: &TestApp, id: &str) -> Page {
    let res = app
        .http
        .get(format!("{}/pay/{id}", app.url))
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    let headers = res.headers().clone();
    Page {
        status,
        headers,
        body: res.text().await.unwrap(),
    }
}

async fn submit(app: &TestApp, id: &str, action: &str, fields: &[(&str, &str)]) -> Page {
    let res = no_redirects()
        .post(format!("{}/pay/{id}/{action}", app.url))
        .form(fields)
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    let headers = res.headers().clone();
    Page {
        status,
        headers,
        body: res.text().await.unwrap(),
    }
}

async fn create(app: &TestApp, body: Value) -> String {
    let (status, p) = app.post(&app.shop.test_key, "/v1/payments", body).await;
    assert_eq!(status, 201, "{p}");
    p["id"].as_str().unwrap().to_string()
}

async fn api_status(app: &TestApp, id: &str) -> String {
    let (_, p) = app
        .get(&app.shop.test_key, &format!("/v1/payments/{id}"))
        .await;
    p["status"].as_str().unwrap().to_string()
}

async fn card_decline_then_success(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let id = create(&app, json!({"amount": "1250.50", "currency": "PKR", "success_url": "https://shop.example/done?order=7"})).await;
    let page = open(&app, &id).await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("PKR 1,250.50"));
    assert!(page.body.contains("Shop"), "the merchant's name is shown");
    let csrf = page.csrf();
    let declined = submit(
        &app,
        &id,
        "card",
        &[
            ("csrf", &csrf),
            ("number", "4000 0000 0000 0002"),
            ("expiry", "12/40"),
            ("cvc", "123"),
        ],
    )
    .await;
    assert_eq!(declined.status, 200);
    assert!(
        declined.body.contains("Your card was declined"),
        "{}",
        declined.body
    );
    assert_eq!(
        api_status(&app, &id).await,
        "pending",
        "a decline leaves the payment payable"
    );
    let funds = submit(
        &app,
        &id,
        "card",
        &[
            ("csrf", &csrf),
            ("number", "4000000000009995"),
            ("expiry", "12/40"),
            ("cvc", "123"),
        ],
    )
    .await;
    assert!(funds.body.contains("insufficient funds"));
    let invalid = submit(
        &app,
        &id,
        "card",
        &[
            ("csrf", &csrf),
            ("number", "4242424242424241"),
            ("expiry", "13/40"),
            ("cvc", "1"),
        ],
    )
    .await;
    assert_eq!(invalid.status, 422);
    for field in ["number", "expiry", "cvc"] {
        assert!(
            invalid.body.contains(&format!("data-field=\"{field}\"")),
            "{field} error shown inline"
        );
    }
    let paid = submit(
        &app,
        &id,
        "card",
        &[
            ("csrf", &csrf),
            ("number", "4242424242424242"),
            ("expiry", "12/40"),
            ("cvc", "123"),
        ],
    )
    .await;
    assert_eq!(paid.status, 303);
    assert_eq!(paid.headers["location"], format!("/pay/{id}"));
    assert_eq!(api_status(&app, &id).await, "succeeded");
    let receipt = open(&app, &id).await;
    assert!(receipt.body.contains("Payment successful"));
    assert!(receipt.body.contains("Visa •••• 4242"));
    let expected = format!("https://shop.example/done?order=7&#38;payment_id={id}");
    assert!(
        receipt.body.contains(&expected),
        "redirects to success_url with the id: {}",
        receipt.body
    );
    // Two declines (format errors are not attempts) and one success were recorded, with no
    // card number anywhere: brand and last four only.
    let attempts = app.store.list_attempts(&id).await.unwrap();
    let summary: Vec<(&str, Option<&str>)> = attempts
        .iter()
        .map(|a| (a.status.as_str(), a.card_last4.as_deref()))
        .collect();
    assert_eq!(
        summary,
        vec![
            ("declined", Some("0002")),
            ("declined", Some("9995")),
            ("succeeded", Some("4242"))
        ]
    );
    let events = app.events_of(&app.shop.test_key, &id).await;
    let types: Vec<&str> = events.iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(types, vec!["payment.created", "payment.succeeded"]);
    assert!(!serde_json::to_string(&events)
        .unwrap()
        .contains("4242424242424242"));
    // Paying again does nothing.
    let again = submit(
        &app,
        &id,
        "card",
        &[
            ("csrf", &csrf),
            ("number", "4242424242424242"),
            ("expiry", "12/40"),
            ("cvc", "123"),
        ],
    )
    .await;
    assert_eq!(again.status, 303);
    assert_eq!(app.store.list_attempts(&id).await.unwrap().len(), 3);
}

async fn otp_card_and_wallets(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let id = create(&app, json!({"amount": "10", "currency": "PKR"})).await;
    let csrf = open(&app, &id).await.csrf();
    let otp = submit(
        &app,
        &id,
        "card",
        &[
            ("csrf", &csrf),
            ("number", "4000002760003184"),
            ("expiry", "12/40"),
            ("cvc", "123"),
        ],
    )
    .await;
    assert!(otp.body.contains("Enter the code"), "{}", otp.body);
    let attempt = otp.attempt_id();
    let wrong = submit(
        &app,
        &id,
        "otp",
        &[("csrf", &csrf), ("attempt", &attempt), ("otp", "000000")],
    )
    .await;
    assert!(wrong.body.contains("code was not correct"));
    let reused = submit(
        &app,
        &id,
        "otp",
        &[("csrf", &csrf), ("attempt", &attempt), ("otp", "123456")],
    )
    .await;
    assert!(
        reused.body.contains("already been used"),
        "an answered code cannot be answered again"
    );
    let otp = submit(
        &app,
        &id,
        "card",
        &[
            ("csrf", &csrf),
            ("number", "4000002760003184"),
            ("expiry", "12/40"),
            ("cvc", "123"),
        ],
    )
    .await;
    let ok = submit(
        &app,
        &id,
        "otp",
        &[
            ("csrf", &csrf),
            ("attempt", &otp.attempt_id()),
            ("otp", "123456"),
        ],
    )
    .await;
    assert_eq!(ok.status, 303);
    assert_eq!(api_status(&app, &id).await, "succeeded");

    for wallet in ["jazzcash", "easypaisa"] {
        let id = create(
            &app,
            json!({"amount": "10", "currency": "PKR", "methods": [wallet]}),
        )
        .await;
        let page = open(&app, &id).await;
        assert!(
            !page.body.contains("data-method=\"card\""),
            "only the allowed method is offered"
        );
        let csrf = page.csrf();
        let bad = submit(
            &app,
            &id,
            "wallet",
            &[("csrf", &csrf), ("wallet", wallet), ("phone", "12345")],
        )
        .await;
        assert_eq!(bad.status, 422);
        let declined = submit(
            &app,
            &id,
            "wallet",
            &[
                ("csrf", &csrf),
                ("wallet", wallet),
                ("phone", "03000000002"),
            ],
        )
        .await;
        assert!(declined.body.contains("declined"));
        let card = submit(
            &app,
            &id,
            "card",
            &[
                ("csrf", &csrf),
                ("number", "4242424242424242"),
                ("expiry", "12/40"),
                ("cvc", "123"),
            ],
        )
        .await;
        assert_eq!(
            card.status, 303,
            "a method the payment does not allow is not tried"
        );
        assert_eq!(api_status(&app, &id).await, "pending");
        let otp = submit(
            &app,
            &id,
            "wallet",
            &[
                ("csrf", &csrf),
                ("wallet", wallet),
                ("phone", "0300 1234567"),
            ],
        )
        .await;
        assert!(otp.body.contains("number ending 4567"));
        let ok = submit(
            &app,
            &id,
            "otp",
            &[
                ("csrf", &csrf),
                ("attempt", &otp.attempt_id()),
                ("otp", "123456"),
            ],
        )
        .await;
        assert_eq!(ok.status, 303);
        assert_eq!(api_status(&app, &id).await, "succeeded");
    }
}

async fn cancel_expiry_and_attempt_cap(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let id = create(
        &app,
        json!({"amount": "10", "currency": "PKR", "cancel_url": "https://shop.example/cart"}),
    )
    .await;
    let csrf = open(&app, &id).await.csrf();
    let res = submit(&app, &id, "cancel", &[("csrf", &csrf)]).await;
    assert_eq!(res.status, 303);
    assert_eq!(api_status(&app, &id).await, "canceled");
    let page = open(&app, &id).await;
    assert!(page.body.contains("Payment canceled"));
    assert!(page
        .body
        .contains(&format!("https://shop.example/cart?payment_id={id}")));
    assert!(
        !page.body.contains("name=\"number\""),
        "no way to pay a canceled payment"
    );

    // Ten declines use up the attempts: the payment fails, with its event.
    let id = create(&app, json!({"amount": "10", "currency": "PKR"})).await;
    let csrf = open(&app, &id).await.csrf();
    for _ in 0..10 {
        submit(
            &app,
            &id,
            "card",
            &[
                ("csrf", &csrf),
                ("number", "4000000000000002"),
                ("expiry", "12/40"),
                ("cvc", "123"),
            ],
        )
        .await;
    }
    assert_eq!(api_status(&app, &id).await, "failed");
    let types: Vec<String> = app
        .events_of(&app.shop.test_key, &id)
        .await
        .iter()
        .map(|e| e["type"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(types, vec!["payment.created", "payment.failed"]);
    assert!(open(&app, &id)
        .await
        .body
        .contains("could not be completed"));
    let more = submit(
        &app,
        &id,
        "card",
        &[
            ("csrf", &csrf),
            ("number", "4242424242424242"),
            ("expiry", "12/40"),
            ("cvc", "123"),
        ],
    )
    .await;
    assert_eq!(more.status, 303);
    assert_eq!(app.store.list_attempts(&id).await.unwrap().len(), 10);
}

async fn security_of_the_page(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let id = create(&app, json!({"amount": "10", "currency": "PKR", "description": "<script>alert('x')</script> & \"quotes\""})).await;
    let page = open(&app, &id).await;
    assert!(
        page.body
            .contains("&#60;script&#62;alert(&#39;x&#39;)&#60;/script&#62;")
            || page.body.contains("&lt;script&gt;"),
        "{}",
        page.body
    );
    assert!(!page.body.contains("<script>alert"));
    let csp = page.headers["content-security-policy"].to_str().unwrap();
    assert!(
        csp.contains("script-src 'self'") && csp.contains("frame-ancestors 'none'"),
        "{csp}"
    );
    assert!(!csp.contains("unsafe-inline"));
    assert_eq!(page.headers["x-frame-options"], "DENY");
    // Forms without the right token are refused and change nothing.
    for token in ["", "0000", &"a".repeat(64)] {
        let res = submit(
            &app,
            &id,
            "card",
            &[
                ("csrf", token),
                ("number", "4242424242424242"),
                ("expiry", "12/40"),
                ("cvc", "123"),
            ],
        )
        .await;
        assert_eq!(res.status, 403);
        let res = submit(&app, &id, "cancel", &[("csrf", token)]).await;
        assert_eq!(res.status, 403);
    }
    let other = create(&app, json!({"amount": "10", "currency": "PKR"})).await;
    let foreign = open(&app, &other).await.csrf();
    assert_eq!(
        submit(&app, &id, "cancel", &[("csrf", &foreign)])
            .await
            .status,
        403,
        "a token is bound to its payment"
    );
    assert_eq!(api_status(&app, &id).await, "pending");
    // Embedding: the SDK's parent origin may frame the page; anything else may not.
    let res = app
        .http
        .get(format!(
            "{}/pay/{id}?embed=1&origin=http%3A%2F%2F127.0.0.1%3A9999",
            app.url
        ))
        .send()
        .await
        .unwrap();
    let csp = res.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        csp.ends_with("frame-ancestors http://127.0.0.1:9999"),
        "{csp}"
    );
    assert!(res
        .text()
        .await
        .unwrap()
        .contains("data-embed-origin=\"http://127.0.0.1:9999\""));
    let res = app
        .http
        .get(format!(
            "{}/pay/{id}?embed=1&origin=https%3A%2F%2Fx.example%2Fpath%20'unsafe-inline'",
            app.url
        ))
        .send()
        .await
        .unwrap();
    assert!(res.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .ends_with("frame-ancestors 'none'"));
    // The public status endpoint says the state and nothing else.
    let s: Value = app
        .http
        .get(format!("{}/pay/{id}/status", app.url))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(s, json!({"status": "pending"}));
    assert_eq!(open(&app, "pay_doesnotexist").await.status, 404);
}

async fn live_payments_get_no_sandbox(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (status, p) = app
        .post(
            &app.shop.live_key,
            "/v1/payments",
            json!({"amount": "10", "currency": "PKR", "success_url": "https://shop.example/ok"}),
        )
        .await;
    assert_eq!(status, 201);
    let id = p["id"].as_str().unwrap();
    let page = open(&app, id).await;
    assert!(!page.body.contains("data-method=\"card\""));
    assert!(!page.body.contains("Test mode"));
    let csrf = page.csrf();
    let res = submit(
        &app,
        id,
        "card",
        &[
            ("csrf", &csrf),
            ("number", "4242424242424242"),
            ("expiry", "12/40"),
            ("cvc", "123"),
        ],
    )
    .await;
    assert_eq!(res.status, 303);
    let (_, got) = app
        .get(&app.shop.live_key, &format!("/v1/payments/{id}"))
        .await;
    assert_eq!(
        got["status"], "pending",
        "a test card never pays a live payment"
    );
    // Live pages may be framed only by the payment's own site.
    let res = app
        .http
        .get(format!(
            "{}/pay/{id}?embed=1&origin=https%3A%2F%2Fevil.example",
            app.url
        ))
        .send()
        .await
        .unwrap();
    assert!(res.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .ends_with("frame-ancestors 'none'"));
    let res = app
        .http
        .get(format!(
            "{}/pay/{id}?embed=1&origin=https%3A%2F%2Fshop.example",
            app.url
        ))
        .send()
        .await
        .unwrap();
    assert!(res.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .ends_with("frame-ancestors https://shop.example"));
}

on_both_backends!(
    card_decline_then_success,
    otp_card_and_wallets,
    cancel_expiry_and_attempt_cap,
    security_of_the_page,
    live_payments_get_no_sandbox,
);
