//! `/openapi.json` says what the server does: every status an operation can answer, the
//! constraints the server enforces, the links between operations; and the server accepts
//! what the document allows (the cases a property-based run found refused).

use crate::common::{Backend, TestApp};
use serde_json::{json, Value};

async fn document(app: &TestApp) -> Value {
    let res = app
        .http
        .get(format!("{}/openapi.json", app.url))
        .send()
        .await
        .expect("request");
    assert_eq!(res.status(), 200);
    res.json().await.expect("json")
}

fn operations(doc: &Value) -> Vec<(String, String, &Value)> {
    let mut out = Vec::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for (method, op) in item.as_object().expect("path item") {
            out.push((path.clone(), method.clone(), op));
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_authenticated_operation_declares_its_errors() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let doc = document(&app).await;
    let ops = operations(&doc);
    assert!(ops.len() >= 25, "{} operations", ops.len());
    for (path, method, op) in ops.iter().filter(|(p, _, _)| p.starts_with("/v1/")) {
        let responses = &op["responses"];
        // The SMS forwarders' door: a device token, no permissions, no idempotency keys.
        let device_door = path.as_str() == "/v1/credits/sms";
        for status in ["401", "403", "429", "500", "503"] {
            if device_door && status == "403" {
                continue;
            }
            assert_eq!(
                responses[status]["content"]["application/json"]["schema"]["$ref"],
                "#/components/schemas/ErrorBody",
                "{method} {path} declares {status} with the error shape"
            );
        }
        assert!(
            responses["429"]["headers"]["Retry-After"].is_object(),
            "{method} {path}: 429 carries Retry-After"
        );
        if method == "post" && !device_door {
            for status in ["400", "409", "413"] {
                assert!(responses[status].is_object(), "{method} {path}: {status}");
            }
            let params = op["parameters"].as_array().expect("parameters");
            assert!(
                params.iter().any(|p| p["name"] == "Idempotency-Key"),
                "{method} {path} takes an Idempotency-Key"
            );
        }
        if path.contains("{id}") {
            assert!(responses["404"].is_object(), "{method} {path}: 404");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_document_states_the_rules_the_server_enforces() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let doc = document(&app).await;
    let schemas = &doc["components"]["schemas"];

    // One schema per group of currencies: decimals and UPI follow the currency.
    let branches = schemas["CreatePayment"]["oneOf"].as_array().expect("oneOf");
    let inr = branches
        .iter()
        .find(|b| b["properties"]["currency"]["enum"] == json!(["INR"]))
        .expect("an INR branch");
    assert!(inr["properties"]["methods"]["items"]["enum"]
        .as_array()
        .expect("methods")
        .contains(&json!("upi")));
    let yen = branches
        .iter()
        .find(|b| {
            b["properties"]["currency"]["enum"]
                .as_array()
                .is_some_and(|codes| codes.contains(&json!("JPY")))
        })
        .expect("a JPY branch");
    assert_eq!(yen["properties"]["amount"]["pattern"], "^[1-9][0-9]{0,13}$");
    assert!(!yen["properties"]["methods"]["items"]["enum"]
        .as_array()
        .expect("methods")
        .contains(&json!("upi")));
    let methods = &inr["properties"]["methods"];
    assert_eq!(methods["minItems"], 1);
    let expires_in = &inr["properties"]["expires_in"];
    assert_eq!(
        (&expires_in["minimum"], &expires_in["maximum"]),
        (&json!(60), &json!(604800))
    );
    assert_eq!(inr["properties"]["metadata"]["maxProperties"], 50);

    let list = doc["paths"]["/v1/payments"]["get"]["parameters"]
        .as_array()
        .expect("parameters");
    let limit = list.iter().find(|p| p["name"] == "limit").expect("limit");
    assert_eq!(limit["schema"]["minimum"], 1);
    assert_eq!(limit["schema"]["maximum"], 100);
    let status = list.iter().find(|p| p["name"] == "status").expect("status");
    assert!(status["schema"].to_string().contains("PaymentStatus"));

    let endpoint = &schemas["CreateEndpoint"]["properties"];
    assert_eq!(endpoint["events"]["minItems"], 1);
    assert!(endpoint["url"]["pattern"].is_string());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_created_payment_links_to_what_can_follow() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let doc = document(&app).await;
    let links = &doc["paths"]["/v1/payments"]["post"]["responses"]["201"]["links"];
    for (name, target) in [
        ("GetPayment", "get_payment"),
        ("CancelPayment", "cancel_payment"),
        ("SucceedPayment", "test_succeed"),
        ("RefundPayment", "create_refund"),
    ] {
        assert_eq!(links[name]["operationId"], target, "{name}: {links}");
    }
    assert_eq!(
        links["CancelPayment"]["parameters"]["id"],
        "$response.body#/id"
    );
    assert_eq!(
        links["RefundPayment"]["requestBody"]["payment"],
        "$response.body#/id"
    );
    // Every link names an operation that exists.
    let ids: Vec<&Value> = operations(&doc)
        .into_iter()
        .map(|(_, _, op)| &op["operationId"])
        .collect();
    for (_, _, op) in operations(&doc) {
        for response in op["responses"].as_object().into_iter().flatten() {
            for link in response.1["links"].as_object().into_iter().flatten() {
                assert!(ids.contains(&&link.1["operationId"]), "{link:?}");
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_server_accepts_what_the_document_allows() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let key = &app.shop.test_key;

    // An integer in JSON Schema may be written 3600.0.
    let (status, body) = app
        .post(
            key,
            "/v1/payments",
            json!({"amount": "10.00", "currency": "PKR", "expires_in": 3600.0}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let (status, body) = app
        .post(
            key,
            "/v1/payments",
            json!({"amount": "10.00", "currency": "PKR", "expires_in": 3600.5}),
        )
        .await;
    assert_eq!(status, 400, "{body}");

    // A null refund amount is an absent one: everything still refundable.
    let id = app.payment("40.00").await["id"]
        .as_str()
        .expect("id")
        .to_string();
    let (status, body) = app
        .post(key, &format!("/v1/test/payments/{id}/succeed"), json!({}))
        .await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = app
        .post(key, "/v1/refunds", json!({"payment": id, "amount": null}))
        .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["amount"], "40.00");

    // A cursor naming nothing of this key is a missing object, on every list.
    for path in [
        "/v1/payments?starting_after=pay_unknown",
        "/v1/events?starting_after=evt_unknown",
        "/v1/credits?starting_after=cr_unknown",
    ] {
        let (status, body) = app.get(key, path).await;
        assert_eq!(status, 404, "{path}: {body}");
        assert_eq!(body["error"]["param"], "starting_after", "{path}: {body}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_server_refuses_what_the_document_forbids() {
    let app = TestApp::spawn_with(Backend::Sqlite, crate::common::fast_webhooks()).await;
    let key = &app.shop.test_key;

    // "*" does not hide an unknown event type next to it.
    let (status, body) = app
        .post(
            key,
            "/v1/webhook_endpoints",
            json!({"url": "https://shop.example/hooks", "events": ["*", "payment.bogus"]}),
        )
        .await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["error"]["param"], "events");

    // A description is at most 500 characters on update as on create.
    let (status, body) = app
        .post(
            key,
            "/v1/webhook_endpoints",
            json!({"url": "https://shop.example/hooks", "events": ["*"]}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let id = body["id"].as_str().expect("id");
    let (status, body) = app
        .post(
            key,
            &format!("/v1/webhook_endpoints/{id}"),
            json!({"description": "x".repeat(501)}),
        )
        .await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["error"]["param"], "description");

    // An alert's text is measured in characters, as the document's maxLength is: 5,000
    // rupee signs (15,000 bytes) are read (and understood as no alert), 10,001 are too long.
    let (status, body) = app
        .post(key, "/v1/credits/parse", json!({"text": "₹".repeat(5_000)}))
        .await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["error"]["code"], "alert_not_understood");
    let (status, body) = app
        .post(
            key,
            "/v1/credits/parse",
            json!({"text": "₹".repeat(10_001)}),
        )
        .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"]["param"], "text");
}
