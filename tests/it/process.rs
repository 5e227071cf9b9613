//! The real binary as an operator runs it: the CLI, and a crash with SIGKILL mid-stream.

use crate::common::ChildServer as Server;
use crate::common::{Backend, TestDb};
use serde_json::{json, Value};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Mutex;

/// The master key file of a test database's deployment, kept out of the working directory.
pub(crate) fn key_file(db: &TestDb) -> std::path::PathBuf {
    let name: String = db
        .url
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    std::env::temp_dir().join(format!("hundi-{name}.key"))
}

pub(crate) fn hundi(db: &TestDb, args: &[&str]) -> (bool, String, String) {
    hundi_on(&db.url, &key_file(db), args)
}

/// The CLI on the database `url` names, with the master key in `key`.
pub(crate) fn hundi_on(url: &str, key: &std::path::Path, args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_hundi"))
        .args(args)
        .env("HUNDI_DATABASE_URL", url)
        .env("HUNDI_MASTER_KEY_FILE", key)
        .output()
        .expect("run hundi");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

pub(crate) fn hundi_json(db: &TestDb, args: &[&str]) -> Value {
    let (ok, out, err) = hundi(db, args);
    assert!(ok, "hundi {args:?} failed: {err}");
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("hundi {args:?} printed {out}: {e}"))
}

pub(crate) async fn serve(db: &TestDb, port: u16) -> Server {
    serve_on(&db.url, &key_file(db), port).await
}

/// `hundi serve` on the database `url` names, with the master key in `key`.
pub(crate) async fn serve_on(url: &str, key: &std::path::Path, port: u16) -> Server {
    serve_with(url, key, port, &[]).await
}

/// `serve_on` with more settings in the environment (`HUNDI_WEBHOOK_*`, ...).
pub(crate) async fn serve_with(
    url: &str,
    key: &std::path::Path,
    port: u16,
    vars: &[(&str, &str)],
) -> Server {
    let child = Command::new(env!("CARGO_BIN_EXE_hundi"))
        .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
        .env("HUNDI_DATABASE_URL", url)
        .env("HUNDI_MASTER_KEY_FILE", key)
        // Eight writers as fast as they can: past the default limit of one key.
        .env("HUNDI_RATE_LIMIT", "100000")
        .env("RUST_LOG", "warn")
        .envs(vars.iter().copied())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start hundi serve");
    Server::healthy(child, port).await
}

pub(crate) async fn merchant_with_key(db: &TestDb) -> (String, String) {
    let m = hundi_json(
        db,
        &["merchant", "create", "--name", "Crash Shop", "--json"],
    );
    let merchant = m["id"].as_str().unwrap().to_string();
    let k = hundi_json(
        db,
        &[
            "key",
            "create",
            "--merchant",
            &merchant,
            "--mode",
            "test",
            "--label",
            "crash",
            "--json",
        ],
    );
    (merchant, k["secret"].as_str().unwrap().to_string())
}

async fn cli_manages_merchants_and_keys(backend: Backend) {
    let db = TestDb::new(backend).await;
    let (ok, out, err) = hundi(&db, &["migrate"]);
    assert!(ok, "{err}");
    assert!(out.contains("migrations applied"));
    let (ok, _, err) = hundi(&db, &["migrate"]);
    assert!(ok, "applying twice is a no-op: {err}");

    let m = hundi_json(
        &db,
        &["merchant", "create", "--name", "Corner Shop", "--json"],
    );
    assert_eq!(m["name"], "Corner Shop");
    let merchant = m["id"].as_str().unwrap();
    assert!(merchant.starts_with("mer_"));

    let live = hundi_json(
        &db,
        &[
            "key",
            "create",
            "--merchant",
            merchant,
            "--mode",
            "live",
            "--label",
            "shop site",
            "--permissions",
            "payments:write,refunds:write",
            "--webhook-url",
            "https://93.184.216.34/hook",
            "--json",
        ],
    );
    let secret = live["secret"].as_str().unwrap();
    assert!(secret.starts_with("hk_live_"));
    assert_eq!(
        live["permissions"],
        json!(["payments:write", "refunds:write"])
    );
    assert_eq!(live["webhook_url"], "https://93.184.216.34/hook");
    assert!(live["webhook_secret"]
        .as_str()
        .unwrap()
        .starts_with("whsec_"));

    let (ok, _, err) = hundi(
        &db,
        &[
            "key",
            "create",
            "--merchant",
            merchant,
            "--permissions",
            "payments:delete",
        ],
    );
    assert!(!ok);
    assert!(err.contains("payments:delete"), "{err}");
    let (ok, _, err) = hundi(&db, &["key", "create", "--merchant", "mer_nope"]);
    assert!(!ok);
    assert!(err.contains("mer_nope"), "{err}");

    let list = hundi_json(&db, &["key", "list", "--merchant", merchant, "--json"]);
    let listed = &list.as_array().unwrap()[0];
    assert_eq!(listed["status"], "active");
    assert!(secret.starts_with(listed["prefix"].as_str().unwrap()));
    let (_, text, _) = hundi(&db, &["key", "list"]);
    assert!(!text.contains(secret), "a listing never shows the secret");

    // The key works against a running server until it is revoked.
    let server = serve(&db, crate::common::free_port()).await;
    let client = reqwest::Client::new();
    let create = || {
        client
            .post(format!("{}/v1/payments", server.url))
            .bearer_auth(secret)
            .json(&json!({"amount": "10", "currency": "PKR"}))
            .send()
    };
    assert_eq!(create().await.unwrap().status().as_u16(), 201);
    let revoked = hundi_json(
        &db,
        &["key", "revoke", listed["id"].as_str().unwrap(), "--json"],
    );
    assert_eq!(revoked["status"], "revoked");
    // Refused within the key cache's lifetime (1 s).
    let revoked_at = std::time::Instant::now();
    while create().await.unwrap().status().as_u16() != 401 {
        assert!(
            revoked_at.elapsed() < Duration::from_millis(1500),
            "the revoked key still works"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    let u = hundi_json(
        &db,
        &[
            "user",
            "create",
            "--merchant",
            merchant,
            "--email",
            "Owner@Shop.example",
            "--json",
        ],
    );
    assert_eq!(u["email"], "owner@shop.example");
    assert!(u["password"].as_str().unwrap().len() >= 10);
    let (ok, _, _) = hundi(
        &db,
        &[
            "user",
            "create",
            "--merchant",
            merchant,
            "--email",
            "owner@shop.example",
        ],
    );
    assert!(!ok, "an e-mail address is one login");
}

/// SIGKILL while creates stream in; after a restart every acknowledged payment is there.
async fn sigkill_loses_nothing_acknowledged(backend: Backend) {
    let db = TestDb::new(backend).await;
    let (_, key) = merchant_with_key(&db).await;
    let port = crate::common::free_port();
    let mut server = serve(&db, port).await;
    let url = server.url.clone();
    let acknowledged = Arc::new(Mutex::new(Vec::<(String, String)>::new()));
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    let mut writers = Vec::new();
    for w in 0..8 {
        let (client, url, key, acknowledged) = (
            client.clone(),
            url.clone(),
            key.clone(),
            acknowledged.clone(),
        );
        writers.push(tokio::spawn(async move {
            for i in 0.. {
                let reference = format!("w{w}-{i}");
                let res = client
                    .post(format!("{url}/v1/payments"))
                    .bearer_auth(&key)
                    .json(&json!({"amount": "10.00", "currency": "PKR", "reference": reference}))
                    .send()
                    .await;
                match res {
                    Ok(r) if r.status().as_u16() == 201 => {
                        let body: Value = match r.json().await {
                            Ok(b) => b,
                            Err(_) => return,
                        };
                        acknowledged
                            .lock()
                            .await
                            .push((body["id"].as_str().unwrap().to_string(), reference));
                    }
                    Ok(r) => panic!("unexpected status {}", r.status()),
                    Err(_) => return, // the server is gone
                }
            }
        }));
    }
    // Let a few hundred creates through, then kill -9.
    for _ in 0..200 {
        if acknowledged.lock().await.len() >= 300 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    server.child.kill().expect("SIGKILL");
    server.child.wait().expect("reaped");
    for w in writers {
        w.await.unwrap();
    }
    let acknowledged = acknowledged.lock().await.clone();
    assert!(
        acknowledged.len() >= 50,
        "only {} creates were acknowledged",
        acknowledged.len()
    );

    let restarted = serve(&db, port).await;
    for (id, reference) in &acknowledged {
        let res = client
            .get(format!("{}/v1/payments/{id}", restarted.url))
            .bearer_auth(&key)
            .send()
            .await
            .unwrap();
        assert_eq!(
            res.status().as_u16(),
            200,
            "acknowledged payment {id} was lost"
        );
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["reference"], reference.as_str());
    }
}

/// SIGTERM: the server stops accepting new connections, finishes the request in flight, and
/// exits cleanly. The in-flight request is held open by sending its body in two halves.
async fn sigterm_drains_in_flight_requests(backend: Backend) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let db = TestDb::new(backend).await;
    let (_, key) = merchant_with_key(&db).await;
    let port = crate::common::free_port();
    let mut server = serve(&db, port).await;
    let body = r#"{"amount":"10.00","currency":"PKR","reference":"in-flight"}"#;
    let (first, second) = body.split_at(body.len() / 2);
    let mut conn = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .unwrap();
    let head = format!(
        "POST /v1/payments HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {key}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    conn.write_all(head.as_bytes()).await.unwrap();
    conn.write_all(first.as_bytes()).await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;

    let pid = server.child.id() as libc::pid_t;
    // SAFETY: sending a signal to our own child process.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGTERM) }, 0);
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(
        server.child.try_wait().unwrap().is_none(),
        "the server waits for the request in flight"
    );
    assert!(
        tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_err(),
        "no new connections are accepted while draining"
    );

    conn.write_all(second.as_bytes()).await.unwrap();
    let mut response = String::new();
    conn.read_to_string(&mut response).await.unwrap();
    assert!(response.starts_with("HTTP/1.1 201"), "{response}");
    let json_start = response.find("\r\n\r\n").unwrap() + 4;
    let created: Value = serde_json::from_str(&response[json_start..]).unwrap();

    let status = server.child.wait().expect("exits");
    assert!(status.success(), "exit status after SIGTERM: {status:?}");
    let restarted = serve(&db, crate::common::free_port()).await;
    let res = reqwest::Client::new()
        .get(format!(
            "{}/v1/payments/{}",
            restarted.url,
            created["id"].as_str().unwrap()
        ))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 200);
}

/// Dialect credentials from the CLI: the secret printed once, sealed under a master key kept
/// in a file (mode 0600) outside the database, listed without it, rotated by creating again.
async fn cli_creates_dialect_credentials(backend: Backend) {
    use std::os::unix::fs::PermissionsExt;
    let db = TestDb::new(backend).await;
    let _ = std::fs::remove_file(key_file(&db));
    let m = hundi_json(
        &db,
        &["merchant", "create", "--name", "XPay Shop", "--json"],
    );
    let merchant = m["id"].as_str().unwrap();
    let created = hundi_json(
        &db,
        &[
            "credential",
            "create",
            "xpay_hmac",
            "--merchant",
            merchant,
            "--json",
        ],
    );
    let secret = created["secret"].as_str().unwrap();
    assert!(secret.starts_with("hmac_sc_"), "{created}");
    let account = created["public_id"].as_str().unwrap();
    assert_eq!(account.len(), 24);
    let mode = std::fs::metadata(key_file(&db))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    let listed = hundi_json(
        &db,
        &["credential", "list", "--merchant", merchant, "--json"],
    );
    assert_eq!(listed[0]["name"], "xpay_hmac");
    assert_eq!(listed[0]["public_id"], account);
    assert!(!listed.to_string().contains(secret));
    let rotated = hundi_json(
        &db,
        &[
            "credential",
            "create",
            "xpay_hmac",
            "--merchant",
            merchant,
            "--json",
        ],
    );
    assert_ne!(rotated["secret"], created["secret"]);
    let (ok, _, err) = hundi(
        &db,
        &["credential", "create", "paypal", "--merchant", merchant],
    );
    assert!(!ok);
    assert!(err.contains("unknown credential"), "{err}");
    let _ = std::fs::remove_file(key_file(&db));
}

on_both_backends!(
    cli_creates_dialect_credentials,
    cli_manages_merchants_and_keys,
    sigkill_loses_nothing_acknowledged,
    sigterm_drains_in_flight_requests,
);
