//! The dashboard's sign-in throttle under real concurrency, on both backends: tries are
//! counted before any password is checked, per e-mail address and per client address;
//! blocks expire; only a few passwords are checked at once.

use crate::common::{Backend, TestApp, TestDb};
use chrono::Duration as Span;
use hundi::config::Config;
use hundi::service::throttle::SignInPolicy;
use hundi::store::ThrottleRule;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Barrier;

use crate::common::PASSWORD;
const OWNER: &str = "owner@shop.example";

/// A sign-in form ready to send: its double-submit cookie and token.
struct Form {
    http: reqwest::Client,
    url: String,
    cookie: String,
    csrf: String,
}

struct Answer {
    status: u16,
    retry_after: Option<u64>,
}

async fn form(app: &TestApp) -> Form {
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let url = format!("{}/dashboard/login", app.url);
    let res = http.get(&url).send().await.unwrap();
    let cookie = res
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with("hundi_login="))
        .and_then(|c| c.split(';').next())
        .expect("a login cookie")
        .to_string();
    let body = res.text().await.unwrap();
    let at = body.find("name=\"csrf\" value=\"").expect("a CSRF token") + 19;
    let end = body[at..].find('"').unwrap();
    Form {
        http,
        url,
        cookie,
        csrf: body[at..at + end].to_string(),
    }
}

impl Form {
    /// Sends the form, from `from` (an `X-Forwarded-For`) if given.
    async fn send(&self, email: &str, password: &str, from: Option<&str>) -> Answer {
        let mut req = self
            .http
            .post(&self.url)
            .header("cookie", &self.cookie)
            .form(&[
                ("email", email),
                ("password", password),
                ("csrf", &self.csrf),
            ]);
        if let Some(ip) = from {
            req = req.header("x-forwarded-for", ip);
        }
        let res = req.send().await.unwrap();
        Answer {
            status: res.status().as_u16(),
            retry_after: res
                .headers()
                .get("retry-after")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.parse().ok()),
        }
    }
}

async fn sign_in(app: &TestApp, email: &str, password: &str, from: Option<&str>) -> Answer {
    form(app).await.send(email, password, from).await
}

async fn app_with_owner(backend: Backend, opts: Config) -> TestApp {
    let app = TestApp::spawn_with(backend, opts).await;
    app.add_user(OWNER, hundi::domain::role::Role::Owner).await;
    app
}

/// The default policy, but a try waits as long as it takes for a password check (the
/// debug build's argon2 is slow on a busy machine), so every admitted try is checked.
fn patient() -> SignInPolicy {
    SignInPolicy {
        check_wait: Duration::from_secs(60),
        ..SignInPolicy::default()
    }
}

fn direct() -> Config {
    Config {
        sign_in: patient(),
        ..Config::default()
    }
}

/// Behind a proxy on 127.0.0.1, as the tests are: `X-Forwarded-For` names the client.
fn behind_proxy(policy: SignInPolicy) -> Config {
    Config {
        trusted_proxies: hundi::http::client_addr::TrustedProxies::parse("127.0.0.1").unwrap(),
        sign_in: policy,
        ..Config::default()
    }
}

/// Sends every try at once (each form fetched first, then all released together).
async fn all_at_once(app: &TestApp, tries: Vec<(String, Option<String>)>) -> Vec<Answer> {
    let barrier = Arc::new(Barrier::new(tries.len()));
    let mut tasks = Vec::new();
    for (email, from) in tries {
        let form = form(app).await;
        let barrier = barrier.clone();
        tasks.push(tokio::spawn(async move {
            barrier.wait().await;
            form.send(&email, "wrong password", from.as_deref()).await
        }));
    }
    let mut answers = Vec::new();
    for t in tasks {
        answers.push(t.await.unwrap());
    }
    answers
}

fn checked(answers: &[Answer]) -> usize {
    answers.iter().filter(|a| a.status == 401).count()
}

fn assert_throttled_with_retry_after(answers: &[Answer], status: u16) {
    for a in answers.iter().filter(|a| a.status != 401) {
        assert_eq!(a.status, status, "a try was neither checked nor throttled");
        assert!(
            a.retry_after.is_some_and(|s| s >= 1),
            "a throttled try says when to come back"
        );
    }
}

/// 25 wrong passwords for one e-mail address at once: five are checked, twenty answered 429
/// with `Retry-After`; then even the right password waits.
async fn parallel_wrong_passwords_are_counted_before_checking(backend: Backend) {
    let app = app_with_owner(backend, direct()).await;
    let tries = (0..25).map(|_| (OWNER.to_string(), None)).collect();
    let answers = all_at_once(&app, tries).await;
    let state = &app.server.as_ref().unwrap().state;
    assert_eq!(checked(&answers), 5, "exactly five passwords were checked");
    assert_eq!(
        state.sign_in.checked(),
        5,
        "the server checked five passwords"
    );
    assert_throttled_with_retry_after(&answers, 429);
    let late = sign_in(&app, OWNER, PASSWORD, None).await;
    assert_eq!(late.status, 429);
    assert!(late.retry_after.is_some_and(|s| (1..=30).contains(&s)));
    assert_eq!(state.sign_in.checked(), 5);
}

/// 40 wrong sign-ins for 40 e-mail addresses from one client: twenty are checked. An
/// `X-Forwarded-For` counts only from a trusted proxy; another client is not affected.
async fn one_client_address_is_limited(backend: Backend) {
    // No trusted proxy: the header is ignored, every try comes from 127.0.0.1.
    let app = app_with_owner(backend, direct()).await;
    let tries = (0..40)
        .map(|i| {
            (
                format!("guess{i}@shop.example"),
                Some(format!("198.51.100.{i}")),
            )
        })
        .collect();
    let answers = all_at_once(&app, tries).await;
    assert_eq!(checked(&answers), 20, "twenty passwords were checked");
    assert_throttled_with_retry_after(&answers, 429);
    assert_eq!(sign_in(&app, OWNER, PASSWORD, None).await.status, 429);
    drop(app);

    // Behind a trusted proxy: per client.
    let app = app_with_owner(backend, behind_proxy(patient())).await;
    let from = Some("203.0.113.1".to_string());
    let tries = (0..40)
        .map(|i| (format!("guess{i}@shop.example"), from.clone()))
        .collect();
    let answers = all_at_once(&app, tries).await;
    assert_eq!(checked(&answers), 20);
    assert_throttled_with_retry_after(&answers, 429);
    let elsewhere = sign_in(&app, OWNER, PASSWORD, Some("203.0.113.2")).await;
    assert_eq!(elsewhere.status, 303, "another client signs in");
    let same = sign_in(&app, OWNER, PASSWORD, from.as_deref()).await;
    assert_eq!(same.status, 429);
}

/// Someone who knows only the owner's e-mail blocks it for a while, not for ever: once the
/// block is over, the owner signs in from their own address.
async fn blocks_expire(backend: Backend) {
    let mut policy = patient();
    policy.per_email.first_wait = Span::seconds(1);
    policy.per_email.max_wait = Span::seconds(2);
    let app = app_with_owner(backend, behind_proxy(policy)).await;
    let attacker = Some("192.0.2.66");
    for _ in 0..5 {
        assert_eq!(sign_in(&app, OWNER, "guess", attacker).await.status, 401);
    }
    let blocked = sign_in(&app, OWNER, PASSWORD, Some("192.0.2.1")).await;
    assert_eq!(blocked.status, 429, "the e-mail is blocked from everywhere");
    assert_eq!(blocked.retry_after, Some(1));
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let owner = sign_in(&app, OWNER, PASSWORD, Some("192.0.2.1")).await;
    assert_eq!(owner.status, 303, "the block is over");
    // The correct sign-in forgot the failures: five more tries are checked.
    for _ in 0..5 {
        assert_eq!(sign_in(&app, OWNER, "guess", attacker).await.status, 401);
    }
    assert_eq!(sign_in(&app, OWNER, "guess", attacker).await.status, 429);
}

/// While a stranger keeps the e-mail blocked, its owner still signs in from an address they
/// signed in from before (its tries counted on their own); a new address waits.
async fn the_owner_gets_in_from_a_known_address(backend: Backend) {
    let app = app_with_owner(backend, behind_proxy(patient())).await;
    let home = Some("192.0.2.10");
    assert_eq!(sign_in(&app, OWNER, PASSWORD, home).await.status, 303);
    let attacker = Some("192.0.2.66");
    for _ in 0..5 {
        assert_eq!(sign_in(&app, OWNER, "guess", attacker).await.status, 401);
    }
    assert_eq!(sign_in(&app, OWNER, "guess", attacker).await.status, 429);
    let stranger = sign_in(&app, OWNER, PASSWORD, Some("192.0.2.99")).await;
    assert_eq!(stranger.status, 429, "a new address waits for the block");
    assert_eq!(sign_in(&app, OWNER, PASSWORD, home).await.status, 303);
    // The known address's own tries are throttled too.
    let state = &app.server.as_ref().unwrap().state;
    let before = state.sign_in.checked();
    for _ in 0..5 {
        assert_eq!(sign_in(&app, OWNER, "guess", attacker).await.status, 401);
    }
    for _ in 0..5 {
        assert_eq!(sign_in(&app, OWNER, "typo", home).await.status, 401);
    }
    assert_eq!(sign_in(&app, OWNER, "typo", home).await.status, 429);
    assert_eq!(state.sign_in.checked() - before, 10);
}

/// No more than the node's ceiling of passwords is checked at once; a try that finds every
/// check busy is answered 503 with `Retry-After`, not queued. An overlong e-mail address
/// is refused before anything is counted.
async fn password_checks_are_capped(backend: Backend) {
    let policy = SignInPolicy {
        concurrent_checks: 2,
        check_wait: Duration::ZERO,
        ..SignInPolicy::default()
    };
    let app = app_with_owner(backend, behind_proxy(policy)).await;
    let tries = (0..30)
        .map(|i| {
            (
                format!("user{i}@shop.example"),
                Some(format!("192.0.2.{i}")),
            )
        })
        .collect();
    let answers = all_at_once(&app, tries).await;
    let state = &app.server.as_ref().unwrap().state;
    assert!(state.sign_in.peak() <= 2, "peak {}", state.sign_in.peak());
    assert_throttled_with_retry_after(&answers, 503);
    let busy = answers.iter().filter(|a| a.status == 503).count();
    assert!(busy > 0, "30 checks at once cannot all fit in 2");
    assert_eq!(state.sign_in.checked() as usize, checked(&answers));

    let long = format!("{}@shop.example", "a".repeat(10_000));
    assert_eq!(sign_in(&app, &long, "x", None).await.status, 400);
    assert_eq!(
        sign_in(&app, &format!("{}@x.example", "a".repeat(244)), "x", None)
            .await
            .status,
        401,
        "254 characters are allowed"
    );
}

/// The store's counter: racing claims are each counted; a block lasts its wait, doubling;
/// a refund lifts it; old rows are purged, blocked ones kept.
async fn the_store_counts_tries_atomically(backend: Backend) {
    let db = TestDb::new(backend).await;
    let store = db.store().await;
    let rule = ThrottleRule {
        free: 5,
        window: Span::minutes(15),
        first_wait: Span::seconds(30),
        max_wait: Span::minutes(15),
    };
    // Microseconds: what both backends store.
    let t0 =
        chrono::DateTime::from_timestamp_micros(chrono::Utc::now().timestamp_micros()).unwrap();
    let mut tasks = Vec::new();
    for _ in 0..25 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            store.claim_throttle("email:a@b.example", &rule, t0).await
        }));
    }
    let mut admitted = 0;
    for t in tasks {
        match t.await.unwrap().unwrap() {
            None => admitted += 1,
            Some(until) => assert_eq!(until, t0 + Span::seconds(30)),
        }
    }
    assert_eq!(admitted, 5);
    let claim = |at| {
        let store = store.clone();
        async move {
            store
                .claim_throttle("email:a@b.example", &rule, at)
                .await
                .unwrap()
        }
    };
    assert!(claim(t0 + Span::seconds(29)).await.is_some());
    assert_eq!(
        claim(t0 + Span::seconds(30)).await,
        None,
        "the block is over"
    );
    assert_eq!(
        claim(t0 + Span::seconds(31)).await,
        Some(t0 + Span::seconds(90)),
        "the sixth try blocks for twice as long"
    );
    store.clear_throttle("email:a@b.example").await.unwrap();
    assert_eq!(claim(t0 + Span::seconds(31)).await, None);

    // A refund gives a try back and lifts the block it set.
    let two = ThrottleRule { free: 2, ..rule };
    assert_eq!(
        store.claim_throttle("addr:x", &two, t0).await.unwrap(),
        None
    );
    assert_eq!(
        store.claim_throttle("addr:x", &two, t0).await.unwrap(),
        None
    );
    assert!(store
        .claim_throttle("addr:x", &two, t0)
        .await
        .unwrap()
        .is_some());
    store.refund_throttle("addr:x", &two).await.unwrap();
    assert_eq!(
        store.claim_throttle("addr:x", &two, t0).await.unwrap(),
        None
    );

    // A try more than a window after the last starts again.
    let later = t0 + Span::minutes(20);
    assert_eq!(
        store.claim_throttle("addr:x", &two, later).await.unwrap(),
        None
    );
    assert_eq!(
        store.claim_throttle("addr:x", &two, later).await.unwrap(),
        None
    );

    // Purged: rows untouched for a window and not blocked.
    store
        .claim_throttle("email:old@b.example", &rule, t0)
        .await
        .unwrap();
    let purged = store
        .purge_throttle(later - Span::minutes(15), later)
        .await
        .unwrap();
    assert_eq!(purged, 2, "the two rows last tried before the window");
    assert!(store
        .claim_throttle("addr:x", &two, later)
        .await
        .unwrap()
        .is_some());

    // Addresses a user signed in from, forgotten after a while.
    store
        .remember_sign_in("a@b.example", "192.0.2.1", t0)
        .await
        .unwrap();
    assert!(store
        .signed_in_from("a@b.example", "192.0.2.1", t0)
        .await
        .unwrap());
    assert!(!store
        .signed_in_from("a@b.example", "192.0.2.2", t0)
        .await
        .unwrap());
    assert!(!store
        .signed_in_from("c@b.example", "192.0.2.1", t0)
        .await
        .unwrap());
    assert!(!store
        .signed_in_from("a@b.example", "192.0.2.1", t0 + Span::seconds(1))
        .await
        .unwrap());
    assert_eq!(
        store.purge_sign_ins(t0 + Span::seconds(1)).await.unwrap(),
        1
    );
    assert!(!store
        .signed_in_from("a@b.example", "192.0.2.1", t0)
        .await
        .unwrap());
}

on_both_backends!(
    parallel_wrong_passwords_are_counted_before_checking,
    one_client_address_is_limited,
    blocks_expire,
    the_owner_gets_in_from_a_known_address,
    password_checks_are_capped,
    the_store_counts_tries_atomically,
);
