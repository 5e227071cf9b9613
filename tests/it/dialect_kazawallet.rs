//! The Kazawallet dialect: its document's cURL example creates a link, the customer pays on
//! the hosted checkout, and its PHP verification example checks the one webhook. Each
//! documented rule and error shape. On both backends.

use crate::common::clients::{self, ClientServer};
use crate::common::{Backend, TestApp};
use serde_json::{json, Value};
use std::time::Duration;

/// A merchant set up as a Kazawallet merchant: an API key whose webhook URL is the PHP
/// receiver, and an API secret. Returns the app, the key, the secret and the receiver.
async fn kazawallet_shop(backend: Backend) -> (TestApp, String, ClientServer) {
    let app = TestApp::spawn_with(backend, crate::common::fast_webhooks()).await;
    let api_secret = app.credential("kazawallet").await.secret;
    // The receiver needs the key, the key needs the receiver's URL: the PHP server reads
    // the key from a file the test writes once the key exists.
    let port = crate::common::free_port();
    let key = app
        .plugin_key("whmcs", format!("http://127.0.0.1:{port}/webhook"))
        .await
        .secret;
    let php = ClientServer::start_php_on(
        port,
        "kazawallet_webhook.php",
        &[
            ("KAZAWALLET_API_KEY", key.as_str()),
            ("KAZAWALLET_API_SECRET", api_secret.as_str()),
        ],
    );
    (app, key, php)
}

async fn create(app: &TestApp, key: Option<&str>, body: &str) -> (u16, Value) {
    let mut req = app
        .http
        .post(format!("{}/wallet/createPaymentLink", app.url))
        .header("content-type", "application/json")
        .body(body.to_string());
    if let Some(k) = key {
        req = req.header("x-api-key", k);
    }
    crate::common::read(req.send().await.unwrap()).await
}

/// Every delivery of a payment's events, as the native API shows them.
async fn deliveries(app: &TestApp, payment: &str, event: &str) -> Value {
    let events = app.events_of(&app.shop.test_key, payment).await;
    let Some(e) = events.iter().find(|e| e["type"] == event) else {
        return Value::Null;
    };
    let (_, d) = app
        .get(
            &app.shop.test_key,
            &format!("/v1/events/{}/deliveries", e["id"].as_str().unwrap()),
        )
        .await;
    d["data"].clone()
}

/// The document's cURL example, a card payment, the redirect, and the webhook verified by
/// the document's PHP code.
async fn the_documented_curl_and_php_examples_work(backend: Backend) {
    let (app, key, php) = kazawallet_shop(backend).await;
    let printed = clients::run(
        "kazawallet_create.sh",
        &[
            ("KAZAWALLET_HOST", app.url.as_str()),
            ("KAZAWALLET_API_KEY", key.as_str()),
            (
                "KAZAWALLET_REDIRECT",
                "https://shop.example/whmcs/viewinvoice.php?id=7",
            ),
        ],
    );
    let link: Value = serde_json::from_str(&printed).unwrap_or_else(|_| panic!("{printed}"));
    assert_eq!(link["success"], true);
    crate::common::docs::assert_shape("kazawallet.create", &link);
    assert!(link.get("error").is_none(), "a success has no error key");
    let id = link["id"].as_str().unwrap();
    assert!(id
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-'));
    assert_eq!(link["url"], format!("{}/pay/{id}", app.url));
    assert_eq!(link["paymentLink"], link["url"]);

    let paid = crate::common::pay_by_card(&app, link["url"].as_str().unwrap()).await;
    assert_eq!(paid.status().as_u16(), 303);
    // The receipt sends the customer back to redirectUrl, with the link id as order_id.
    let receipt = app
        .http
        .get(link["url"].as_str().unwrap())
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        receipt.contains(&format!(
            "https://shop.example/whmcs/viewinvoice.php?id=7&#38;order_id={id}"
        )),
        "{receipt}"
    );

    let line = php
        .next_line(15)
        .expect("the PHP example verified a webhook");
    let got: Value = serde_json::from_str(&line).unwrap();
    crate::common::docs::assert_shape("kazawallet.webhook", &got);
    assert_eq!(got["status"], "fulfilled");
    assert_eq!(got["order_id"], id);
    assert_eq!(got["id"], id);
    assert_eq!(got["amount"], "150.00", "echoed exactly as sent");
    assert_eq!(got["currency"], "USD");
    assert_eq!(got["ref"], Value::Null);

    // One payment, many views.
    let (_, native) = app
        .get(&app.shop.test_key, &format!("/v1/payments/{id}"))
        .await;
    assert_eq!(native["source"], "kazawallet");
    assert_eq!(native["status"], "succeeded");
    assert_eq!(native["amount"], "150.00");
    assert_eq!(native["customer"]["email"], "customer@example.com");
}

/// A link that ends unpaid sends `timed_out` once; the receiver's 400 is final, not retried.
async fn timed_out_is_sent_once_and_a_4xx_is_final(backend: Backend) {
    let (app, key, php) = kazawallet_shop(backend).await;
    let (status, link) = create(
        &app,
        Some(&key),
        r#"{"amount": 20.5, "currency": "usd", "email": "a@b.co", "ref": 42}"#,
    )
    .await;
    assert_eq!(status, 200, "{link}");
    let id = link["id"].as_str().unwrap();
    crate::common::set_expiry(
        &app.db.url,
        id,
        chrono::Utc::now() - chrono::Duration::seconds(1),
    )
    .await;
    let got: Value = serde_json::from_str(&php.next_line(15).expect("timed_out arrives")).unwrap();
    assert_eq!(got["status"], "timed_out");
    assert_eq!(got["amount"], json!(20.5), "a number stays a number");
    assert_eq!(got["ref"], "42");
    // Three retry periods later: still one attempt, and the delivery is marked declined.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let d = deliveries(&app, id, "payment.expired").await;
    assert_eq!(d[0]["status"], "declined", "{d}");
    assert_eq!(d[0]["attempts"].as_array().unwrap().len(), 1, "{d}");
    assert_eq!(d[0]["attempts"][0]["status_code"], 400);
    assert!(php.next_line(1).is_none(), "never sent again");
    // The endpoint is not counted as failing: the next link's webhook goes out as usual.
    let (_, next) = create(
        &app,
        Some(&key),
        r#"{"amount": "5", "currency": "USD", "email": "a@b.co"}"#,
    )
    .await;
    crate::common::pay_by_card(&app, next["url"].as_str().unwrap()).await;
    let got: Value = serde_json::from_str(&php.next_line(15).expect("fulfilled arrives")).unwrap();
    assert_eq!(got["status"], "fulfilled");
    assert_eq!(got["amount"], "5");
}

/// Each documented rule and error shape.
async fn rules_and_error_shapes(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let key = app.shop.test_key.clone();
    let refused = |(status, body): (u16, Value), want: u16, code: &str, field: Option<&str>| {
        assert_eq!(status, want, "{body}");
        assert_eq!(body["success"], false, "{body}");
        assert!(body["error"]["message"].as_str().is_some(), "{body}");
        assert_eq!(body["error"]["details"]["key"], code, "{body}");
        if let Some(f) = field {
            assert_eq!(body["error"]["details"]["field"], f, "{body}");
        }
    };
    let ok = r#"{"amount":"10.00","currency":"USD","email":"a@b.co"}"#;
    refused(create(&app, None, ok).await, 401, "USER_NOT_FOUND", None);
    refused(
        create(&app, Some("kzw_wrong"), ok).await,
        401,
        "USER_NOT_FOUND",
        None,
    );
    let cases = [
        (
            r#"{"currency":"USD","email":"a@b.co"}"#,
            "INVALID_AMOUNT",
            "amount",
        ),
        (
            r#"{"amount":"ten","currency":"USD","email":"a@b.co"}"#,
            "INVALID_AMOUNT",
            "amount",
        ),
        (
            r#"{"amount":-5,"currency":"USD","email":"a@b.co"}"#,
            "INVALID_AMOUNT",
            "amount",
        ),
        (
            r#"{"amount":{"v":1},"currency":"USD","email":"a@b.co"}"#,
            "INVALID_AMOUNT",
            "amount",
        ),
        (
            r#"{"amount":"10","email":"a@b.co"}"#,
            "INVALID_CURRENCY",
            "currency",
        ),
        (
            r#"{"amount":"10","currency":"XYZ","email":"a@b.co"}"#,
            "INVALID_CURRENCY",
            "currency",
        ),
        (
            r#"{"amount":"10","currency":"USD"}"#,
            "INVALID_EMAIL",
            "email",
        ),
        (
            r#"{"amount":"10","currency":"USD","email":"nope"}"#,
            "INVALID_EMAIL",
            "email",
        ),
        (
            r#"{"amount":"10","currency":"USD","email":"a@b.co","redirectUrl":"not a url"}"#,
            "INVALID_REDIRECT_URL",
            "redirectUrl",
        ),
    ];
    for (body, code, field) in cases {
        refused(create(&app, Some(&key), body).await, 400, code, Some(field));
    }
    refused(
        create(&app, Some(&key), "{not json").await,
        400,
        "INVALID_BODY",
        None,
    );
    // 200 exactly, an extra x-api-secret header tolerated, unknown fields ignored.
    let res = app
        .http
        .post(format!("{}/wallet/createPaymentLink", app.url))
        .header("x-api-key", &key)
        .header("x-api-secret", "whatever the module sends")
        .json(&json!({"amount": 10, "currency": "USD", "email": "a@b.co", "lang": "en"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 200);
    let (_, body) = crate::common::read(res).await;
    assert_eq!(body["success"], true);
}

on_both_backends!(
    the_documented_curl_and_php_examples_work,
    timed_out_is_sent_once_and_a_4xx_is_final,
    rules_and_error_shapes,
);
