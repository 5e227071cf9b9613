//! The real binary as an operator runs it: the CLI, and a crash with SIGKILL mid-stream.

mod common;

use common::{Backend, TestDb};
use serde_json::{json, Value};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Mutex;

fn hundi(db: &TestDb, args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_hundi"))
        .args(args)
        .env("HUNDI_DATABASE_URL", &db.url)
        .output()
        .expect("run hundi");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn hundi_json(db: &TestDb, args: &[&str]) -> Value {
    let (ok, out, err) = hundi(db, args);
    assert!(ok, "hundi {args:?} failed: {err}");
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("hundi {args:?} printed {out}: {e}"))
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

struct Server {
    child: Child,
    url: String,
}

async fn serve(db: &TestDb, port: u16) -> Server {
    let child = Command::new(env!("CARGO_BIN_EXE_hundi"))
        .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
        .env("HUNDI_DATABASE_URL", &db.url)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start hundi serve");
    let url = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    for _ in 0..200 {
        if let Ok(r) = client.get(format!("{url}/healthz")).send().await {
            if r.status().is_success() {
                return Server { child, url };
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("hundi serve did not become healthy");
}

async fn merchant_with_key(db: &TestDb) -> (String, String) {
    let m = hundi_json(db, &["merchant", "create", "--name", "Crash Shop", "--json"]);
    let merchant = m["id"].as_str().unwrap().to_string();
    let k = hundi_json(
        db,
        &["key", "create", "--merchant", &merchant, "--mode", "test", "--label", "crash", "--json"],
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

    let m = hundi_json(&db, &["merchant", "create", "--name", "Corner Shop", "--json"]);
    assert_eq!(m["name"], "Corner Shop");
    let merchant = m["id"].as_str().unwrap();
    assert!(merchant.starts_with("mer_"));

    let live = hundi_json(
        &db,
        &[
            "key", "create", "--merchant", merchant, "--mode", "live", "--label", "shop site",
            "--permissions", "payments:write,refunds:write", "--webhook-url", "https://shop.example/hook", "--json",
        ],
    );
    let secret = live["secret"].as_str().unwrap();
    assert!(secret.starts_with("hk_live_"));
    assert_eq!(live["permissions"], json!(["payments:write", "refunds:write"]));
    assert_eq!(live["webhook_url"], "https://shop.example/hook");

    let (ok, _, err) = hundi(&db, &["key", "create", "--merchant", merchant, "--permissions", "payments:delete"]);
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
    let server = serve(&db, free_port()).await;
    let client = reqwest::Client::new();
    let create = || {
        client
            .post(format!("{}/v1/payments", server.url))
            .bearer_auth(secret)
            .json(&json!({"amount": "10", "currency": "PKR"}))
            .send()
    };
    assert_eq!(create().await.unwrap().status().as_u16(), 201);
    let revoked = hundi_json(&db, &["key", "revoke", listed["id"].as_str().unwrap(), "--json"]);
    assert_eq!(revoked["status"], "revoked");
    assert_eq!(create().await.unwrap().status().as_u16(), 401);

    let u = hundi_json(&db, &["user", "create", "--merchant", merchant, "--email", "Owner@Shop.example", "--json"]);
    assert_eq!(u["email"], "owner@shop.example");
    assert!(u["password"].as_str().unwrap().len() >= 10);
    let (ok, _, _) = hundi(&db, &["user", "create", "--merchant", merchant, "--email", "owner@shop.example"]);
    assert!(!ok, "an e-mail address is one login");
    let mut child = server.child;
    let _ = child.kill();
    let _ = child.wait();
}

/// SIGKILL while creates stream in; after a restart every acknowledged payment is there.
async fn sigkill_loses_nothing_acknowledged(backend: Backend) {
    let db = TestDb::new(backend).await;
    let (_, key) = merchant_with_key(&db).await;
    let port = free_port();
    let mut server = serve(&db, port).await;
    let url = server.url.clone();
    let acknowledged = Arc::new(Mutex::new(Vec::<(String, String)>::new()));
    let client = reqwest::Client::builder().timeout(Duration::from_secs(5)).build().unwrap();
    let mut writers = Vec::new();
    for w in 0..8 {
        let (client, url, key, acknowledged) = (client.clone(), url.clone(), key.clone(), acknowledged.clone());
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
                        acknowledged.lock().await.push((body["id"].as_str().unwrap().to_string(), reference));
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
    assert!(acknowledged.len() >= 50, "only {} creates were acknowledged", acknowledged.len());

    let mut restarted = serve(&db, port).await;
    for (id, reference) in &acknowledged {
        let res = client.get(format!("{}/v1/payments/{id}", restarted.url)).bearer_auth(&key).send().await.unwrap();
        assert_eq!(res.status().as_u16(), 200, "acknowledged payment {id} was lost");
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["reference"], reference.as_str());
    }
    let _ = restarted.child.kill();
    let _ = restarted.child.wait();
}

/// SIGTERM: the server stops accepting, finishes what it accepted, and exits cleanly.
async fn sigterm_drains_in_flight_requests(backend: Backend) {
    let db = TestDb::new(backend).await;
    let (_, key) = merchant_with_key(&db).await;
    let mut server = serve(&db, free_port()).await;
    // A new connection per request: an error can then only be a refused connection,
    // never a request cut off half-way.
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let mut writers = Vec::new();
    for _ in 0..8 {
        let (client, url, key) = (client.clone(), server.url.clone(), key.clone());
        writers.push(tokio::spawn(async move {
            let mut done = Vec::new();
            loop {
                let res = client
                    .post(format!("{url}/v1/payments"))
                    .bearer_auth(&key)
                    .json(&json!({"amount": "10.00", "currency": "PKR"}))
                    .send()
                    .await;
                match res {
                    Ok(r) => {
                        assert_eq!(r.status().as_u16(), 201);
                        let body: Value = r.json().await.expect("a whole response");
                        done.push(body["id"].as_str().unwrap().to_string());
                    }
                    Err(e) => {
                        assert!(e.is_connect(), "a request was cut off: {e}");
                        return done;
                    }
                }
            }
        }));
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let pid = server.child.id() as libc::pid_t;
    // SAFETY: sending a signal to our own child process.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGTERM) }, 0);
    let status = server.child.wait().expect("exits");
    assert!(status.success(), "exit status after SIGTERM: {status:?}");
    let mut acknowledged = Vec::new();
    for w in writers {
        acknowledged.extend(w.await.unwrap());
    }
    assert!(!acknowledged.is_empty());
    let mut restarted = serve(&db, free_port()).await;
    for id in &acknowledged {
        let res = client.get(format!("{}/v1/payments/{id}", restarted.url)).bearer_auth(&key).send().await.unwrap();
        assert_eq!(res.status().as_u16(), 200, "{id}");
    }
    let _ = restarted.child.kill();
    let _ = restarted.child.wait();
}

on_both_backends!(
    cli_manages_merchants_and_keys,
    sigkill_loses_nothing_acknowledged,
    sigterm_drains_in_flight_requests,
);
