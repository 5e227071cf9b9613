//! The Pakhi Pay dialect: its own Python, PHP and Node.js client examples run as written
//! against Hundi, and each documented rule and error shape. On both backends.

use crate::common::{Backend, TestApp};
use serde_json::{json, Value};

/// Runs one of the document's client examples (tests/clients/) with the language it is
/// written in: `.py` with python3 (requests), `.php` with php-cli (curl), `.js` with node (axios).
fn run_client(script: &str, app: &TestApp, transaction: Option<&str>) -> String {
    let mut env = vec![
        ("PAKHIPAY_HOST", app.url.as_str()),
        ("PAKHIPAY_API_KEY", app.shop.test_key.as_str()),
    ];
    if let Some(t) = transaction {
        env.push(("PAKHIPAY_TRANSACTION_ID", t));
    }
    crate::common::clients::run(script, &env)
}

async fn post(app: &TestApp, path: &str, key: Option<&str>, body: Value) -> (u16, Value) {
    let mut req = app.http.post(format!("{}{path}", app.url)).json(&body);
    if let Some(k) = key {
        req = req.header("api-key", k);
    }
    crate::common::read(req.send().await.unwrap()).await
}

async fn the_documented_python_clients_work(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let printed = run_client("pakhipay_create.py", &app, None);
    let url = printed
        .strip_prefix("Payment URL: ")
        .unwrap_or_else(|| panic!("{printed}"));
    assert!(url.starts_with(&format!("{}/pay/pay_", app.url)), "{url}");
    let id = url.rsplit('/').next().unwrap();
    assert_eq!(
        run_client("pakhipay_verify.py", &app, Some(id)),
        "Failed",
        "not paid yet"
    );
    assert_eq!(
        crate::common::pay_by_card(&app, url)
            .await
            .status()
            .as_u16(),
        303
    );
    assert_eq!(run_client("pakhipay_verify.py", &app, Some(id)), "Success");
    // One payment, many views: the native API sees it, from its source.
    let (_, p) = app
        .get(&app.shop.test_key, &format!("/v1/payments/{id}"))
        .await;
    assert_eq!(p["source"], "pakhipay");
    assert_eq!(p["amount"], "100.00");
    assert_eq!(p["currency"], "BDT");
    assert_eq!(p["reference"], "ORDER123");
    assert_eq!(p["customer"]["email"], "john@example.com");
    // Back to the shop with the transaction id, under both names the document uses.
    let receipt = app
        .http
        .get(url)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        receipt.contains(&format!(
            "https://yourwebsite.com/success?transaction_id={id}&#38;transactionId={id}"
        )),
        "{receipt}"
    );
}

async fn the_documented_php_and_node_clients_work(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    // PHP: on success the example only sends a Location header, which php-cli prints nowhere.
    assert_eq!(run_client("pakhipay_create.php", &app, None), "");
    let (_, list) = app
        .get(&app.shop.test_key, "/v1/payments?reference=ORDER123")
        .await;
    let php = list["data"][0].clone();
    assert_eq!(php["source"], "pakhipay");
    let php_id = php["id"].as_str().unwrap();
    assert_eq!(
        run_client("pakhipay_verify.php", &app, Some(php_id)),
        "Payment Verification Failed."
    );
    crate::common::pay_by_card(&app, php["checkout_url"].as_str().unwrap()).await;
    assert_eq!(
        run_client("pakhipay_verify.php", &app, Some(php_id)),
        "Payment Verified Successfully!"
    );
    // Node with axios.
    let printed = run_client("node/pakhipay_create.js", &app, None);
    let url = printed
        .strip_prefix("Payment URL: ")
        .unwrap_or_else(|| panic!("{printed}"));
    let id = url.rsplit('/').next().unwrap();
    assert_eq!(
        run_client("node/pakhipay_verify.js", &app, Some(id)),
        "Failed"
    );
    crate::common::pay_by_card(&app, url).await;
    assert_eq!(
        run_client("node/pakhipay_verify.js", &app, Some(id)),
        "Verified"
    );
}

async fn rules_and_error_shapes(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let key = Some(app.shop.test_key.as_str());
    let good = json!({"cus_name": "A", "cus_email": "a@example.com", "amount": "50", "success_url": "https://s.example/ok", "cancel_url": "https://s.example/no"});
    let (status, body) = post(&app, "/api/request/payment/create/", None, good.clone()).await;
    assert_eq!((status, body["status"].clone()), (401, json!(0)), "{body}");
    let (status, body) = post(
        &app,
        "/api/request/payment/create/",
        Some("hk_test_wrong"),
        good.clone(),
    )
    .await;
    assert_eq!((status, body["status"].clone()), (401, json!(0)));
    for field in [
        "cus_name",
        "cus_email",
        "amount",
        "success_url",
        "cancel_url",
    ] {
        let mut b = good.clone();
        b.as_object_mut().unwrap().remove(field);
        let (status, body) = post(&app, "/api/request/payment/create", key, b).await;
        assert_eq!(status, 400, "{field}: {body}");
        assert_eq!(body["status"], 0);
        assert!(
            body["message"].as_str().unwrap().contains(field),
            "{field}: {body}"
        );
    }
    for (field, value) in [
        ("amount", json!("abc")),
        ("amount", json!(0)),
        ("amount", json!("1.001")),
        ("cus_email", json!("nope")),
        ("success_url", json!("ftp://x")),
    ] {
        let mut b = good.clone();
        b[field] = value;
        let (status, body) = post(&app, "/api/request/payment/create/", key, b).await;
        assert_eq!(status, 400, "{field}: {body}");
        assert!(
            body["message"].as_str().unwrap().contains(field),
            "{field}: {body}"
        );
    }
    // A form body works too, and the path without the trailing slash.
    let res = app
        .http
        .post(format!("{}/api/request/payment/create", app.url))
        .header("api-key", &app.shop.test_key)
        .form(&[
            ("cus_name", "B"),
            ("cus_email", "b@example.com"),
            ("amount", "75.50"),
            ("success_url", "https://s.example/ok"),
            ("cancel_url", "https://s.example/no"),
        ])
        .send()
        .await
        .unwrap();
    let (status, created) = crate::common::read(res).await;
    assert_eq!(status, 200, "{created}");
    assert_eq!(created["status"], 1);
    let id = created["transaction_id"].as_str().unwrap();
    // Verify says exactly what holds.
    let verify = |t: &str, amount: Value| json!({"transaction_id": t, "amount": amount});
    let (_, v) = post(
        &app,
        "/api/request/payment/verify/",
        key,
        verify(id, json!(75.5)),
    )
    .await;
    assert_eq!(
        (v["status"].clone(), v["message"].clone()),
        (json!(0), json!("pending"))
    );
    let (_, v) = post(
        &app,
        "/api/request/payment/verify/",
        key,
        verify("pay_nope", json!(1)),
    )
    .await;
    assert_eq!(v["message"], "not found");
    let (_, v) = post(
        &app,
        "/api/request/payment/verify/",
        Some(app.other.test_key.as_str()),
        verify(id, json!(75.5)),
    )
    .await;
    assert_eq!(
        v["message"], "not found",
        "another merchant's transaction is not found"
    );
    app.post(
        &app.shop.test_key,
        &format!("/v1/test/payments/{id}/succeed"),
        json!({}),
    )
    .await;
    let (_, v) = post(
        &app,
        "/api/request/payment/verify/",
        key,
        verify(id, json!("75.49")),
    )
    .await;
    assert_eq!(v["message"], "amount mismatch");
    let (_, v) = post(
        &app,
        "/api/request/payment/verify",
        key,
        verify(id, json!("75.50")),
    )
    .await;
    assert_eq!(
        (v["status"].clone(), v["message"].clone()),
        (json!(1), json!("completed"))
    );
    let (_, other) = post(&app, "/api/request/payment/create/", key, good).await;
    let oid = other["transaction_id"].as_str().unwrap();
    app.post(
        &app.shop.test_key,
        &format!("/v1/payments/{oid}/cancel"),
        json!({}),
    )
    .await;
    let (_, v) = post(
        &app,
        "/api/request/payment/verify/",
        key,
        verify(oid, json!(50)),
    )
    .await;
    assert_eq!(v["message"], "failed");
    // The SDK creates payments from a merchant's page: preflights are answered.
    let res = app
        .http
        .request(
            reqwest::Method::OPTIONS,
            format!("{}/api/request/payment/create/", app.url),
        )
        .header("Origin", "https://shop.example")
        .header("Access-Control-Request-Method", "POST")
        .header("Access-Control-Request-Headers", "api-key,content-type")
        .send()
        .await
        .unwrap();
    assert!(res.status().is_success());
    assert_eq!(res.headers()["access-control-allow-origin"], "*");
    let allowed = res.headers()["access-control-allow-headers"]
        .to_str()
        .unwrap()
        .to_ascii_lowercase();
    assert!(allowed.contains("api-key"), "{allowed}");
}

/// A payment with a callback_url: on completion its callback reaches the document's PHP and
/// Express handlers (verifying the X-Signature header, and the `signature` field over the
/// payload without it); nothing is sent for a payment that is canceled.
async fn the_callback_reaches_the_documented_handlers(backend: Backend) {
    let app = TestApp::spawn_with(backend, crate::common::fast_webhooks()).await;
    let key = app.shop.test_key.clone();
    let php_port = crate::common::free_port();
    let php = crate::common::clients::ClientServer::start_php_on(
        php_port,
        "pakhipay_webhook.php",
        &[("PAKHIPAY_API_KEY", key.as_str())],
    );
    let node = crate::common::clients::ClientServer::start(
        "node/pakhipay_webhook.js",
        &[("PAKHIPAY_API_KEY", key.as_str())],
    );
    for (callback, order) in [
        (format!("{}/webhook", php.url), "ORDER-PHP-1"),
        (format!("{}/webhook", node.url), "ORDER-NODE-1"),
    ] {
        let (status, created) = post(
            &app,
            "/api/request/payment/create/",
            Some(&key),
            json!({
                "cus_name": "John Doe",
                "cus_email": "john@example.com",
                "amount": 100,
                "success_url": "https://yourwebsite.com/success",
                "cancel_url": "https://yourwebsite.com/cancel",
                "order_id": order,
                "callback_url": callback,
            }),
        )
        .await;
        assert_eq!(status, 200, "{created}");
        crate::common::docs::assert_shape("pakhipay.create", &created);
        crate::common::pay_by_card(&app, created["payment_url"].as_str().unwrap()).await;
    }
    for (receiver, order) in [(&php, "ORDER-PHP-1"), (&node, "ORDER-NODE-1")] {
        let line = receiver.next_line(15).expect("a verified callback");
        let got: Value = serde_json::from_str(&line).unwrap();
        crate::common::docs::assert_shape("pakhipay.callback", &got);
        assert_eq!(got["status"], "completed");
        assert_eq!(got["amount"], "100.00");
        assert_eq!(got["order_id"], order);
        assert!(got["transaction_id"].as_str().unwrap().starts_with("pay_"));
        assert_eq!(got["signature"].as_str().unwrap().len(), 64);
    }
    // Canceled: no callback (Pakhi Pay calls back on completion only).
    let (_, created) = post(
        &app,
        "/api/request/payment/create",
        Some(&key),
        json!({
            "cus_name": "Jane", "cus_email": "jane@example.com", "amount": "50",
            "success_url": "https://yourwebsite.com/success",
            "cancel_url": "https://yourwebsite.com/cancel",
            "callback_url": format!("{}/webhook", node.url),
        }),
    )
    .await;
    let id = created["transaction_id"].as_str().unwrap();
    let (canceled, _) = app
        .post(&key, &format!("/v1/payments/{id}/cancel"), json!({}))
        .await;
    assert_eq!(canceled, 200);
    assert!(node.next_line(2).is_none());
    // Not a callback URL at all: refused, naming the field.
    let (status, body) = post(
        &app,
        "/api/request/payment/create",
        Some(&key),
        json!({
            "cus_name": "Jane", "cus_email": "jane@example.com", "amount": "50",
            "success_url": "https://yourwebsite.com/success",
            "cancel_url": "https://yourwebsite.com/cancel",
            "callback_url": "ftp://example.com/x",
        }),
    )
    .await;
    assert_eq!(status, 400);
    assert!(
        body["message"].as_str().unwrap().contains("callback_url"),
        "{body}"
    );
}

/// A key for a browser (the SDK's page): `payments:create` creates, and reads nothing back.
async fn a_create_only_key_creates_and_reads_nothing(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let browser_key = hundi::service::keys::create_key(
        &*app.store,
        &hundi::service::access::Acting::cli(&app.shop.id, false),
        hundi::service::keys::NewKey::new(
            hundi::domain::key::Mode::Test,
            "shop page",
            vec![hundi::domain::key::Permission::PaymentsCreate],
        ),
    )
    .await
    .unwrap()
    .secret;
    let (status, created) = post(
        &app,
        "/api/request/payment/create",
        Some(&browser_key),
        json!({
            "cus_name": "John", "cus_email": "john@example.com", "amount": "10",
            "success_url": "https://yourwebsite.com/success",
            "cancel_url": "https://yourwebsite.com/cancel",
        }),
    )
    .await;
    assert_eq!(status, 200, "{created}");
    let id = created["transaction_id"].as_str().unwrap();
    let (status, refused) = post(
        &app,
        "/api/request/payment/verify",
        Some(&browser_key),
        json!({"transaction_id": id, "amount": "10"}),
    )
    .await;
    assert_eq!(status, 401);
    assert!(refused["message"]
        .as_str()
        .unwrap()
        .contains("payments:read"));
    let (status, _) = app.get(&browser_key, &format!("/v1/payments/{id}")).await;
    assert_eq!(status, 403);
    let (status, _) = app.get(&browser_key, "/v1/payments").await;
    assert_eq!(status, 403);
    // The merchant's full key still reads it.
    let (status, _) = app
        .get(&app.shop.test_key, &format!("/v1/payments/{id}"))
        .await;
    assert_eq!(status, 200);
}

on_both_backends!(
    a_create_only_key_creates_and_reads_nothing,
    the_callback_reaches_the_documented_handlers,
    the_documented_python_clients_work,
    the_documented_php_and_node_clients_work,
    rules_and_error_shapes,
);

/// A payment made with a browser key (`payments:create`, the SDK's key, which anyone reading
/// the shop's page has): its callback is not signed with that key, which would let anyone
/// forge a "completed" callback, but with the merchant's `pakhipay_callback` secret; the
/// document's Express handler verifies it when given that secret. Without the secret such a
/// callback_url is refused.
async fn a_browser_keys_callbacks_are_signed_with_the_callback_secret(backend: Backend) {
    let app = TestApp::spawn_with(backend, crate::common::fast_webhooks()).await;
    let browser_key = hundi::service::keys::create_key(
        &*app.store,
        &hundi::service::access::Acting::cli(&app.shop.id, false),
        hundi::service::keys::NewKey::new(
            hundi::domain::key::Mode::Test,
            "shop page",
            vec![hundi::domain::key::Permission::PaymentsCreate],
        ),
    )
    .await
    .unwrap()
    .secret;
    let receiver = crate::common::receiver::Receiver::start().await;
    let create = |callback: String, order: &'static str| {
        json!({
            "cus_name": "John Doe", "cus_email": "john@example.com", "amount": 100,
            "success_url": "https://yourwebsite.com/success",
            "cancel_url": "https://yourwebsite.com/cancel",
            "order_id": order, "callback_url": callback,
        })
    };
    let path = "/api/request/payment/create/";
    let (status, refused) = post(
        &app,
        path,
        Some(&browser_key),
        create(receiver.url.clone(), "ORDER-B-0"),
    )
    .await;
    assert_eq!(status, 400, "{refused}");
    assert_eq!(refused["status"], 0);
    assert!(
        refused["message"]
            .as_str()
            .unwrap()
            .contains("pakhipay_callback"),
        "{refused}"
    );
    let secret = app.credential("pakhipay_callback").await.secret;
    let node = crate::common::clients::ClientServer::start(
        "node/pakhipay_webhook.js",
        &[("PAKHIPAY_API_KEY", secret.as_str())],
    );
    for (callback, order) in [
        (receiver.url.clone(), "ORDER-B-1"),
        (format!("{}/webhook", node.url), "ORDER-B-2"),
    ] {
        let (status, created) = post(&app, path, Some(&browser_key), create(callback, order)).await;
        assert_eq!(status, 200, "{created}");
        crate::common::pay_by_card(&app, created["payment_url"].as_str().unwrap()).await;
    }
    let got = receiver.inbox.wait_for(1, 15).await;
    let body = &got[0].body;
    let mut unsigned: serde_json::Map<String, Value> = serde_json::from_str(body).unwrap();
    let signature = unsigned.remove("signature").unwrap();
    let message = serde_json::to_string(&unsigned).unwrap();
    let hmac = |key: &str, msg: &str| {
        use hmac::Mac;
        let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(key.as_bytes()).unwrap();
        mac.update(msg.as_bytes());
        hex::encode(mac.finalize().into_bytes())
    };
    assert_eq!(signature, hmac(&secret, &message), "signed with the secret");
    assert_eq!(got[0].header("x-signature"), hmac(&secret, body));
    assert_ne!(
        signature,
        hmac(&browser_key, &message),
        "not with the page's key"
    );
    assert_ne!(got[0].header("x-signature"), hmac(&browser_key, body));
    // The document's handler, given the merchant's callback secret, accepts it.
    let line = node.next_line(15).expect("a verified callback");
    let verified: Value = serde_json::from_str(&line).unwrap();
    assert_eq!(verified["order_id"], "ORDER-B-2");
    assert_eq!(verified["status"], "completed");
}

on_both_backends!(a_browser_keys_callbacks_are_signed_with_the_callback_secret);
