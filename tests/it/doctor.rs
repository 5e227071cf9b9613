//! `hundi doctor` as an operator runs it, on both backends: a healthy instance is all ok, and
//! a wrong master key, an http public URL with live keys and a private webhook endpoint each
//! produce their error (exit status 1).

use crate::common::{Backend, TestDb};
use crate::process::key_file;
use serde_json::Value;
use std::process::Command;

/// The CLI with the test database, its key file and `vars`; (success, stdout).
fn run(db: &TestDb, vars: &[(&str, &str)], args: &[&str]) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_hundi"))
        .args(args)
        .env("HUNDI_DATABASE_URL", &db.url)
        .env("HUNDI_MASTER_KEY_FILE", key_file(db))
        .env_remove("HUNDI_PUBLIC_URL")
        .env_remove("HUNDI_DOMAIN")
        .env_remove("HUNDI_ALLOW_PRIVATE_WEBHOOKS")
        .envs(vars.iter().copied())
        .output()
        .expect("run hundi");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

fn json(db: &TestDb, vars: &[(&str, &str)], args: &[&str]) -> Value {
    let (ok, out) = run(db, vars, args);
    assert!(ok, "hundi {args:?} failed: {out}");
    serde_json::from_str(&out).expect("json")
}

/// A merchant taking live UPI payments, with a live key whose webhook URL is public.
fn healthy_shop(db: &TestDb) -> String {
    let m = json(
        db,
        &[],
        &["merchant", "create", "--name", "Doctor Shop", "--json"],
    );
    let id = m["id"].as_str().expect("id").to_string();
    json(
        db,
        &[],
        &[
            "merchant",
            "set-upi",
            "--merchant",
            &id,
            "--upi-id",
            "shop@okbank",
            "--json",
        ],
    );
    json(
        db,
        &[],
        &[
            "key",
            "create",
            "--merchant",
            &id,
            "--mode",
            "live",
            "--json",
            // A public address written as one: nothing to resolve on a machine without DNS.
            "--webhook-url",
            "https://93.184.216.34/hook",
        ],
    );
    id
}

/// `hundi doctor --json`: (exit success, overall status, check id → statuses).
fn doctor(
    db: &TestDb,
    vars: &[(&str, &str)],
    extra: &[&str],
) -> (bool, String, Vec<(String, String, String)>) {
    let mut args = vec!["doctor", "--json"];
    args.extend_from_slice(extra);
    let (ok, out) = run(db, vars, &args);
    let report: Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{out}: {e}"));
    let checks = report["checks"]
        .as_array()
        .expect("checks")
        .iter()
        .map(|c| {
            let s = |k: &str| c[k].as_str().unwrap_or_default().to_string();
            (s("check"), s("status"), s("detail"))
        })
        .collect();
    (
        ok,
        report["status"].as_str().expect("status").to_string(),
        checks,
    )
}

fn status_of<'a>(checks: &'a [(String, String, String)], id: &str) -> Vec<&'a str> {
    checks
        .iter()
        .filter(|c| c.0 == id)
        .map(|c| c.1.as_str())
        .collect()
}

async fn a_healthy_instance_is_all_ok(backend: Backend) {
    let db = TestDb::new(backend).await;
    healthy_shop(&db);
    let (ok, status, checks) = doctor(&db, &[], &["--public-url", "https://pay.example.com"]);
    assert!(ok, "{checks:?}");
    assert_eq!(status, "ok", "{checks:?}");
    for id in [
        "database.migrated",
        "secrets.master_key",
        "clock",
        "public_url.https",
        "merchants.live_method",
        "webhooks.public",
    ] {
        assert_eq!(status_of(&checks, id), ["ok"], "{id}: {checks:?}");
    }
    // The text form says the same, one line per check.
    let (ok, text) = run(
        &db,
        &[],
        &["doctor", "--public-url", "https://pay.example.com"],
    );
    assert!(ok);
    assert!(text.contains("ok       secrets.master_key"), "{text}");
    assert!(
        text.lines()
            .last()
            .unwrap_or_default()
            .starts_with("ok: 6 ok"),
        "{text}"
    );
}

async fn a_wrong_master_key_is_an_error(backend: Backend) {
    let db = TestDb::new(backend).await;
    healthy_shop(&db);
    let other = "ab".repeat(32);
    let (ok, status, checks) = doctor(
        &db,
        &[("HUNDI_MASTER_KEY", &other)],
        &["--public-url", "https://pay.example.com"],
    );
    assert!(!ok);
    assert_eq!(status, "error");
    assert_eq!(
        status_of(&checks, "secrets.master_key"),
        ["error"],
        "{checks:?}"
    );
    assert_eq!(status_of(&checks, "database.migrated"), ["ok"]);
}

async fn an_http_public_url_with_live_keys_is_an_error(backend: Backend) {
    let db = TestDb::new(backend).await;
    healthy_shop(&db);
    let (ok, _, checks) = doctor(&db, &[], &["--public-url", "http://pay.example.com"]);
    assert!(!ok);
    assert_eq!(
        status_of(&checks, "public_url.https"),
        ["error"],
        "{checks:?}"
    );
    // No public URL at all: the checkout would hand out the listen address.
    let (ok, _, checks) = doctor(&db, &[], &[]);
    assert!(!ok);
    assert_eq!(
        status_of(&checks, "public_url.https"),
        ["error"],
        "{checks:?}"
    );
}

async fn a_private_webhook_endpoint_is_an_error(backend: Backend) {
    let db = TestDb::new(backend).await;
    let id = healthy_shop(&db);
    let private = [("HUNDI_ALLOW_PRIVATE_WEBHOOKS", "1")];
    json(
        &db,
        &private,
        &[
            "key",
            "create",
            "--merchant",
            &id,
            "--mode",
            "test",
            "--json",
            "--webhook-url",
            "http://127.0.0.1:9/hook",
        ],
    );
    let (ok, _, checks) = doctor(&db, &[], &["--public-url", "https://pay.example.com"]);
    assert!(!ok);
    let found: Vec<_> = checks.iter().filter(|c| c.0 == "webhooks.public").collect();
    assert_eq!(found.len(), 1, "{checks:?}");
    assert_eq!(found[0].1, "error");
    assert!(found[0].2.contains("http://127.0.0.1:9/hook"), "{found:?}");
    // Where private endpoints are allowed on purpose, it is only a warning.
    let (ok, status, _) = doctor(&db, &private, &["--public-url", "https://pay.example.com"]);
    assert!(ok);
    assert_eq!(status, "warning");
}

on_both_backends!(
    a_healthy_instance_is_all_ok,
    a_wrong_master_key_is_an_error,
    an_http_public_url_with_live_keys_is_an_error,
    a_private_webhook_endpoint_is_an_error,
);
