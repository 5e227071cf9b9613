//! The native API over real HTTP, on both backends: flows, every error case, isolation.

use crate::common::{Backend, TestApp};
use serde_json::{json, Value};

fn error_of(body: &Value) -> (&str, &str, Option<&str>) {
    let e = &body["error"];
    (
        e["type"].as_str().unwrap_or_default(),
        e["code"].as_str().unwrap_or_default(),
        e["param"].as_str(),
    )
}

async fn create_read_list_cancel(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let key = &app.shop.test_key;
    let (status, p) = app
        .post(
            key,
            "/v1/payments",
            json!({
                "amount": "250.50", "currency": "pkr", "description": "Two teas",
                "reference": "ORDER-1", "customer": {"name": "Ali", "email": "ali@example.com", "phone": "+92 300 1234567"},
                "metadata": {"cart": "42"}, "success_url": "https://shop.example/ok",
                "cancel_url": "https://shop.example/cancel", "methods": ["card", "jazzcash"],
                "expires_in": 600, "unknown_field": "ignored"
            }),
        )
        .await;
    assert_eq!(status, 201, "{p}");
    let id = p["id"].as_str().unwrap();
    assert!(id.starts_with("pay_"));
    assert_eq!(p["status"], "pending");
    assert_eq!(p["amount"], "250.50");
    assert_eq!(p["currency"], "PKR");
    assert_eq!(p["livemode"], false);
    assert_eq!(p["methods"], json!(["card", "jazzcash"]));
    assert_eq!(p["metadata"], json!({"cart": "42"}));
    assert_eq!(p["checkout_url"], format!("{}/pay/{id}", app.url));
    let created = chrono::DateTime::parse_from_rfc3339(p["created_at"].as_str().unwrap()).unwrap();
    let expires = chrono::DateTime::parse_from_rfc3339(p["expires_at"].as_str().unwrap()).unwrap();
    assert_eq!((expires - created).num_seconds(), 600);

    let (status, got) = app.get(key, &format!("/v1/payments/{id}")).await;
    assert_eq!(status, 200);
    assert_eq!(got, p);

    let (_, list) = app.get(key, "/v1/payments?reference=ORDER-1").await;
    assert_eq!(list["data"].as_array().unwrap().len(), 1);
    assert_eq!(list["has_more"], false);

    let (status, canceled) = app
        .post(key, &format!("/v1/payments/{id}/cancel"), json!({}))
        .await;
    assert_eq!(status, 200, "{canceled}");
    assert_eq!(canceled["status"], "canceled");
    let (status, again) = app
        .post(key, &format!("/v1/payments/{id}/cancel"), json!({}))
        .await;
    assert_eq!(status, 409);
    assert_eq!(error_of(&again).1, "invalid_state");

    let types: Vec<Value> = app
        .events_of(key, id)
        .await
        .iter()
        .map(|e| e["type"].clone())
        .collect();
    assert_eq!(
        types,
        vec![json!("payment.created"), json!("payment.canceled")]
    );
}

async fn list_pagination_and_filters(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let key = &app.shop.test_key;
    let mut ids = Vec::new();
    for _ in 0..5 {
        ids.push(
            app.payment("10.00").await["id"]
                .as_str()
                .unwrap()
                .to_string(),
        );
    }
    ids.reverse();
    let (_, first) = app.get(key, "/v1/payments?limit=2").await;
    assert_eq!(first["has_more"], true);
    let page1: Vec<&str> = first["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_str().unwrap())
        .collect();
    assert_eq!(page1, vec![ids[0].as_str(), ids[1].as_str()]);
    // A payment created between pages does not disturb the next page.
    app.payment("1.00").await;
    let (_, second) = app
        .get(
            key,
            &format!("/v1/payments?limit=2&starting_after={}", ids[1]),
        )
        .await;
    let page2: Vec<&str> = second["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_str().unwrap())
        .collect();
    assert_eq!(page2, vec![ids[2].as_str(), ids[3].as_str()]);

    app.post(
        key,
        &format!("/v1/test/payments/{}/succeed", ids[4]),
        json!({}),
    )
    .await;
    let (_, succeeded) = app.get(key, "/v1/payments?status=succeeded").await;
    assert_eq!(succeeded["data"].as_array().unwrap().len(), 1);
    let (_, since) = app.get(key, "/v1/payments?created[gte]=4102444800").await;
    assert_eq!(since["data"].as_array().unwrap().len(), 0);

    for bad in [
        "status=paid",
        "limit=0",
        "limit=101",
        "limit=abc",
        "created[gte]=yesterday",
    ] {
        let (status, body) = app.get(key, &format!("/v1/payments?{bad}")).await;
        assert_eq!(status, 400, "{bad}: {body}");
        assert!(
            error_of(&body).2.is_some(),
            "{bad} names its parameter: {body}"
        );
    }
    // A cursor naming no payment of this key is a missing object, like any foreign id.
    let (status, body) = app
        .get(key, "/v1/payments?starting_after=pay_unknown")
        .await;
    assert_eq!(status, 404, "{body}");
    assert_eq!(error_of(&body).2, Some("starting_after"), "{body}");
}

async fn refunds_full_and_partial(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let key = &app.shop.test_key;
    let id = app.payment("100.00").await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let (status, body) = app
        .post(
            key,
            "/v1/refunds",
            json!({"payment": id, "amount": "10.00"}),
        )
        .await;
    assert_eq!(status, 409, "not paid yet: {body}");
    app.post(key, &format!("/v1/test/payments/{id}/succeed"), json!({}))
        .await;
    let (status, r1) = app
        .post(
            key,
            "/v1/refunds",
            json!({"payment": id, "amount": "40.00", "reason": "one broken cup"}),
        )
        .await;
    assert_eq!(status, 201, "{r1}");
    assert_eq!(r1["amount"], "40.00");
    assert_eq!(r1["status"], "succeeded");
    let (status, body) = app
        .post(
            key,
            "/v1/refunds",
            json!({"payment": id, "amount": "60.01"}),
        )
        .await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(error_of(&body).2, Some("amount"));
    let (status, r2) = app.post(key, "/v1/refunds", json!({"payment": id})).await;
    assert_eq!(status, 201);
    assert_eq!(r2["amount"], "60.00");
    let (_, p) = app.get(key, &format!("/v1/payments/{id}")).await;
    assert_eq!(p["status"], "refunded");
    assert_eq!(p["amount_refunded"], "100.00");
    let (status, got) = app
        .get(key, &format!("/v1/refunds/{}", r1["id"].as_str().unwrap()))
        .await;
    assert_eq!(status, 200);
    assert_eq!(got, r1);
    let (status, _) = app
        .get(
            &app.other.test_key,
            &format!("/v1/refunds/{}", r1["id"].as_str().unwrap()),
        )
        .await;
    assert_eq!(status, 404);
    let (status, body) = app
        .post(key, "/v1/refunds", json!({"payment": "pay_nope"}))
        .await;
    assert_eq!(status, 404, "{body}");
}

async fn every_state_change_writes_one_event(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let key = &app.shop.test_key;
    let a = app.payment("5.00").await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let b = app.payment("5.00").await["id"]
        .as_str()
        .unwrap()
        .to_string();
    app.post(key, &format!("/v1/test/payments/{a}/succeed"), json!({}))
        .await;
    let (status, failed) = app
        .post(key, &format!("/v1/test/payments/{b}/fail"), json!({}))
        .await;
    assert_eq!(status, 200);
    assert_eq!(failed["status"], "failed");
    let (_, refund) = app.post(key, "/v1/refunds", json!({"payment": a})).await;
    let types = |events: Vec<Value>| {
        events
            .iter()
            .map(|e| e["type"].as_str().unwrap().to_string())
            .collect::<Vec<_>>()
    };
    assert_eq!(
        types(app.events_of(key, &a).await),
        vec!["payment.created", "payment.succeeded"]
    );
    assert_eq!(
        types(app.events_of(key, &b).await),
        vec!["payment.created", "payment.failed"]
    );
    let refund_events = app.events_of(key, refund["id"].as_str().unwrap()).await;
    assert_eq!(types(refund_events.clone()), vec!["refund.succeeded"]);
    let event_id = refund_events[0]["id"].as_str().unwrap();
    let (status, event) = app.get(key, &format!("/v1/events/{event_id}")).await;
    assert_eq!(status, 200);
    assert_eq!(event["data"]["object"]["id"], refund["id"]);
    let (status, _) = app
        .get(&app.other.test_key, &format!("/v1/events/{event_id}"))
        .await;
    assert_eq!(status, 404);
    let (_, only) = app.get(key, "/v1/events?type=payment.failed").await;
    assert_eq!(only["data"].as_array().unwrap().len(), 1);
}

async fn expiry_is_never_shown_pending(backend: Backend) {
    let app = TestApp::spawn_with(
        backend,
        hundi::config::Config {
            // The worker is slowed right down: the read itself must expire the payment.
            expiry_interval: std::time::Duration::from_secs(3600),
            ..Default::default()
        },
    )
    .await;
    let key = &app.shop.test_key;
    let (_, p) = app
        .post(
            key,
            "/v1/payments",
            json!({"amount": "5", "currency": "PKR", "expires_in": 60}),
        )
        .await;
    let id = p["id"].as_str().unwrap();
    // Age the payment in the database, as if 61 seconds had passed.
    let scope = hundi::store::Scope {
        merchant_id: app.shop.id.clone(),
        livemode: false,
    };
    let stored = app.store.get_payment(&scope, id).await.unwrap();
    let url = app.db.url.clone();
    crate::common::set_expiry(&url, id, stored.created_at - chrono::Duration::seconds(1)).await;
    let (_, got) = app.get(key, &format!("/v1/payments/{id}")).await;
    assert_eq!(got["status"], "expired");
    let (status, _) = app
        .post(key, &format!("/v1/test/payments/{id}/succeed"), json!({}))
        .await;
    assert_eq!(status, 409);
    let types: Vec<Value> = app
        .events_of(key, id)
        .await
        .iter()
        .map(|e| e["type"].clone())
        .collect();
    assert_eq!(
        types,
        vec![json!("payment.created"), json!("payment.expired")]
    );
}

async fn the_expiry_worker_expires_in_the_background(backend: Backend) {
    let app = TestApp::spawn_with(
        backend,
        hundi::config::Config {
            expiry_interval: std::time::Duration::from_millis(100),
            ..Default::default()
        },
    )
    .await;
    let key = &app.shop.test_key;
    let (_, p) = app
        .post(
            key,
            "/v1/payments",
            json!({"amount": "5", "currency": "PKR", "expires_in": 60}),
        )
        .await;
    let id = p["id"].as_str().unwrap();
    crate::common::set_expiry(
        &app.db.url,
        id,
        chrono::Utc::now() - chrono::Duration::seconds(1),
    )
    .await;
    let mut expired = false;
    for _ in 0..50 {
        let events = app.events_of(key, id).await;
        if events.iter().any(|e| e["type"] == "payment.expired") {
            expired = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(expired, "the worker wrote payment.expired without any read");
}

async fn bad_input_is_a_clear_4xx(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let key = &app.shop.test_key;
    let cases: Vec<(Value, u16, &str)> = vec![
        (json!({"currency": "PKR"}), 400, "amount"),
        (json!({"amount": "10"}), 400, "currency"),
        (
            json!({"amount": {"x": 1}, "currency": "PKR"}),
            400,
            "amount",
        ),
        (json!({"amount": true, "currency": "PKR"}), 400, "amount"),
        (json!({"amount": "0", "currency": "PKR"}), 422, "amount"),
        (json!({"amount": "-5", "currency": "PKR"}), 422, "amount"),
        (json!({"amount": "1.001", "currency": "PKR"}), 422, "amount"),
        (json!({"amount": "1.5", "currency": "JPY"}), 422, "amount"),
        (json!({"amount": "abc", "currency": "PKR"}), 422, "amount"),
        (json!({"amount": "NaN", "currency": "PKR"}), 422, "amount"),
        (json!({"amount": "1e400", "currency": "PKR"}), 422, "amount"),
        (
            json!({"amount": "99999999999999999999999", "currency": "PKR"}),
            422,
            "amount",
        ),
        (json!({"amount": 1e300, "currency": "PKR"}), 422, "amount"),
        (json!({"amount": "10", "currency": "XYZ"}), 422, "currency"),
        (json!({"amount": "10", "currency": 5}), 400, "currency"),
        (
            json!({"amount": "10", "currency": "PKR", "metadata": {"a": 1}}),
            400,
            "metadata.a",
        ),
        (
            json!({"amount": "10", "currency": "PKR", "methods": ["cash"]}),
            422,
            "methods",
        ),
        (
            json!({"amount": "10", "currency": "PKR", "expires_in": 10}),
            422,
            "expires_in",
        ),
        (
            json!({"amount": "10", "currency": "PKR", "success_url": "ftp://x"}),
            422,
            "success_url",
        ),
        (
            json!({"amount": "10", "currency": "PKR", "customer": {"email": "nope"}}),
            422,
            "customer[email]",
        ),
    ];
    for (body, want_status, want_param) in cases {
        let (status, res) = app.post(key, "/v1/payments", body.clone()).await;
        assert_eq!(status, want_status, "{body} -> {res}");
        assert_eq!(error_of(&res).2, Some(want_param), "{body} -> {res}");
        assert_eq!(error_of(&res).0, "invalid_request_error");
    }
    // Not JSON at all, or not an object.
    for raw in ["{\"amount\":", "[1,2]", "", "null", "{} trailing"] {
        let res = app
            .http
            .post(format!("{}/v1/payments", app.url))
            .bearer_auth(key)
            .header("content-type", "application/json")
            .body(raw)
            .send()
            .await
            .unwrap();
        let (status, body) = crate::common::read(res).await;
        assert_eq!(status, 400, "{raw:?} -> {body}");
        assert_eq!(error_of(&body).1, "malformed_request", "{raw:?} -> {body}");
    }
    // Over 1 MiB.
    let huge = format!(
        "{{\"amount\":\"1\",\"currency\":\"PKR\",\"description\":\"{}\"}}",
        "x".repeat(1 << 20)
    );
    let res = app
        .http
        .post(format!("{}/v1/payments", app.url))
        .bearer_auth(key)
        .body(huge)
        .send()
        .await
        .unwrap();
    let (status, body) = crate::common::read(res).await;
    assert_eq!(status, 413, "{body}");
    assert_eq!(error_of(&body).1, "body_too_large");
    // Unknown routes and methods answer in the same shape.
    let (status, body) = app.get(key, "/v1/nothing").await;
    assert_eq!(status, 404);
    assert_eq!(error_of(&body).1, "resource_missing");
    let res = app
        .http
        .delete(format!("{}/v1/payments", app.url))
        .bearer_auth(key)
        .send()
        .await
        .unwrap();
    let (status, body) = crate::common::read(res).await;
    assert_eq!(status, 405, "{body}");
}

async fn keys_modes_and_merchants_are_walled_off(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let p = app.payment("10.00").await;
    let id = p["id"].as_str().unwrap();
    // No key, a bad key, a malformed header.
    let res = app
        .http
        .get(format!("{}/v1/payments", app.url))
        .send()
        .await
        .unwrap();
    let (status, body) = crate::common::read(res).await;
    assert_eq!((status, error_of(&body).1), (401, "api_key_missing"));
    let (status, body) = app.get("hk_test_not_a_real_key", "/v1/payments").await;
    assert_eq!((status, error_of(&body).1), (401, "api_key_invalid"));
    let res = app
        .http
        .get(format!("{}/v1/payments", app.url))
        .header("Authorization", "Basic abc")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 401);
    // Another merchant's id is a 404, and so is a test object seen with a live key.
    let (status, _) = app
        .get(&app.other.test_key, &format!("/v1/payments/{id}"))
        .await;
    assert_eq!(status, 404);
    let (status, _) = app
        .post(
            &app.other.test_key,
            &format!("/v1/payments/{id}/cancel"),
            json!({}),
        )
        .await;
    assert_eq!(status, 404);
    let (status, _) = app
        .get(&app.shop.live_key, &format!("/v1/payments/{id}"))
        .await;
    assert_eq!(status, 404);
    let (_, live_list) = app.get(&app.shop.live_key, "/v1/payments").await;
    assert_eq!(live_list["data"].as_array().unwrap().len(), 0);
    // Live payments are live; the test-only endpoints refuse live keys.
    let (status, live) = app
        .post(
            &app.shop.live_key,
            "/v1/payments",
            json!({"amount": "10", "currency": "PKR"}),
        )
        .await;
    assert_eq!(status, 201);
    assert_eq!(live["livemode"], true);
    let live_id = live["id"].as_str().unwrap();
    let (status, body) = app
        .post(
            &app.shop.live_key,
            &format!("/v1/test/payments/{live_id}/succeed"),
            json!({}),
        )
        .await;
    assert_eq!((status, error_of(&body).1), (403, "test_mode_only"));
    let (status, _) = app
        .get(&app.shop.test_key, &format!("/v1/payments/{live_id}"))
        .await;
    assert_eq!(status, 404);
    // A revoked key stops working within the key cache's lifetime (1 s), on every node.
    let key = app
        .store
        .find_key_by_hash(&hundi::domain::key::hash_secret(&app.shop.test_key))
        .await
        .unwrap();
    app.store
        .revoke_key(&key.id, chrono::Utc::now(), None)
        .await
        .unwrap();
    let revoked_at = std::time::Instant::now();
    loop {
        let (status, body) = app.get(&app.shop.test_key, "/v1/payments").await;
        if status == 401 {
            assert_eq!(error_of(&body).1, "api_key_revoked");
            break;
        }
        assert_eq!(status, 200);
        assert!(
            revoked_at.elapsed() < std::time::Duration::from_millis(1500),
            "a revoked key still worked after {:?}",
            revoked_at.elapsed()
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

async fn permissions_are_enforced(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let read_only = hundi::service::keys::create_key(
        &*app.store,
        &hundi::service::access::Acting::cli(&app.shop.id, false),
        hundi::service::keys::NewKey::new(
            hundi::domain::key::Mode::Test,
            "reader",
            vec![hundi::domain::key::Permission::PaymentsRead],
        ),
    )
    .await
    .unwrap();
    let (status, body) = app
        .post(
            &read_only.secret,
            "/v1/payments",
            json!({"amount": "1", "currency": "PKR"}),
        )
        .await;
    assert_eq!((status, error_of(&body).1), (403, "permission_denied"));
    let (status, _) = app.get(&read_only.secret, "/v1/payments").await;
    assert_eq!(status, 200);
    let (status, _) = app.get(&read_only.secret, "/v1/events").await;
    assert_eq!(status, 403);
}

async fn idempotency_replays_and_conflicts(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let key = &app.shop.test_key;
    let body = json!({"amount": "10.00", "currency": "PKR"});
    let (s1, first) = app
        .post_idem(key, "/v1/payments", "order-7", body.clone())
        .await;
    let (s2, second) = app
        .post_idem(key, "/v1/payments", "order-7", body.clone())
        .await;
    assert_eq!((s1, s2), (201, 201));
    assert_eq!(first, second, "the retry gets the stored response");
    let (_, list) = app.get(key, "/v1/payments").await;
    assert_eq!(
        list["data"].as_array().unwrap().len(),
        1,
        "one payment for two requests"
    );
    let (status, err) = app
        .post_idem(
            key,
            "/v1/payments",
            "order-7",
            json!({"amount": "11.00", "currency": "PKR"}),
        )
        .await;
    assert_eq!((status, error_of(&err).1), (409, "idempotency_key_reused"));
    // A validation error is stored too: the same bad request gets the same answer.
    let bad = json!({"amount": "0", "currency": "PKR"});
    let (a, _) = app
        .post_idem(key, "/v1/payments", "bad-1", bad.clone())
        .await;
    let (b, _) = app.post_idem(key, "/v1/payments", "bad-1", bad).await;
    assert_eq!((a, b), (422, 422));
    // Keys are per merchant: another merchant may use the same key.
    let (status, other) = app
        .post_idem(&app.other.test_key, "/v1/payments", "order-7", body)
        .await;
    assert_eq!(status, 201);
    assert_ne!(other["id"], first["id"]);
    let res = app
        .http
        .post(format!("{}/v1/payments", app.url))
        .bearer_auth(key)
        .header("Idempotency-Key", "x".repeat(300))
        .json(&json!({"amount": "1", "currency": "PKR"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 400);
}

async fn system_routes(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let res = app
        .http
        .get(format!("{}/healthz", app.url))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 200);
    assert!(
        res.headers().contains_key("x-request-id"),
        "every response names its request"
    );
    let res = app
        .http
        .get(format!("{}/healthz", app.url))
        .header("x-request-id", "trace-me-1")
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers()["x-request-id"], "trace-me-1");
    app.payment("1.00").await;
    app.get("hk_test_wrong", "/v1/payments").await;
    let metrics = app
        .http
        .get(format!("{}/metrics", app.url))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains(
            r#"hundi_http_requests_total{method="POST",route="/v1/payments",status="201"} 1"#
        ),
        "{metrics}"
    );
    assert!(
        metrics.contains(r#"route="/v1/payments",status="401"}"#),
        "{metrics}"
    );
    assert!(
        metrics.contains("hundi_http_request_duration_seconds_bucket"),
        "{metrics}"
    );
    assert!(
        metrics.contains(r#"hundi_payments{status="pending",livemode="false"} 1"#),
        "{metrics}"
    );
}

/// Every route the server answers is in the OpenAPI document, and every documented route answers.
async fn openapi_documents_every_route(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let spec: Value = app
        .http
        .get(format!("{}/openapi.json", app.url))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(spec["openapi"].as_str().unwrap().starts_with("3.1"));
    let served = [
        ("post", "/v1/payments"),
        ("get", "/v1/payments"),
        ("get", "/v1/payments/{id}"),
        ("post", "/v1/payments/{id}/cancel"),
        ("post", "/v1/test/payments/{id}/succeed"),
        ("post", "/v1/test/payments/{id}/fail"),
        ("post", "/v1/refunds"),
        ("get", "/v1/refunds/{id}"),
        ("get", "/v1/events"),
        ("get", "/v1/events/{id}"),
        ("post", "/v1/credits"),
        ("get", "/v1/credits"),
        ("get", "/v1/credits/{id}"),
        ("post", "/v1/credits/{id}/match"),
        ("post", "/v1/credits/parse"),
        ("post", "/v1/credits/sms"),
        ("post", "/v1/payment_links"),
        ("get", "/v1/payment_links"),
        ("get", "/v1/payment_links/{id}"),
        ("post", "/v1/payment_links/{id}/deactivate"),
        ("post", "/v1/webhook_endpoints"),
        ("get", "/v1/webhook_endpoints"),
        ("get", "/v1/webhook_endpoints/{id}"),
        ("post", "/v1/webhook_endpoints/{id}"),
        ("delete", "/v1/webhook_endpoints/{id}"),
        ("post", "/v1/webhook_endpoints/{id}/rotate_secret"),
        ("get", "/v1/events/{id}/deliveries"),
        ("post", "/v1/events/{id}/redeliver"),
        ("get", "/healthz"),
        ("get", "/metrics"),
        ("get", "/openapi.json"),
    ];
    let mut documented = Vec::new();
    for (path, item) in spec["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            documented.push((method.clone(), path.clone()));
        }
    }
    documented.sort();
    let mut expected: Vec<(String, String)> = served
        .iter()
        .map(|(m, p)| (m.to_string(), p.to_string()))
        .collect();
    expected.sort();
    assert_eq!(documented, expected);
    for (method, path) in &expected {
        let url = format!("{}{}", app.url, path.replace("{id}", "x"));
        let req = if method == "post" {
            app.http.post(url).json(&json!({}))
        } else {
            app.http.get(url)
        };
        let res = req.bearer_auth(&app.shop.test_key).send().await.unwrap();
        let status = res.status().as_u16();
        let body: Value = res.json().await.unwrap_or(Value::Null);
        assert!(
            !(status == 404 && body["error"]["message"] == "no such route") && status != 405,
            "{method} {path} is documented but not served ({status})"
        );
    }
}

async fn key_requests_are_counted(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    for _ in 0..3 {
        app.get(&app.shop.test_key, "/v1/payments").await;
    }
    let key = app
        .store
        .find_key_by_hash(&hundi::domain::key::hash_secret(&app.shop.test_key))
        .await
        .unwrap();
    let mut count = 0;
    for _ in 0..40 {
        count = app
            .store
            .list_keys(Some(&app.shop.id))
            .await
            .unwrap()
            .into_iter()
            .find(|k| k.id == key.id)
            .unwrap()
            .request_count;
        if count == 3 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(count, 3);
}

on_both_backends!(
    create_read_list_cancel,
    list_pagination_and_filters,
    refunds_full_and_partial,
    every_state_change_writes_one_event,
    expiry_is_never_shown_pending,
    the_expiry_worker_expires_in_the_background,
    bad_input_is_a_clear_4xx,
    keys_modes_and_merchants_are_walled_off,
    permissions_are_enforced,
    idempotency_replays_and_conflicts,
    system_routes,
    openapi_documents_every_route,
    key_requests_are_counted,
);
