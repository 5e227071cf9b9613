//! Master key rotation, as an operator does it with the real binary: `hundi secrets rotate`
//! while a server keeps running on the key file. Every sealed value in the database (each
//! dialect credential, each webhook endpoint secret and previous secret, each kept idempotent
//! response) is sealed again under the new key; the old key alone opens none of them, the new
//! one alone opens all. The running server follows the key file by itself: every dialect
//! still verifies what merchants sign and signs what they verify with the secrets the CLI
//! printed, before a restart, after it, and with the new key alone in `HUNDI_MASTER_KEY`.
//! With keys in `HUNDI_MASTER_KEY`, the rotation takes the first key it lists.

use crate::common::receiver::{Captured, Inbox, Receiver};
use crate::common::{free_port, Backend, ChildServer, TestDb};
use crate::process::key_file;
use hundi::dialects::signing::{hmac_sha256_hex, kazawallet_secret, waypay_signatures};
use hundi::secrets::SecretBox;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// What every CLI run and server of this test is given: webhooks may reach the receivers on
/// 127.0.0.1, a failed delivery is retried within a second, and the rate limit is out of reach.
const ENV: &[(&str, &str)] = &[
    ("HUNDI_ALLOW_PRIVATE_WEBHOOKS", "1"),
    ("HUNDI_WEBHOOK_RETRY_SCHEDULE", "1"),
    ("HUNDI_RATE_LIMIT", "100000"),
];

/// Where the master keys come from: the key file, or `HUNDI_MASTER_KEY` itself.
#[derive(Clone, Copy)]
enum Keys<'a> {
    File(&'a Path),
    Env(&'a str),
}

fn command(db: &str, keys: Keys<'_>) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_hundi"));
    c.env("HUNDI_DATABASE_URL", db)
        .env_remove("HUNDI_MASTER_KEY")
        .env_remove("HUNDI_MASTER_KEY_FILE")
        .env_remove("HUNDI_NEW_MASTER_KEY")
        .envs(ENV.iter().copied());
    match keys {
        Keys::File(path) => c.env("HUNDI_MASTER_KEY_FILE", path),
        Keys::Env(keys) => c.env("HUNDI_MASTER_KEY", keys),
    };
    c
}

/// The CLI: whether it succeeded, its stdout and stderr.
fn hundi(db: &str, keys: Keys<'_>, args: &[&str]) -> (bool, String, String) {
    let out = command(db, keys).args(args).output().expect("run hundi");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn cli_json(db: &str, keys: Keys<'_>, args: &[&str]) -> Value {
    let (ok, out, err) = hundi(db, keys, args);
    assert!(ok, "hundi {args:?} failed: {err}");
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("hundi {args:?} printed {out}: {e}"))
}

/// `hundi serve` as a child process, once it answers its health check.
async fn serve(db: &str, keys: Keys<'_>) -> ChildServer {
    let port = free_port();
    let child = command(db, keys)
        .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start hundi serve");
    ChildServer::healthy(child, port).await
}

async fn send(req: reqwest::RequestBuilder) -> (u16, String) {
    let res = req.send().await.expect("request");
    let status = res.status().as_u16();
    (status, res.text().await.expect("body"))
}

fn parse(body: &str) -> Value {
    serde_json::from_str(body).unwrap_or_else(|e| panic!("not JSON ({e}): {body}"))
}

/// What the operator set up with the CLI, with every secret it printed once.
struct Setup {
    merchant: String,
    /// The shop's back end key (every permission).
    key: String,
    /// The dialect plugins' key, with a webhook URL, and that endpoint's signing secret.
    plugin: String,
    plugin_webhook_secret: String,
    /// A key that may only create payments (Pakhi Pay's SDK key in the shop's page): its
    /// payments' callbacks are signed with the `pakhipay_callback` secret.
    browser: String,
    pakhipay_callback: String,
    xpay_account: String,
    xpay_hmac: String,
    xpay_webhook: String,
    waypay: String,
    kazawallet: String,
}

/// A merchant, its keys (one with the receiver `hook` as its webhook URL), every dialect
/// credential and a UPI id (for PayGate), all with the CLI.
fn set_up(db: &str, keys: Keys<'_>, hook: &str) -> Setup {
    let cli = |args: &[&str]| cli_json(db, keys, args);
    let m = cli(&["merchant", "create", "--name", "Rotation Shop", "--json"])["id"]
        .as_str()
        .unwrap()
        .to_string();
    let key = |extra: &[&str]| {
        let mut args = vec![
            "key",
            "create",
            "--merchant",
            &m,
            "--mode",
            "test",
            "--json",
        ];
        args.extend_from_slice(extra);
        cli(&args)
    };
    let shop = key(&["--label", "shop"]);
    let plugin = key(&["--label", "plugins", "--webhook-url", hook]);
    let browser = key(&["--label", "shop page", "--permissions", "payments:create"]);
    let credential = |name: &str| cli(&["credential", "create", name, "--merchant", &m, "--json"]);
    let secret = |v: &Value| v["secret"].as_str().unwrap().to_string();
    let xpay = credential("xpay_hmac");
    // A mailbox nobody answers for: its password is sealed too.
    cli(&[
        "inbox",
        "set",
        "--merchant",
        &m,
        "--host",
        "127.0.0.1",
        "--port",
        "9",
        "--user",
        "shop",
        "--password",
        "mail secret",
        "--json",
    ]);
    cli(&[
        "merchant",
        "set-upi",
        "--merchant",
        &m,
        "--upi-id",
        "shop@okaxis",
        "--upi-name",
        "Rotation Shop",
        "--json",
    ]);
    Setup {
        key: secret(&shop),
        plugin: secret(&plugin),
        plugin_webhook_secret: plugin["webhook_secret"].as_str().unwrap().to_string(),
        browser: secret(&browser),
        pakhipay_callback: secret(&credential("pakhipay_callback")),
        xpay_account: xpay["public_id"].as_str().unwrap().to_string(),
        xpay_hmac: secret(&xpay),
        xpay_webhook: secret(&credential("xpay_webhook")),
        waypay: secret(&credential("waypay")),
        kazawallet: secret(&credential("kazawallet")),
        merchant: m,
    }
}

/// A sealed value as the database holds it, and the context its seal is bound to.
#[derive(Debug, Clone, PartialEq)]
struct Stored {
    context: String,
    sealed: String,
}

/// Every sealed value of the database, read straight from its tables, by row and column.
async fn sealed_values(db: &str) -> BTreeMap<String, Stored> {
    use hundi::domain::credential::Credential;
    use hundi::domain::webhook::Endpoint;
    type Creds = Vec<(String, bool, String, String)>;
    type Endpoints = Vec<(String, Option<String>, Option<String>)>;
    type Kept = Vec<(String, bool, String, Option<Vec<u8>>)>;
    type Mailboxes = Vec<(String, bool, String)>;
    const MAILBOXES: &str = "SELECT merchant_id, livemode, password FROM mailboxes";
    const CREDS: &str = "SELECT merchant_id, livemode, name, secret FROM dialect_credentials";
    const ENDPOINTS: &str = "SELECT id, secret, previous_secret FROM webhook_endpoints";
    const KEPT: &str = "SELECT merchant_id, livemode, key, response_body FROM idempotency_keys";
    macro_rules! read {
        ($pool:expr) => {{
            let pool = $pool;
            let c: Creds = sqlx::query_as(CREDS).fetch_all(&pool).await.unwrap();
            let e: Endpoints = sqlx::query_as(ENDPOINTS).fetch_all(&pool).await.unwrap();
            let k: Kept = sqlx::query_as(KEPT).fetch_all(&pool).await.unwrap();
            let m: Mailboxes = sqlx::query_as(MAILBOXES).fetch_all(&pool).await.unwrap();
            pool.close().await;
            (c, e, k, m)
        }};
    }
    let (creds, endpoints, kept, mailboxes) = if db.starts_with("postgres") {
        read!(sqlx::PgPool::connect(db).await.expect("open PostgreSQL"))
    } else {
        read!(sqlx::SqlitePool::connect(db).await.expect("open SQLite"))
    };
    let mut all = BTreeMap::new();
    for (merchant, livemode, name, sealed) in creds {
        let context = Credential::context(&merchant, livemode, &name);
        all.insert(
            format!("dialect_credentials.secret of {context}"),
            Stored { context, sealed },
        );
    }
    for (id, secret, previous) in endpoints {
        for (column, value) in [("secret", secret), ("previous_secret", previous)] {
            if let Some(sealed) = value.filter(|v| !v.is_empty()) {
                all.insert(
                    format!("webhook_endpoints.{column} of {id}"),
                    Stored {
                        context: Endpoint::seal_context(&id),
                        sealed,
                    },
                );
            }
        }
    }
    for (merchant, livemode, sealed) in mailboxes {
        all.insert(
            format!("mailboxes.password of {merchant}"),
            Stored {
                context: hundi::domain::mailbox::seal_context(&merchant, livemode),
                sealed,
            },
        );
    }
    let mark = hundi::domain::idempotency::SEALED_BODY;
    for (merchant, livemode, key, body) in kept {
        let Some(sealed) = body.as_deref().and_then(|b| b.strip_prefix(mark)) else {
            continue;
        };
        all.insert(
            format!("idempotency_keys.response_body of {key}"),
            Stored {
                context: hundi::domain::idempotency::seal_context(&merchant, livemode, &key),
                sealed: String::from_utf8(sealed.to_vec()).expect("a sealed body is text"),
            },
        );
    }
    all
}

/// Every value opened with `keys`: its clear text, or which values do not open.
fn open_all(
    values: &BTreeMap<String, Stored>,
    keys: &SecretBox,
) -> Result<BTreeMap<String, String>, Vec<String>> {
    let mut opened = BTreeMap::new();
    let mut closed = Vec::new();
    for (what, v) in values {
        match keys.open(&v.sealed, &v.context) {
            Ok(plain) => {
                opened.insert(what.clone(), plain);
            }
            Err(_) => closed.push(what.clone()),
        }
    }
    if closed.is_empty() {
        Ok(opened)
    } else {
        Err(closed)
    }
}

/// No value opens with `keys`.
fn none_opens(values: &BTreeMap<String, Stored>, keys: &SecretBox, which: &str) {
    let opened: Vec<&String> = values
        .iter()
        .filter(|(_, v)| keys.open(&v.sealed, &v.context).is_ok())
        .map(|(what, _)| what)
        .collect();
    assert!(opened.is_empty(), "{which} still opens {opened:?}");
}

/// The webhook endpoint the shop created natively, with an `Idempotency-Key`.
struct NativeEndpoint {
    idem: &'static str,
    body: Value,
    /// The create's answer, byte for byte (it holds the first signing secret).
    answer: String,
    /// The secret the create showed, now the previous one, and the one rotated in.
    first_secret: String,
    secret: String,
}

/// Creates the endpoint (with an `Idempotency-Key`), then rotates its signing secret: the
/// endpoint then holds a sealed secret and a sealed previous secret.
async fn native_endpoint(
    http: &reqwest::Client,
    url: &str,
    key: &str,
    hook: &str,
) -> NativeEndpoint {
    let body = json!({"url": hook, "events": ["payment.succeeded"], "description": "back office"});
    let idem = "endpoint-back-office";
    let (status, answer) = send(
        http.post(format!("{url}/v1/webhook_endpoints"))
            .bearer_auth(key)
            .header("Idempotency-Key", idem)
            .json(&body),
    )
    .await;
    assert_eq!(status, 201, "{answer}");
    let created = parse(&answer);
    let first_secret = created["secret"].as_str().unwrap().to_string();
    let id = created["id"].as_str().unwrap();
    let (status, rotated) = send(
        http.post(format!("{url}/v1/webhook_endpoints/{id}/rotate_secret"))
            .bearer_auth(key),
    )
    .await;
    assert_eq!(status, 200, "{rotated}");
    let secret = parse(&rotated)["secret"].as_str().unwrap().to_string();
    assert_ne!(secret, first_secret);
    NativeEndpoint {
        idem,
        body,
        answer,
        first_secret,
        secret,
    }
}

/// The first request `inbox` got that `matches`, waiting up to 15 s.
async fn delivered(inbox: &Inbox, what: &str, matches: impl Fn(&Captured) -> bool) -> Captured {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        if let Some(c) = inbox.all().into_iter().find(|c| matches(c)) {
            return c;
        }
        assert!(
            Instant::now() < deadline,
            "{what} never arrived; the receiver got {:?}",
            inbox.all().iter().map(|c| &c.body).collect::<Vec<_>>()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Whether a delivery carries a Standard Webhooks signature made with `secret`.
fn signed_with(c: &Captured, secret: &str) -> bool {
    let timestamp: i64 = c.header("webhook-timestamp").parse().unwrap_or_default();
    let Some(expected) = hundi::domain::webhook::sign(
        secret,
        &c.header("webhook-id"),
        timestamp,
        c.body.as_bytes(),
    ) else {
        return false;
    };
    c.header("webhook-signature")
        .split(' ')
        .any(|s| s == expected)
}

/// A server and the receivers its webhooks go to.
struct Shop<'a> {
    http: reqwest::Client,
    url: String,
    setup: &'a Setup,
    /// The plugins' key URL and the callback URLs of Pakhi Pay and Waypay payments.
    hooks: &'a Receiver,
    /// The native endpoint's URL.
    native: &'a Receiver,
}

impl Shop<'_> {
    /// A dialect's create, which answers 200 with a JSON body.
    async fn dialect(&self, what: &str, req: reqwest::RequestBuilder) -> Value {
        let (status, body) = send(req).await;
        assert_eq!(status, 200, "{what}: {body}");
        parse(&body)
    }

    /// Completes a test-mode payment with the shop's key.
    async fn succeed(&self, id: &str) {
        let (status, body) = send(
            self.http
                .post(format!("{}/v1/test/payments/{id}/succeed", self.url))
                .bearer_auth(&self.setup.key)
                .json(&json!({})),
        )
        .await;
        assert_eq!(status, 200, "succeed {id}: {body}");
    }

    /// An XPay checkout signed with `hmac_secret`: the answer's status and body.
    async fn xpay_checkout(&self, tag: &str, hmac_secret: &str) -> (u16, String) {
        let raw = format!(
            r#"{{"amount":"150.00","currency":"PKR","customer":{{"name":"Zo\u00eb","email":"z@example.com"}},"metadata":{{"order_reference":"{tag}"}},"payment_method_types":["card"],"success_url":"https:\/\/shop.example\/ok"}}"#
        );
        let canonical = hundi::dialects::js_json::canonicalize(&raw).unwrap();
        let signature = hmac_sha256_hex(hmac_secret.as_bytes(), canonical.as_bytes());
        send(
            self.http
                .post(format!("{}/public/v1/payment/checkout", self.url))
                .header("x-api-key", &self.setup.plugin)
                .header("x-account-id", &self.setup.xpay_account)
                .header("x-signature", signature)
                .header("content-type", "application/json")
                .body(raw),
        )
        .await
    }

    /// A Waypay checkout signed with `secret`: the answer's status and body.
    async fn waypay_initiate(&self, reference: &str, secret: &str) -> (u16, String) {
        let mut body = json!({
            "amount": 1000, "currency": "PKR", "description": "Product Purchase",
            "orderRef": {"orderRef": reference, "discount": "10", "tax": "15"},
            "intentType": "checkout", "callbackUrl": self.hooks.url,
        });
        body["signature"] = json!(waypay_signatures(&body.to_string(), secret)[0].clone());
        send(
            self.http
                .post(format!("{}/Gateway/v1/Payment/initiate-checkout", self.url))
                .header("SWICH-API-Key", &self.setup.plugin)
                .json(&body),
        )
        .await
    }

    /// The signed requests of two dialects verify, and one signed with another secret is
    /// refused (so the acceptance is the secret's doing).
    async fn requests_verify(&self, tag: &str) -> (String, String) {
        let s = self.setup;
        let (status, body) = self.xpay_checkout(tag, "hmac_sc_not_it").await;
        assert_eq!(
            (status, body.contains("invalid x-signature")),
            (401, true),
            "an XPay checkout signed otherwise: {body}"
        );
        let (status, body) = self.xpay_checkout(tag, &s.xpay_hmac).await;
        assert_eq!(
            status, 200,
            "an XPay checkout signed with xpay_hmac: {body}"
        );
        let xpay = parse(&body)["data"]["_id"].as_str().unwrap().to_string();
        let (status, body) = self.waypay_initiate(tag, "wp_sec_not_it").await;
        assert_eq!(
            (status, body.contains("Invalid signature")),
            (401, true),
            "a Waypay checkout signed otherwise: {body}"
        );
        let (status, body) = self.waypay_initiate(tag, &s.waypay).await;
        assert_eq!(status, 200, "a Waypay checkout signed with waypay: {body}");
        let waypay = parse(&body)["paymentIntentId"]
            .as_str()
            .unwrap()
            .to_string();
        (xpay, waypay)
    }

    /// A payment through each dialect and one natively, each completed; every webhook and
    /// callback arrives signed with the secret the merchant was shown. Then the idempotent
    /// endpoint create, retried, gets its first answer with its signing secret.
    async fn every_secret_works(&self, endpoint: &NativeEndpoint, tag: &str) {
        let s = self.setup;
        let (xpay, waypay) = self.requests_verify(tag).await;

        let pakhipay = self
            .dialect(
                "Pakhi Pay create",
                self.http
                    .post(format!("{}/api/request/payment/create/", self.url))
                    .header("api-key", &s.browser)
                    .json(&json!({
                        "cus_name": "Rahim", "cus_email": "rahim@example.com", "amount": "100.00",
                        "success_url": "https://shop.example/ok",
                        "cancel_url": "https://shop.example/no",
                        "order_id": format!("PK-{tag}"), "callback_url": self.hooks.url,
                    })),
            )
            .await["transaction_id"]
            .as_str()
            .unwrap()
            .to_string();
        let paygate = self
            .dialect(
                "PayGate create",
                self.http
                    .post(format!("{}/api/v1/create-payment", self.url))
                    .header("X-API-Key", &s.plugin)
                    .json(&json!({
                        "amount": 200, "customer_name": "John Doe",
                        "customer_email": "john@example.com", "merchant_ref": format!("PG-{tag}"),
                    })),
            )
            .await["payment"]["session_id"]
            .as_str()
            .unwrap()
            .to_string();
        let kazawallet = self
            .dialect(
                "Kazawallet create",
                self.http
                    .post(format!("{}/wallet/createPaymentLink", self.url))
                    .header("x-api-key", &s.plugin)
                    .json(&json!({
                        "amount": "150.00", "currency": "USD", "email": "customer@example.com",
                        "redirectUrl": "https://shop.example/whmcs/viewinvoice.php?id=7",
                    })),
            )
            .await["id"]
            .as_str()
            .unwrap()
            .to_string();
        let (status, native) = send(
            self.http
                .post(format!("{}/v1/payments", self.url))
                .bearer_auth(&s.key)
                .json(
                    &json!({"amount": "10.00", "currency": "PKR", "reference": format!("N-{tag}")}),
                ),
        )
        .await;
        assert_eq!(status, 201, "{native}");
        let native = parse(&native)["id"].as_str().unwrap().to_string();
        for id in [&pakhipay, &xpay, &waypay, &paygate, &kazawallet, &native] {
            self.succeed(id).await;
        }

        let inbox = &self.hooks.inbox;
        let about = |id: &str, c: &Captured| c.body.contains(id);
        // Pakhi Pay: the `signature` field over the payload without it, and X-Signature over
        // the body, both with the pakhipay_callback secret.
        let got = delivered(inbox, "the Pakhi Pay callback", |c| {
            about(&pakhipay, c) && !c.header("x-signature").is_empty()
        })
        .await;
        let mut unsigned: serde_json::Map<String, Value> = serde_json::from_str(&got.body).unwrap();
        let signature = unsigned.remove("signature").expect("a signature field");
        let message = serde_json::to_string(&unsigned).unwrap();
        let key = s.pakhipay_callback.as_bytes();
        assert_eq!(
            signature,
            json!(hmac_sha256_hex(key, message.as_bytes())),
            "{tag}"
        );
        assert_eq!(
            got.header("x-signature"),
            hmac_sha256_hex(key, got.body.as_bytes())
        );
        // XPay: X-Signature with the xpay_webhook secret.
        let got = delivered(inbox, "the XPay webhook", |c| {
            about(&xpay, c) && c.body.contains("PAYMENT_INTENT_NOTIFICATION")
        })
        .await;
        assert_eq!(
            got.header("x-signature"),
            hmac_sha256_hex(s.xpay_webhook.as_bytes(), got.body.as_bytes()),
            "the XPay webhook ({tag})"
        );
        // Waypay: Waypay-Signature with the waypay secret.
        let got = delivered(inbox, "the Waypay webhook", |c| {
            about(&waypay, c) && !c.header("waypay-signature").is_empty()
        })
        .await;
        assert_eq!(
            got.header("waypay-signature"),
            hmac_sha256_hex(s.waypay.as_bytes(), got.body.as_bytes()),
            "the Waypay webhook ({tag})"
        );
        // PayGate: X-Webhook-Signature with the plugins' key URL's signing secret.
        let got = delivered(inbox, "the PayGate webhook", |c| {
            about(&paygate, c) && !c.header("x-webhook-signature").is_empty()
        })
        .await;
        assert_eq!(
            got.header("x-webhook-signature"),
            hmac_sha256_hex(s.plugin_webhook_secret.as_bytes(), got.body.as_bytes()),
            "the PayGate webhook ({tag})"
        );
        // Kazawallet: its `secret` field, from the API key and the kazawallet API secret.
        let got = delivered(inbox, "the Kazawallet webhook", |c| {
            about(&kazawallet, c) && c.body.contains("\"secret\"")
        })
        .await;
        assert_eq!(
            got.json()["secret"],
            json!(kazawallet_secret(
                "150.00",
                &kazawallet,
                &s.plugin,
                &s.kazawallet
            )),
            "the Kazawallet webhook ({tag})"
        );
        // The native endpoint: signed with its secret and with the previous one.
        let got = delivered(&self.native.inbox, "the native webhook", |c| {
            about(&native, c)
        })
        .await;
        assert!(
            signed_with(&got, &endpoint.secret) && signed_with(&got, &endpoint.first_secret),
            "the native webhook ({tag}) is not signed with both secrets: {}",
            got.header("webhook-signature")
        );

        // The endpoint create, retried: its first answer, with the secret it showed then.
        let (status, replayed) = send(
            self.http
                .post(format!("{}/v1/webhook_endpoints", self.url))
                .bearer_auth(&s.key)
                .header("Idempotency-Key", endpoint.idem)
                .json(&endpoint.body),
        )
        .await;
        assert_eq!(status, 201, "{replayed}");
        assert_eq!(replayed, endpoint.answer, "the replay ({tag})");
        assert_eq!(parse(&replayed)["secret"], json!(endpoint.first_secret));
    }
}

/// `hundi secrets rotate` while the server runs on the key file, then the server (not
/// restarted), a restarted one and one with the new key alone in `HUNDI_MASTER_KEY`.
async fn rotation_keeps_every_secret_working(backend: Backend) {
    let test = TestDb::new(backend).await;
    let db = test.url.as_str();
    let master = key_file(&test);
    let _ = std::fs::remove_file(&master);
    let file = Keys::File(&master);
    let hooks = Receiver::start().await;
    let native_hook = Receiver::start().await;
    let setup = set_up(db, file, &hooks.url);
    let old = hundi::secrets::key_file::read(&master).expect("the CLI made the key file");
    assert_eq!(old.len(), 1);
    let old = old[0];

    let server = serve(db, file).await;
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    let endpoint = native_endpoint(&http, &server.url, &setup.key, &native_hook.url).await;
    let mut shop = Shop {
        http,
        url: server.url.clone(),
        setup: &setup,
        hooks: &hooks,
        native: &native_hook,
    };
    // Before: everything works (and the server keeps sealed copies of the plugins' key).
    shop.every_secret_works(&endpoint, "before").await;

    // What the database holds: every kind of sealed value, each opening with the old key.
    let before = sealed_values(db).await;
    for kind in [
        "dialect_credentials.secret of",
        "webhook_endpoints.secret of",
        "webhook_endpoints.previous_secret of",
        "idempotency_keys.response_body of",
    ] {
        assert!(
            before.keys().any(|k| k.starts_with(kind)),
            "no sealed {kind}: {:?}",
            before.keys()
        );
    }
    for name in [
        "pakhipay_callback",
        "xpay_hmac",
        "xpay_webhook",
        "waypay",
        "kazawallet",
    ] {
        let wanted = format!("{}/test/{name}", setup.merchant);
        assert!(
            before.keys().any(|k| k.ends_with(&wanted)),
            "no sealed {name}: {:?}",
            before.keys()
        );
    }
    let plain = open_all(&before, &SecretBox::new(old)).expect("every value opens before");
    assert!(plain.values().any(|p| p.contains(&endpoint.first_secret)));
    assert!(plain.values().any(|p| *p == setup.xpay_hmac));

    // The rotation, with the server running.
    let began = Instant::now();
    let (ok, out, err) = {
        let (db, master) = (db.to_string(), master.clone());
        tokio::task::spawn_blocking(move || hundi(&db, Keys::File(&master), &["secrets", "rotate"]))
            .await
            .unwrap()
    };
    let took = began.elapsed();
    assert!(ok, "hundi secrets rotate failed:\n{out}\n{err}");
    assert!(
        out.contains(&format!(
            "sealed {} secrets again under the new master key",
            before.len()
        )),
        "the rotation does not say it sealed the {} values: {out}",
        before.len()
    );
    assert!(out.contains(&master.display().to_string()), "{out}");
    let keys = hundi::secrets::key_file::read(&master).unwrap();
    assert_eq!(keys.len(), 2, "the key file holds the new key and the old");
    assert_eq!(keys[1], old, "the old key is second");
    let new = keys[0];
    assert_ne!(new, old);
    let text = std::fs::read_to_string(&master).unwrap();
    let lines: Vec<&str> = text
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.trim_start().starts_with('#'))
        .collect();
    assert_eq!(lines, vec![hex::encode(new), hex::encode(old)], "{text}");

    // Every stored value changed; the old key alone opens none, the new one alone each,
    // to the same clear text.
    let after = sealed_values(db).await;
    assert_eq!(
        after.keys().collect::<Vec<_>>(),
        before.keys().collect::<Vec<_>>()
    );
    for (what, value) in &after {
        assert_ne!(
            value.sealed, before[what].sealed,
            "{what} was not sealed again"
        );
    }
    none_opens(&after, &SecretBox::new(old), "the old key");
    let reopened = open_all(&after, &SecretBox::new(new))
        .unwrap_or_else(|closed| panic!("the new key does not open {closed:?}"));
    assert_eq!(reopened, plain);

    // The server, not restarted, reads the changed key file within a second.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    shop.every_secret_works(&endpoint, "rotated").await;

    // Restarted on the same database and key file.
    drop(server);
    let server = serve(db, file).await;
    shop.url = server.url.clone();
    shop.every_secret_works(&endpoint, "restarted").await;

    // The new key alone, in HUNDI_MASTER_KEY.
    drop(server);
    let new_hex = hex::encode(new);
    let server = serve(db, Keys::Env(&new_hex)).await;
    shop.url = server.url.clone();
    shop.every_secret_works(&endpoint, "newkeyalone").await;
    drop(server);
    println!("rotated {} values in {took:?}", before.len());
    let _ = std::fs::remove_file(&master);
}

/// Keys in `HUNDI_MASTER_KEY`: one key is refused with the way to rotate; "NEW,OLD" seals
/// everything under NEW, after which NEW alone opens every credential; `--new-key` is for a
/// key file only.
async fn rotation_with_keys_in_the_environment(backend: Backend) {
    let test = TestDb::new(backend).await;
    let db = test.url.as_str();
    let (old, new) = (SecretBox::generate_key(), SecretBox::generate_key());
    let (old_hex, new_hex) = (hex::encode(old), hex::encode(new));
    let hooks = Receiver::start().await;
    let setup = set_up(db, Keys::Env(&old_hex), &hooks.url);
    let before = sealed_values(db).await;
    // The five credentials, the key URL's signing secret and the mailbox's password.
    assert_eq!(before.len(), 7, "{:?}", before.keys());
    let plain = open_all(&before, &SecretBox::new(old)).expect("every value opens");
    none_opens(
        &before,
        &SecretBox::new(new),
        "the new key before the rotation",
    );

    let (ok, out, err) = hundi(db, Keys::Env(&old_hex), &["secrets", "rotate"]);
    assert!(!ok, "a rotation with one key succeeded: {out}");
    assert!(
        err.contains("Put a new key first") && err.contains("HUNDI_MASTER_KEY=NEW,OLD"),
        "the refusal does not say what to do: {err}"
    );
    assert_eq!(
        sealed_values(db).await,
        before,
        "a refused rotation changed values"
    );

    let ring = format!("{new_hex},{old_hex}");
    let (ok, out, err) = hundi(
        db,
        Keys::Env(&ring),
        &[
            "secrets",
            "rotate",
            "--new-key",
            &hex::encode(SecretBox::generate_key()),
        ],
    );
    assert!(!ok, "--new-key with HUNDI_MASTER_KEY succeeded: {out}");
    assert!(err.contains("--new-key is for a key file"), "{err}");
    assert_eq!(
        sealed_values(db).await,
        before,
        "a refused rotation changed values"
    );

    let (ok, out, err) = hundi(db, Keys::Env(&ring), &["secrets", "rotate"]);
    assert!(ok, "hundi secrets rotate failed:\n{out}\n{err}");
    assert!(
        out.contains(&format!(
            "sealed {} secrets again under the new master key",
            before.len()
        )),
        "{out}"
    );
    let after = sealed_values(db).await;
    for (what, value) in &after {
        assert_ne!(
            value.sealed, before[what].sealed,
            "{what} was not sealed again"
        );
    }
    none_opens(&after, &SecretBox::new(old), "the old key");
    assert_eq!(
        open_all(&after, &SecretBox::new(new)).expect("the new key opens every value"),
        plain
    );
    // Run again, nothing is left to seal.
    let (ok, out, err) = hundi(db, Keys::Env(&ring), &["secrets", "rotate"]);
    assert!(ok, "{err}");
    assert!(out.contains("sealed 0 secrets again"), "{out}");

    // A server with the new key alone verifies what is signed with the credentials.
    let server = serve(db, Keys::Env(&new_hex)).await;
    let native = Receiver::start().await;
    let shop = Shop {
        http: reqwest::Client::new(),
        url: server.url.clone(),
        setup: &setup,
        hooks: &hooks,
        native: &native,
    };
    let (_, waypay) = shop.requests_verify("env").await;
    // And signs with them: the Waypay webhook.
    shop.succeed(&waypay).await;
    let got = delivered(&hooks.inbox, "the Waypay webhook", |c| {
        c.body.contains(&waypay) && !c.header("waypay-signature").is_empty()
    })
    .await;
    assert_eq!(
        got.header("waypay-signature"),
        hmac_sha256_hex(setup.waypay.as_bytes(), got.body.as_bytes())
    );
}

on_both_backends!(
    rotation_keeps_every_secret_working,
    rotation_with_keys_in_the_environment,
);
