//! `Idempotency-Key` over real HTTP: responses that hold a secret are not kept in clear, keys
//! live 24 hours, a stale claim is taken over exactly once, and a crash between the claim and
//! the commit never makes a retry create a second payment.

use crate::common::ChildServer as Server;
use crate::common::{Backend, TestApp, TestDb};
use serde_json::{json, Value};
use std::process::{Command, Stdio};
use std::time::Duration;

/// Runs one SQL statement on the test database (to look at rows, or to age them).
async fn sql(url: &str, statement: &str) {
    if url.starts_with("postgres") {
        let pool = sqlx::PgPool::connect(url).await.expect("connect");
        sqlx::query(statement)
            .execute(&pool)
            .await
            .expect(statement);
        pool.close().await;
    } else {
        let pool = sqlx::SqlitePool::connect(url).await.expect("connect");
        sqlx::query(statement)
            .execute(&pool)
            .await
            .expect(statement);
        pool.close().await;
    }
}

/// Every stored response body, as bytes.
async fn stored_bodies(url: &str) -> Vec<Vec<u8>> {
    let q = "SELECT response_body FROM idempotency_keys WHERE response_body IS NOT NULL";
    if url.starts_with("postgres") {
        let pool = sqlx::PgPool::connect(url).await.expect("connect");
        let rows: Vec<(Vec<u8>,)> = sqlx::query_as(q).fetch_all(&pool).await.expect(q);
        rows.into_iter().map(|r| r.0).collect()
    } else {
        let pool = sqlx::SqlitePool::connect(url).await.expect("connect");
        let rows: Vec<(Vec<u8>,)> = sqlx::query_as(q).fetch_all(&pool).await.expect(q);
        rows.into_iter().map(|r| r.0).collect()
    }
}

async fn count_keys(url: &str) -> i64 {
    let q = "SELECT COUNT(*) FROM idempotency_keys";
    if url.starts_with("postgres") {
        let pool = sqlx::PgPool::connect(url).await.expect("connect");
        sqlx::query_scalar(q).fetch_one(&pool).await.expect(q)
    } else {
        let pool = sqlx::SqlitePool::connect(url).await.expect("connect");
        sqlx::query_scalar(q).fetch_one(&pool).await.expect(q)
    }
}

/// Moves every key's creation back by `hours`.
async fn age_keys(url: &str, hours: i64) {
    if url.starts_with("postgres") {
        sql(
            url,
            &format!(
                "UPDATE idempotency_keys SET created_at = created_at - interval '{hours} hours'"
            ),
        )
        .await;
    } else {
        sql(
            url,
            &format!(
                "UPDATE idempotency_keys SET created_at = created_at - {}",
                hours * 3_600_000_000
            ),
        )
        .await;
    }
}

/// The webhook signing secret is shown once: a replay gets it again, but the database keeps it
/// only sealed under the master key.
async fn a_secret_in_a_response_is_not_kept_in_clear(backend: Backend) {
    let app = TestApp::spawn_with(backend, crate::common::fast_webhooks()).await;
    let key = &app.shop.test_key;
    let body = json!({"url": "http://127.0.0.1:9/hook", "events": ["*"]});
    let (s1, first) = app
        .post_idem(key, "/v1/webhook_endpoints", "hook-1", body.clone())
        .await;
    assert_eq!(s1, 201, "{first}");
    let secret = first["secret"].as_str().expect("secret").to_string();
    assert!(secret.starts_with("whsec_"));
    let res = app
        .http
        .post(format!("{}/v1/webhook_endpoints", app.url))
        .bearer_auth(key)
        .header("Idempotency-Key", "hook-1")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers()["idempotent-replayed"], "true");
    let (s2, second) = crate::common::read(res).await;
    assert_eq!(
        (s2, &second),
        (201, &first),
        "the replay is the same response"
    );

    let path = format!(
        "/v1/webhook_endpoints/{}/rotate_secret",
        first["id"].as_str().unwrap()
    );
    let (s3, rotated) = app.post_idem(key, &path, "rotate-1", json!({})).await;
    assert_eq!(s3, 200, "{rotated}");
    let new_secret = rotated["secret"].as_str().unwrap().to_string();
    let (_, again) = app.post_idem(key, &path, "rotate-1", json!({})).await;
    assert_eq!(again, rotated);

    let bodies = stored_bodies(&app.db.url).await;
    assert_eq!(bodies.len(), 2);
    for stored in bodies {
        let text = String::from_utf8_lossy(&stored);
        assert!(
            !text.contains("whsec_") && !text.contains(&secret) && !text.contains(&new_secret),
            "a secret is stored in clear: {text}"
        );
    }
    // Other responses stay plain JSON.
    let (s, p) = app
        .post_idem(
            key,
            "/v1/payments",
            "pay-1",
            json!({"amount": "5.00", "currency": "PKR"}),
        )
        .await;
    assert_eq!(s, 201);
    let plain = stored_bodies(&app.db.url)
        .await
        .into_iter()
        .filter(|b| String::from_utf8_lossy(b).contains(p["id"].as_str().unwrap()))
        .count();
    assert_eq!(plain, 1);
}

/// A key older than 24 hours counts as new; the expiry worker purges such keys.
async fn keys_live_a_day(backend: Backend) {
    let opts = hundi::config::Config {
        idempotency_purge_interval: Duration::from_millis(200),
        ..Default::default()
    };
    let app = TestApp::spawn_with(backend, opts).await;
    let key = &app.shop.test_key;
    let (s, first) = app
        .post_idem(
            key,
            "/v1/payments",
            "day-1",
            json!({"amount": "5.00", "currency": "PKR"}),
        )
        .await;
    assert_eq!(s, 201);
    age_keys(&app.db.url, 25).await;
    // Another body under the old key is a new request, not a 409.
    let (s, second) = app
        .post_idem(
            key,
            "/v1/payments",
            "day-1",
            json!({"amount": "6.00", "currency": "PKR"}),
        )
        .await;
    assert_eq!(s, 201, "{second}");
    assert_ne!(second["id"], first["id"]);
    age_keys(&app.db.url, 25).await;
    let mut left = count_keys(&app.db.url).await;
    for _ in 0..50 {
        if left == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        left = count_keys(&app.db.url).await;
    }
    assert_eq!(left, 0, "the 25-hour-old key was not purged");
}

/// A claim left by a request that died is taken over by exactly one of many retries.
async fn a_dead_claim_is_taken_over_once(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let key = app.shop.test_key.clone();
    let body = json!({"amount": "7.00", "currency": "PKR", "reference": "dead-claim"});
    let stale = if app.db.url.starts_with("postgres") {
        "now() - interval '5 minutes'".to_string()
    } else {
        (chrono::Utc::now() - chrono::Duration::minutes(5))
            .timestamp_micros()
            .to_string()
    };
    // A probe under another key gives the row a real hash of this body (the hash does not
    // cover the key); the dead request's claim is a copy of it, five minutes old.
    let (s, _) = app
        .post_idem(&key, "/v1/payments", "probe", body.clone())
        .await;
    assert_eq!(s, 201);
    sql(
        &app.db.url,
        &format!(
            "INSERT INTO idempotency_keys (merchant_id, livemode, key, request_hash, created_at, \
             claim_token) SELECT merchant_id, livemode, 'dead', request_hash, {stale}, 'gone' \
             FROM idempotency_keys WHERE key = 'probe'"
        ),
    )
    .await;
    let retries = (0..12).map(|_| app.post_idem(&key, "/v1/payments", "dead", body.clone()));
    let answers = futures::future::join_all(retries).await;
    let ids: std::collections::BTreeSet<String> = answers
        .iter()
        .map(|(s, b)| {
            assert_eq!(*s, 201, "{b}");
            b["id"].as_str().unwrap().to_string()
        })
        .collect();
    assert_eq!(ids.len(), 1, "the retries ran more than once: {ids:?}");
    let (_, list) = app.get(&key, "/v1/payments?reference=dead-claim").await;
    assert_eq!(
        list["data"].as_array().unwrap().len(),
        2,
        "the probe and one retry: {list}"
    );
}

on_both_backends!(
    a_secret_in_a_response_is_not_kept_in_clear,
    keys_live_a_day,
    a_dead_claim_is_taken_over_once,
);

fn hundi_json(db: &TestDb, key_file: &std::path::Path, args: &[&str]) -> Value {
    let out = Command::new(env!("CARGO_BIN_EXE_hundi"))
        .args(args)
        .env("HUNDI_DATABASE_URL", &db.url)
        .env("HUNDI_MASTER_KEY_FILE", key_file)
        .output()
        .expect("run hundi");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("json")
}

async fn serve(db: &TestDb, key_file: &std::path::Path) -> Server {
    let port = crate::common::free_port();
    let child = Command::new(env!("CARGO_BIN_EXE_hundi"))
        .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
        .env("HUNDI_DATABASE_URL", &db.url)
        .env("HUNDI_MASTER_KEY_FILE", key_file)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start hundi serve");
    Server::healthy(child, port).await
}

/// The process dies (SIGKILL) after it claimed the key and before its commit: PostgreSQL holds
/// the commit in a trigger that sleeps until the kill. A retry after the stale window then
/// finds either the payment with its stored response, or nothing, and runs once: one payment.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_crash_between_claim_and_commit_creates_one_payment() {
    let db = TestDb::new(Backend::Postgres).await;
    let key_file = std::env::temp_dir().join(format!("hundi-idem-{}.key", uuid::Uuid::new_v4()));
    let pool = sqlx::PgPool::connect(&db.url).await.expect("connect");
    // PostgreSQL notices the dead client during the sleep and aborts its statement, as it
    // would for any long statement of a process that died.
    let name: String = sqlx::query_scalar("SELECT current_database()")
        .fetch_one(&pool)
        .await
        .unwrap();
    sqlx::query(&format!(
        "ALTER DATABASE {name} SET client_connection_check_interval = '100ms'"
    ))
    .execute(&pool)
    .await
    .unwrap();
    let m = hundi_json(
        &db,
        &key_file,
        &["merchant", "create", "--name", "Crash", "--json"],
    );
    let merchant = m["id"].as_str().unwrap();
    let k = hundi_json(
        &db,
        &key_file,
        &[
            "key",
            "create",
            "--merchant",
            merchant,
            "--mode",
            "test",
            "--label",
            "c",
            "--json",
        ],
    );
    let api_key = k["secret"].as_str().unwrap().to_string();
    // Completing a key (writing its response) sleeps: the process is killed in that sleep.
    sqlx::query(
        "CREATE FUNCTION slow_key_response() RETURNS trigger AS $$ BEGIN \
         IF NEW.response_status IS NOT NULL THEN PERFORM pg_sleep(30); END IF; RETURN NEW; \
         END $$ LANGUAGE plpgsql",
    )
    .execute(&pool)
    .await
    .unwrap();
    sqlx::query(
        "CREATE TRIGGER slow_key_response BEFORE UPDATE ON idempotency_keys \
         FOR EACH ROW EXECUTE FUNCTION slow_key_response()",
    )
    .execute(&pool)
    .await
    .unwrap();

    let server = serve(&db, &key_file).await;
    let body = json!({"amount": "42.00", "currency": "PKR", "reference": "crash-order"});
    let request = {
        let (url, key, body) = (server.url.clone(), api_key.clone(), body.clone());
        tokio::spawn(async move {
            reqwest::Client::new()
                .post(format!("{url}/v1/payments"))
                .bearer_auth(key)
                .header("Idempotency-Key", "crash-1")
                .json(&body)
                .send()
                .await
        })
    };
    let sleeping = "SELECT COUNT(*) FROM pg_stat_activity WHERE wait_event = 'PgSleep' \
                    AND query LIKE '%idempotency_keys%'";
    let mut waited = 0;
    while sqlx::query_scalar::<_, i64>(sleeping)
        .fetch_one(&pool)
        .await
        .unwrap()
        == 0
    {
        waited += 1;
        assert!(waited < 200, "the key's response was never written");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    drop(server); // SIGKILL, between the claim and the commit of the response
    assert!(
        request.await.unwrap().is_err(),
        "the request was not answered"
    );
    let mut waited = 0;
    while sqlx::query_scalar::<_, i64>(sleeping)
        .fetch_one(&pool)
        .await
        .unwrap()
        > 0
    {
        waited += 1;
        assert!(waited < 200, "PostgreSQL kept the dead process's statement");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    sqlx::query("DROP TRIGGER slow_key_response ON idempotency_keys")
        .execute(&pool)
        .await
        .unwrap();
    // The claim is now older than the stale window.
    sqlx::query("UPDATE idempotency_keys SET created_at = created_at - interval '5 minutes'")
        .execute(&pool)
        .await
        .unwrap();

    let server = serve(&db, &key_file).await;
    let client = reqwest::Client::new();
    let retry = client
        .post(format!("{}/v1/payments", server.url))
        .bearer_auth(&api_key)
        .header("Idempotency-Key", "crash-1")
        .json(&body)
        .send()
        .await
        .unwrap();
    let (status, answer) = crate::common::read(retry).await;
    assert_eq!(status, 201, "{answer}");
    let (_, again) = crate::common::read(
        client
            .post(format!("{}/v1/payments", server.url))
            .bearer_auth(&api_key)
            .header("Idempotency-Key", "crash-1")
            .json(&body)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(again["id"], answer["id"]);
    let payments: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM payments WHERE reference = 'crash-order'")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(
        payments, 1,
        "the crash made the retry create a second payment"
    );
    pool.close().await;
    let _ = std::fs::remove_file(key_file);
}
