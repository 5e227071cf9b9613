//! The test harness: a fresh database per test (a temporary SQLite file, or a new PostgreSQL
//! database), and the real server on an ephemeral port.
#![allow(dead_code)]

pub mod acme_server;
pub mod browser;
pub mod clients;
pub mod docs;
pub mod mail_server;
pub mod receiver;

pub mod visitor;

use hundi::config::Config;
use hundi::domain::key::{Mode, Permission};
use hundi::service::{keys, merchants};
use hundi::startup::{self, RunningServer};
use hundi::store::{self, Store};
use serde_json::Value;
use std::sync::Arc;
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Runs an async scenario once per backend, each as its own test.
#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn sqlite() {
                    super::$name($crate::common::Backend::Sqlite).await
                }
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn postgres() {
                    super::$name($crate::common::Backend::Postgres).await
                }
            }
        )*
    };
}

/// Runs an async scenario once, on SQLite (for tests whose subject is not the store).
#[macro_export]
macro_rules! on_sqlite {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn sqlite() {
                    super::$name($crate::common::Backend::Sqlite).await
                }
            }
        )*
    };
}

/// Moves a payment's expiry, straight in the database (to test time passing).
pub async fn set_expiry(url: &str, id: &str, at: chrono::DateTime<chrono::Utc>) {
    if url.starts_with("postgres") {
        let pool = sqlx::PgPool::connect(url).await.expect("connect");
        sqlx::query("UPDATE payments SET expires_at = $1 WHERE id = $2")
            .bind(at)
            .bind(id)
            .execute(&pool)
            .await
            .expect("update");
    } else {
        let pool = sqlx::SqlitePool::connect(url).await.expect("connect");
        sqlx::query("UPDATE payments SET expires_at = $1 WHERE id = $2")
            .bind(at.timestamp_micros())
            .bind(id)
            .execute(&pool)
            .await
            .expect("update");
    }
}

/// A database that lives as long as the test: the SQLite file's folder, or a PostgreSQL
/// database that is dropped afterwards.
pub struct TestDb {
    pub url: String,
    _dir: Option<tempfile::TempDir>,
    pg_name: Option<String>,
}

pub fn pg_admin_url() -> String {
    std::env::var("HUNDI_TEST_PG_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

fn pg_url_for(db: &str) -> String {
    let mut url = url::Url::parse(&pg_admin_url()).expect("HUNDI_TEST_PG_URL is a URL");
    url.set_path(db);
    url.to_string()
}

impl TestDb {
    pub async fn new(backend: Backend) -> TestDb {
        match backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().expect("temp dir");
                let url = format!("sqlite://{}", dir.path().join("hundi.db").display());
                TestDb {
                    url,
                    _dir: Some(dir),
                    pg_name: None,
                }
            }
            Backend::Postgres => {
                let name = format!("hundi_test_{}", uuid::Uuid::new_v4().simple());
                let admin = sqlx_admin().await;
                sqlx::query(&format!("CREATE DATABASE {name}"))
                    .execute(&admin)
                    .await
                    .expect("PostgreSQL must be running (HUNDI_TEST_PG_URL)");
                admin.close().await;
                TestDb {
                    url: pg_url_for(&name),
                    _dir: None,
                    pg_name: Some(name),
                }
            }
        }
    }

    pub async fn store(&self) -> Arc<dyn Store> {
        let s = store::connect(&self.url, 32).await.expect("open store");
        s.migrate().await.expect("migrate");
        s
    }
}

async fn sqlx_admin() -> sqlx::PgPool {
    sqlx::postgres::PgPoolOptions::new()
        .max_connections(1)
        .connect(&pg_admin_url())
        .await
        .expect("PostgreSQL must be running (HUNDI_TEST_PG_URL)")
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let Some(name) = self.pg_name.take() else {
            return;
        };
        // Drop runs outside async context: clean up on a thread with its own runtime.
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build();
            if let Ok(rt) = rt {
                rt.block_on(async move {
                    if let Ok(admin) = sqlx::postgres::PgPoolOptions::new()
                        .max_connections(1)
                        .connect(&pg_admin_url())
                        .await
                    {
                        let _ =
                            sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                                .execute(&admin)
                                .await;
                    }
                });
            }
        })
        .join();
    }
}

/// A merchant with a test key and a live key.
pub struct Merchant {
    pub id: String,
    pub test_key: String,
    pub live_key: String,
}

pub async fn merchant(store: &dyn Store, name: &str) -> Merchant {
    let m = merchants::create_merchant(store, name)
        .await
        .expect("merchant");
    let test = keys::create_key(
        store,
        &hundi::service::access::Acting::cli(&m.id, false),
        keys::NewKey::new(Mode::Test, "test", Permission::ALL.to_vec()),
    )
    .await
    .expect("test key");
    let live = keys::create_key(
        store,
        &hundi::service::access::Acting::cli(&m.id, false),
        keys::NewKey::new(Mode::Live, "live", Permission::ALL.to_vec()),
    )
    .await
    .expect("live key");
    Merchant {
        id: m.id,
        test_key: test.secret,
        live_key: live.secret,
    }
}

/// Server options with webhooks that retry within a test's patience and may reach 127.0.0.1.
pub fn fast_webhooks() -> Config {
    Config {
        webhooks: hundi::webhooks::WebhookConfig {
            allow_private: true,
            retry_schedule: vec![Duration::from_millis(300); 6],
            timeout: Duration::from_secs(2),
            lease: Duration::from_secs(5),
            poll_interval: Duration::from_millis(200),
            ..hundi::webhooks::WebhookConfig::default()
        },
        ..Config::default()
    }
}

/// Rate limits that a test's own bursts (hundreds of requests a second with one key) never
/// reach; the limits themselves are tested in tests/it/ratelimit.rs.
pub fn raised_rate_limits() -> hundi::service::ratelimit::RateLimitConfig {
    hundi::service::ratelimit::RateLimitConfig {
        default_per_second: 100_000,
        ..Default::default()
    }
}

/// A port nobody listens on right now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// The real server on an ephemeral port, on a fresh database, with two merchants.
pub struct TestApp {
    pub db: TestDb,
    pub store: Arc<dyn Store>,
    pub server: Option<RunningServer>,
    pub url: String,
    pub http: reqwest::Client,
    pub shop: Merchant,
    pub other: Merchant,
}

impl TestApp {
    pub async fn spawn(backend: Backend) -> TestApp {
        TestApp::spawn_with(backend, Config::default()).await
    }

    pub async fn spawn_with(backend: Backend, mut opts: Config) -> TestApp {
        let db = TestDb::new(backend).await;
        let store = db.store().await;
        let shop = merchant(&*store, "Shop").await;
        let other = merchant(&*store, "Other shop").await;
        opts.listen = "127.0.0.1:0".into();
        let server = startup::start(store.clone(), opts)
            .await
            .expect("server starts");
        let url = server.url();
        TestApp {
            db,
            store,
            server: Some(server),
            url,
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(60))
                .build()
                .expect("client"),
            shop,
            other,
        }
    }

    pub async fn post(&self, key: &str, path: &str, body: Value) -> (u16, Value) {
        let res = self
            .http
            .post(format!("{}{path}", self.url))
            .bearer_auth(key)
            .json(&body)
            .send()
            .await
            .expect("request");
        read(res).await
    }

    pub async fn post_idem(&self, key: &str, path: &str, idem: &str, body: Value) -> (u16, Value) {
        let res = self
            .http
            .post(format!("{}{path}", self.url))
            .bearer_auth(key)
            .header("Idempotency-Key", idem)
            .json(&body)
            .send()
            .await
            .expect("request");
        read(res).await
    }

    pub async fn get(&self, key: &str, path: &str) -> (u16, Value) {
        let res = self
            .http
            .get(format!("{}{path}", self.url))
            .bearer_auth(key)
            .send()
            .await
            .expect("request");
        read(res).await
    }

    /// Creates a dialect credential for the shop's test mode, sealed with the server's key.
    /// A test key with every permission whose webhook URL (on 127.0.0.1) is `url`: what a
    /// gateway plugin is given.
    pub async fn plugin_key(&self, label: &str, url: String) -> keys::CreatedKey {
        let new = keys::NewKey {
            webhook_url: Some(url),
            allow_private: true,
            ..keys::NewKey::new(Mode::Test, label, Permission::ALL.to_vec())
        };
        let owner = hundi::service::access::Acting::cli(&self.shop.id, false);
        keys::create_key(&*self.store, &owner, new)
            .await
            .expect("plugin key")
    }

    pub async fn credential(&self, name: &str) -> hundi::service::credentials::Created {
        let scope = hundi::store::Scope {
            merchant_id: self.shop.id.clone(),
            livemode: false,
        };
        let state = &self.server.as_ref().expect("running").state;
        let kind = hundi::service::credentials::kind(&state.sources, name).expect("known");
        state
            .credentials
            .create(&crate::common::operator(&scope), kind)
            .await
            .expect("credential")
    }

    /// A GET authenticated by a dialect's own header.
    pub async fn get_with_header(&self, path: &str, header: &str, value: &str) -> (u16, Value) {
        let res = self
            .http
            .get(format!("{}{path}", self.url))
            .header(header, value)
            .send()
            .await
            .expect("request");
        read(res).await
    }

    /// Creates a PKR payment with the shop's test key and returns it.
    pub async fn payment(&self, amount: &str) -> Value {
        let (status, body) = self
            .post(
                &self.shop.test_key,
                "/v1/payments",
                serde_json::json!({"amount": amount, "currency": "PKR"}),
            )
            .await;
        assert_eq!(status, 201, "{body}");
        body
    }

    /// The events written about one object, oldest first.
    pub async fn events_of(&self, key: &str, object_id: &str) -> Vec<Value> {
        let (status, body) = self
            .get(key, &format!("/v1/events?object={object_id}&limit=100"))
            .await;
        assert_eq!(status, 200, "{body}");
        let mut events = body["data"].as_array().cloned().unwrap_or_default();
        events.reverse();
        events
    }
}

pub async fn read(res: reqwest::Response) -> (u16, Value) {
    let status = res.status().as_u16();
    let text = res.text().await.expect("body");
    let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
    (status, body)
}

/// Pays a payment through the hosted checkout's card form, as a browser without JS would.
pub async fn pay_by_card(app: &TestApp, checkout_url: &str) -> reqwest::Response {
    pay_by_card_with(&app.http, checkout_url).await
}

/// `pay_by_card` with the given client, for servers a test runs without a `TestApp`.
pub async fn pay_by_card_with(http: &reqwest::Client, checkout_url: &str) -> reqwest::Response {
    let csrf = checkout_csrf(http, checkout_url).await;
    checkout_post(
        checkout_url,
        "card",
        &[
            ("csrf", csrf.as_str()),
            ("number", "4242424242424242"),
            ("expiry", "12/40"),
            ("cvc", "123"),
        ],
    )
    .await
}

/// Pays with a sandbox wallet (`jazzcash` or `easypaisa`): the number, then its one-time code.
pub async fn pay_by_wallet(app: &TestApp, checkout_url: &str, wallet: &str) -> reqwest::Response {
    let csrf = checkout_csrf(&app.http, checkout_url).await;
    let asked = checkout_post(
        checkout_url,
        "wallet",
        &[
            ("csrf", csrf.as_str()),
            ("wallet", wallet),
            ("phone", "03001234567"),
        ],
    )
    .await
    .text()
    .await
    .unwrap();
    let at = asked
        .find("name=\"attempt\" value=\"")
        .unwrap_or_else(|| panic!("an OTP form: {asked}"))
        + 22;
    let end = asked[at..].find('"').unwrap();
    let attempt = asked[at..at + end].to_string();
    checkout_post(
        checkout_url,
        "otp",
        &[
            ("csrf", csrf.as_str()),
            ("attempt", attempt.as_str()),
            ("otp", "123456"),
        ],
    )
    .await
}

async fn checkout_csrf(http: &reqwest::Client, checkout_url: &str) -> String {
    let page = http
        .get(checkout_url)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let at = page.find("name=\"csrf\" value=\"").unwrap() + 19;
    page[at..at + 64].to_string()
}

async fn checkout_post(
    checkout_url: &str,
    action: &str,
    form: &[(&str, &str)],
) -> reqwest::Response {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .post(format!("{checkout_url}/{action}"))
        .form(form)
        .send()
        .await
        .unwrap()
}

/// `hundi serve` as a child process; a server a test leaves running (or a failed test
/// abandons) is killed and reaped when dropped.
pub struct ChildServer {
    pub child: std::process::Child,
    pub url: String,
}

impl ChildServer {
    /// A `hundi serve` child listening on `port`, once it answers its health check.
    pub async fn healthy(child: std::process::Child, port: u16) -> ChildServer {
        let server = ChildServer {
            child,
            url: format!("http://127.0.0.1:{port}"),
        };
        wait_healthy(&server.url).await;
        server
    }
}

/// Waits until the server at `url` answers its health check (10 s at most).
pub async fn wait_healthy(url: &str) {
    let client = reqwest::Client::new();
    for _ in 0..200 {
        if let Ok(r) = client.get(format!("{url}/healthz")).send().await {
            if r.status().is_success() {
                return;
            }
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("{url} did not become healthy");
}

impl Drop for ChildServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The password of the dashboard users the tests add.
pub const PASSWORD: &str = "correct horse battery";

impl TestApp {
    /// Adds a dashboard user with `role` (and [`PASSWORD`]) to the shop, as the command line.
    /// Sets the shop's wallet numbers, as the command line.
    pub async fn set_wallets(&self, numbers: &[(hundi::domain::wallet::Wallet, &str)]) {
        let given: Vec<_> = numbers.iter().map(|(w, n)| (*w, Some(*n))).collect();
        let operator = hundi::service::access::Acting::cli(&self.shop.id, false);
        hundi::service::merchants::set_wallets(&*self.store, &operator, &given)
            .await
            .expect("wallet numbers");
    }

    /// Sets the shop's UPI id and payee name, as the command line.
    pub async fn set_upi(&self, upi_id: &str, name: &str) {
        let operator = hundi::service::access::Acting::cli(&self.shop.id, false);
        hundi::service::merchants::set_upi(&*self.store, &operator, Some(upi_id), Some(name))
            .await
            .expect("UPI id");
    }

    /// A page's HTML, as a browser without JavaScript gets it.
    pub async fn page_text(&self, url: &str) -> String {
        let res = self.http.get(url).send().await.expect("request");
        res.text().await.expect("body")
    }

    pub async fn add_user(
        &self,
        email: &str,
        role: hundi::domain::role::Role,
    ) -> hundi::domain::merchant::User {
        let operator = hundi::service::access::Acting::cli(&self.shop.id, false);
        hundi::service::users::create_user(&*self.store, &operator, email, PASSWORD, role)
            .await
            .expect("user")
    }
}

/// The operator (the command line) acting on a scope: allowed everything, recorded in the
/// audit log as the command line.
pub fn operator(scope: &hundi::store::Scope) -> hundi::service::access::Acting {
    hundi::service::access::Acting::cli(&scope.merchant_id, scope.livemode)
}
