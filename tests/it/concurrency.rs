//! Races, really run in parallel over HTTP, on both backends.

use crate::common::{Backend, TestApp};
use serde_json::json;
use std::sync::Arc;

async fn fifty_transitions_one_winner(backend: Backend) {
    let app = Arc::new(TestApp::spawn(backend).await);
    let id = app.payment("10.00").await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let barrier = Arc::new(tokio::sync::Barrier::new(50));
    let mut tasks = Vec::new();
    for i in 0..50 {
        let (app, id, barrier) = (app.clone(), id.clone(), barrier.clone());
        tasks.push(tokio::spawn(async move {
            let path = if i % 2 == 0 {
                format!("/v1/payments/{id}/cancel")
            } else {
                format!("/v1/test/payments/{id}/succeed")
            };
            barrier.wait().await;
            app.post(&app.shop.test_key, &path, json!({})).await
        }));
    }
    let mut ok = Vec::new();
    for t in tasks {
        let (status, body) = t.await.unwrap();
        match status {
            200 => ok.push(body["status"].as_str().unwrap().to_string()),
            409 => {}
            other => panic!("unexpected {other}: {body}"),
        }
    }
    assert_eq!(ok.len(), 1, "exactly one transition wins");
    let events = app.events_of(&app.shop.test_key, &id).await;
    assert_eq!(events.len(), 2, "created + exactly one transition event");
    assert_eq!(events[1]["type"], format!("payment.{}", ok[0]));
    let (_, p) = app
        .get(&app.shop.test_key, &format!("/v1/payments/{id}"))
        .await;
    assert_eq!(p["status"], ok[0]);
}

async fn fifty_creates_one_idempotency_key(backend: Backend) {
    let app = Arc::new(TestApp::spawn(backend).await);
    let barrier = Arc::new(tokio::sync::Barrier::new(50));
    let mut tasks = Vec::new();
    for _ in 0..50 {
        let (app, barrier) = (app.clone(), barrier.clone());
        tasks.push(tokio::spawn(async move {
            barrier.wait().await;
            app.post_idem(
                &app.shop.test_key,
                "/v1/payments",
                "same-order",
                json!({"amount": "42.00", "currency": "PKR"}),
            )
            .await
        }));
    }
    let mut ids = std::collections::HashSet::new();
    for t in tasks {
        let (status, body) = t.await.unwrap();
        assert_eq!(status, 201, "{body}");
        ids.insert(body["id"].as_str().unwrap().to_string());
    }
    assert_eq!(ids.len(), 1, "every caller sees the one payment");
    let (_, list) = app.get(&app.shop.test_key, "/v1/payments?limit=100").await;
    assert_eq!(
        list["data"].as_array().unwrap().len(),
        1,
        "one payment was created"
    );
}

async fn twenty_partial_refunds_never_exceed(backend: Backend) {
    let app = Arc::new(TestApp::spawn(backend).await);
    let id = app.payment("100.00").await["id"]
        .as_str()
        .unwrap()
        .to_string();
    app.post(
        &app.shop.test_key,
        &format!("/v1/test/payments/{id}/succeed"),
        json!({}),
    )
    .await;
    let barrier = Arc::new(tokio::sync::Barrier::new(20));
    let mut tasks = Vec::new();
    for _ in 0..20 {
        let (app, id, barrier) = (app.clone(), id.clone(), barrier.clone());
        tasks.push(tokio::spawn(async move {
            barrier.wait().await;
            app.post(
                &app.shop.test_key,
                "/v1/refunds",
                json!({"payment": id, "amount": "7.00"}),
            )
            .await
        }));
    }
    let mut refunded = 0;
    for t in tasks {
        let (status, body) = t.await.unwrap();
        match status {
            201 => refunded += 700,
            422 => assert_eq!(body["error"]["param"], "amount"),
            other => panic!("unexpected {other}: {body}"),
        }
    }
    assert_eq!(refunded, 9800, "14 refunds of 7.00 fit in 100.00");
    let (_, p) = app
        .get(&app.shop.test_key, &format!("/v1/payments/{id}"))
        .await;
    assert_eq!(p["amount_refunded"], "98.00");
    assert_eq!(p["status"], "partially_refunded");
    let (_, events) = app
        .get(
            &app.shop.test_key,
            "/v1/events?type=refund.succeeded&limit=100",
        )
        .await;
    assert_eq!(events["data"].as_array().unwrap().len(), 14);
}

on_both_backends!(
    fifty_transitions_one_winner,
    fifty_creates_one_idempotency_key,
    twenty_partial_refunds_never_exceed,
);

/// Thirty creates at once, all answered 201, and how many payments the list then holds.
async fn thirty_creates_at_once(app: &Arc<TestApp>) {
    let barrier = Arc::new(tokio::sync::Barrier::new(30));
    let mut tasks = Vec::new();
    for _ in 0..30 {
        let (app, barrier) = (app.clone(), barrier.clone());
        tasks.push(tokio::spawn(async move {
            barrier.wait().await;
            let body = json!({"amount": "5.00", "currency": "PKR"});
            app.post(&app.shop.test_key, "/v1/payments", body).await
        }));
    }
    for t in tasks {
        let (status, body) = t.await.unwrap();
        assert_eq!(status, 201, "{body}");
    }
}

/// PostgreSQL drops every connection of the database (as a restart does) between two busy
/// spells: the creates after it are still all written, since a connection idle for a while
/// is checked before use, by the pool and by the group writer's own connection alike.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn creates_after_postgres_dropped_every_connection() {
    let app = Arc::new(TestApp::spawn(Backend::Postgres).await);
    thirty_creates_at_once(&app).await;
    let admin = sqlx::PgPool::connect(&app.db.url).await.unwrap();
    let dropped: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
         WHERE datname = current_database() AND pid <> pg_backend_pid()) t",
    )
    .fetch_one(&admin)
    .await
    .unwrap();
    assert!(dropped >= 2, "the pool's and the group writer's: {dropped}");
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    thirty_creates_at_once(&app).await;
    let count: i64 = sqlx::query_scalar("SELECT count(*) FROM payments")
        .fetch_one(&admin)
        .await
        .unwrap();
    assert_eq!(count, 60);
}
