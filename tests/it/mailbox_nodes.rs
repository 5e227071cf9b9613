//! The mailbox reader across process deaths and nodes, with the real binary and a real IMAP
//! server: a server killed with SIGKILL while alerts arrive neither skips a
//! message nor records one twice, even when the last UID it wrote is lost; with two nodes on
//! PostgreSQL one logs in to the mailbox, and the other takes over when it dies.

use crate::common::mail_server::{alert_mail, MailServer, PASSWORD, USER};
use crate::common::{free_port, Backend, ChildServer, TestDb};
use crate::process::{hundi_json, key_file, merchant_with_key, serve_with};
use serde_json::{json, Value};
use std::time::{Duration, Instant};

struct Shop {
    merchant: String,
    live_key: String,
    http: reqwest::Client,
}

/// A merchant with a live key, a UPI id and its mailbox, set with the command line.
async fn shop(db: &TestDb, mail: &MailServer) -> Shop {
    let (merchant, _) = merchant_with_key(db).await;
    let live = hundi_json(
        db,
        &[
            "key",
            "create",
            "--merchant",
            &merchant,
            "--mode",
            "live",
            "--label",
            "live",
            "--json",
        ],
    );
    hundi_json(
        db,
        &[
            "merchant",
            "set-upi",
            "--merchant",
            &merchant,
            "--upi-id",
            "shop@okaxis",
            "--json",
        ],
    );
    let port = mail.tls_port.to_string();
    hundi_json(
        db,
        &[
            "inbox",
            "set",
            "--merchant",
            &merchant,
            "--mode",
            "live",
            "--host",
            "127.0.0.1",
            "--port",
            &port,
            "--user",
            USER,
            "--password",
            PASSWORD,
            "--json",
        ],
    );
    Shop {
        merchant,
        live_key: live["secret"].as_str().expect("secret").to_string(),
        http: reqwest::Client::new(),
    }
}

async fn node(db: &TestDb, mail: &MailServer, port: u16) -> ChildServer {
    let ca = mail.certificate().display().to_string();
    let vars = [
        ("HUNDI_MAIL_CA_FILE", ca.as_str()),
        ("HUNDI_MAIL_LEASE_SECS", "3"),
        ("HUNDI_MAIL_POLL_SECS", "1"),
        ("HUNDI_ALLOW_PRIVATE_MAIL", "true"),
    ];
    serve_with(&db.url, &key_file(db), port, &vars).await
}

/// `hundi inbox show --json`.
fn inbox(db: &TestDb, shop: &Shop) -> Value {
    hundi_json(
        db,
        &["inbox", "show", "--merchant", &shop.merchant, "--json"],
    )
}

/// Waits (15 s at most) until the mailbox's state satisfies `ok`.
async fn wait_inbox(db: &TestDb, shop: &Shop, what: &str, ok: impl Fn(&Value) -> bool) -> Value {
    let started = Instant::now();
    loop {
        let now = inbox(db, shop);
        if ok(&now) {
            return now;
        }
        assert!(
            started.elapsed() < Duration::from_secs(15),
            "never {what}: {now}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

impl Shop {
    async fn payment(&self, url: &str, amount: &str) -> (String, String) {
        let res = self
            .http
            .post(format!("{url}/v1/payments"))
            .bearer_auth(&self.live_key)
            .json(&json!({"amount": amount, "currency": "INR"}))
            .send()
            .await
            .expect("create");
        let p: Value = res.json().await.expect("json");
        let payable = p["upi"]["payable_amount"]
            .as_str()
            .expect("payable")
            .to_string();
        (p["id"].as_str().expect("id").to_string(), payable)
    }

    async fn get(&self, url: &str, path: &str) -> Value {
        let res = self
            .http
            .get(format!("{url}{path}"))
            .bearer_auth(&self.live_key)
            .send()
            .await
            .expect("get");
        res.json().await.expect("json")
    }

    /// Waits (15 s at most) until the payment has succeeded.
    async fn paid(&self, url: &str, id: &str) {
        let started = Instant::now();
        loop {
            let p = self.get(url, &format!("/v1/payments/{id}")).await;
            if p["status"] == "succeeded" {
                return;
            }
            assert!(started.elapsed() < Duration::from_secs(15), "{id}: {p}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    async fn credit_utrs(&self, url: &str) -> Vec<String> {
        let all = self.get(url, "/v1/credits?limit=100").await;
        let mut utrs: Vec<String> = all["data"]
            .as_array()
            .expect("credits")
            .iter()
            .filter_map(|c| c["utr"].as_str().map(str::to_string))
            .collect();
        utrs.sort();
        utrs
    }
}

fn alert(payable: &str, utr: &str) -> String {
    alert_mail(
        "SBI <cbsalerts.sbi@sbi.co.in>",
        "Credit alert",
        &format!("Dear Customer, Rs.{payable} credited to your A/c XX1234 on 03-12-26 by UPI Ref No {utr}. Avl Bal Rs.25,000.00 -SBI"),
    )
}

/// Makes the mailbox's reader forget how far it read, as if it had died after recording the
/// credits but before writing their UIDs.
async fn forget_last_uid(db: &TestDb, backend: Backend) {
    let sql = "UPDATE mailboxes SET last_uid = 0";
    match backend {
        Backend::Sqlite => {
            let pool = sqlx::SqlitePool::connect(&db.url).await.expect("sqlite");
            sqlx::query(sql).execute(&pool).await.expect("update");
        }
        Backend::Postgres => {
            let pool = sqlx::PgPool::connect(&db.url).await.expect("postgres");
            sqlx::query(sql).execute(&pool).await.expect("update");
        }
    }
}

/// Eight alerts arrive one every 300 ms; the server is killed with SIGKILL while they do, and
/// started again after the last: every payment is paid, each alert is one credit. Then the
/// UIDs written are lost and all eight are read again: still eight credits.
async fn sigkill_skips_nothing_and_records_nothing_twice(backend: Backend) {
    let mail = std::sync::Arc::new(MailServer::start());
    let db = TestDb::new(backend).await;
    let shop = shop(&db, &mail).await;
    let port = free_port();
    let mut server = node(&db, &mail, port).await;
    let url = server.url.clone();
    wait_inbox(&db, &shop, "connected", |m| m["connected"] == true).await;
    let mut payments = Vec::new();
    for amount in 11..19 {
        payments.push(shop.payment(&url, &amount.to_string()).await);
    }
    let utrs: Vec<String> = (0..8).map(|i| format!("41051234{i:04}")).collect();
    let alerts: Vec<String> = payments
        .iter()
        .zip(&utrs)
        .map(|((_, payable), utr)| alert(payable, utr))
        .collect();
    let arriving = {
        let mail = mail.clone();
        std::thread::spawn(move || {
            for a in alerts {
                mail.deliver(&a);
                std::thread::sleep(Duration::from_millis(300));
            }
        })
    };
    // Killed once the first alerts are read, while the others arrive.
    shop.paid(&url, &payments[0].0).await;
    assert!(
        !arriving.is_finished(),
        "the alerts arrived before the kill"
    );
    let _ = server.child.kill();
    let _ = server.child.wait();
    let left = inbox(&db, &shop)["progress"]["last_uid"]
        .as_u64()
        .unwrap_or(0);
    assert!(left < 8, "killed after everything was read: {left}");
    arriving.join().expect("delivered");
    let server = node(&db, &mail, port).await;
    for (id, _) in &payments {
        shop.paid(&url, id).await;
    }
    wait_inbox(&db, &shop, "all read", |m| m["progress"]["last_uid"] == 8).await;
    assert_eq!(shop.credit_utrs(&url).await, utrs, "each alert once");

    drop(server);
    forget_last_uid(&db, backend).await;
    let _server = node(&db, &mail, port).await;
    let again = wait_inbox(&db, &shop, "read again", |m| {
        m["progress"]["last_uid"] == 8 && m["connected"] == true
    })
    .await;
    let last = again["progress"]["last_message"]
        .as_str()
        .unwrap_or_default();
    assert!(last.contains("recorded before"), "{again}");
    assert_eq!(
        shop.credit_utrs(&url).await,
        utrs,
        "read twice, recorded once"
    );
}

/// The Dovecot log's successful logins of the mailbox's user.
fn logins(mail: &MailServer) -> usize {
    mail.log().matches(&format!("Login: user=<{USER}>")).count()
}

/// Two nodes on one PostgreSQL database: one holds the mailbox and logs in once; the other
/// never logs in while the first lives. SIGKILL the first: the second takes over within the
/// lease and reads the alert that arrived meanwhile.
async fn two_nodes_one_reader_then_a_takeover(backend: Backend) {
    let mail = MailServer::start();
    let db = TestDb::new(backend).await;
    let shop = shop(&db, &mail).await;
    let mut first = node(&db, &mail, free_port()).await;
    let holder = wait_inbox(&db, &shop, "a reader", |m| m["connected"] == true).await;
    let holder = holder["reader"].as_str().expect("a reader").to_string();
    let second = node(&db, &mail, free_port()).await;
    let url = second.url.clone();

    let (id, payable) = shop.payment(&url, "21").await;
    mail.deliver(&alert(&payable, "410599990001"));
    shop.paid(&url, &id).await;
    // Several scans of the second node later, the first still reads alone.
    tokio::time::sleep(Duration::from_secs(4)).await;
    assert_eq!(inbox(&db, &shop)["reader"], holder.as_str());
    assert_eq!(logins(&mail), 1, "{}", mail.log());

    let _ = first.child.kill();
    let _ = first.child.wait();
    let (id, payable) = shop.payment(&url, "22").await;
    mail.deliver(&alert(&payable, "410599990002"));
    shop.paid(&url, &id).await;
    let taken = inbox(&db, &shop);
    assert_ne!(taken["reader"], holder.as_str(), "{taken}");
    assert_eq!(logins(&mail), 2, "{}", mail.log());
    assert_eq!(
        shop.credit_utrs(&url).await,
        vec!["410599990001".to_string(), "410599990002".to_string()]
    );
}

on_both_backends!(sigkill_skips_nothing_and_records_nothing_twice);

mod two_nodes_one_reader_then_a_takeover {
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn postgres() {
        super::two_nodes_one_reader_then_a_takeover(crate::common::Backend::Postgres).await
    }
}
