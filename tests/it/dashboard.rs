//! The dashboard over HTTP, on both backends: sign-in and its throttle, CSRF on every
//! state-changing route, another merchant's data as 404, text shown as text, the payment
//! filters, keyset pages and CSV, the test/live switch, and the merchant's settings at work.

use crate::common::visitor::Visitor;
use crate::common::{Backend, TestApp};
use serde_json::json;

use crate::common::PASSWORD;

/// The app with a login for each merchant: owner@shop.example and owner@other.example.
async fn app_with_users(backend: Backend) -> TestApp {
    let app = TestApp::spawn(backend).await;
    for (m, email) in [
        (&app.shop.id, "owner@shop.example"),
        (&app.other.id, "owner@other.example"),
    ] {
        hundi::service::users::create_user(
            &*app.store,
            &hundi::service::access::Acting::cli(m, false),
            email,
            PASSWORD,
            hundi::domain::role::Role::Owner,
        )
        .await
        .unwrap();
    }
    app
}

async fn signed_in(app: &TestApp) -> Visitor {
    let mut v = Visitor::new(app);
    let page = v.sign_in("owner@shop.example", PASSWORD).await;
    assert_eq!(page.status, 303, "{}", page.body);
    assert_eq!(page.location, "/dashboard");
    v
}

/// The session cookie is HttpOnly and SameSite=Lax (Secure behind https); signing out ends it;
/// pages of a signed-out visitor lead to the login.
async fn sessions_begin_and_end(backend: Backend) {
    let app = app_with_users(backend).await;
    let mut v = Visitor::new(&app);
    assert_eq!(
        v.get("/dashboard/payments").await.location,
        "/dashboard/login"
    );
    let page = v.sign_in("owner@shop.example", PASSWORD).await;
    let session = page
        .set_cookie
        .iter()
        .find(|c| c.starts_with("hundi_session="))
        .expect("a session cookie");
    assert!(
        session.contains("HttpOnly") && session.contains("SameSite=Lax"),
        "{session}"
    );
    assert!(!session.contains("Secure"), "plain http here: {session}");
    let home = v.get("/dashboard").await;
    assert_eq!(home.status, 200);
    assert!(home.body.contains("owner@shop.example"));
    assert!(home.body.contains("Test mode"));
    let csrf = home.csrf();
    let out = v.post("/dashboard/logout", &[("csrf", &csrf)]).await;
    assert_eq!(out.location, "/dashboard/login");
    assert_eq!(v.get("/dashboard").await.location, "/dashboard/login");

    // Behind https the cookie is Secure.
    let secure = TestApp::spawn_with(
        backend,
        hundi::config::Config {
            public_url: Some("https://pay.example".into()),
            ..Default::default()
        },
    )
    .await;
    hundi::service::users::create_user(
        &*secure.store,
        &hundi::service::access::Acting::cli(&secure.shop.id, false),
        "a@b.example",
        PASSWORD,
        hundi::domain::role::Role::Owner,
    )
    .await
    .unwrap();
    let mut v = Visitor::new(&secure);
    let page = v.sign_in("a@b.example", PASSWORD).await;
    assert!(page
        .set_cookie
        .iter()
        .any(|c| c.starts_with("hundi_session=") && c.contains("Secure")));
}

/// Five wrong passwords, then even the right one waits; an unknown address is throttled alike.
async fn wrong_passwords_slow_down(backend: Backend) {
    let app = app_with_users(backend).await;
    let mut v = Visitor::new(&app);
    for _ in 0..5 {
        let page = v.sign_in("owner@shop.example", "wrong password").await;
        assert_eq!(page.status, 401);
        assert!(page.body.contains("do not match"));
    }
    let page = v.sign_in("owner@shop.example", PASSWORD).await;
    assert_eq!(page.status, 429, "{}", page.body);
    assert!(page.body.contains("Try again in"), "{}", page.body);
    // Another user is not affected.
    let page = v.sign_in("owner@other.example", PASSWORD).await;
    assert_eq!(page.status, 303);
    let mut stranger = Visitor::new(&app);
    for _ in 0..5 {
        assert_eq!(
            stranger.sign_in("nobody@shop.example", "x").await.status,
            401
        );
    }
    assert_eq!(
        stranger.sign_in("nobody@shop.example", "x").await.status,
        429
    );
    // The login form needs its own token too.
    let page = stranger
        .post(
            "/dashboard/login",
            &[("email", "owner@other.example"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(page.status, 403);
}

/// Every state-changing route refuses a request without the session's CSRF token (and with
/// a wrong one), and nothing changes.
async fn every_form_needs_the_csrf_token(backend: Backend) {
    let app = app_with_users(backend).await;
    let mut v = signed_in(&app).await;
    let p = app.payment("50.00").await;
    let id = p["id"].as_str().unwrap();
    app.post(
        &app.shop.test_key,
        &format!("/v1/test/payments/{id}/succeed"),
        json!({}),
    )
    .await;
    let pending = app.payment("10.00").await;
    let pending_id = pending["id"].as_str().unwrap();
    let events = app.events_of(&app.shop.test_key, id).await;
    let event = events[0]["id"].as_str().unwrap();
    let key = hundi::store::KeyStore::list_keys(&*app.store, Some(&app.shop.id))
        .await
        .unwrap()[0]
        .id
        .clone();
    let routes: Vec<(String, Vec<(&str, &str)>)> = vec![
        ("/dashboard/logout".into(), vec![]),
        ("/dashboard/mode".into(), vec![("mode", "live")]),
        (
            format!("/dashboard/payments/{id}/refund"),
            vec![("amount", "5.00")],
        ),
        (format!("/dashboard/payments/{pending_id}/cancel"), vec![]),
        (format!("/dashboard/events/{event}/redeliver"), vec![]),
        (
            "/dashboard/keys".into(),
            vec![("label", "x"), ("permission", "payments:read")],
        ),
        (format!("/dashboard/keys/{key}/revoke"), vec![]),
        ("/dashboard/credentials".into(), vec![("name", "waypay")]),
        (
            "/dashboard/webhooks".into(),
            vec![("url", "https://example.com/h")],
        ),
        (
            "/dashboard/credits/crd_x/match".into(),
            vec![("payment", pending_id)],
        ),
        ("/dashboard/settings".into(), vec![("name", "Hacked")]),
        (
            "/dashboard/settings/upi".into(),
            vec![("upi_id", "evil@bank")],
        ),
        (
            "/dashboard/settings/users".into(),
            vec![
                ("email", "evil@example.com"),
                ("password", "long enough password"),
            ],
        ),
    ];
    for (path, fields) in &routes {
        let page = v.post(path, fields).await;
        assert_eq!(page.status, 403, "{path} without a token: {}", page.body);
        let mut with_wrong = fields.clone();
        with_wrong.push(("csrf", "not-the-token"));
        let page = v.post(path, &with_wrong).await;
        assert_eq!(page.status, 403, "{path} with a wrong token");
    }
    // Nothing happened: still signed in, test mode, no refund, still pending, key alive…
    let home = v.get("/dashboard").await;
    assert_eq!(home.status, 200);
    assert!(home.body.contains("Test mode"));
    let (_, paid) = app
        .get(&app.shop.test_key, &format!("/v1/payments/{id}"))
        .await;
    assert_eq!(paid["amount_refunded"], json!("0.00"), "{paid}");
    let (_, still) = app
        .get(&app.shop.test_key, &format!("/v1/payments/{pending_id}"))
        .await;
    assert_eq!(still["status"], "pending");
    let (status, _) = app.get(&app.shop.test_key, "/v1/payments").await;
    assert_eq!(status, 200, "the key still works");
    let m = hundi::store::AccountStore::get_merchant(&*app.store, &app.shop.id)
        .await
        .unwrap();
    assert_eq!(m.name, "Shop");
    assert_eq!(m.upi_id, None);
    assert!(
        hundi::store::AccountStore::find_user_by_email(&*app.store, "evil@example.com")
            .await
            .is_err()
    );
    // With the token, the same refund goes through.
    let csrf = home.csrf();
    let page = v
        .post(
            &format!("/dashboard/payments/{id}/refund"),
            &[("amount", "5.00"), ("csrf", &csrf)],
        )
        .await;
    assert_eq!(page.status, 303, "{}", page.body);
    let (_, paid) = app
        .get(&app.shop.test_key, &format!("/v1/payments/{id}"))
        .await;
    assert_eq!(paid["amount_refunded"], json!("5.00"), "{paid}");
    // The payment's page lists the refund and its event in the timeline.
    let detail = v.get(&format!("/dashboard/payments/{id}")).await.body;
    assert!(detail.contains("Refunded PKR 5.00.") || page.location.contains("notice"));
    assert_eq!(detail.matches("data-testid=\"refund-row\"").count(), 1);
    assert!(detail.contains("data-event=\"refund.succeeded\""));
    assert!(detail.contains("data-event=\"payment.succeeded\""));
}

/// A user asking for another merchant's payment (or acting on it) gets 404.
async fn another_merchants_payment_is_a_404(backend: Backend) {
    let app = app_with_users(backend).await;
    let theirs = app
        .post(
            &app.other.test_key,
            "/v1/payments",
            json!({"amount": "10.00", "currency": "PKR"}),
        )
        .await
        .1;
    let id = theirs["id"].as_str().unwrap();
    let mut v = signed_in(&app).await;
    let page = v.get(&format!("/dashboard/payments/{id}")).await;
    assert_eq!(page.status, 404);
    let csrf = v.get("/dashboard").await.csrf();
    let page = v
        .post(
            &format!("/dashboard/payments/{id}/cancel"),
            &[("csrf", &csrf)],
        )
        .await;
    assert_eq!(page.status, 404);
    let (_, still) = app
        .get(&app.other.test_key, &format!("/v1/payments/{id}"))
        .await;
    assert_eq!(still["status"], "pending");
    // Nor does it show in the list or the CSV.
    assert!(!v.get("/dashboard/payments").await.body.contains(id));
    assert!(!v.get("/dashboard/payments.csv").await.body.contains(id));
    // And a live payment is not on show in test mode.
    let live = app
        .post(
            &app.shop.live_key,
            "/v1/payments",
            json!({"amount": "7.00", "currency": "PKR"}),
        )
        .await
        .1;
    let live_id = live["id"].as_str().unwrap();
    assert_eq!(
        v.get(&format!("/dashboard/payments/{live_id}"))
            .await
            .status,
        404
    );
    let page = v
        .post(
            "/dashboard/mode",
            &[
                ("mode", "live"),
                ("csrf", &csrf),
                ("back", "/dashboard/payments"),
            ],
        )
        .await;
    assert_eq!(page.location, "/dashboard/payments");
    let page = v.get(&format!("/dashboard/payments/{live_id}")).await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("Live mode"));
}

/// A customer's name with markup is shown as text, in the table and on the payment's page.
async fn customer_text_is_shown_as_text(backend: Backend) {
    let app = app_with_users(backend).await;
    let (_, p) = app
        .post(
            &app.shop.test_key,
            "/v1/payments",
            json!({"amount": "10.00", "currency": "PKR",
                   "customer": {"name": "<script>alert('x')</script>"},
                   "reference": "=HYPERLINK(\"http://evil\")"}),
        )
        .await;
    let id = p["id"].as_str().unwrap();
    let mut v = signed_in(&app).await;
    for page in [
        v.get("/dashboard/payments").await,
        v.get(&format!("/dashboard/payments/{id}")).await,
        v.get("/dashboard").await,
    ] {
        assert!(!page.body.contains("<script>alert"), "{}", page.body);
        assert!(page.body.contains("&#60;script&#62;alert"), "{}", page.body);
    }
    // In the CSV a formula is defused.
    let csv = v.get("/dashboard/payments.csv").await.body;
    assert!(csv.contains("'=HYPERLINK"), "{csv}");
}

/// Filters (status, source, search, dates), keyset pages that list every payment exactly
/// once, and a CSV of the filtered rows.
async fn filters_pages_and_csv(backend: Backend) {
    let app = app_with_users(backend).await;
    let mut ids = Vec::new();
    for i in 0..120 {
        let (_, p) = app
            .post(
                &app.shop.test_key,
                "/v1/payments",
                json!({"amount": format!("{}.00", i + 1), "currency": "PKR",
                       "reference": format!("ORDER-{i}"),
                       "customer": {"name": format!("Customer {i}"), "email": format!("c{i}@example.com")}}),
            )
            .await;
        ids.push(p["id"].as_str().unwrap().to_string());
    }
    for id in &ids[..3] {
        app.post(
            &app.shop.test_key,
            &format!("/v1/test/payments/{id}/succeed"),
            json!({}),
        )
        .await;
    }
    let mut v = signed_in(&app).await;
    // Every page, by following "Next page".
    let mut seen = Vec::new();
    let mut path = "/dashboard/payments".to_string();
    loop {
        let page = v.get(&path).await;
        assert_eq!(page.status, 200);
        for part in page.body.split("data-payment=\"").skip(1) {
            seen.push(part[..part.find('"').unwrap()].to_string());
        }
        match page.body.split("href=\"").find_map(|h| {
            let h = &h[..h.find('"')?];
            (h.contains("after=") && page.body.contains("data-testid=\"next-page\""))
                .then(|| h.replace("&amp;", "&"))
        }) {
            Some(next) if !seen.is_empty() && seen.len() < 200 => path = next,
            _ => break,
        }
    }
    let mut expected = ids.clone();
    expected.reverse();
    assert_eq!(seen, expected, "newest first, each once");

    let rows = |body: &str| body.matches("data-payment=\"").count();
    assert_eq!(
        rows(&v.get("/dashboard/payments?status=succeeded").await.body),
        3
    );
    assert_eq!(
        rows(
            &v.get("/dashboard/payments?source=native&status=pending")
                .await
                .body
        ),
        50
    );
    assert_eq!(
        rows(&v.get("/dashboard/payments?source=waypay").await.body),
        0
    );
    assert!(v
        .get("/dashboard/payments?source=waypay")
        .await
        .body
        .contains("No sessions yet"));
    for q in ["ORDER-7", "c7%40example.com", "C7%40EXAMPLE.COM", &ids[7]] {
        let page = v.get(&format!("/dashboard/payments?q={q}")).await;
        assert_eq!(rows(&page.body), 1, "search {q}");
        assert!(page.body.contains(&ids[7]));
    }
    // A name matches by its start: "Customer 7" is 7 and 70 to 79.
    assert_eq!(
        rows(&v.get("/dashboard/payments?q=customer%207").await.body),
        11
    );
    assert_eq!(
        rows(&v.get("/dashboard/payments?q=Customer%20_").await.body),
        0,
        "_ is literal"
    );
    let today = chrono::Utc::now().format("%Y-%m-%d").to_string();
    let yesterday = (chrono::Utc::now() - chrono::Duration::days(1))
        .format("%Y-%m-%d")
        .to_string();
    assert_eq!(
        rows(
            &v.get(&format!("/dashboard/payments?from={today}&to={today}"))
                .await
                .body
        ),
        50
    );
    assert_eq!(
        rows(
            &v.get(&format!("/dashboard/payments?to={yesterday}"))
                .await
                .body
        ),
        0
    );
    assert_eq!(v.get("/dashboard/payments?from=tomorrow").await.status, 422);

    // The CSV holds every filtered row, not just a page.
    let csv = v.get("/dashboard/payments.csv?status=pending").await;
    assert_eq!(csv.status, 200);
    let lines: Vec<&str> = csv.body.lines().collect();
    assert_eq!(lines.len(), 1 + 117, "a header and 117 pending payments");
    assert!(lines[0].starts_with("id,created_at,status,amount,currency"));
    assert!(lines.iter().skip(1).all(|l| l.contains(",pending,")));
    let all = v.get("/dashboard/payments.csv").await.body;
    assert_eq!(all.lines().count(), 121);
}

/// The overview's figures come from the payments; the settings' defaults reach new payments.
async fn overview_and_settings(backend: Backend) {
    let app = app_with_users(backend).await;
    for amount in ["100.00", "250.50"] {
        let p = app.payment(amount).await;
        let id = p["id"].as_str().unwrap();
        app.post(
            &app.shop.test_key,
            &format!("/v1/test/payments/{id}/succeed"),
            json!({}),
        )
        .await;
    }
    let p = app.payment("40.00").await;
    let id = p["id"].as_str().unwrap();
    app.post(
        &app.shop.test_key,
        &format!("/v1/payments/{id}/cancel"),
        json!({}),
    )
    .await;
    let mut v = signed_in(&app).await;
    let home = v.get("/dashboard").await.body;
    assert!(
        home.contains("data-testid=\"revenue-today\">PKR 350.50<"),
        "{home}"
    );
    assert!(home.contains("data-testid=\"revenue-month\">PKR 350.50<"));
    assert!(home.contains("data-testid=\"success-rate\">66.7%<"));
    assert!(home.contains("<svg"), "the revenue chart");
    assert!(home.contains("canceled: 1"));

    let csrf = v.get("/dashboard/settings").await.csrf();
    let page = v
        .post(
            "/dashboard/settings",
            &[
                ("csrf", &csrf),
                ("name", "Corner Shop"),
                ("success_url", "https://shop.example/thanks"),
                ("cancel_url", "https://shop.example/cart"),
                ("expiry_minutes", "15"),
            ],
        )
        .await;
    assert_eq!(page.status, 303, "{}", page.body);
    let (_, p) = app
        .post(
            &app.shop.test_key,
            "/v1/payments",
            json!({"amount": "5.00", "currency": "PKR"}),
        )
        .await;
    assert_eq!(p["success_url"], "https://shop.example/thanks");
    assert_eq!(p["cancel_url"], "https://shop.example/cart");
    let created = chrono::DateTime::parse_from_rfc3339(p["created_at"].as_str().unwrap()).unwrap();
    let expires = chrono::DateTime::parse_from_rfc3339(p["expires_at"].as_str().unwrap()).unwrap();
    assert_eq!((expires - created).num_seconds(), 900);
    let page = v
        .post(
            "/dashboard/settings",
            &[("csrf", &csrf), ("name", "X"), ("expiry_minutes", "0")],
        )
        .await;
    assert_eq!(page.status, 422);
    // A teammate added here can sign in.
    let page = v
        .post(
            "/dashboard/settings/users",
            &[
                ("csrf", &csrf),
                ("email", "mate@shop.example"),
                ("password", "long enough password"),
            ],
        )
        .await;
    assert_eq!(page.status, 303);
    let mut mate = Visitor::new(&app);
    assert_eq!(
        mate.sign_in("mate@shop.example", "long enough password")
            .await
            .status,
        303
    );
    assert!(mate.get("/dashboard").await.body.contains("Corner Shop"));
}

/// Keys (with chosen permissions and a webhook URL), dialect credentials, webhook deliveries
/// with their filter, and an unmatched UPI credit matched by hand.
async fn keys_credentials_webhooks_and_credits(backend: Backend) {
    let app = TestApp::spawn_with(backend, crate::common::fast_webhooks()).await;
    app.add_user("owner@shop.example", hundi::domain::role::Role::Owner)
        .await;
    app.set_upi("shop@okaxis", "Shop").await;
    let mut v = signed_in(&app).await;
    let csrf = v.get("/dashboard/keys").await.csrf();
    let receiver = crate::common::receiver::Receiver::start().await;
    let page = v
        .post(
            "/dashboard/keys",
            &[
                ("csrf", &csrf),
                ("label", "Shop page"),
                ("permission", "payments:create"),
                ("webhook_url", &receiver.url),
            ],
        )
        .await;
    assert_eq!(page.status, 200, "{}", page.body);
    let secret_of = |body: &str, n: usize| {
        body.split("data-testid=\"secret-value\">")
            .nth(n)
            .map(|s| s[..s.find('<').unwrap()].to_string())
            .unwrap()
    };
    let key = secret_of(&page.body, 1);
    let webhook_secret = secret_of(&page.body, 2);
    assert!(key.starts_with("hk_test_") && webhook_secret.starts_with("whsec_"));
    assert!(page.body.contains("payments:create"));
    let (status, _) = app
        .post(
            &key,
            "/v1/payments",
            json!({"amount": "10.00", "currency": "PKR"}),
        )
        .await;
    assert_eq!(status, 201);
    assert_eq!(app.get(&key, "/v1/payments").await.0, 403, "create only");
    receiver.inbox.wait_for(1, 10).await;
    // Edit it: add payments:read and drop the webhook URL; the API follows within a second.
    let key_id = hundi::store::KeyStore::find_key_by_hash(
        &*app.store,
        &hundi::domain::key::hash_secret(&key),
    )
    .await
    .unwrap()
    .id;
    let page = v
        .post(
            &format!("/dashboard/keys/{key_id}"),
            &[
                ("csrf", &csrf),
                ("permission", "payments:create"),
                ("permission", "payments:read"),
                ("webhook_url", ""),
            ],
        )
        .await;
    assert_eq!(page.status, 200, "{}", page.body);
    let mut status = 0;
    for _ in 0..30 {
        status = app.get(&key, "/v1/payments").await.0;
        if status == 200 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(status, 200, "payments:read granted");
    assert!(!v
        .get("/dashboard/webhooks")
        .await
        .body
        .contains(&format!(">{}<", receiver.url)));

    // A dialect credential: XPay's account id and secret, shown once.
    let page = v
        .post(
            "/dashboard/credentials",
            &[("csrf", &csrf), ("name", "xpay_hmac")],
        )
        .await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("Account id"));
    assert!(secret_of(&page.body, 2).starts_with("hmac_sc_"));
    let listed = v.get("/dashboard/keys").await.body;
    assert!(
        !listed.contains(&secret_of(&page.body, 2)),
        "not shown again"
    );

    // Webhooks: the delivery to the key's URL, and the status filter.
    let hooks = v.get("/dashboard/webhooks").await.body;
    let delivered = "<span class=\"pill succeeded\">succeeded</span>";
    assert!(hooks.contains(delivered), "{hooks}");
    assert!(!v
        .get("/dashboard/webhooks?status=failed")
        .await
        .body
        .contains(delivered));

    // A credit that matched nothing, matched here by hand.
    let p = app
        .post(
            &app.shop.test_key,
            "/v1/payments",
            json!({"amount": "300.00", "currency": "INR"}),
        )
        .await
        .1;
    let id = p["id"].as_str().unwrap();
    let (_, credit) = app
        .post(
            &app.shop.test_key,
            "/v1/credits",
            json!({"utr": "410599999999", "amount": "123.00"}),
        )
        .await;
    let credit_id = credit["credit"]["id"].as_str().unwrap();
    let page = v.get("/dashboard/credits?show=unmatched").await;
    assert!(page.body.contains("410599999999"));
    // 123.00 is 176.00 short of the payable 299.00: the user is asked to confirm first, and
    // nothing changes until they do.
    let match_path = format!("/dashboard/credits/{credit_id}/match");
    let page = v
        .post(&match_path, &[("csrf", &csrf), ("payment", id)])
        .await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("176.00 INR short"), "{}", page.body);
    assert!(page
        .body
        .contains("name=\"confirm_shortfall\" value=\"176.00\""));
    let page = v
        .post(
            &match_path,
            &[
                ("csrf", &csrf),
                ("payment", id),
                ("confirm_shortfall", "1.00"),
            ],
        )
        .await;
    assert_eq!(
        page.status, 200,
        "a confirmation of another shortfall is asked again"
    );
    let (_, pending) = app
        .get(&app.shop.test_key, &format!("/v1/payments/{id}"))
        .await;
    assert_eq!(pending["status"], "pending");
    let page = v
        .post(
            &match_path,
            &[
                ("csrf", &csrf),
                ("payment", id),
                ("confirm_shortfall", "176.00"),
            ],
        )
        .await;
    assert_eq!(page.status, 303, "{}", page.body);
    let (_, matched) = app
        .get(&app.shop.test_key, &format!("/v1/credits/{credit_id}"))
        .await;
    assert_eq!(matched["shortfall_accepted"]["amount"], "176.00");
    assert_eq!(matched["shortfall_accepted"]["by"], "owner@shop.example");
    assert!(matched["shortfall_accepted"]["at"].is_string());
    let (_, paid) = app
        .get(&app.shop.test_key, &format!("/v1/payments/{id}"))
        .await;
    assert_eq!(paid["status"], "succeeded");
    let page = v.get("/dashboard/credits?show=matched").await;
    assert!(page.body.contains(id));
    assert!(
        page.body
            .contains("INR 176.00 short, accepted by owner@shop.example"),
        "{}",
        page.body
    );
}

/// The key form sets a key's rate limit (requests per second; empty: the default), at
/// creation and when editing, and refuses a limit out of range.
async fn the_key_form_sets_a_rate_limit(backend: Backend) {
    let app = app_with_users(backend).await;
    let mut v = signed_in(&app).await;
    let page = v.get("/dashboard/keys").await;
    assert!(page.body.contains("data-testid=\"new-key-rate-limit\""));
    let csrf = page.csrf();
    let page = v
        .post(
            "/dashboard/keys",
            &[
                ("csrf", &csrf),
                ("label", "Shop page"),
                ("permission", "payments:create"),
                ("rate_limit", "5"),
            ],
        )
        .await;
    assert_eq!(page.status, 200, "{}", page.body);
    let limit_of = |label: &'static str| {
        let store = app.store.clone();
        let merchant = app.shop.id.clone();
        async move {
            hundi::store::KeyStore::list_keys(&*store, Some(&merchant))
                .await
                .unwrap()
                .into_iter()
                .find(|k| k.label == label)
                .unwrap()
        }
    };
    let key = limit_of("Shop page").await;
    assert_eq!(key.rate_limit, Some(5));
    // The edit form shows it, and changes it.
    assert!(
        page.body.contains("value=\"5\" placeholder=\"100\""),
        "{}",
        page.body
    );
    let edit = |limit: &'static str| {
        vec![
            ("csrf", csrf.clone()),
            ("permission", "payments:create".to_string()),
            ("rate_limit", limit.to_string()),
        ]
    };
    for (typed, stored) in [("250", Some(250)), ("", None)] {
        let form = edit(typed);
        let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let page = v.post(&format!("/dashboard/keys/{}", key.id), &form).await;
        assert_eq!(page.status, 200, "{}", page.body);
        assert_eq!(limit_of("Shop page").await.rate_limit, stored, "{typed:?}");
    }
    let form = edit("0");
    let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let page = v.post(&format!("/dashboard/keys/{}", key.id), &form).await;
    assert_eq!(page.status, 422, "{}", page.body);
    assert!(page.body.contains("1 to 1000000"), "{}", page.body);
    assert_eq!(limit_of("Shop page").await.rate_limit, None);
}

on_both_backends!(
    keys_credentials_webhooks_and_credits,
    the_key_form_sets_a_rate_limit,
    sessions_begin_and_end,
    wrong_passwords_slow_down,
    every_form_needs_the_csrf_token,
    another_merchants_payment_is_a_404,
    customer_text_is_shown_as_text,
    filters_pages_and_csv,
    overview_and_settings,
);
