//! Growing past one machine, as an operator does it with the real binary: an online backup
//! of the SQLite database while the server takes payments.

use crate::common::{free_port, Backend, TestDb};
use crate::process::{hundi, key_file, merchant_with_key, serve, serve_on};
use serde_json::{json, Value};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Creates payments on `url` from four writers until `stop`; each acknowledged id is kept
/// with the moment its answer arrived.
fn stream_creates(
    url: &str,
    key: &str,
    stop: Arc<AtomicBool>,
    acked: Arc<Mutex<Vec<(String, Instant)>>>,
) -> Vec<tokio::task::JoinHandle<()>> {
    let client = reqwest::Client::new();
    (0..4)
        .map(|w| {
            let (client, url, key) = (client.clone(), url.to_string(), key.to_string());
            let (stop, acked) = (stop.clone(), acked.clone());
            tokio::spawn(async move {
                let mut i = 0;
                while !stop.load(Ordering::SeqCst) {
                    i += 1;
                    let body = json!({"amount": "10.00", "currency": "PKR", "reference": format!("w{w}-{i}")});
                    let res = client
                        .post(format!("{url}/v1/payments"))
                        .bearer_auth(&key)
                        .json(&body)
                        .send()
                        .await
                        .expect("the server answers during a backup");
                    assert_eq!(res.status().as_u16(), 201, "a create during a backup");
                    let created: Value = res.json().await.unwrap();
                    let id = created["id"].as_str().unwrap().to_string();
                    acked.lock().unwrap().push((id, Instant::now()));
                }
            })
        })
        .collect()
}

/// `hundi backup FILE` while creates stream in: the creates never stop, every payment
/// acknowledged before the backup began is in the copy, the copy passes SQLite's integrity
/// check, and a server started on it answers for those payments.
async fn an_online_backup_holds_everything_acknowledged_before_it(backend: Backend) {
    let db = TestDb::new(backend).await;
    let (_, key) = merchant_with_key(&db).await;
    let server = serve(&db, free_port()).await;
    let (stop, acked) = (
        Arc::new(AtomicBool::new(false)),
        Arc::new(Mutex::new(Vec::new())),
    );
    let writers = stream_creates(&server.url, &key, stop.clone(), acked.clone());
    while acked.lock().unwrap().len() < 100 {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("backup.db");
    let began = Instant::now();
    let (ok, out, err) = {
        let (db_url, key_path, file) = (db.url.clone(), key_file(&db), file.clone());
        tokio::task::spawn_blocking(move || {
            crate::process::hundi_on(&db_url, &key_path, &["backup", &file.to_string_lossy()])
        })
        .await
        .unwrap()
    };
    let ended = Instant::now();
    assert!(ok, "hundi backup failed: {err}");
    assert!(out.contains("backed up"), "{out}");
    // Creates go on after the backup, too.
    let after = acked.lock().unwrap().len();
    while acked.lock().unwrap().len() < after + 20 {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    stop.store(true, Ordering::SeqCst);
    for w in writers {
        w.await.unwrap();
    }
    let acked = acked.lock().unwrap().clone();
    let before: Vec<&String> = acked
        .iter()
        .filter(|(_, at)| *at < began)
        .map(|(id, _)| id)
        .collect();
    assert!(before.len() >= 100);
    assert!(
        acked.iter().any(|(_, at)| *at > ended),
        "creates continued after the backup"
    );

    // The copy is a database as it is: a server on it answers for every payment.
    let (ok, _, err) = hundi(&db, &["backup", &file.to_string_lossy()]);
    assert!(
        !ok && err.contains("exists"),
        "a backup never overwrites: {err}"
    );
    let copy_url = format!("sqlite://{}", file.display());
    let copy = serve_on(&copy_url, &key_file(&db), free_port()).await;
    let client = reqwest::Client::new();
    for id in before {
        let res = client
            .get(format!("{}/v1/payments/{id}", copy.url))
            .bearer_auth(&key)
            .send()
            .await
            .unwrap();
        assert_eq!(
            res.status().as_u16(),
            200,
            "payment {id}, acknowledged before the backup, is missing"
        );
    }
    let integrity: String = {
        use sqlx::Connection;
        let mut c = sqlx::SqliteConnection::connect(&copy_url).await.unwrap();
        sqlx::query_scalar("PRAGMA integrity_check")
            .fetch_one(&mut c)
            .await
            .unwrap()
    };
    assert_eq!(integrity, "ok");
}

/// On PostgreSQL the backup command names the tool for it and writes nothing.
async fn a_postgres_backup_points_to_pg_dump(backend: Backend) {
    let db = TestDb::new(backend).await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("backup.db");
    let (ok, _, err) = hundi(&db, &["backup", &file.to_string_lossy()]);
    assert!(!ok);
    assert!(err.contains("pg_dump"), "{err}");
    assert!(!file.exists());
}

on_sqlite!(an_online_backup_holds_everything_acknowledged_before_it);

mod a_postgres_backup_points_to_pg_dump {
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn postgres() {
        super::a_postgres_backup_points_to_pg_dump(crate::common::Backend::Postgres).await
    }
}
