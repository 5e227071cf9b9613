//! The PayGate dialect: its document's Node.js webhook verifier and browser `fetch` example
//! run as written against Hundi, and each documented rule and error shape. On both backends
//! (the browser example on SQLite).

use crate::common::browser::{Browser, MerchantSite};
use crate::common::clients::ClientServer;
use crate::common::{Backend, TestApp};
use serde_json::{json, Value};
use std::time::Duration;

/// The shop with a UPI id, as PayGate needs.
async fn upi_shop(backend: Backend) -> TestApp {
    let app = TestApp::spawn_with(backend, crate::common::fast_webhooks()).await;
    app.set_upi("shop@okaxis", "Corner Shop").await;
    app
}

/// A key whose webhook URL is `url`; returns the key and its webhook secret.
async fn key_with_webhook(app: &TestApp, url: &str) -> (String, String) {
    let created = app.plugin_key("paygate plugin", url.to_string()).await;
    (created.secret, created.webhook_secret.unwrap())
}

async fn call(
    app: &TestApp,
    method: reqwest::Method,
    path: &str,
    key: Option<&str>,
    body: Option<&str>,
) -> (u16, Value) {
    let mut req = app.http.request(method, format!("{}{path}", app.url));
    if let Some(k) = key {
        req = req.header("X-API-Key", k);
    }
    if let Some(b) = body {
        req = req
            .header("content-type", "application/json")
            .body(b.to_string());
    }
    crate::common::read(req.send().await.unwrap()).await
}

async fn create(app: &TestApp, key: &str, body: Value) -> Value {
    let (status, res) = call(
        app,
        reqwest::Method::POST,
        "/api/v1/create-payment",
        Some(key),
        Some(&body.to_string()),
    )
    .await;
    assert_eq!(status, 200, "{res}");
    assert_eq!(res["success"], true);
    res["payment"].clone()
}

async fn credit(app: &TestApp, utr: &str, amount: &str) {
    let (status, body) = app
        .post(
            &app.shop.test_key,
            "/v1/credits",
            json!({"utr": utr, "amount": amount}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
}

/// The document's Express verifier receives `payment.success` with the UTR and the metadata
/// exactly as sent (numbers and null too), and `payment.expired` when a session runs out.
async fn the_documented_node_verifier_accepts_the_webhooks(backend: Backend) {
    let app = upi_shop(backend).await;
    // The key needs the receiver's URL and the receiver the key's secret: pick a free port
    // first, create the key for it, then start the receiver there.
    let port = crate::common::free_port();
    let (key, webhook_secret) =
        key_with_webhook(&app, &format!("http://127.0.0.1:{port}/webhook")).await;
    let port_text = port.to_string();
    let node = ClientServer::start(
        "node/paygate_webhook.js",
        &[
            ("PORT", port_text.as_str()),
            ("PAYGATE_WEBHOOK_SECRET", webhook_secret.as_str()),
        ],
    );

    let session = create(
        &app,
        &key,
        json!({
            "amount": 100,
            "customer_name": "John Doe",
            "customer_email": "john@example.com",
            "merchant_ref": "ORDER-123",
            "metadata": {"order_id": "ORD-456", "qty": 2, "price": 49.5, "coupon": null, "url": "https://shop.example/p/1"}
        }),
    )
    .await;
    crate::common::docs::assert_shape("paygate.session", &session);
    let id = session["session_id"].as_str().unwrap().to_string();
    assert_eq!(id.len(), 16);
    assert!(id
        .chars()
        .all(|c| c.is_ascii_digit() || ('A'..='F').contains(&c)));
    assert_eq!(session["requested_amount"], json!(100));
    assert_eq!(session["payable_amount"], json!(99));
    assert_eq!(session["status"], "pending");
    assert_eq!(session["upi_id"], "shop@okaxis");
    assert_eq!(session["checkout_url"], format!("{}/pay/{id}", app.url));
    assert_eq!(
        session["upi_deeplink"],
        format!("upi://pay?pa=shop%40okaxis&pn=Corner+Shop&am=99.00&cu=INR&tn={id}")
    );
    let expires = session["expires_at"].as_str().unwrap();
    let expires_at = chrono::NaiveDateTime::parse_from_str(expires, "%Y-%m-%d %H:%M:%S")
        .unwrap_or_else(|e| panic!("{expires}: {e}"))
        .and_utc();
    let left = expires_at - chrono::Utc::now();
    assert!(
        left > chrono::Duration::seconds(590) && left <= chrono::Duration::seconds(600),
        "{left}"
    );

    credit(&app, "103100084802", "99.00").await;
    let got = node.next_json(15);
    assert_eq!(got["event"], "payment.success");
    assert_eq!(got["header"], "payment.success");
    assert_eq!(got["session_id"], id.as_str());
    assert_eq!(got["status"], "success");
    let body = &got["body"];
    crate::common::docs::assert_shape("paygate.webhook", body);
    assert_eq!(body["utr"], "103100084802");
    assert_eq!(body["requested_amount"], json!(100));
    assert_eq!(body["payable_amount"], json!(99));
    assert_eq!(body["customer_name"], "John Doe");
    assert_eq!(body["merchant_ref"], "ORDER-123");
    assert_eq!(
        body["metadata"],
        json!({"order_id": "ORD-456", "qty": 2, "price": 49.5, "coupon": null, "url": "https://shop.example/p/1"})
    );
    let ts = body["timestamp"].as_str().unwrap();
    assert!(ts.ends_with('Z') && ts.len() == 24, "{ts}");

    // The session's own GET now says success, with the UTR.
    let (status, shown) = call(
        &app,
        reqwest::Method::GET,
        &format!("/api/v1/payment/{id}"),
        Some(&key),
        None,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(shown["payment"]["status"], "success");
    assert_eq!(shown["payment"]["utr"], "103100084802");

    // A session that runs out: payment.expired, also verified by the document's code.
    let late = create(
        &app,
        &key,
        json!({"amount": "250.00", "merchant_ref": "ORDER-124"}),
    )
    .await;
    let late_id = late["session_id"].as_str().unwrap();
    crate::common::set_expiry(
        &app.db.url,
        late_id,
        chrono::Utc::now() - chrono::Duration::seconds(1),
    )
    .await;
    let got = node.next_json(15);
    assert_eq!(got["event"], "payment.expired");
    assert_eq!(got["session_id"], late_id);
    assert_eq!(got["status"], "expired");
    assert_eq!(got["body"]["utr"], Value::Null);
}

/// A receiver with another secret refuses the webhook: the signature really is checked.
async fn a_wrong_secret_fails_the_documented_check(backend: Backend) {
    let app = upi_shop(backend).await;
    let port = crate::common::free_port();
    let (key, _) = key_with_webhook(&app, &format!("http://127.0.0.1:{port}/webhook")).await;
    let port_text = port.to_string();
    let node = ClientServer::start(
        "node/paygate_webhook.js",
        &[
            ("PORT", port_text.as_str()),
            ("PAYGATE_WEBHOOK_SECRET", "not-the-secret"),
        ],
    );
    let session = create(&app, &key, json!({"amount": 100})).await;
    let id = session["session_id"].as_str().unwrap();
    credit(&app, "103100084803", "99.00").await;
    // The delivery log shows the receiver's 401 and no event was accepted.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let mut seen = Value::Null;
    while std::time::Instant::now() < deadline {
        let events = app.events_of(&app.shop.test_key, id).await;
        if let Some(success) = events.iter().find(|e| e["type"] == "payment.succeeded") {
            let (_, deliveries) = app
                .get(
                    &app.shop.test_key,
                    &format!("/v1/events/{}/deliveries", success["id"].as_str().unwrap()),
                )
                .await;
            if deliveries["data"][0]["attempts"][0]["status_code"] == json!(401) {
                seen = deliveries;
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(
        seen["data"][0]["attempts"][0]["status_code"],
        json!(401),
        "{seen}"
    );
    assert!(node.next_line(1).is_none());
}

/// Each documented rule and error shape.
async fn rules_and_error_shapes(backend: Backend) {
    let app = upi_shop(backend).await;
    let key = app.shop.test_key.clone();
    let post = |body: &'static str, key: Option<String>| {
        let app = &app;
        async move {
            call(
                app,
                reqwest::Method::POST,
                "/api/v1/create-payment",
                key.as_deref(),
                Some(body),
            )
            .await
        }
    };
    let refused = |(status, body): (u16, Value), want: u16, says: &str| {
        assert_eq!(status, want, "{body}");
        assert_eq!(body["success"], false, "{body}");
        let error = body["error"].as_str().unwrap_or_default();
        assert!(error.contains(says), "'{error}' should say '{says}'");
    };
    refused(post(r#"{"amount":100}"#, None).await, 401, "X-API-Key");
    refused(
        post(r#"{"amount":100}"#, Some("pgk_not_a_key".into())).await,
        401,
        "invalid X-API-Key",
    );
    refused(
        post(r#"{}"#, Some(key.clone())).await,
        400,
        "amount is required",
    );
    refused(
        post(r#"{"amount":"ten"}"#, Some(key.clone())).await,
        400,
        "amount",
    );
    refused(
        post(r#"{"amount":1}"#, Some(key.clone())).await,
        400,
        "more than 1.00",
    );
    refused(
        post(r#"{"amount":100.001}"#, Some(key.clone())).await,
        400,
        "amount",
    );
    refused(post(r#"{"amount":"#, Some(key.clone())).await, 400, "JSON");
    refused(
        post(
            r#"{"amount":100,"customer_email":"nope"}"#,
            Some(key.clone()),
        )
        .await,
        400,
        "customer_email",
    );
    refused(
        post(r#"{"amount":100,"customer_name":7}"#, Some(key.clone())).await,
        400,
        "customer_name must be a string",
    );
    // Unknown fields are ignored; the amount may be a numeric string.
    let (status, ok) = post(r#"{"amount":"100.00","plugin":"woo"}"#, Some(key.clone())).await;
    assert_eq!(status, 200, "{ok}");

    // The next session of the same amount gets the next free payable amount.
    let second = create(&app, &key, json!({"amount": 100})).await;
    assert_eq!(second["payable_amount"], json!(98.99));

    // 404 for an unknown session, and for another merchant's.
    refused(
        call(
            &app,
            reqwest::Method::GET,
            "/api/v1/payment/0123456789ABCDEF",
            Some(&key),
            None,
        )
        .await,
        404,
        "not found",
    );
    let id = second["session_id"].as_str().unwrap();
    refused(
        call(
            &app,
            reqwest::Method::GET,
            &format!("/api/v1/payment/{id}"),
            Some(&app.other.test_key),
            None,
        )
        .await,
        404,
        "not found",
    );

    // The session is an ordinary Hundi payment: the native API shows it, with its source.
    let (status, native) = app.get(&key, &format!("/v1/payments/{id}")).await;
    assert_eq!(status, 200, "{native}");
    assert_eq!(native["source"], "paygate");
    assert_eq!(native["amount"], "100.00");
    assert_eq!(native["currency"], "INR");

    // Cancel: cancelled once, then refused.
    let cancel = |id: String| {
        let (app, key) = (&app, key.clone());
        async move {
            call(
                app,
                reqwest::Method::POST,
                &format!("/api/v1/cancel/{id}"),
                Some(&key),
                None,
            )
            .await
        }
    };
    let (status, done) = cancel(id.to_string()).await;
    assert_eq!(status, 200, "{done}");
    assert_eq!(done["payment"]["status"], "cancelled");
    refused(cancel(id.to_string()).await, 400, "pending");

    // The list: newest first, filtered by status, limit 1..=100.
    let list = |q: &'static str| {
        let (app, key) = (&app, key.clone());
        async move {
            call(
                app,
                reqwest::Method::GET,
                &format!("/api/v1/payments{q}"),
                Some(&key),
                None,
            )
            .await
        }
    };
    let (status, all) = list("").await;
    assert_eq!(status, 200);
    let sessions = all["payments"].as_array().unwrap();
    assert_eq!(sessions.len(), 2);
    assert_eq!(sessions[0]["session_id"], id);
    let (_, cancelled) = list("?status=cancelled&limit=10").await;
    assert_eq!(cancelled["payments"].as_array().unwrap().len(), 1);
    let (_, one) = list("?limit=1").await;
    assert_eq!(one["payments"].as_array().unwrap().len(), 1);
    refused(list("?limit=101").await, 400, "limit");
    refused(list("?status=paid").await, 400, "status");

    // Browsers' preflights are answered for every route, with X-API-Key allowed.
    for path in [
        "/api/v1/create-payment",
        "/api/v1/payments",
        &format!("/api/v1/payment/{id}"),
        &format!("/api/v1/cancel/{id}"),
    ] {
        let res = app
            .http
            .request(reqwest::Method::OPTIONS, format!("{}{path}", app.url))
            .header("Origin", "https://shop.example")
            .header("Access-Control-Request-Method", "POST")
            .header("Access-Control-Request-Headers", "content-type,x-api-key")
            .send()
            .await
            .unwrap();
        assert!(res.status().is_success(), "{path}: {}", res.status());
        let h = res.headers();
        assert_eq!(h["access-control-allow-origin"], "*");
        let allowed = h["access-control-allow-headers"].to_str().unwrap();
        assert!(allowed.contains("x-api-key"), "{allowed}");
    }

    // Without a UPI id the merchant is told what to set up.
    let (status, body) = call(
        &app,
        reqwest::Method::POST,
        "/api/v1/create-payment",
        Some(&app.other.test_key),
        Some(r#"{"amount":100}"#),
    )
    .await;
    assert_eq!(status, 400);
    assert!(body["error"].as_str().unwrap().contains("UPI"), "{body}");
}

/// The document's browser example on a shop of another origin creates a session with `fetch`
/// and sends the customer to the checkout, which moves on when the credit arrives.
async fn the_documented_browser_example_works(backend: Backend) {
    let app = upi_shop(backend).await;
    let site = MerchantSite::start(&app.url).await;
    let b = Browser::start(360, 900).await;
    b.goto(&format!("{}/paygate?key={}", site.url, app.shop.test_key))
        .await;
    b.click("#pay").await;
    let checkout = b.wait_for_url(&format!("{}/pay/", app.url), 10).await;
    let id = checkout.rsplit('/').next().unwrap().to_string();
    assert_eq!(id.len(), 16, "{checkout}");
    assert_eq!(b.text("[data-testid=upi-amount]").await, "INR 99.00");
    credit(&app, "410512345679", "99.00").await;
    b.wait_for_text("Payment successful", 5).await;
    b.screenshot("paygate-checkout-paid.png").await;
    let (_, shown) = app
        .get(&app.shop.test_key, &format!("/v1/payments/{id}"))
        .await;
    assert_eq!(shown["status"], "succeeded");
    assert_eq!(shown["reference"], "ORD-001");
    b.close().await;
}

on_both_backends!(
    the_documented_node_verifier_accepts_the_webhooks,
    a_wrong_secret_fails_the_documented_check,
    rules_and_error_shapes,
);
on_sqlite!(the_documented_browser_example_works);

/// `metadata` is kept verbatim, but not without bound: under the 64 KiB body limit, a metadata
/// of 40 KiB is refused in PayGate's shape, naming the field, and no session is created.
async fn oversized_metadata_is_refused(backend: Backend) {
    let app = upi_shop(backend).await;
    let key = app.shop.test_key.clone();
    let big = "x".repeat(40 * 1024);
    let body = json!({"amount": 500, "metadata": {"note": big}}).to_string();
    let (status, refused) = call(
        &app,
        reqwest::Method::POST,
        "/api/v1/create-payment",
        Some(&key),
        Some(&body),
    )
    .await;
    assert_eq!(status, 400, "{refused}");
    assert_eq!(refused["success"], false);
    assert!(
        refused["error"].as_str().unwrap().contains("metadata"),
        "{refused}"
    );
    let (_, list) = app.get(&key, "/v1/payments").await;
    assert_eq!(list["data"].as_array().unwrap().len(), 0, "nothing stored");
    // Metadata of an ordinary size is kept as sent.
    let body = json!({"amount": 500, "metadata": {"order": 42, "note": null}}).to_string();
    let (status, created) = call(
        &app,
        reqwest::Method::POST,
        "/api/v1/create-payment",
        Some(&key),
        Some(&body),
    )
    .await;
    assert_eq!(status, 200, "{created}");
}

on_both_backends!(oversized_metadata_is_refused);
