//! Moving from SQLite to PostgreSQL, as an operator does it with the real binary: a server
//! takes payments on SQLite, is stopped, `hundi db copy --to postgres://…` copies the
//! database (every table, row for row and value for value), and a server started on the copy
//! (with the same master key) answers every read exactly as a server on the original does,
//! replays idempotent creates, goes on with the webhook retries that were due later and takes
//! new payments. A second copy into the filled database is refused.

use crate::common::receiver::Receiver;
use crate::common::{free_port, set_expiry, Backend, ChildServer, TestDb};
use crate::process::{hundi_on, key_file};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

/// The settings every server of this test runs with: webhooks may reach the receivers on
/// 127.0.0.1, and a failed delivery is retried once, an hour later (so a delivery that failed
/// before the copy is still due in the future when the copy starts).
const SERVER_ENV: &[(&str, &str)] = &[
    ("HUNDI_ALLOW_PRIVATE_WEBHOOKS", "1"),
    ("HUNDI_WEBHOOK_RETRY_SCHEDULE", "3600"),
    ("HUNDI_RATE_LIMIT", "100000"),
];

/// The CLI with the server's settings (a key's webhook URL on 127.0.0.1 is allowed).
fn cli(url: &str, key: &Path, args: &[&str]) -> Value {
    let out = Command::new(env!("CARGO_BIN_EXE_hundi"))
        .args(args)
        .env("HUNDI_DATABASE_URL", url)
        .env("HUNDI_MASTER_KEY_FILE", key)
        .envs(SERVER_ENV.iter().copied())
        .output()
        .expect("run hundi");
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(out.status.success(), "hundi {args:?} failed: {stderr}");
    serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("hundi {args:?} printed {stdout}: {e}"))
}

/// `hundi serve` on `url` at `port`, handing out links under `public_url`.
async fn serve(url: &str, key: &Path, port: u16, public_url: &str) -> ChildServer {
    let mut vars = SERVER_ENV.to_vec();
    vars.push(("HUNDI_PUBLIC_URL", public_url));
    crate::process::serve_with(url, key, port, &vars).await
}

/// Stops a server as an operator does (SIGTERM) and waits until it has exited cleanly.
fn stop(mut server: ChildServer) {
    let pid = server.child.id() as libc::pid_t;
    // SAFETY: sending a signal to our own child process.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGTERM) }, 0);
    let status = server.child.wait().expect("the server exits");
    assert!(status.success(), "exit status after SIGTERM: {status:?}");
}

fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(30))
        .build()
        .expect("client")
}

async fn text(req: reqwest::RequestBuilder) -> (u16, String) {
    let res = req.send().await.expect("request");
    let status = res.status().as_u16();
    (status, res.text().await.expect("body"))
}

fn parse(body: &str) -> Value {
    serde_json::from_str(body).unwrap_or_else(|e| panic!("not JSON ({e}): {body}"))
}

/// A server (the first part's, on the SQLite database `db`; later the copy's) and the
/// shop's key.
#[derive(Clone)]
struct Shop {
    http: reqwest::Client,
    url: String,
    key: String,
    db: String,
}

impl Shop {
    async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        let (status, body) = text(
            self.http
                .post(format!("{}{path}", self.url))
                .bearer_auth(&self.key)
                .json(&body),
        )
        .await;
        (status, parse(&body))
    }

    /// A POST with an `Idempotency-Key`; the raw body, to compare replays byte for byte.
    async fn post_idem(&self, path: &str, idem: &str, body: Value) -> (u16, String) {
        text(
            self.http
                .post(format!("{}{path}", self.url))
                .bearer_auth(&self.key)
                .header("Idempotency-Key", idem)
                .json(&body),
        )
        .await
    }

    async fn get(&self, path: &str) -> Value {
        let (status, body) = text(
            self.http
                .get(format!("{}{path}", self.url))
                .bearer_auth(&self.key),
        )
        .await;
        assert_eq!(status, 200, "GET {path}: {body}");
        parse(&body)
    }

    /// A dialect's create, which answers 200 with a JSON body.
    async fn dialect(&self, req: reqwest::RequestBuilder) -> Value {
        let (status, body) = text(req).await;
        assert_eq!(status, 200, "{body}");
        parse(&body)
    }

    async fn checkout_url(&self, id: &str) -> String {
        self.get(&format!("/v1/payments/{id}")).await["checkout_url"]
            .as_str()
            .unwrap()
            .to_string()
    }

    async fn payment(&self, body: Value) -> String {
        let (status, p) = self.post("/v1/payments", body).await;
        assert_eq!(status, 201, "{p}");
        p["id"].as_str().unwrap().to_string()
    }

    async fn pkr(&self, amount: &str, reference: &str) -> String {
        self.payment(json!({"amount": amount, "currency": "PKR", "reference": reference}))
            .await
    }

    async fn act(&self, id: &str, action: &str) {
        let path = match action {
            "cancel" => format!("/v1/payments/{id}/cancel"),
            other => format!("/v1/test/payments/{id}/{other}"),
        };
        let (status, p) = self.post(&path, json!({})).await;
        assert_eq!(status, 200, "{action} {id}: {p}");
    }

    async fn refund(&self, id: &str, amount: Option<&str>) -> String {
        let mut body = json!({"payment": id});
        if let Some(a) = amount {
            body["amount"] = json!(a);
        }
        let (status, r) = self.post("/v1/refunds", body).await;
        assert_eq!(status, 201, "{r}");
        r["id"].as_str().unwrap().to_string()
    }

    async fn status_of(&self, id: &str) -> String {
        self.get(&format!("/v1/payments/{id}")).await["status"]
            .as_str()
            .unwrap()
            .to_string()
    }

    /// A form posted to the hosted checkout of `checkout`, as a browser without JS does.
    async fn checkout(&self, checkout: &str, action: &str, form: &[(&str, &str)]) -> (u16, String) {
        let (status, page) = text(self.http.get(checkout)).await;
        assert_eq!(status, 200, "{page}");
        let csrf = field_value(&page, "csrf");
        let mut form: Vec<(&str, &str)> = form.to_vec();
        form.push(("csrf", &csrf));
        text(self.http.post(format!("{checkout}/{action}")).form(&form)).await
    }

    async fn card(&self, checkout: &str, number: &str) -> u16 {
        self.checkout(
            checkout,
            "card",
            &[("number", number), ("expiry", "12/40"), ("cvc", "123")],
        )
        .await
        .0
    }

    /// Pays with a sandbox JazzCash wallet: the number, then its one-time code.
    async fn wallet(&self, checkout: &str) -> u16 {
        let (_, asked) = self
            .checkout(
                checkout,
                "wallet",
                &[("wallet", "jazzcash"), ("phone", "03001234567")],
            )
            .await;
        let attempt = field_value(&asked, "attempt");
        self.checkout(checkout, "otp", &[("attempt", &attempt), ("otp", "123456")])
            .await
            .0
    }
}

/// The value of the hidden form field `name` in a page.
fn field_value(page: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let at = page
        .find(&marker)
        .unwrap_or_else(|| panic!("no {name} field: {page}"))
        + marker.len();
    let end = page[at..].find('"').unwrap();
    page[at..at + end].to_string()
}

/// The tables of the SQLite database (not SQLite's own, not the migrations' bookkeeping).
async fn sqlite_tables(url: &str) -> Vec<String> {
    let pool = sqlx::SqlitePool::connect(url).await.expect("open SQLite");
    let names = sqlx::query_scalar(
        "SELECT name FROM sqlite_master WHERE type = 'table' \
         AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '_sqlx%' ORDER BY name",
    )
    .fetch_all(&pool)
    .await
    .expect("tables");
    pool.close().await;
    names
}

async fn postgres_tables(url: &str) -> Vec<String> {
    let pool = sqlx::PgPool::connect(url).await.expect("open PostgreSQL");
    let names = sqlx::query_scalar(
        "SELECT table_name::text FROM information_schema.tables WHERE table_schema = 'public' \
         AND table_type = 'BASE TABLE' AND table_name NOT LIKE '\\_sqlx%' ORDER BY 1",
    )
    .fetch_all(&pool)
    .await
    .expect("tables");
    pool.close().await;
    names
}

/// Rows per table, counted in the database itself.
async fn row_counts(url: &str, tables: &[String]) -> BTreeMap<String, i64> {
    let mut counts = BTreeMap::new();
    if url.starts_with("postgres") {
        let pool = sqlx::PgPool::connect(url).await.expect("open PostgreSQL");
        for t in tables {
            let n: i64 = sqlx::query_scalar(&format!("SELECT COUNT(*) FROM {t}"))
                .fetch_one(&pool)
                .await
                .unwrap_or_else(|e| panic!("count {t}: {e}"));
            counts.insert(t.clone(), n);
        }
        pool.close().await;
    } else {
        let pool = sqlx::SqlitePool::connect(url).await.expect("open SQLite");
        for t in tables {
            let n: i64 = sqlx::query_scalar(&format!("SELECT COUNT(*) FROM {t}"))
                .fetch_one(&pool)
                .await
                .unwrap_or_else(|e| panic!("count {t}: {e}"));
            counts.insert(t.clone(), n);
        }
        pool.close().await;
    }
    counts
}

/// Every row of `table`, each value rendered the same way for both backends (a time as
/// microseconds since the epoch, a boolean as 0 or 1, bytes as hex), rows sorted. The
/// PostgreSQL column types (`columns`: name and `data_type`) say how to read each value.
async fn table_rows(url: &str, table: &str, columns: &[(String, String)]) -> Vec<String> {
    fn show<T: std::fmt::Debug>(v: Result<Option<T>, sqlx::Error>) -> Result<String, sqlx::Error> {
        v.map(|v| v.map_or("NULL".into(), |v| format!("{v:?}")))
    }
    let select = |expr: &dyn Fn(&str, &str) -> String| {
        let list: Vec<String> = columns.iter().map(|(c, t)| expr(c, t)).collect();
        format!("SELECT {} FROM {table}", list.join(", "))
    };
    let mut rows: Vec<String> = Vec::new();
    if url.starts_with("postgres") {
        use sqlx::Row;
        let pool = sqlx::PgPool::connect(url).await.expect("open PostgreSQL");
        let sql = select(&|c, t| match t {
            "integer" | "smallint" => format!("{c}::bigint"),
            "real" => format!("{c}::float8"),
            _ => c.to_string(),
        });
        for row in sqlx::query(&sql).fetch_all(&pool).await.expect(&sql) {
            let values: Vec<String> = columns
                .iter()
                .enumerate()
                .map(|(i, (c, t))| {
                    let value = match t.as_str() {
                        "timestamp with time zone" => show(
                            row.try_get::<Option<chrono::DateTime<chrono::Utc>>, _>(i)
                                .map(|v| v.map(|t| t.timestamp_micros())),
                        ),
                        "boolean" => {
                            show(row.try_get::<Option<bool>, _>(i).map(|v| v.map(i64::from)))
                        }
                        "integer" | "smallint" | "bigint" => show(row.try_get::<Option<i64>, _>(i)),
                        "real" | "double precision" => show(row.try_get::<Option<f64>, _>(i)),
                        "bytea" => show(
                            row.try_get::<Option<Vec<u8>>, _>(i)
                                .map(|v| v.map(hex::encode)),
                        ),
                        _ => show(row.try_get::<Option<String>, _>(i)),
                    };
                    value.unwrap_or_else(|e| panic!("{table}.{c} ({t}): {e}"))
                })
                .collect();
            rows.push(values.join(" | "));
        }
        pool.close().await;
    } else {
        use sqlx::Row;
        let pool = sqlx::SqlitePool::connect(url).await.expect("open SQLite");
        let sql = select(&|c, _| c.to_string());
        for row in sqlx::query(&sql).fetch_all(&pool).await.expect(&sql) {
            let values: Vec<String> = columns
                .iter()
                .enumerate()
                .map(|(i, (c, t))| {
                    let value = match t.as_str() {
                        "timestamp with time zone"
                        | "boolean"
                        | "integer"
                        | "smallint"
                        | "bigint" => show(row.try_get::<Option<i64>, _>(i)),
                        "real" | "double precision" => show(row.try_get::<Option<f64>, _>(i)),
                        "bytea" => show(
                            row.try_get::<Option<Vec<u8>>, _>(i)
                                .map(|v| v.map(hex::encode)),
                        ),
                        _ => show(row.try_get::<Option<String>, _>(i)),
                    };
                    value.unwrap_or_else(|e| panic!("{table}.{c} ({t}): {e}"))
                })
                .collect();
            rows.push(values.join(" | "));
        }
        pool.close().await;
    }
    rows.sort();
    rows
}

/// Every table of the original is in the copy row for row, value for value.
async fn assert_same_rows(sqlite: &str, postgres: &str, tables: &[String]) {
    let pg = sqlx::PgPool::connect(postgres)
        .await
        .expect("open PostgreSQL");
    for table in tables {
        let columns: Vec<(String, String)> = sqlx::query_as(
            "SELECT column_name::text, data_type::text FROM information_schema.columns \
             WHERE table_schema = 'public' AND table_name = $1 ORDER BY ordinal_position",
        )
        .bind(table)
        .fetch_all(&pg)
        .await
        .expect("columns");
        let original = table_rows(sqlite, table, &columns).await;
        let copied = table_rows(postgres, table, &columns).await;
        if let Some((a, b)) = original.iter().zip(&copied).find(|(a, b)| a != b) {
            let names: Vec<&str> = columns.iter().map(|(c, _)| c.as_str()).collect();
            panic!(
                "{table} ({}) differs in the copy:\n  original: {a}\n  copy:     {b}",
                names.join(" | ")
            );
        }
        assert_eq!(original.len(), copied.len(), "{table}: rows");
    }
    pg.close().await;
}

/// Waits (up to 15 s) until no webhook delivery of the SQLite database is due: every one has
/// been attempted, and those that failed wait for their retry.
async fn until_no_delivery_is_due(url: &str) {
    let pool = sqlx::SqlitePool::connect(url).await.expect("open SQLite");
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let due: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM webhook_deliveries WHERE status = 'pending' \
             AND next_attempt_at <= $1",
        )
        .bind(chrono::Utc::now().timestamp_micros())
        .fetch_one(&pool)
        .await
        .expect("count due deliveries");
        if due == 0 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{due} deliveries are still due after 15 s"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    pool.close().await;
}

/// The checkout page with its countdown (the seconds left until the payment expires, computed
/// when the page is rendered) taken out; `data-expires-at`, the instant itself, stays.
fn without_countdown(page: &str) -> String {
    let countdown = regex::Regex::new(r#"(<span id="countdown"[^>]*>)[^<]*(</span>)"#).unwrap();
    countdown.replace_all(page, "${1}${2}").into_owned()
}

/// A server on the original and one on the copy, asked the same things.
struct Both {
    http: reqwest::Client,
    original: String,
    copy: String,
    compared: usize,
}

impl Both {
    /// Sends the request `make` builds to both servers; the two answers must be identical,
    /// status and body byte for byte, and a success. Returns the body.
    async fn same(
        &mut self,
        what: &str,
        make: impl Fn(&reqwest::Client, &str) -> reqwest::RequestBuilder,
    ) -> String {
        self.same_as(what, 200, |body| body.to_string(), make).await
    }

    /// As `same`, expecting `status`, and comparing the bodies after `normalize`.
    async fn same_as(
        &mut self,
        what: &str,
        status: u16,
        normalize: impl Fn(&str) -> String,
        make: impl Fn(&reqwest::Client, &str) -> reqwest::RequestBuilder,
    ) -> String {
        let (a_status, a_body) = text(make(&self.http, &self.original)).await;
        let (b_status, b_body) = text(make(&self.http, &self.copy)).await;
        assert_eq!(a_status, status, "{what} on the original: {a_body}");
        assert_eq!(
            (b_status, normalize(&b_body)),
            (a_status, normalize(&a_body)),
            "{what}: the copy answers otherwise than the original"
        );
        self.compared += 1;
        a_body
    }

    /// A native GET with the API key.
    async fn native(&mut self, key: &str, path: &str) -> Value {
        let body = self
            .same(&format!("GET {path}"), |http, base| {
                http.get(format!("{base}{path}")).bearer_auth(key)
            })
            .await;
        parse(&body)
    }

    /// Every page of a native list (`path` has its query), compared page by page; returns
    /// every item.
    async fn native_pages(&mut self, key: &str, path: &str) -> Vec<Value> {
        let mut all = Vec::new();
        let mut page_path = path.to_string();
        loop {
            let page = self.native(key, &page_path).await;
            let data = page["data"].as_array().expect("a list").clone();
            all.extend(data.iter().cloned());
            if page["has_more"] != json!(true) {
                return all;
            }
            let last = data.last().expect("has_more with no data")["id"]
                .as_str()
                .unwrap()
                .to_string();
            page_path = format!("{path}&starting_after={last}");
        }
    }
}

/// The scenario: build a SQLite database with a running server, stop it, copy, compare.
const EMAIL: &str = "owner@copy.example";
const PASSWORD: &str = "a long enough password 1";

/// What the operator sets up with the CLI before the server starts.
struct Setup {
    /// The key of the shop's back end (every permission).
    key: String,
    /// The key of the dialects' plugins; its webhook URL is a receiver answering 200.
    plugin: String,
    xpay_account: String,
    xpay_hmac: String,
    waypay_secret: String,
}

/// A merchant, its two keys, every dialect credential, a UPI id and a dashboard login.
fn set_up(db: &str, master: &Path, hook: &str) -> Setup {
    let merchant = cli(
        db,
        master,
        &["merchant", "create", "--name", "Copy Shop", "--json"],
    );
    let m = merchant["id"].as_str().unwrap();
    let secret = |created: Value| created["secret"].as_str().unwrap().to_string();
    let key = secret(cli(
        db,
        master,
        &[
            "key",
            "create",
            "--merchant",
            m,
            "--label",
            "shop",
            "--json",
        ],
    ));
    let plugin = secret(cli(
        db,
        master,
        &[
            "key",
            "create",
            "--merchant",
            m,
            "--label",
            "plugins",
            "--webhook-url",
            hook,
            "--json",
        ],
    ));
    let credential = |name: &str| {
        cli(
            db,
            master,
            &["credential", "create", name, "--merchant", m, "--json"],
        )
    };
    credential("pakhipay_callback");
    credential("xpay_webhook");
    credential("kazawallet");
    let xpay = credential("xpay_hmac");
    let waypay = credential("waypay");
    cli(
        db,
        master,
        &[
            "merchant",
            "set-upi",
            "--merchant",
            m,
            "--upi-id",
            "shop@okaxis",
            "--upi-name",
            "Copy Shop",
            "--json",
        ],
    );
    // A mailbox nobody answers for: its sealed password and its reader's error are copied.
    cli(
        db,
        master,
        &[
            "inbox",
            "set",
            "--merchant",
            m,
            "--host",
            "127.0.0.1",
            "--port",
            "9",
            "--user",
            "shop",
            "--password",
            "mail secret",
            "--senders",
            "alerts@hdfcbank.net",
            "--json",
        ],
    );
    cli(
        db,
        master,
        &[
            "user",
            "create",
            "--merchant",
            m,
            "--email",
            EMAIL,
            "--password",
            PASSWORD,
            "--json",
        ],
    );
    Setup {
        key,
        plugin,
        xpay_account: xpay["public_id"].as_str().unwrap().to_string(),
        xpay_hmac: xpay["secret"].as_str().unwrap().to_string(),
        waypay_secret: waypay["secret"].as_str().unwrap().to_string(),
    }
}

/// A create sent with an `Idempotency-Key`, and its answer, to retry after the move.
struct Replay {
    path: &'static str,
    idem: &'static str,
    body: Value,
    answer: String,
}

/// What the first server left in the database.
#[derive(Default)]
struct Taken {
    /// Every payment, with the status it must have.
    statuses: Vec<(String, &'static str)>,
    refunds: Vec<String>,
    replays: Vec<Replay>,
    /// Pakhi Pay transactions and their amounts (its verify names both).
    pakhipay: Vec<(String, &'static str)>,
    paygate: Vec<String>,
    xpay: String,
    /// Waypay's order references (its transactions are read by them).
    waypay: Vec<&'static str>,
    failing_endpoint: String,
    /// The dashboard session's cookie value.
    session: String,
}

impl Taken {
    fn id(&self, status: &str) -> &str {
        &self
            .statuses
            .iter()
            .find(|(_, s)| *s == status)
            .unwrap_or_else(|| panic!("no {status} payment"))
            .0
    }

    async fn replay(
        &mut self,
        shop: &Shop,
        path: &'static str,
        idem: &'static str,
        body: Value,
    ) -> Value {
        let (status, answer) = shop.post_idem(path, idem, body.clone()).await;
        assert_eq!(status, 201, "POST {path}: {answer}");
        let parsed = parse(&answer);
        self.replays.push(Replay {
            path,
            idem,
            body,
            answer,
        });
        parsed
    }
}

/// Webhook endpoints, native payments in every status, refunds and UPI credits.
async fn take_native_payments(shop: &Shop, taken: &mut Taken, good: &str, failing: &str) {
    // Two endpoints for every event: one receiver answers 200, the other 500 (its deliveries
    // then wait an hour for their retry).
    taken
        .replay(
            shop,
            "/v1/webhook_endpoints",
            "endpoint-good",
            json!({"url": good, "events": ["*"]}),
        )
        .await;
    let (status, endpoint) = shop
        .post(
            "/v1/webhook_endpoints",
            json!({"url": failing, "events": ["*"], "description": "answers 500"}),
        )
        .await;
    assert_eq!(status, 201, "{endpoint}");
    taken.failing_endpoint = endpoint["id"].as_str().unwrap().to_string();

    let pending = taken
        .replay(
            shop,
            "/v1/payments",
            "order-pending",
            json!({
                "amount": "1250.00", "currency": "PKR", "reference": "order-pending",
                "description": "Two kilos of mangoes",
                "customer": {"name": "Ayesha Khan", "email": "ayesha@example.com", "phone": "03001234567"},
                "metadata": {"cart": "7", "note": "ünïcode ✓"},
                "success_url": "https://shop.example/ok", "cancel_url": "https://shop.example/no",
            }),
        )
        .await;
    taken
        .statuses
        .push((pending["id"].as_str().unwrap().to_string(), "pending"));

    // Paid on the hosted checkout (payment attempts): a card declined, then one that pays;
    // a wallet with its one-time code.
    let by_card = shop.pkr("300.00", "order-card").await;
    let checkout = shop.checkout_url(&by_card).await;
    assert_ne!(
        shop.card(&checkout, "4000000000000002").await,
        303,
        "declined"
    );
    assert_eq!(shop.card(&checkout, "4242424242424242").await, 303);
    taken.statuses.push((by_card, "succeeded"));
    let by_wallet = shop.pkr("310.00", "order-wallet").await;
    let checkout = shop.checkout_url(&by_wallet).await;
    assert_eq!(shop.wallet(&checkout).await, 303);
    taken.statuses.push((by_wallet, "succeeded"));

    let canceled = shop.pkr("320.00", "order-canceled").await;
    shop.act(&canceled, "cancel").await;
    taken.statuses.push((canceled, "canceled"));
    let failed = shop.pkr("330.00", "order-failed").await;
    shop.act(&failed, "fail").await;
    taken.statuses.push((failed, "failed"));

    let partly = shop.pkr("340.00", "order-partly").await;
    shop.act(&partly, "succeed").await;
    let refund = taken
        .replay(
            shop,
            "/v1/refunds",
            "refund-partly",
            json!({"payment": partly, "amount": "40.00", "reason": "one box was damaged"}),
        )
        .await;
    taken
        .refunds
        .push(refund["id"].as_str().unwrap().to_string());
    taken.statuses.push((partly, "partially_refunded"));
    let refunded = shop.pkr("350.00", "order-refunded").await;
    shop.act(&refunded, "succeed").await;
    taken
        .refunds
        .push(shop.refund(&refunded, Some("50.00")).await);
    taken.refunds.push(shop.refund(&refunded, None).await);
    taken.statuses.push((refunded, "refunded"));

    // Overdue: the server's expiry worker expires it (checked before the server stops).
    let expired = shop.pkr("360.00", "order-expired").await;
    set_expiry(
        &shop.db,
        &expired,
        chrono::Utc::now() - chrono::Duration::seconds(5),
    )
    .await;
    taken.statuses.push((expired, "expired"));

    // UPI: a payment completed by a bank credit (recorded idempotently), and a credit that
    // matches nothing.
    let upi = shop
        .payment(json!({"amount": "500.00", "currency": "INR", "methods": ["upi"], "reference": "order-upi"}))
        .await;
    let payable = shop.get(&format!("/v1/payments/{upi}")).await["upi"]["payable_amount"].clone();
    let credit = taken
        .replay(
            shop,
            "/v1/credits",
            "credit-upi",
            json!({"utr": "410512345678", "amount": payable, "payer": "ayesha@okicici"}),
        )
        .await;
    assert_eq!(credit["payment"]["id"], json!(upi), "{credit}");
    taken.statuses.push((upi, "succeeded"));
    let (status, stray) = shop
        .post(
            "/v1/credits",
            json!({"utr": "410512345679", "amount": "12.34"}),
        )
        .await;
    assert_eq!(status, 201, "{stray}");
    assert_eq!(stray["payment"], Value::Null, "{stray}");
}

/// A payment through each of the five dialects, with the plugins' key.
async fn take_dialect_payments(shop: &Shop, setup: &Setup, taken: &mut Taken, hook: &str) {
    let plugin = setup.plugin.as_str();
    // Pakhi Pay: one paid on the checkout (its callback to `hook`), one pending.
    for (amount, paid) in [("100.00", true), ("75.50", false)] {
        let mut body = json!({
            "cus_name": "Rahim", "cus_email": "rahim@example.com", "amount": amount,
            "success_url": "https://shop.example/ok", "cancel_url": "https://shop.example/no",
            "order_id": format!("PK{amount}"),
        });
        if paid {
            body["callback_url"] = json!(hook);
        }
        let created = shop
            .dialect(
                shop.http
                    .post(format!("{}/api/request/payment/create/", shop.url))
                    .header("api-key", plugin)
                    .json(&body),
            )
            .await;
        let id = created["transaction_id"].as_str().unwrap().to_string();
        if paid {
            let checkout = shop.checkout_url(&id).await;
            assert_eq!(shop.card(&checkout, "4242424242424242").await, 303);
        }
        let status = if paid { "succeeded" } else { "pending" };
        taken.statuses.push((id.clone(), status));
        taken.pakhipay.push((id, amount));
    }

    // PayGate (UPI, INR): one session paid by a bank credit, one pending.
    for (amount, reference) in [(200, "PG-1"), (210, "PG-2")] {
        let created = shop
            .dialect(
                shop.http
                    .post(format!("{}/api/v1/create-payment", shop.url))
                    .header("X-API-Key", plugin)
                    .json(&json!({
                        "amount": amount, "customer_name": "John Doe",
                        "customer_email": "john@example.com", "merchant_ref": reference,
                        "metadata": {"order_id": reference, "qty": 2, "price": 49.5, "coupon": null},
                    })),
            )
            .await;
        let session = created["payment"].clone();
        let id = session["session_id"].as_str().unwrap().to_string();
        if amount == 200 {
            let payable = format!("{:.2}", session["payable_amount"].as_f64().unwrap());
            let (status, paid) = shop
                .post(
                    "/v1/credits",
                    json!({"utr": "103100084802", "amount": payable}),
                )
                .await;
            assert_eq!(status, 201, "{paid}");
            assert_eq!(paid["payment"]["id"], json!(id), "{paid}");
            taken.statuses.push((id.clone(), "succeeded"));
        } else {
            taken.statuses.push((id.clone(), "pending"));
        }
        taken.paygate.push(id);
    }

    // XPay: a signed checkout paid by card (its webhook to the plugins' key URL).
    let raw = r#"{"amount":"150.00","currency":"PKR","customer":{"name":"Zo\u00eb","email":"z@example.com"},"shipping":{"address1":"12\/B Gulberg","city":"Lahore"},"metadata":{"order_reference":1042},"payment_method_types":["card"],"success_url":"https:\/\/shop.example\/ok"}"#;
    let canonical = hundi::dialects::js_json::canonicalize(raw).unwrap();
    let signature =
        hundi::dialects::signing::hmac_sha256_hex(setup.xpay_hmac.as_bytes(), canonical.as_bytes());
    let created = shop
        .dialect(
            shop.http
                .post(format!("{}/public/v1/payment/checkout", shop.url))
                .header("x-api-key", plugin)
                .header("x-account-id", &setup.xpay_account)
                .header("x-signature", signature)
                .header("content-type", "application/json")
                .body(raw),
        )
        .await;
    taken.xpay = created["data"]["_id"].as_str().unwrap().to_string();
    let checkout = created["data"]["checkout_page_url"].as_str().unwrap();
    assert_eq!(shop.card(checkout, "4242424242424242").await, 303);
    taken.statuses.push((taken.xpay.clone(), "succeeded"));

    // Waypay: two checkouts; one completed (its webhook to callbackUrl), one pending.
    for reference in ["WP1", "WP2"] {
        let mut body = json!({
            "amount": 1000, "currency": "PKR", "description": "Product Purchase",
            "orderRef": {"orderRef": reference, "discount": "10", "tax": "15"},
            "intentType": "checkout", "callbackUrl": hook,
        });
        let signature =
            hundi::dialects::signing::waypay_signatures(&body.to_string(), &setup.waypay_secret)[0]
                .clone();
        body["signature"] = json!(signature);
        let created = shop
            .dialect(
                shop.http
                    .post(format!("{}/Gateway/v1/Payment/initiate-checkout", shop.url))
                    .header("SWICH-API-Key", plugin)
                    .json(&body),
            )
            .await;
        let id = created["paymentIntentId"].as_str().unwrap().to_string();
        if reference == "WP1" {
            shop.act(&id, "succeed").await;
            taken.statuses.push((id, "succeeded"));
        } else {
            taken.statuses.push((id, "pending"));
        }
        taken.waypay.push(reference);
    }

    // Kazawallet: a link, fulfilled (its one webhook to the plugins' key URL).
    let created = shop
        .dialect(
            shop.http
                .post(format!("{}/wallet/createPaymentLink", shop.url))
                .header("x-api-key", plugin)
                .json(&json!({
                    "amount": "150.00", "currency": "USD", "email": "customer@example.com",
                    "redirectUrl": "https://shop.example/whmcs/viewinvoice.php?id=7",
                })),
        )
        .await;
    let id = created["id"].as_str().unwrap().to_string();
    shop.act(&id, "succeed").await;
    taken.statuses.push((id, "succeeded"));
}

/// Signs in to the dashboard: a wrong password first (counted by the sign-in throttle),
/// then the right one. Returns the session cookie's value.
async fn sign_in(shop: &Shop) -> String {
    let attempt = |password: &str| {
        shop.http
            .post(format!("{}/dashboard/login", shop.url))
            .header("Cookie", "hundi_login=form-token")
            .form(&[
                ("email", EMAIL),
                ("password", password),
                ("csrf", "form-token"),
            ])
    };
    assert_eq!(text(attempt("not the password")).await.0, 401);
    let res = attempt(PASSWORD).send().await.unwrap();
    assert_eq!(res.status().as_u16(), 303);
    res.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|v| v.strip_prefix("hundi_session="))
        .and_then(|v| v.split(';').next())
        .expect("a session cookie")
        .to_string()
}

/// The text after `marker` in a page, up to the next quote or tag.
fn value_after(body: &str, marker: &str) -> String {
    let at = body
        .find(marker)
        .unwrap_or_else(|| panic!("{marker} in {body}"))
        + marker.len();
    body[at..at + body[at..].find(['"', '<']).unwrap()].to_string()
}

/// A dashboard page's HTML and its CSRF token, with the session's cookie.
async fn dashboard_page(shop: &Shop, cookie: &str, path: &str) -> (String, String) {
    let res = shop
        .http
        .get(format!("{}{path}", shop.url))
        .header("Cookie", cookie)
        .send()
        .await
        .unwrap();
    let body = res.text().await.unwrap();
    let csrf = value_after(&body, "name=\"csrf\" value=\"");
    (body, csrf)
}

/// Turns on the signed-in user's two-factor sign-in (its sealed secret and hashed recovery
/// codes are rows the copy must carry).
async fn turn_on_two_factor(shop: &Shop, session: &str) {
    let cookie = format!("hundi_session={session}");
    let page = |res: reqwest::Response| async { res.text().await.unwrap() };
    let (_, csrf) = dashboard_page(shop, &cookie, "/dashboard/settings").await;
    let post = |path: &str, form: Vec<(&str, String)>| {
        shop.http
            .post(format!("{}{path}", shop.url))
            .header("Cookie", &cookie)
            .form(&form)
            .send()
    };
    let setup = page(
        post("/dashboard/two-factor/setup", vec![("csrf", csrf.clone())])
            .await
            .unwrap(),
    )
    .await;
    let secret = value_after(&setup, "data-testid=\"two-factor-secret\">");
    let step = hundi::domain::second_factor::step_of(chrono::Utc::now().timestamp());
    let code = hundi::domain::second_factor::code_at(&secret, step).unwrap();
    let done = post(
        "/dashboard/two-factor/confirm",
        vec![("csrf", csrf), ("code", code)],
    )
    .await
    .unwrap();
    assert_eq!(done.status().as_u16(), 200);
}

/// Adds an SMS forwarding phone in the dashboard and forwards one SMS through it (an OTP,
/// which records nothing): the device and the body it sent are rows the copy must carry.
async fn forward_an_sms(shop: &Shop, session: &str) {
    let cookie = format!("hundi_session={session}");
    let (_, csrf) = dashboard_page(shop, &cookie, "/dashboard/sms").await;
    let added = shop
        .http
        .post(format!("{}/dashboard/sms", shop.url))
        .header("Cookie", &cookie)
        .form(&[("csrf", csrf.as_str()), ("name", "Shop phone")])
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let token = value_after(&added, "data-testid=\"secret-value\">");
    let now = chrono::Utc::now().timestamp_millis();
    let (status, body) = text(
        shop.http
            .post(format!("{}/v1/credits/sms", shop.url))
            .bearer_auth(token)
            .json(&json!({"from": "bKash", "text": "Your verification code is 123456", "receivedStamp": now})),
    )
    .await;
    assert_eq!(status, 200, "{body}");
}

/// Waits until the server has done what it does on its own: the overdue payment expired
/// (with its event), every webhook delivery attempted. Then every payment is as planned.
async fn until_settled(shop: &Shop, taken: &Taken) {
    let expired = taken.id("expired");
    let deadline = Instant::now() + Duration::from_secs(10);
    while !shop.get(&format!("/v1/events?object={expired}")).await["data"]
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e["type"] == "payment.expired")
    {
        assert!(Instant::now() < deadline, "{expired} was never expired");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    until_no_delivery_is_due(&shop.db).await;
    for (id, want) in &taken.statuses {
        assert_eq!(shop.status_of(id).await, *want, "{id}");
    }
}

/// Deliveries to `endpoint` waiting for a retry due in more than 30 minutes.
async fn waiting_deliveries(db: &str, endpoint: &str) -> i64 {
    let pool = sqlx::SqlitePool::connect(db).await.unwrap();
    let n = sqlx::query_scalar(
        "SELECT COUNT(*) FROM webhook_deliveries WHERE status = 'pending' \
         AND endpoint_id = $1 AND next_attempt_at > $2",
    )
    .bind(endpoint)
    .bind((chrono::Utc::now() + chrono::Duration::minutes(30)).timestamp_micros())
    .fetch_one(&pool)
    .await
    .unwrap();
    pool.close().await;
    n
}

/// Every native read, each dialect's reads, the hosted checkout and the dashboard, on both
/// servers; then the idempotent creates retried.
async fn compare_reads(both: &mut Both, setup: &Setup, taken: &Taken, events_in_db: i64) {
    let k = setup.key.as_str();
    let payments = both.native_pages(k, "/v1/payments?limit=100").await;
    assert_eq!(
        payments.len(),
        taken.statuses.len(),
        "every payment is listed"
    );
    both.native_pages(k, "/v1/payments?limit=4").await;
    let statuses: std::collections::BTreeSet<&str> =
        taken.statuses.iter().map(|(_, s)| *s).collect();
    assert_eq!(statuses.len(), 7, "a payment in every status");
    for status in statuses {
        let listed = both
            .native_pages(k, &format!("/v1/payments?limit=100&status={status}"))
            .await;
        assert!(!listed.is_empty(), "no {status} payment listed");
    }
    both.native(k, "/v1/payments?reference=order-pending").await;
    for p in &payments {
        let id = p["id"].as_str().unwrap();
        both.native(k, &format!("/v1/payments/{id}")).await;
        both.native(k, &format!("/v1/events?object={id}&limit=100"))
            .await;
        // The hosted checkout (a payment form, or a receipt). Its CSRF token is an HMAC
        // under the instance's secret, so it is the same on both only if that secret was
        // copied. The countdown is computed when the page renders: it is left out.
        let page = both
            .same_as(
                &format!("GET /pay/{id}"),
                200,
                without_countdown,
                |http, base| http.get(format!("{base}/pay/{id}")),
            )
            .await;
        if p["status"] == "pending" {
            assert!(page.contains("name=\"csrf\""), "{page}");
        }
        both.same(&format!("GET /pay/{id}/status"), |http, base| {
            http.get(format!("{base}/pay/{id}/status"))
        })
        .await;
    }
    for id in &taken.refunds {
        both.native(k, &format!("/v1/refunds/{id}")).await;
    }
    let events = both.native_pages(k, "/v1/events?limit=100").await;
    assert_eq!(events.len() as i64, events_in_db, "every event is listed");
    both.native_pages(k, "/v1/events?limit=7").await;
    both.native_pages(k, "/v1/events?limit=100&type=payment.succeeded")
        .await;
    let mut attempts = 0;
    for e in &events {
        let id = e["id"].as_str().unwrap();
        both.native(k, &format!("/v1/events/{id}")).await;
        let deliveries = both
            .native_pages(k, &format!("/v1/events/{id}/deliveries?limit=100"))
            .await;
        attempts += deliveries
            .iter()
            .map(|d| d["attempts"].as_array().unwrap().len())
            .sum::<usize>();
    }
    assert!(attempts > 0, "no delivery attempt was compared");
    let credits = both.native_pages(k, "/v1/credits?limit=100").await;
    assert_eq!(credits.len(), 3);
    both.native_pages(k, "/v1/credits?limit=100&matched=false")
        .await;
    for c in &credits {
        both.native(k, &format!("/v1/credits/{}", c["id"].as_str().unwrap()))
            .await;
    }
    let endpoints = both
        .native_pages(k, "/v1/webhook_endpoints?limit=100")
        .await;
    // The two created here and the plugins' key's webhook URL.
    assert_eq!(endpoints.len(), 3, "{endpoints:?}");
    for e in &endpoints {
        both.native(
            k,
            &format!("/v1/webhook_endpoints/{}", e["id"].as_str().unwrap()),
        )
        .await;
    }

    // Each dialect's own reads of its payments, with the plugins' key.
    let p = setup.plugin.as_str();
    for (id, amount) in &taken.pakhipay {
        let verify = both
            .same(&format!("Pakhi Pay verify {id}"), |http, base| {
                http.post(format!("{base}/api/request/payment/verify/"))
                    .header("api-key", p)
                    .json(&json!({"transaction_id": id, "amount": amount}))
            })
            .await;
        assert_ne!(parse(&verify)["message"], "not found", "{verify}");
    }
    for id in &taken.paygate {
        both.same(&format!("PayGate session {id}"), |http, base| {
            http.get(format!("{base}/api/v1/payment/{id}"))
                .header("X-API-Key", p)
        })
        .await;
    }
    for query in ["", "?status=pending", "?status=success&limit=1"] {
        both.same(&format!("PayGate payments{query}"), |http, base| {
            http.get(format!("{base}/api/v1/payments{query}"))
                .header("X-API-Key", p)
        })
        .await;
    }
    let xpay = &taken.xpay;
    both.same(&format!("XPay intent {xpay}"), |http, base| {
        http.get(format!("{base}/public/v1/payment/intent/details/{xpay}"))
            .header("x-api-key", p)
            .header("x-account-id", &setup.xpay_account)
    })
    .await;
    for reference in &taken.waypay {
        both.same(&format!("Waypay transaction {reference}"), |http, base| {
            http.get(format!("{base}/Gateway/v1/Transaction/by-ref/{reference}"))
                .header("SWICH-API-Key", p)
        })
        .await;
    }
    // Kazawallet has no read of its own: its link is read natively above.

    // The dashboard session signed in on the original is a session on the copy. (The
    // overview, which counts "today", and the keys page, whose request counts each server
    // updates as it is used, are not compared.)
    let cookie = format!("hundi_session={}", taken.session);
    let mut pages: Vec<String> = [
        "/dashboard/payments",
        "/dashboard/credits",
        "/dashboard/webhooks",
    ]
    .map(String::from)
    .to_vec();
    pages.extend(
        taken
            .statuses
            .iter()
            .map(|(id, _)| format!("/dashboard/payments/{id}")),
    );
    for page in &pages {
        both.same(&format!("GET {page}"), |http, base| {
            http.get(format!("{base}{page}")).header("Cookie", &cookie)
        })
        .await;
    }

    // Idempotent creates retried after the move get the answers they got before, on both
    // (the endpoint's holds its signing secret: it is kept sealed under the master key).
    for r in &taken.replays {
        let replayed = both
            .same_as(
                &format!("POST {} replayed", r.path),
                201,
                |b| b.to_string(),
                |http, base| {
                    http.post(format!("{base}{}", r.path))
                        .bearer_auth(k)
                        .header("Idempotency-Key", r.idem)
                        .json(&r.body)
                },
            )
            .await;
        assert_eq!(
            replayed, r.answer,
            "POST {} replayed after the move",
            r.path
        );
    }
    // Nothing was created twice.
    let listed = both.native_pages(k, "/v1/payments?limit=100").await;
    assert_eq!(listed.len(), taken.statuses.len());
    assert_eq!(both.native_pages(k, "/v1/credits?limit=100").await.len(), 3);
    assert_eq!(
        both.native_pages(k, "/v1/webhook_endpoints?limit=100")
            .await
            .len(),
        3
    );
}

/// The retries due later go on from the copy. The failing receiver now answers 200; the
/// waiting deliveries are made due now in the copy (their retry is an hour away: moving it
/// stands for the hour passing). The copy's server delivers each once; the original's, whose
/// deliveries are still an hour away, delivers none.
async fn retries_continue_on_the_copy(
    both: &Both,
    key: &str,
    copy_db: &str,
    endpoint: &str,
    failing: &crate::common::receiver::Inbox,
    waiting: i64,
) {
    failing.status.store(200, Ordering::Relaxed);
    let received_before = failing.count();
    let pg = sqlx::PgPool::connect(copy_db).await.unwrap();
    let due: Vec<(String, String)> = sqlx::query_as(
        "UPDATE webhook_deliveries SET next_attempt_at = now() \
         WHERE status = 'pending' AND endpoint_id = $1 RETURNING id, event_id",
    )
    .bind(endpoint)
    .fetch_all(&pg)
    .await
    .unwrap();
    assert_eq!(
        due.len() as i64,
        waiting,
        "the copy holds the waiting deliveries"
    );
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let left: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM webhook_deliveries WHERE status = 'pending' AND endpoint_id = $1",
        )
        .bind(endpoint)
        .fetch_one(&pg)
        .await
        .unwrap();
        if left == 0 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{left} deliveries were not retried by the copy's server"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    pg.close().await;
    // A duplicate from either server would have arrived by now.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        failing.count() - received_before,
        due.len(),
        "each waiting delivery is retried once"
    );
    let delivery = |base: &str, event: &str, delivery: &str| {
        let req = both
            .http
            .get(format!("{base}/v1/events/{event}/deliveries"))
            .bearer_auth(key);
        let delivery = delivery.to_string();
        async move {
            let (status, body) = text(req).await;
            assert_eq!(status, 200, "{body}");
            parse(&body)["data"]
                .as_array()
                .unwrap()
                .iter()
                .find(|d| d["id"] == json!(delivery))
                .unwrap_or_else(|| panic!("{delivery} is not listed: {body}"))
                .clone()
        }
    };
    for (id, event) in &due {
        let d = delivery(&both.copy, event, id).await;
        assert_eq!(d["endpoint"], json!(endpoint));
        assert_eq!(d["status"], "succeeded", "{d}");
        let codes: Vec<Value> = d["attempts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["status_code"].clone())
            .collect();
        assert_eq!(codes, vec![json!(500), json!(200)], "{d}");
        let d = delivery(&both.original, event, id).await;
        assert_eq!(d["status"], "pending", "the original still waits: {d}");
    }
}

/// The copy goes on taking payments: a UPI payment gets the payable amount a server on the
/// original gives too (never one a copied pending payment holds), and a new payment is paid
/// on the copy's checkout.
async fn the_copy_takes_payments(both: &Both, key: &str, copy_db: &str, held_by: &str) {
    let copy = Shop {
        http: http(),
        url: both.copy.clone(),
        key: key.to_string(),
        db: copy_db.to_string(),
    };
    let original = Shop {
        url: both.original.clone(),
        ..copy.clone()
    };
    let held = copy.get(&format!("/v1/payments/{held_by}")).await;
    let upi = json!({"amount": held["amount"], "currency": "INR", "methods": ["upi"]});
    let mut payable = Vec::new();
    for server in [&original, &copy] {
        let id = server.payment(upi.clone()).await;
        payable
            .push(server.get(&format!("/v1/payments/{id}")).await["upi"]["payable_amount"].clone());
    }
    assert_eq!(
        payable[0], payable[1],
        "the copy hands out the original's next amount"
    );
    assert_ne!(payable[1], held["upi"]["payable_amount"], "{held}");
    let id = copy.pkr("99.00", "after-the-move").await;
    assert_eq!(
        copy.card(&format!("{}/pay/{id}", copy.url), "4242424242424242")
            .await,
        303
    );
    assert_eq!(copy.status_of(&id).await, "succeeded");
}

/// Stop, copy, start: a server on the PostgreSQL copy answers as one on the SQLite original.
async fn a_copy_to_postgres_answers_as_the_original(_backend: Backend) {
    let sqlite = TestDb::new(Backend::Sqlite).await;
    let target = TestDb::new(Backend::Postgres).await;
    let master = key_file(&sqlite);
    let _ = std::fs::remove_file(&master);
    let db = sqlite.url.as_str();
    let good = Receiver::start().await;
    let failing = Receiver::start().await;
    failing.inbox.status.store(500, Ordering::Relaxed);
    let setup = set_up(db, &master, &good.url);

    // A server takes payments of every kind, then is stopped.
    let build_port = free_port();
    let public_url = format!("http://127.0.0.1:{build_port}");
    let server = serve(db, &master, build_port, &public_url).await;
    let shop = Shop {
        http: http(),
        url: server.url.clone(),
        key: setup.key.clone(),
        db: db.to_string(),
    };
    let mut taken = Taken::default();
    take_native_payments(&shop, &mut taken, &good.url, &failing.url).await;
    take_dialect_payments(&shop, &setup, &mut taken, &good.url).await;
    taken.session = sign_in(&shop).await;
    turn_on_two_factor(&shop, &taken.session).await;
    forward_an_sms(&shop, &taken.session).await;
    let link = json!({"amount": "75", "currency": "PKR", "description": "Chai", "max_payments": 3});
    assert_eq!(shop.post("/v1/payment_links", link).await.0, 201);
    until_settled(&shop, &taken).await;
    assert!(good.inbox.count() > 0 && failing.inbox.count() > 0);
    stop(server);
    // The overview's roll-up holds counted hours too, as it would two hours later.
    let store = hundi::store::connect(db, 1).await.unwrap();
    let later = chrono::Utc::now() + chrono::Duration::hours(2);
    hundi::service::rollup::roll_up(&*store, later, std::time::Duration::from_secs(30))
        .await
        .unwrap();
    drop(store);

    // What the original holds: every table has rows (but rate_limit_buckets: a SQLite server
    // keeps its buckets in memory), and deliveries wait for a retry an hour away.
    let tables = sqlite_tables(db).await;
    for t in [
        "merchants",
        "users",
        "api_keys",
        "dialect_credentials",
        "webhook_endpoints",
        "payments",
        "payment_attempts",
        "refunds",
        "events",
        "webhook_deliveries",
        "webhook_attempts",
        "credits",
        "mailboxes",
        "idempotency_keys",
        "dashboard_sessions",
        "sign_in_throttle",
        "sign_in_known",
        "instance_secrets",
        "rate_limit_buckets",
    ] {
        assert!(tables.iter().any(|n| n == t), "no table {t} in {tables:?}");
    }
    let before = row_counts(db, &tables).await;
    for (t, n) in &before {
        assert!(
            *n > 0 || t == "rate_limit_buckets",
            "the scenario leaves {t} empty: {before:?}"
        );
    }
    let waiting = waiting_deliveries(db, &taken.failing_endpoint).await;
    assert!(waiting > 0, "no delivery waits for a retry");

    // The copy: each table with its row count, as many rows in each table as the original,
    // which it leaves as it was.
    let copy = |to: String| {
        let (db, master) = (db.to_string(), master.clone());
        tokio::task::spawn_blocking(move || hundi_on(&db, &master, &["db", "copy", "--to", &to]))
    };
    let began = Instant::now();
    let (ok, out, err) = copy(target.url.clone()).await.unwrap();
    let took = began.elapsed();
    assert!(ok, "hundi db copy failed:\n{out}\n{err}");
    for (t, n) in &before {
        let line = regex::Regex::new(&format!(r"^{t}\s+{n} rows\s+checksum [0-9a-f]+$")).unwrap();
        assert!(
            out.lines().any(|l| line.is_match(l)),
            "the output does not give {t} with its {n} rows and checksum:\n{out}"
        );
    }
    // The server on the copy needs the original's master key: the output says where it is.
    assert!(
        out.contains(&format!("HUNDI_MASTER_KEY_FILE={}", master.display())),
        "{out}"
    );
    assert_eq!(
        row_counts(db, &tables).await,
        before,
        "the copy changed the original"
    );
    assert_eq!(
        postgres_tables(&target.url).await,
        tables,
        "the copy has other tables"
    );
    assert_eq!(
        row_counts(&target.url, &tables).await,
        before,
        "the copy holds other row counts than the original"
    );
    assert_same_rows(db, &target.url, &tables).await;

    // A server on the original and one on the copy, with the same master key and the same
    // public URL, answer alike.
    let original = serve(db, &master, free_port(), &public_url).await;
    let copied = serve(&target.url, &master, free_port(), &public_url).await;
    let mut both = Both {
        http: http(),
        original: original.url.clone(),
        copy: copied.url.clone(),
        compared: 0,
    };
    compare_reads(&mut both, &setup, &taken, before["events"]).await;
    println!("{} reads compared; copied in {took:?}", both.compared);
    retries_continue_on_the_copy(
        &both,
        &setup.key,
        &target.url,
        &taken.failing_endpoint,
        &failing.inbox,
        waiting,
    )
    .await;
    the_copy_takes_payments(&both, &setup.key, &target.url, &taken.paygate[1]).await;
    stop(original);
    stop(copied);

    // A second copy into the database, no longer empty, is refused and changes nothing.
    let (filled, source) = (
        row_counts(&target.url, &tables).await,
        row_counts(db, &tables).await,
    );
    let (ok, out, err) = copy(target.url.clone()).await.unwrap();
    assert!(
        !ok,
        "a copy into a non-empty database succeeded:\n{out}\n{err}"
    );
    assert!(err.contains("not empty"), "the refusal says why: {err}");
    assert_eq!(row_counts(&target.url, &tables).await, filled);
    assert_eq!(row_counts(db, &tables).await, source);
    let _ = std::fs::remove_file(&master);
}

/// A copy that fails part of the way (a value that is no time, in a table copied after
/// `merchants`) exits non-zero naming the value, and leaves the target empty: once the value
/// is mended, the copy into the same database succeeds.
async fn a_failed_copy_leaves_the_target_empty(_backend: Backend) {
    let sqlite = TestDb::new(Backend::Sqlite).await;
    let target = TestDb::new(Backend::Postgres).await;
    let master = key_file(&sqlite);
    let _ = std::fs::remove_file(&master);
    let db = sqlite.url.as_str();
    let m = cli(
        db,
        &master,
        &["merchant", "create", "--name", "Shop", "--json"],
    );
    let m = m["id"].as_str().unwrap();
    cli(db, &master, &["key", "create", "--merchant", m, "--json"]);
    let pool = sqlx::SqlitePool::connect(db).await.unwrap();
    let created: i64 = sqlx::query_scalar("SELECT created_at FROM api_keys")
        .fetch_one(&pool)
        .await
        .unwrap();
    sqlx::query("UPDATE api_keys SET created_at = $1")
        .bind(i64::MAX)
        .execute(&pool)
        .await
        .unwrap();
    let tables = sqlite_tables(db).await;
    let copy = || {
        let (db, master, to) = (db.to_string(), master.clone(), target.url.clone());
        tokio::task::spawn_blocking(move || hundi_on(&db, &master, &["db", "copy", "--to", &to]))
    };
    let (ok, out, err) = copy().await.unwrap();
    assert!(!ok, "a copy of a broken value succeeded:\n{out}\n{err}");
    assert!(err.contains("api_keys.created_at"), "{err}");
    let counts = row_counts(&target.url, &tables).await;
    assert!(
        counts.values().all(|n| *n == 0),
        "a failed copy left rows behind: {counts:?}"
    );

    sqlx::query("UPDATE api_keys SET created_at = $1")
        .bind(created)
        .execute(&pool)
        .await
        .unwrap();
    pool.close().await;
    let (ok, out, err) = copy().await.unwrap();
    assert!(ok, "the copy after the mend failed:\n{out}\n{err}");
    assert_eq!(
        row_counts(&target.url, &tables).await,
        row_counts(db, &tables).await
    );
    assert_same_rows(db, &target.url, &tables).await;
    let _ = std::fs::remove_file(&master);
}

on_sqlite!(
    a_copy_to_postgres_answers_as_the_original,
    a_failed_copy_leaves_the_target_empty,
);
