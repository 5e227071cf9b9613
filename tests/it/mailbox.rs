//! Bank alerts from the merchant's mailbox: a real IMAP server (Dovecot, on 127.0.0.1) receives
//! the alerts of five banks, and Hundi's reader completes each payment within two seconds;
//! the reader survives a dropped connection and a restarted server, and shows a refused
//! password. On both backends (TLS on SQLite, STARTTLS on PostgreSQL).

use crate::common::mail_server::{alert_mail, MailServer, PASSWORD, USER};
use crate::common::{operator, Backend, TestApp};
use hundi::domain::mailbox::{Mailbox, MailboxSettings, Security};
use hundi::store::Scope;
use serde_json::{json, Value};
use std::time::{Duration, Instant};

pub fn inbox_config(mail: &MailServer) -> hundi::inbox::InboxConfig {
    hundi::inbox::InboxConfig {
        ca_file: Some(mail.certificate()),
        scan: Duration::from_millis(200),
        backoff_max: Duration::from_secs(1),
        allow_private: true,
        ..Default::default()
    }
}

async fn mail_app(backend: Backend) -> (TestApp, MailServer) {
    let mail = MailServer::start();
    let app = TestApp::spawn_with(
        backend,
        hundi::config::Config {
            inbox: inbox_config(&mail),
            ..Default::default()
        },
    )
    .await;
    app.set_upi("shop@okaxis", "Corner Shop").await;
    (app, mail)
}

fn live(app: &TestApp) -> Scope {
    Scope {
        merchant_id: app.shop.id.clone(),
        livemode: true,
    }
}

fn security(backend: Backend) -> (Security, fn(&MailServer) -> u16) {
    match backend {
        Backend::Sqlite => (Security::Tls, |m| m.tls_port),
        Backend::Postgres => (Security::StartTls, |m| m.starttls_port),
    }
}

async fn set_mailbox(app: &TestApp, mail: &MailServer, backend: Backend, password: &str) {
    let (security, port) = security(backend);
    let settings = MailboxSettings::new(
        "127.0.0.1",
        Some(port(mail)),
        security,
        USER,
        "INBOX",
        "hdfcbank.net, sbi.co.in, icicibank.com, @axisbank.com, kotak.com",
    )
    .expect("settings");
    app.server
        .as_ref()
        .expect("running")
        .state
        .mailboxes
        .set(&operator(&live(app)), settings, Some(password))
        .await
        .expect("mailbox set");
}

async fn mailbox(app: &TestApp) -> Mailbox {
    let state = &app.server.as_ref().expect("running").state;
    state
        .mailboxes
        .get(&live(app))
        .await
        .expect("read")
        .expect("set")
}

/// Waits (10 s at most) until the mailbox's state satisfies `ok`.
async fn wait_for(app: &TestApp, what: &str, ok: impl Fn(&Mailbox) -> bool) -> Mailbox {
    for _ in 0..200 {
        let m = mailbox(app).await;
        if ok(&m) {
            return m;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the mailbox never got {what}: {:?}", mailbox(app).await);
}

async fn live_payment(app: &TestApp, amount: &str) -> Value {
    let (status, p) = app
        .post(
            &app.shop.live_key,
            "/v1/payments",
            json!({"amount": amount, "currency": "INR"}),
        )
        .await;
    assert_eq!(status, 201, "{p}");
    p
}

/// How long the payment took to succeed (panics after 10 s).
async fn succeeded_within(app: &TestApp, id: &str) -> Duration {
    succeeded_with(app, &app.shop.live_key, id).await
}

/// How long the payment, read with `key`, took to succeed (panics after 10 s).
async fn succeeded_with(app: &TestApp, key: &str, id: &str) -> Duration {
    let started = Instant::now();
    loop {
        let (_, p) = app.get(key, &format!("/v1/payments/{id}")).await;
        if p["status"] == "succeeded" {
            return started.elapsed();
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "{id} not paid: {p}"
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// A twelve-digit UPI reference no other test uses.
fn utr() -> String {
    format!("{:012}", rand::random::<u64>() % 1_000_000_000_000)
}

/// Bank `bank`'s alert (of the five below) for `payable`, with a new UTR.
fn one_alert(bank: usize, payable: &str) -> String {
    let utrs: Vec<String> = (0..5).map(|_| utr()).collect();
    bank_alerts(&vec![payable.to_string(); 5], &utrs).swap_remove(bank)
}

/// A payment's payable amount, as the API shows it.
fn payable_of(p: &Value) -> String {
    p["upi"]["payable_amount"]
        .as_str()
        .expect("payable")
        .to_string()
}

/// The five banks' alerts (wordings of real alerts), each for `amount` and `utr`.
fn bank_alerts(amounts: &[String], utrs: &[String]) -> Vec<String> {
    let (a, u) = (amounts, utrs);
    vec![
        alert_mail(
            "HDFC Bank InstaAlerts <alerts@hdfcbank.net>",
            "You have done a UPI txn. Check details!",
            &format!("Dear Customer, Rs.{} has been credited to your account **1234 by VPA ravi@oksbi on 03-12-26. Your UPI transaction reference number is {}.\nThank you for banking with us.", a[0], u[0]),
        ),
        alert_mail(
            "SBI <cbsalerts.sbi@sbi.co.in>",
            "Credit alert",
            &format!("Dear Customer, Rs.{} credited to your A/c XX1234 on 03-12-26 by UPI Ref No {}. Avl Bal Rs.25,000.00 -SBI", a[1], u[1]),
        ),
        alert_mail(
            "ICICI Bank <credit_cards@icicibank.com>",
            "Transaction alert",
            &format!("ICICI Bank Account XX567 credited:Rs. {} on 03-Dec-26. Info UPI/P2A/{}/RAVI KUMAR. Available Balance is Rs. 25,00,000.00.", a[2], u[2]),
        ),
        // Axis sends HTML only.
        format!(
            "From: Axis Bank Alerts <alerts@axisbank.com>\nSubject: Account update\nDate: {}\n\
             Content-Type: text/html; charset=utf-8\n\n<html><body><p>Dear Customer,</p>\
             <p>INR&nbsp;{} credited to A/c no. XX4321 on 03-12-26 12:01:33 IST.</p>\
             <p>Info- UPI/P2M/{}/RAVI KUMAR.</p><p>Avl bal: INR 10,234.50 - Axis Bank</p></body></html>\n",
            chrono::Utc::now().to_rfc2822(),
            a[3],
            u[3]
        ),
        alert_mail(
            "Kotak Mahindra Bank <bankalerts@kotak.com>",
            "Money received",
            &format!("Rs. {} credited to a/c XXXXXX1234 on 03-12-26 by a/c linked to VPA ravi.kumar@okhdfcbank (UPI Ref No  {}).", a[4], u[4]),
        ),
    ]
}

/// The alerts of five banks, each delivered to the mailbox, complete their payments within
/// two seconds; a promotion from a bank and an alert from an unlisted sender are left alone.
async fn alerts_from_five_banks_complete_their_payments(backend: Backend) {
    let (app, mail) = mail_app(backend).await;
    set_mailbox(&app, &mail, backend, PASSWORD).await;
    wait_for(&app, "connected", Mailbox::connected).await;

    let mut payments = Vec::new();
    for amount in ["101", "202", "303", "404", "505"] {
        payments.push(live_payment(&app, amount).await);
    }
    let payable: Vec<String> = payments
        .iter()
        .map(|p| {
            p["upi"]["payable_amount"]
                .as_str()
                .expect("payable")
                .to_string()
        })
        .collect();
    let utrs: Vec<String> = (0..5).map(|_| utr()).collect();

    // Neither of these pays anything: not an alert, and a sender not listed.
    mail.deliver(&alert_mail(
        "HDFC Bank <offers@hdfcbank.net>",
        "A pre-approved loan for you",
        "Dear Customer, get a personal loan of Rs.5,00,000 at 10.5%. Apply now!",
    ));
    mail.deliver(&alert_mail(
        "Bank <alerts@hdfc-bank.example>",
        "Credit",
        &format!(
            "Rs.{} credited to your A/c XX1234 by UPI Ref No {}.",
            payable[0],
            utr()
        ),
    ));
    let left_alone = wait_for(&app, "the two read", |m| m.progress.last_uid == Some(2)).await;
    let what = left_alone.progress.last_message.unwrap_or_default();
    assert!(what.starts_with("left alone"), "{what}");
    let (_, first) = app
        .get(
            &app.shop.live_key,
            &format!(
                "/v1/payments/{}",
                payments[0]["id"].as_str().unwrap_or_default()
            ),
        )
        .await;
    assert_eq!(first["status"], "pending", "{first}");

    for (i, message) in bank_alerts(&payable, &utrs).iter().enumerate() {
        mail.deliver(message);
        let id = payments[i]["id"].as_str().expect("id");
        let took = succeeded_within(&app, id).await;
        assert!(took < Duration::from_secs(2), "alert {i} took {took:?}");
    }
    let (_, credits) = app.get(&app.shop.live_key, "/v1/credits").await;
    let mut got: Vec<&str> = credits["data"]
        .as_array()
        .expect("credits")
        .iter()
        .filter_map(|c| c["utr"].as_str())
        .collect();
    got.sort_unstable();
    let mut want: Vec<&str> = utrs.iter().map(String::as_str).collect();
    want.sort_unstable();
    assert_eq!(
        got, want,
        "one credit per alert, none from the unlisted sender"
    );
    let m = wait_for(&app, "all seven read", |m| m.progress.last_uid == Some(7)).await;
    let last = m.progress.last_message.unwrap_or_default();
    assert!(last.contains(&utrs[4]) && last.contains("paid"), "{last}");
    assert!(
        m.progress.last_error.is_none(),
        "{:?}",
        m.progress.last_error
    );
    // Money for no payment is kept, as an unmatched credit, not dropped.
    let stray = utr();
    let amounts = vec!["777.00".to_string(); 5];
    mail.deliver(&bank_alerts(&amounts, &vec![stray.clone(); 5])[0]);
    wait_for(&app, "the stray alert read", |m| {
        m.progress.last_uid == Some(8)
    })
    .await;
    let (_, credits) = app.get(&app.shop.live_key, "/v1/credits").await;
    let kept = credits["data"]
        .as_array()
        .and_then(|all| all.iter().find(|c| c["utr"] == stray.as_str()))
        .cloned()
        .unwrap_or_default();
    assert_eq!(
        (&kept["amount"], &kept["matched"], &kept["payment"]),
        (&json!("777.00"), &json!(false), &Value::Null),
        "{credits}"
    );
    // The merchant's own mail client still shows the alerts as unread.
    assert!(
        !mail_flags(&mail).contains("\\Seen"),
        "{}",
        mail_flags(&mail)
    );
}

/// The flags of the messages in the INBOX, as Dovecot stores them in the Maildir's names.
fn mail_flags(mail: &MailServer) -> String {
    let cur = mail
        .dir()
        .join("mail")
        .join(USER)
        .join("Maildir")
        .join("cur");
    let names: Vec<String> = std::fs::read_dir(cur)
        .map(|d| {
            d.filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    // Maildir flags follow ":2,"; S is \Seen.
    if names
        .iter()
        .any(|n| n.rsplit_once(":2,").is_some_and(|(_, f)| f.contains('S')))
    {
        "\\Seen".into()
    } else {
        names.join(" ")
    }
}

/// The server is killed with the reader connected and an alert arrives while it is down: the
/// reader reports the failure, reconnects once the server is back, and the alert pays.
async fn a_dropped_connection_and_a_restarted_server(backend: Backend) {
    let (app, mut mail) = mail_app(backend).await;
    set_mailbox(&app, &mail, backend, PASSWORD).await;
    wait_for(&app, "connected", Mailbox::connected).await;
    let p = live_payment(&app, "250").await;
    let payable = payable_of(&p);

    mail.kill();
    let down = wait_for(&app, "an error", |m| m.progress.last_error.is_some()).await;
    assert!(!down.connected(), "{down:?}");
    mail.deliver(&one_alert(1, &payable));
    mail.restart();
    let id = p["id"].as_str().expect("id");
    succeeded_within(&app, id).await;
    let up = wait_for(&app, "connected again", Mailbox::connected).await;
    assert_eq!(up.progress.last_uid, Some(1), "{up:?}");
}

/// A refused password shows as the mailbox's last error and nothing is read; setting the right
/// one (the other settings kept) reads the alert that waited.
async fn a_refused_password_shows_and_a_corrected_one_reads(backend: Backend) {
    let (app, mail) = mail_app(backend).await;
    set_mailbox(&app, &mail, backend, "not the password").await;
    let refused = wait_for(&app, "an error", |m| m.progress.last_error.is_some()).await;
    let error = refused.progress.last_error.clone().unwrap_or_default();
    assert!(error.contains("refused the login"), "{error}");
    assert!(!refused.connected());

    let p = live_payment(&app, "75").await;
    let payable = payable_of(&p);
    mail.deliver(&one_alert(0, &payable));
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let (_, still) = app
        .get(
            &app.shop.live_key,
            &format!("/v1/payments/{}", p["id"].as_str().unwrap_or_default()),
        )
        .await;
    assert_eq!(still["status"], "pending");

    set_mailbox(&app, &mail, backend, PASSWORD).await;
    succeeded_within(&app, p["id"].as_str().expect("id")).await;
    // The password is in no audit entry.
    let filter = hundi::domain::audit::AuditFilter {
        limit: 100,
        ..Default::default()
    };
    let audit = app
        .store
        .list_audit(&app.shop.id, &filter)
        .await
        .expect("audit");
    let text = format!("{audit:?}");
    assert!(
        text.contains("settings.mailbox_changed") && !text.contains("not the password"),
        "{text}"
    );
}

/// Posts the dashboard's mailbox form: Dovecot's IMAPS port, reading HDFC's alerts.
async fn save_mailbox(
    v: &mut crate::common::visitor::Visitor,
    csrf: &str,
    port: &str,
    password: &str,
) -> crate::common::visitor::Page {
    let form = [
        ("csrf", csrf),
        ("host", "127.0.0.1"),
        ("security", "tls"),
        ("port", port),
        ("user", USER),
        ("password", password),
        ("folder", "INBOX"),
        ("senders", "alerts@hdfcbank.net"),
    ];
    v.post("/dashboard/mailbox", &form).await
}

/// In the dashboard an admin sets the mailbox (test mode) with a wrong password and sees the
/// refusal, corrects the password alone and sees the alert read; a developer sees the page
/// and is refused the form; the page never shows the password.
async fn the_dashboard_sets_the_mailbox_and_shows_its_reading(backend: Backend) {
    use crate::common::visitor::Visitor;
    use hundi::domain::role::Role;
    let (app, mail) = mail_app(backend).await;
    app.add_user("admin@shop.example", Role::Admin).await;
    app.add_user("dev@shop.example", Role::Developer).await;
    let mut admin = Visitor::new(&app);
    assert_eq!(
        admin
            .sign_in("admin@shop.example", crate::common::PASSWORD)
            .await
            .status,
        303
    );
    let csrf = admin.get("/dashboard/mailbox").await.csrf();
    let port = mail.tls_port.to_string();
    let saved = save_mailbox(&mut admin, &csrf, &port, "wrong horse").await;
    assert_eq!(saved.status, 303, "{}", saved.body);
    let test_mode = Scope {
        merchant_id: app.shop.id.clone(),
        livemode: false,
    };
    let state = &app.server.as_ref().expect("running").state;
    for _ in 0..200 {
        let m = state
            .mailboxes
            .get(&test_mode)
            .await
            .expect("read")
            .expect("set");
        if m.progress.last_error.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let page = admin.get("/dashboard/mailbox").await;
    assert!(page.body.contains("not connected"), "{}", page.body);
    assert!(
        page.body.contains("the server refused the login"),
        "{}",
        page.body
    );
    assert!(!page.body.contains("wrong horse"));

    // A test payment, its alert waiting; the password alone is corrected.
    let (_, p) = app
        .post(
            &app.shop.test_key,
            "/v1/payments",
            json!({"amount": "60", "currency": "INR"}),
        )
        .await;
    let payable = payable_of(&p);
    mail.deliver(&one_alert(0, &payable));
    assert_eq!(
        save_mailbox(&mut admin, &csrf, &port, PASSWORD)
            .await
            .status,
        303
    );
    let id = p["id"].as_str().expect("id");
    succeeded_with(&app, &app.shop.test_key, id).await;
    let mut page = admin.get("/dashboard/mailbox").await;
    for _ in 0..100 {
        if page.body.contains(&format!("paid {id}")) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        page = admin.get("/dashboard/mailbox").await;
    }
    assert!(page.body.contains(&format!("paid {id}")), "{}", page.body);
    assert!(
        page.body.contains("connected</span> since"),
        "{}",
        page.body
    );

    let mut dev = Visitor::new(&app);
    assert_eq!(
        dev.sign_in("dev@shop.example", crate::common::PASSWORD)
            .await
            .status,
        303
    );
    let seen = dev.get("/dashboard/mailbox").await;
    assert!(seen.body.contains("alerts@hdfcbank.net") || seen.body.contains("connected"));
    let dcsrf = seen.csrf();
    let refused = dev
        .post("/dashboard/mailbox/remove", &[("csrf", dcsrf.as_str())])
        .await;
    assert_eq!(refused.status, 403);
    let removed = admin
        .post("/dashboard/mailbox/remove", &[("csrf", csrf.as_str())])
        .await;
    assert_eq!(removed.status, 303);
    assert!(state
        .mailboxes
        .get(&test_mode)
        .await
        .expect("read")
        .is_none());
}

/// Without `HUNDI_ALLOW_PRIVATE_MAIL`, a mailbox on a loopback address is never connected to
/// (a merchant's settings must not reach the operator's own network); the refusal shows.
async fn a_mailbox_on_a_private_address_is_refused(backend: Backend) {
    let mail = MailServer::start();
    let inbox = hundi::inbox::InboxConfig {
        allow_private: false,
        ..inbox_config(&mail)
    };
    let config = hundi::config::Config {
        inbox,
        ..Default::default()
    };
    let app = TestApp::spawn_with(backend, config).await;
    set_mailbox(&app, &mail, backend, PASSWORD).await;
    let refused = wait_for(&app, "an error", |m| m.progress.last_error.is_some()).await;
    let error = refused.progress.last_error.unwrap_or_default();
    assert!(error.contains("127.0.0.1 is a private"), "{error}");
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(
        !mail.log().contains(&format!("user=<{USER}>")),
        "{}",
        mail.log()
    );
}

on_sqlite!(a_mailbox_on_a_private_address_is_refused);

on_both_backends!(
    the_dashboard_sets_the_mailbox_and_shows_its_reading,
    alerts_from_five_banks_complete_their_payments,
    a_dropped_connection_and_a_restarted_server,
    a_refused_password_shows_and_a_corrected_one_reads,
);
