//! Payment links: the API creates, lists, reads and deactivates them (idempotent, one merchant's
//! links invisible to another); a visitor pays through `/l/{slug}` over HTTP as a browser
//! without JavaScript would, within the link's bounds and limits; starts are throttled per
//! address. On both backends.

use crate::common::{pay_by_card, Backend, TestApp};
use serde_json::{json, Value};
use std::time::Duration;

fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
}

async fn create(app: &TestApp, body: Value) -> Value {
    let (status, link) = app
        .post(&app.shop.test_key, "/v1/payment_links", body)
        .await;
    assert_eq!(status, 201, "{link}");
    link
}

/// The link page's HTML and its form's CSRF token.
async fn open(url: &str) -> (u16, String, String) {
    let res = no_redirects().get(url).send().await.expect("page");
    let status = res.status().as_u16();
    let body = res.text().await.expect("body");
    let csrf = body
        .split("name=\"csrf\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap_or_default()
        .to_string();
    (status, body, csrf)
}

/// Posts the link's form; the status and where it sends the customer.
async fn start(url: &str, csrf: &str, amount: Option<&str>) -> (u16, String, String) {
    let mut form = vec![("csrf", csrf)];
    if let Some(a) = amount {
        form.push(("amount", a));
    }
    let res = no_redirects()
        .post(url)
        .form(&form)
        .send()
        .await
        .expect("post");
    let status = res.status().as_u16();
    let location = res
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    (status, location, res.text().await.unwrap_or_default())
}

async fn api_creates_lists_reads_and_deactivates_links(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let body = json!({"amount": "499.00", "currency": "INR", "description": "Masala tea"});
    let (status, fixed) = app
        .post_idem(
            &app.shop.test_key,
            "/v1/payment_links",
            "tea-1",
            body.clone(),
        )
        .await;
    assert_eq!(status, 201, "{fixed}");
    let (_, again) = app
        .post_idem(&app.shop.test_key, "/v1/payment_links", "tea-1", body)
        .await;
    assert_eq!(again["id"], fixed["id"], "the same key makes one link");
    assert_eq!(fixed["object"], "payment_link");
    assert_eq!(fixed["amount"], "499.00");
    assert!(fixed["url"]
        .as_str()
        .unwrap_or_default()
        .starts_with(&format!("{}/l/", app.url)));
    let chosen = create(
        &app,
        json!({"min_amount": "100", "max_amount": "5000", "currency": "PKR",
               "description": "Donation", "max_payments": 10, "methods": ["card"]}),
    )
    .await;
    assert_eq!(
        (chosen["min_amount"].as_str(), chosen["max_amount"].as_str()),
        (Some("100.00"), Some("5000.00"))
    );
    assert_eq!(chosen["amount"], Value::Null);

    let (_, list) = app.get(&app.shop.test_key, "/v1/payment_links").await;
    let ids: Vec<&str> = list["data"]
        .as_array()
        .expect("data")
        .iter()
        .filter_map(|l| l["id"].as_str())
        .collect();
    assert_eq!(
        ids,
        vec![
            chosen["id"].as_str().unwrap_or_default(),
            fixed["id"].as_str().unwrap_or_default()
        ]
    );
    let id = fixed["id"].as_str().expect("id");
    let (status, _) = app
        .get(&app.other.test_key, &format!("/v1/payment_links/{id}"))
        .await;
    assert_eq!(status, 404, "another merchant's link is not found");
    let (status, _) = app
        .get(&app.shop.live_key, &format!("/v1/payment_links/{id}"))
        .await;
    assert_eq!(status, 404, "a test link is not found in live mode");
    let (status, _) = app
        .post(
            &app.other.test_key,
            &format!("/v1/payment_links/{id}/deactivate"),
            json!({}),
        )
        .await;
    assert_eq!(status, 404);
    let (status, off) = app
        .post(
            &app.shop.test_key,
            &format!("/v1/payment_links/{id}/deactivate"),
            json!({}),
        )
        .await;
    assert_eq!(
        (status, off["active"].as_bool()),
        (200, Some(false)),
        "{off}"
    );

    for (bad, param) in [
        (
            json!({"min_amount": "200", "max_amount": "100", "currency": "INR", "description": "x"}),
            "max_amount",
        ),
        (json!({"currency": "INR", "description": "x"}), "amount"),
        (
            json!({"amount": "10", "currency": "INR", "description": "x", "methods": ["bkash"]}),
            "methods",
        ),
        (
            json!({"amount": "10", "currency": "INR", "description": "x", "expires_at": "2020-01-01T00:00:00Z"}),
            "expires_at",
        ),
    ] {
        let (status, err) = app.post(&app.shop.test_key, "/v1/payment_links", bad).await;
        assert_eq!(status, 422, "{err}");
        assert_eq!(err["error"]["param"], param, "{err}");
    }
}

/// A fixed-amount link limited to one payment: the visitor opens it, starts a payment, pays
/// by card; the payment's source is the link; the link then answers 410.
async fn a_link_is_paid_and_then_full(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let link = create(
        &app,
        json!({"amount": "250", "currency": "PKR", "description": "Chai for two", "max_payments": 1}),
    )
    .await;
    let url = link["url"].as_str().expect("url");
    let (status, page, csrf) = open(url).await;
    assert_eq!(status, 200);
    assert!(
        page.contains("Chai for two") && page.contains("PKR 250.00"),
        "{page}"
    );
    let (status, location, _) = start(url, "forged", None).await;
    assert_eq!(
        (status, location.as_str()),
        (403, ""),
        "a form from elsewhere"
    );
    let (status, location, body) = start(url, &csrf, Some("1")).await;
    assert_eq!(status, 303, "{body}");
    let id = location.strip_prefix("/pay/").expect("to the checkout");
    let (_, p) = app
        .get(&app.shop.test_key, &format!("/v1/payments/{id}"))
        .await;
    assert_eq!(
        (p["amount"].as_str(), p["source"].as_str()),
        (Some("250.00"), link["id"].as_str()),
        "{p}"
    );
    assert_eq!(p["description"], "Chai for two");
    let paid = pay_by_card(&app, &format!("{}{location}", app.url)).await;
    assert!(paid.status().is_redirection() || paid.status().is_success());
    let (_, p) = app
        .get(&app.shop.test_key, &format!("/v1/payments/{id}"))
        .await;
    assert_eq!(p["status"], "succeeded", "{p}");

    let (status, page, _) = open(url).await;
    assert_eq!(status, 410);
    assert!(page.contains("taken all the payments"), "{page}");
    let (status, _, _) = start(url, &csrf, None).await;
    assert_eq!(status, 410);
    let (status, _, _) = open(&format!("{}/l/AAAAAAAAAAAAAAAA", app.url)).await;
    assert_eq!(status, 404);
}

/// A link whose customer chooses the amount: out of bounds is refused on the page, within
/// them starts a payment of exactly that; an expired link and a deactivated one take none.
async fn chosen_amounts_expiry_and_deactivation(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let link = create(
        &app,
        json!({"min_amount": "100", "max_amount": "5000", "currency": "INR", "description": "Donation"}),
    )
    .await;
    let url = link["url"].as_str().expect("url");
    let (_, page, csrf) = open(url).await;
    assert!(page.contains("100.00 to 5000.00"), "{page}");
    let (status, _, body) = start(url, &csrf, Some("99.99")).await;
    assert_eq!(status, 422);
    assert!(
        body.contains("The amount must be 100.00 to 5000.00 INR"),
        "{body}"
    );
    let (status, location, _) = start(url, &csrf, Some("1234.50")).await;
    assert_eq!(status, 303);
    let (_, p) = app
        .get(
            &app.shop.test_key,
            &format!("/v1/payments/{}", location.trim_start_matches("/pay/")),
        )
        .await;
    assert_eq!(p["amount"], "1234.50");

    let soon = (chrono::Utc::now() + chrono::Duration::seconds(1)).to_rfc3339();
    let brief = create(
        &app,
        json!({"amount": "10", "currency": "INR", "description": "Brief", "expires_at": soon}),
    )
    .await;
    tokio::time::sleep(Duration::from_millis(1300)).await;
    let (status, page, _) = open(brief["url"].as_str().expect("url")).await;
    assert_eq!(status, 410);
    assert!(page.contains("expired"), "{page}");

    let id = link["id"].as_str().expect("id");
    app.post(
        &app.shop.test_key,
        &format!("/v1/payment_links/{id}/deactivate"),
        json!({}),
    )
    .await;
    let (status, location, _) = start(url, &csrf, Some("500")).await;
    assert_eq!((status, location.as_str()), (410, ""));
}

/// One address starting payments as fast as it can is held to two a second.
async fn starts_are_throttled_per_address(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let link = create(
        &app,
        json!({"amount": "10", "currency": "INR", "description": "Tea"}),
    )
    .await;
    let url = link["url"].as_str().expect("url");
    let (_, _, csrf) = open(url).await;
    let mut statuses = Vec::new();
    for _ in 0..12 {
        statuses.push(start(url, &csrf, None).await.0);
    }
    // Two a second, in bursts of four.
    let started = statuses.iter().filter(|s| **s == 303).count();
    assert!((4..=6).contains(&started), "{statuses:?}");
    assert!(statuses.contains(&429), "{statuses:?}");
    let (_, list) = app.get(&app.shop.test_key, "/v1/payments?limit=100").await;
    let through = list["data"]
        .as_array()
        .expect("data")
        .iter()
        .filter(|p| p["source"] == link["id"])
        .count();
    assert_eq!(through, started, "each start is one payment");
}

/// In the dashboard an admin makes a link (to its page, with its QR code) and deactivates it;
/// a viewer sees the links and is refused both; another merchant's user finds no such link.
async fn the_dashboard_makes_shows_and_deactivates_links(backend: Backend) {
    use crate::common::visitor::Visitor;
    use crate::common::PASSWORD;
    use hundi::domain::role::Role;
    let app = TestApp::spawn(backend).await;
    app.add_user("admin@shop.example", Role::Admin).await;
    app.add_user("viewer@shop.example", Role::Viewer).await;
    let mut admin = Visitor::new(&app);
    assert_eq!(
        admin.sign_in("admin@shop.example", PASSWORD).await.status,
        303
    );
    let csrf = admin.get("/dashboard/links").await.csrf();
    let form = [
        ("csrf", csrf.as_str()),
        ("description", "Samosa box"),
        ("currency", "PKR"),
        ("amount", "350"),
        ("max_payments", "20"),
        ("expires_in_days", "30"),
        ("methods", "card"),
        ("methods", "jazzcash"),
    ];
    let made = admin.post("/dashboard/links", &form).await;
    assert_eq!(made.status, 303, "{}", made.body);
    let page = admin.get(&made.location).await;
    assert!(
        page.body.contains("PKR 350.00") && page.body.contains("20 payments"),
        "{}",
        page.body
    );
    assert!(page.body.contains("<svg"), "the QR code");
    let id = made
        .location
        .trim_start_matches("/dashboard/links/")
        .to_string();
    let (_, link) = app
        .get(&app.shop.test_key, &format!("/v1/payment_links/{id}"))
        .await;
    assert_eq!(
        (link["amount"].as_str(), link["max_payments"].as_i64()),
        (Some("350.00"), Some(20))
    );
    assert_eq!(link["methods"], json!(["card", "jazzcash"]));
    assert!(page.body.contains(link["url"].as_str().unwrap_or("?")));
    let bkash = [
        ("csrf", csrf.as_str()),
        ("description", "x"),
        ("currency", "PKR"),
        ("amount", "1"),
        ("methods", "bkash"),
    ];
    let refused = admin.post("/dashboard/links", &bkash).await;
    assert_eq!(refused.status, 422);
    assert!(
        refused.body.contains("bkash takes only BDT payments"),
        "{}",
        refused.body
    );

    let mut viewer = Visitor::new(&app);
    assert_eq!(
        viewer.sign_in("viewer@shop.example", PASSWORD).await.status,
        303
    );
    let list = viewer.get("/dashboard/links").await;
    assert!(list.body.contains("Samosa box") && !list.body.contains("link-create"));
    let vcsrf = list.csrf();
    let refused = viewer
        .post(
            "/dashboard/links",
            &[
                ("csrf", vcsrf.as_str()),
                ("description", "x"),
                ("currency", "INR"),
                ("amount", "1"),
            ],
        )
        .await;
    assert_eq!(refused.status, 403);
    let refused = viewer
        .post(
            &format!("/dashboard/links/{id}/deactivate"),
            &[("csrf", vcsrf.as_str())],
        )
        .await;
    assert_eq!(refused.status, 403);

    let off = admin
        .post(
            &format!("/dashboard/links/{id}/deactivate"),
            &[("csrf", csrf.as_str())],
        )
        .await;
    assert_eq!(off.status, 303);
    let (_, link) = app
        .get(&app.shop.test_key, &format!("/v1/payment_links/{id}"))
        .await;
    assert_eq!(link["active"], false);

    let operator = hundi::service::access::Acting::cli(&app.other.id, false);
    hundi::service::users::create_user(
        &*app.store,
        &operator,
        "them@other.example",
        PASSWORD,
        Role::Owner,
    )
    .await
    .expect("user");
    let mut them = Visitor::new(&app);
    assert_eq!(
        them.sign_in("them@other.example", PASSWORD).await.status,
        303
    );
    assert_eq!(
        them.get(&format!("/dashboard/links/{id}")).await.status,
        404
    );
}

on_both_backends!(
    the_dashboard_makes_shows_and_deactivates_links,
    api_creates_lists_reads_and_deactivates_links,
    a_link_is_paid_and_then_full,
    chosen_amounts_expiry_and_deactivation,
    starts_are_throttled_per_address,
);
