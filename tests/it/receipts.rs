//! Receipts e-mailed to customers, sent to a real SMTP server on 127.0.0.1 (Python's
//! `aiosmtpd`, tests/clients/smtp_sink.py): in the payment's language, once per success and
//! per refund, retried while the server is busy, and not at all for a test payment unless
//! the server sends test receipts.

use crate::common::{Backend, TestApp};
use hundi::config::Config;
use hundi::domain::receipt::{Receipt, ReceiptStatus};
use hundi::i18n::{Locale, Texts};
use hundi::store::Scope;
use serde_json::{json, Value};
use std::io::BufRead;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The SMTP server: every message it accepts is a file in its directory.
struct SmtpSink {
    dir: PathBuf,
    port: u16,
    child: Child,
}

impl SmtpSink {
    fn start() -> SmtpSink {
        let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))
            .join(format!("smtp-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).expect("mail directory");
        let port = crate::common::free_port();
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/clients/smtp_sink.py");
        let mut child = Command::new("python3")
            .arg(script)
            .arg(&dir)
            .arg(port.to_string())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("python3 (the test script installs aiosmtpd)");
        let mut ready = String::new();
        let out = child.stdout.take().expect("stdout");
        std::io::BufReader::new(out)
            .read_line(&mut ready)
            .expect("the SMTP server starts");
        assert_eq!(ready.trim(), "ready", "the SMTP server did not start");
        SmtpSink { dir, port, child }
    }

    /// Server options that send receipts to this server (test payments' too).
    fn config(&self, test_receipts: bool) -> Config {
        Config {
            receipts: Some(hundi::receipts::ReceiptConfig {
                smtp_url: format!("smtp://127.0.0.1:{}", self.port),
                from: "receipts@hundi.test".into(),
                test_mode: test_receipts,
                poll: Duration::from_millis(200),
            }),
            ..Config::default()
        }
    }

    fn messages(&self) -> Vec<Vec<u8>> {
        let mut names: Vec<PathBuf> = std::fs::read_dir(&self.dir)
            .expect("mail directory")
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "eml"))
            .collect();
        names.sort();
        names
            .iter()
            .map(|p| std::fs::read(p).expect("message"))
            .collect()
    }

    async fn wait_for(&self, count: usize, secs: u64) -> Vec<Vec<u8>> {
        let until = Instant::now() + Duration::from_secs(secs);
        loop {
            let got = self.messages();
            if got.len() >= count || Instant::now() > until {
                assert_eq!(got.len(), count, "messages received");
                return got;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// While on, the server answers every message with 451 (busy, try later).
    fn refuse(&self, on: bool) {
        let flag = self.dir.join("refuse");
        if on {
            std::fs::write(flag, b"").expect("flag");
        } else {
            std::fs::remove_file(flag).expect("flag");
        }
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A test payment of the shop for a customer with an e-mail address, paid.
async fn paid(app: &TestApp, body: Value) -> String {
    let (status, p) = app.post(&app.shop.test_key, "/v1/payments", body).await;
    assert_eq!(status, 201, "{p}");
    let id = p["id"].as_str().expect("id").to_string();
    let path = format!("/v1/test/payments/{id}/succeed");
    let (status, done) = app.post(&app.shop.test_key, &path, json!({})).await;
    assert_eq!(
        (status, done["status"].as_str()),
        (200, Some("succeeded")),
        "{done}"
    );
    id
}

async fn receipts(app: &TestApp, payment: &str) -> Vec<Receipt> {
    let scope = Scope {
        merchant_id: app.shop.id.clone(),
        livemode: false,
    };
    app.store
        .receipts_of(&scope, payment)
        .await
        .expect("receipts")
}

/// The payment's receipts once the first satisfies `ready` (or after 10 s, as they are).
async fn receipts_once(
    app: &TestApp,
    payment: &str,
    ready: impl Fn(&Receipt) -> bool,
) -> Vec<Receipt> {
    let until = Instant::now() + Duration::from_secs(10);
    loop {
        let now = receipts(app, payment).await;
        if now.first().is_some_and(&ready) || Instant::now() > until {
            return now;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A message's subject, sender, recipient, Message-ID, and its text and HTML parts.
struct Read {
    subject: String,
    from: String,
    to: String,
    message_id: String,
    text: String,
    html: String,
}

fn read(raw: &[u8]) -> Read {
    use mailparse::MailHeaderMap;
    let mail = mailparse::parse_mail(raw).expect("a message");
    let header = |name: &str| mail.headers.get_first_value(name).unwrap_or_default();
    let part = |mime: &str| {
        mail.subparts
            .iter()
            .find(|p| p.ctype.mimetype == mime)
            .and_then(|p| p.get_body().ok())
            .unwrap_or_default()
    };
    Read {
        subject: header("Subject"),
        from: header("From"),
        to: header("To"),
        message_id: header("Message-ID"),
        text: part("text/plain"),
        html: part("text/html"),
    }
}

/// A Bengali customer's receipt and refund receipt: each once, in Bengali, from the shop.
async fn receipts_are_sent_once_in_the_payments_language(backend: Backend) {
    let sink = SmtpSink::start();
    let app = TestApp::spawn_with(backend, sink.config(true)).await;
    let id = paid(
        &app,
        json!({"amount": "1500.00", "currency": "BDT", "locale": "bn", "description": "Mishti",
               "customer": {"name": "Rahim", "email": "rahim@example.com"}}),
    )
    .await;
    let first = read(&sink.wait_for(1, 10).await[0]);
    let t = Texts::new(Locale::Bn);
    let amount = t.amount(150_000, hundi::domain::money::Currency::BDT);
    assert_eq!(amount, "BDT ১,৫০০.০০");
    let subject = t.with_args(
        "receipt-subject",
        &[("merchant", "Shop"), ("amount", &amount)],
    );
    assert_eq!(first.subject, subject);
    assert!(
        first.from.starts_with("Shop <receipts@hundi.test>"),
        "{}",
        first.from
    );
    assert_eq!(first.to, "rahim@example.com");
    for part in [&first.text, &first.html] {
        assert!(part.contains(&amount), "{part}");
        assert!(
            part.contains(&t.with("receipt-thanks", "merchant", "Shop")),
            "{part}"
        );
        assert!(part.contains("Mishti") && part.contains(&id), "{part}");
        assert!(
            !part.contains("Paid to"),
            "English in a Bengali receipt: {part}"
        );
    }
    assert!(first.html.contains("lang=\"bn\""), "{}", first.html);
    let recorded = receipts(&app, &id).await;
    assert_eq!(first.message_id, format!("<{}@hundi.test>", recorded[0].id));
    assert_eq!(
        (recorded[0].status, recorded[0].attempts),
        (ReceiptStatus::Sent, 1)
    );

    let body = json!({"payment": id, "amount": "500.00"});
    let (status, refund) = app.post(&app.shop.test_key, "/v1/refunds", body).await;
    assert_eq!(status, 201, "{refund}");
    let second = read(&sink.wait_for(2, 10).await[1]);
    let back = t.amount(50_000, hundi::domain::money::Currency::BDT);
    let subject = t.with_args("refund-subject", &[("merchant", "Shop"), ("amount", &back)]);
    assert_eq!(second.subject, subject);
    assert!(second.text.contains(&back), "{}", second.text);

    // A customer without an address gets nothing; nothing is sent twice.
    paid(&app, json!({"amount": "10.00", "currency": "BDT"})).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(sink.messages().len(), 2);
    let all = receipts(&app, &id).await;
    assert!(all
        .iter()
        .all(|r| r.status == ReceiptStatus::Sent && r.attempts == 1));
}

/// A mail server that answers 451 gets the receipt once it answers again; the receipt shows
/// the tries and the server's words meanwhile.
async fn a_busy_mail_server_gets_the_receipt_later(backend: Backend) {
    let sink = SmtpSink::start();
    sink.refuse(true);
    let app = TestApp::spawn_with(backend, sink.config(true)).await;
    let id = paid(
        &app,
        json!({"amount": "99.00", "currency": "PKR", "customer": {"email": "ali@example.com"}}),
    )
    .await;
    let waiting = receipts_once(&app, &id, |r| r.last_error.is_some()).await;
    assert_eq!(waiting[0].status, ReceiptStatus::Pending, "{waiting:?}");
    let error = waiting[0].last_error.clone().unwrap_or_default();
    assert!(error.contains("451"), "{error}");
    assert!(sink.messages().is_empty());
    // The merchant sees it waiting on the payment's page, with the server's words.
    app.add_user("owner@shop.example", hundi::domain::role::Role::Owner)
        .await;
    let mut owner = crate::common::visitor::Visitor::new(&app);
    owner
        .sign_in("owner@shop.example", crate::common::PASSWORD)
        .await;
    let page = owner.get(&format!("/dashboard/payments/{id}")).await;
    let row = page
        .body
        .split("data-testid=\"receipt-row\"")
        .nth(1)
        .unwrap_or_default();
    assert!(
        row.contains("ali@example.com") && row.contains("pending") && row.contains("451"),
        "{}",
        page.body
    );
    sink.refuse(false);
    // The first retry is due 10 s after the refused try.
    let got = sink.wait_for(1, 20).await;
    assert_eq!(read(&got[0]).to, "ali@example.com");
    let done = receipts(&app, &id).await;
    assert_eq!((done[0].status, done[0].attempts), (ReceiptStatus::Sent, 2));
    let page = owner.get(&format!("/dashboard/payments/{id}")).await;
    assert!(page.body.contains("<td>sent</td>"), "{}", page.body);
}

/// Without test receipts, a test payment's receipt is recorded as skipped and never sent.
async fn test_payments_get_no_receipt_by_default(backend: Backend) {
    let sink = SmtpSink::start();
    let app = TestApp::spawn_with(backend, sink.config(false)).await;
    let id = paid(
        &app,
        json!({"amount": "99.00", "currency": "PKR", "customer": {"email": "ali@example.com"}}),
    )
    .await;
    let done = receipts_once(&app, &id, |r| r.status != ReceiptStatus::Pending).await;
    assert_eq!(done[0].status, ReceiptStatus::Skipped);
    assert!(sink.messages().is_empty());
}

crate::on_both_backends!(
    receipts_are_sent_once_in_the_payments_language,
    a_busy_mail_server_gets_the_receipt_later
);
crate::on_sqlite!(test_payments_get_no_receipt_by_default);
