//! A merchant's team, on both backends: every role against every dashboard action (a
//! forbidden one answers 403 and changes nothing, not even the audit log; an allowed change
//! writes exactly one audit entry naming the user), the last owner kept under concurrent
//! demotion, the command line's changes recorded as the command line's, and an audit log
//! the database itself refuses to edit.

use crate::common::visitor::Visitor;
use crate::common::{operator, Backend, TestApp};
use hundi::domain::audit::{AuditEntry, AuditFilter};
use hundi::domain::role::{Action, Role};
use hundi::service::access::Acting;
use hundi::store::{CreditFilter, Page as StorePage, PaymentFilter, Scope};
use serde_json::json;

use crate::common::PASSWORD;

/// Every dashboard page and form, as a user reaches it.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Act {
    Overview,
    Payments,
    PaymentsCsv,
    PaymentPage,
    Keys,
    Webhooks,
    Credits,
    Audit,
    AuditCsv,
    Refund,
    Cancel,
    Redeliver,
    CreateKey,
    ChangeKey,
    RevokeKey,
    CreateCredential,
    CreateEndpoint,
    MatchCredit,
    SaveSettings,
    SaveUpi,
    AddUser,
    SetRole,
    RemoveUser,
}

const ACTS: [Act; 23] = [
    Act::Overview,
    Act::Payments,
    Act::PaymentsCsv,
    Act::PaymentPage,
    Act::Keys,
    Act::Webhooks,
    Act::Credits,
    Act::Audit,
    Act::AuditCsv,
    Act::Refund,
    Act::Cancel,
    Act::Redeliver,
    Act::CreateKey,
    Act::ChangeKey,
    Act::RevokeKey,
    Act::CreateCredential,
    Act::CreateEndpoint,
    Act::MatchCredit,
    Act::SaveSettings,
    Act::SaveUpi,
    Act::AddUser,
    Act::SetRole,
    Act::RemoveUser,
];

impl Act {
    /// What the role must allow, as the table says it.
    fn needs(self) -> Action {
        match self {
            Act::Overview | Act::Payments | Act::PaymentsCsv | Act::PaymentPage | Act::Credits => {
                Action::ReadPayments
            }
            Act::Keys | Act::Webhooks => Action::ReadDeveloper,
            Act::Audit | Act::AuditCsv => Action::ReadAudit,
            Act::Refund => Action::Refund,
            Act::Cancel => Action::Cancel,
            Act::MatchCredit => Action::MatchCredit,
            Act::Redeliver | Act::CreateEndpoint => Action::ManageWebhooks,
            Act::CreateKey | Act::ChangeKey | Act::RevokeKey => Action::ManageKeys,
            Act::CreateCredential => Action::ManageCredentials,
            Act::SaveSettings | Act::SaveUpi => Action::ManageSettings,
            Act::AddUser | Act::SetRole | Act::RemoveUser => Action::ManageTeam,
        }
    }

    /// The audit entry an allowed change writes (`None`: a read, which writes none).
    fn records(self) -> Option<&'static str> {
        Some(match self {
            Act::Refund => "refund.created",
            Act::Cancel => "payment.canceled",
            Act::Redeliver => "event.redelivered",
            Act::CreateKey => "key.created",
            Act::ChangeKey => "key.changed",
            Act::RevokeKey => "key.revoked",
            // Created the first time, rotated by every later role.
            Act::CreateCredential => "credential.",
            Act::CreateEndpoint => "webhook_endpoint.created",
            Act::MatchCredit => "credit.matched",
            Act::SaveSettings => "settings.changed",
            Act::SaveUpi => "settings.upi_changed",
            Act::AddUser => "user.created",
            Act::SetRole => "user.role_changed",
            Act::RemoveUser => "user.removed",
            _ => return None,
        })
    }
}

fn test_scope(app: &TestApp) -> Scope {
    Scope {
        merchant_id: app.shop.id.clone(),
        livemode: false,
    }
}

/// The request an action is, with whatever it acts on made beforehand by the operator.
async fn prepare(
    app: &TestApp,
    act: Act,
    n: usize,
) -> (&'static str, String, Vec<(String, String)>) {
    let state = &app.server.as_ref().expect("running").state;
    let scope = test_scope(app);
    let form = |pairs: &[(&str, &str)]| -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    };
    let pending = || async {
        app.payment("10.00").await["id"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let key = || async {
        hundi::service::keys::create_key(
            &*app.store,
            &operator(&scope),
            hundi::service::keys::NewKey::new(
                hundi::domain::key::Mode::Test,
                "to change",
                vec![hundi::domain::key::Permission::PaymentsRead],
            ),
        )
        .await
        .unwrap()
        .key
        .id
    };
    let mate = || async {
        app.add_user(&format!("mate{n}@shop.example"), Role::Support)
            .await
            .id
    };
    match act {
        Act::Overview => ("GET", "/dashboard".into(), vec![]),
        Act::Payments => ("GET", "/dashboard/payments".into(), vec![]),
        Act::PaymentsCsv => ("GET", "/dashboard/payments.csv".into(), vec![]),
        Act::PaymentPage => (
            "GET",
            format!("/dashboard/payments/{}", pending().await),
            vec![],
        ),
        Act::Keys => ("GET", "/dashboard/keys".into(), vec![]),
        Act::Webhooks => ("GET", "/dashboard/webhooks".into(), vec![]),
        Act::Credits => ("GET", "/dashboard/credits".into(), vec![]),
        Act::Audit => ("GET", "/dashboard/audit".into(), vec![]),
        Act::AuditCsv => ("GET", "/dashboard/audit.csv".into(), vec![]),
        Act::Refund => {
            let id = pending().await;
            state.payments.succeed(&scope, &id).await.unwrap();
            let path = format!("/dashboard/payments/{id}/refund");
            ("POST", path, form(&[("amount", "1.00")]))
        }
        Act::Cancel => {
            let path = format!("/dashboard/payments/{}/cancel", pending().await);
            ("POST", path, vec![])
        }
        Act::Redeliver => {
            let id = pending().await;
            let events = app.events_of(&app.shop.test_key, &id).await;
            let event = events[0]["id"].as_str().unwrap().to_string();
            (
                "POST",
                format!("/dashboard/events/{event}/redeliver"),
                vec![],
            )
        }
        Act::CreateKey => (
            "POST",
            "/dashboard/keys".into(),
            form(&[("label", "new"), ("permission", "payments:read")]),
        ),
        Act::ChangeKey => (
            "POST",
            format!("/dashboard/keys/{}", key().await),
            form(&[("label", "x"), ("permission", "payments:write")]),
        ),
        Act::RevokeKey => (
            "POST",
            format!("/dashboard/keys/{}/revoke", key().await),
            vec![],
        ),
        Act::CreateCredential => (
            "POST",
            "/dashboard/credentials".into(),
            form(&[("name", "xpay_hmac")]),
        ),
        Act::CreateEndpoint => (
            "POST",
            "/dashboard/webhooks".into(),
            form(&[("url", "https://example.com/hook")]),
        ),
        Act::MatchCredit => {
            let (status, p) = app
                .post(
                    &app.shop.test_key,
                    "/v1/payments",
                    json!({"amount": "100.00", "currency": "INR"}),
                )
                .await;
            assert_eq!(status, 201, "{p}");
            // More than the payment asks, so it matched nothing by itself.
            let utr = format!("4105{n:08}");
            let (status, c) = app
                .post(
                    &app.shop.test_key,
                    "/v1/credits",
                    json!({"utr": utr, "amount": "150.00"}),
                )
                .await;
            assert_eq!(status, 201, "{c}");
            let credit = c["credit"]["id"].as_str().unwrap();
            let payment = p["id"].as_str().unwrap().to_string();
            let path = format!("/dashboard/credits/{credit}/match");
            ("POST", path, vec![("payment".into(), payment)])
        }
        Act::SaveSettings => (
            "POST",
            "/dashboard/settings".into(),
            form(&[("name", &format!("Shop {n}")), ("expiry_minutes", "30")]),
        ),
        Act::SaveUpi => (
            "POST",
            "/dashboard/settings/upi".into(),
            form(&[("upi_id", &format!("shop{n}@okaxis")), ("upi_name", "Shop")]),
        ),
        Act::AddUser => (
            "POST",
            "/dashboard/settings/users".into(),
            form(&[
                ("email", &format!("new{n}@shop.example")),
                ("password", PASSWORD),
                ("role", "viewer"),
            ]),
        ),
        Act::SetRole => (
            "POST",
            format!("/dashboard/settings/users/{}/role", mate().await),
            form(&[("role", "viewer")]),
        ),
        Act::RemoveUser => (
            "POST",
            format!("/dashboard/settings/users/{}/remove", mate().await),
            vec![],
        ),
    }
}

/// What a forbidden action must leave as it was: the merchant's keys, endpoints, payments,
/// credits, credentials, settings, team and audit log (fields that change on their own, such
/// as request counts and delivery state, are left out).
async fn snapshot(app: &TestApp) -> String {
    let store = &*app.store;
    let scope = test_scope(app);
    let keys: Vec<_> = store
        .list_keys(Some(&app.shop.id))
        .await
        .unwrap()
        .into_iter()
        .map(|k| {
            (
                k.id,
                k.label,
                k.permissions,
                k.webhook_url,
                k.rate_limit,
                k.revoked_at,
            )
        })
        .collect();
    let page = StorePage {
        starting_after: None,
        limit: 100,
    };
    let endpoints: Vec<_> = store
        .list_endpoints(&scope, &page)
        .await
        .unwrap()
        .into_iter()
        .map(|e| (e.id, e.url, e.events, e.description))
        .collect();
    let filter = PaymentFilter {
        limit: 100,
        ..PaymentFilter::default()
    };
    let payments: Vec<_> = store
        .list_payments(&scope, &filter)
        .await
        .unwrap()
        .into_iter()
        .map(|p| (p.id, p.status, p.refunded_minor))
        .collect();
    let credits: Vec<_> = store
        .list_credits(
            &scope,
            &CreditFilter {
                limit: 100,
                ..CreditFilter::default()
            },
        )
        .await
        .unwrap()
        .into_iter()
        .map(|c| (c.id, c.payment_id))
        .collect();
    let credentials = store.list_credentials(&scope).await.unwrap();
    let merchant = store.get_merchant(&app.shop.id).await.unwrap();
    let users = store.list_users(&app.shop.id).await.unwrap();
    format!(
        "{keys:?}\n{endpoints:?}\n{payments:?}\n{credits:?}\n{credentials:?}\n{merchant:?}\n\
         {users:?}\n{:?}",
        audit(app).await
    )
}

/// The shop's audit log, newest first.
async fn audit(app: &TestApp) -> Vec<AuditEntry> {
    let filter = AuditFilter {
        limit: 500,
        ..AuditFilter::default()
    };
    app.store.list_audit(&app.shop.id, &filter).await.unwrap()
}

async fn send(
    v: &mut Visitor,
    method: &str,
    path: &str,
    form: &[(String, String)],
    csrf: &str,
) -> u16 {
    if method == "GET" {
        return v.get(path).await.status;
    }
    let mut fields: Vec<(&str, &str)> = vec![("csrf", csrf)];
    fields.extend(form.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    v.post(path, &fields).await.status
}

async fn every_role_against_every_dashboard_action(backend: Backend) {
    let app = TestApp::spawn_with(backend, crate::common::fast_webhooks()).await;
    let scope = test_scope(&app);
    hundi::service::merchants::set_upi(
        &*app.store,
        &operator(&scope),
        Some("shop@okaxis"),
        Some("Shop"),
    )
    .await
    .unwrap();
    let mut n = 0;
    for role in Role::ALL {
        let email = format!("{}@shop.example", role.as_str());
        let user = app.add_user(&email, role).await;
        let mut v = Visitor::new(&app);
        assert_eq!(v.sign_in(&email, PASSWORD).await.status, 303);
        let csrf = v.get("/dashboard").await.csrf();
        for act in ACTS {
            n += 1;
            let (method, path, form) = prepare(&app, act, n).await;
            let before = snapshot(&app).await;
            let entries = audit(&app).await.len();
            let status = send(&mut v, method, &path, &form, &csrf).await;
            let allowed = role.allows(act.needs());
            let what = format!("{role} {method} {path}");
            if !allowed {
                assert_eq!(status, 403, "{what} is refused");
                assert_eq!(snapshot(&app).await, before, "{what} changed nothing");
                continue;
            }
            assert!((200..400).contains(&status), "{what} is allowed: {status}");
            let after = audit(&app).await;
            match act.records() {
                None => assert_eq!(after.len(), entries, "{what} records nothing"),
                Some(action) => {
                    assert_eq!(after.len(), entries + 1, "{what} records one entry");
                    assert!(after[0].action.starts_with(action), "{what}: {after:?}");
                    assert_eq!(
                        (after[0].actor_kind.as_str(), after[0].actor_id.as_str()),
                        ("user", user.id.as_str()),
                        "{what} names the user"
                    );
                    assert_eq!(after[0].client_addr.as_deref(), Some("127.0.0.1"));
                }
            }
        }
        // The audit link is in the frame only for the roles that may read it.
        let frame = v.get("/dashboard").await.body;
        assert_eq!(
            frame.contains("href=\"/dashboard/audit\""),
            role.allows(Action::ReadAudit),
            "{role}"
        );
    }
}

/// Two owners demoting each other at once: one wins, the merchant keeps an owner.
async fn the_last_owner_is_kept_under_concurrent_demotion(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let scope = test_scope(&app);
    let cli = operator(&scope);
    let create = |email: &'static str| {
        hundi::service::users::create_user(&*app.store, &cli, email, PASSWORD, Role::Owner)
    };
    let a = create("a@shop.example").await.unwrap();
    let b = create("b@shop.example").await.unwrap();
    for _ in 0..5 {
        let by_a = Acting::user(&a, false, Default::default());
        let by_b = Acting::user(&b, false, Default::default());
        let service = &app.server.as_ref().unwrap().state.payments;
        let (x, y) = tokio::join!(
            service.set_role(&by_a, &b.id, Role::Viewer),
            service.set_role(&by_b, &a.id, Role::Viewer),
        );
        assert!(
            x.is_ok() != y.is_ok(),
            "exactly one demotion wins: {x:?} {y:?}"
        );
        let users = app.store.list_users(&app.shop.id).await.unwrap();
        let owners = users.iter().filter(|u| u.role == Role::Owner).count();
        assert_eq!(owners, 1);
        // Both owners again for the next round.
        for u in &users {
            service.set_role(&cli, &u.id, Role::Owner).await.unwrap();
        }
    }
    // The last owner can be neither demoted nor removed.
    let service = &app.server.as_ref().unwrap().state.payments;
    service.set_role(&cli, &b.id, Role::Admin).await.unwrap();
    let refused = service.set_role(&cli, &a.id, Role::Admin).await;
    assert!(refused.is_err(), "{refused:?}");
    assert!(service.remove_user(&cli, &a.id).await.is_err());
    let users = app.store.list_users(&app.shop.id).await.unwrap();
    assert!(users.iter().any(|u| u.id == a.id && u.role == Role::Owner));
}

/// Entries cannot be changed or deleted, even by SQL sent straight to the database.
async fn the_audit_log_refuses_updates_and_deletes(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let scope = test_scope(&app);
    hundi::service::merchants::set_upi(&*app.store, &operator(&scope), Some("shop@okaxis"), None)
        .await
        .unwrap();
    let before = audit(&app).await;
    assert!(!before.is_empty());
    let statements = [
        "UPDATE audit_log SET action = 'nothing'",
        "DELETE FROM audit_log",
    ];
    match backend {
        Backend::Sqlite => {
            let pool = sqlx::SqlitePool::connect(&app.db.url).await.unwrap();
            for sql in statements {
                let refused = sqlx::query(sql).execute(&pool).await;
                assert!(refused.is_err(), "{sql} is refused");
            }
        }
        Backend::Postgres => {
            let pool = sqlx::PgPool::connect(&app.db.url).await.unwrap();
            for sql in statements.into_iter().chain(["TRUNCATE audit_log"]) {
                let refused = sqlx::query(sql).execute(&pool).await;
                assert!(refused.is_err(), "{sql} is refused");
            }
        }
    }
    assert_eq!(audit(&app).await, before);
}

/// The command line's changes are recorded as the command line's, one entry each, in the
/// order they were made; a refused one (demoting the last owner) records nothing.
async fn the_command_line_records_its_changes(backend: Backend) {
    use crate::process::{hundi, hundi_json};
    let db = crate::common::TestDb::new(backend).await;
    let m = hundi_json(&db, &["merchant", "create", "--name", "Shop", "--json"]);
    let m = m["id"].as_str().unwrap();
    let key = hundi_json(&db, &["key", "create", "--merchant", m, "--json"]);
    let key = key["id"].as_str().unwrap();
    let steps: Vec<Vec<&str>> = vec![
        vec!["key", "set-rate-limit", key, "5", "--json"],
        vec!["key", "revoke", key, "--json"],
        vec![
            "credential",
            "create",
            "xpay_hmac",
            "--merchant",
            m,
            "--json",
        ],
        vec![
            "merchant",
            "set-upi",
            "--merchant",
            m,
            "--upi-id",
            "shop@okaxis",
            "--json",
        ],
        vec![
            "user",
            "create",
            "--merchant",
            m,
            "--email",
            "a@shop.example",
            "--password",
            PASSWORD,
            "--role",
            "owner",
            "--json",
        ],
        vec![
            "user",
            "create",
            "--merchant",
            m,
            "--email",
            "b@shop.example",
            "--password",
            PASSWORD,
            "--role",
            "support",
            "--json",
        ],
        vec![
            "user",
            "set-role",
            "--email",
            "b@shop.example",
            "--role",
            "admin",
            "--json",
        ],
        vec!["user", "remove", "--email", "b@shop.example"],
    ];
    for args in &steps {
        let (ok, out, err) = hundi(&db, args);
        assert!(ok, "hundi {args:?}: {out} {err}");
    }
    let (ok, _, err) = hundi(
        &db,
        &[
            "user",
            "set-role",
            "--email",
            "a@shop.example",
            "--role",
            "viewer",
        ],
    );
    assert!(!ok, "the last owner stays an owner");
    assert!(err.contains("owner"), "{err}");
    let store = db.store().await;
    let filter = AuditFilter {
        limit: 100,
        ..AuditFilter::default()
    };
    let mut entries = store.list_audit(m, &filter).await.unwrap();
    entries.reverse();
    let actions: Vec<&str> = entries.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(
        actions,
        [
            "key.created",
            "key.rate_limit_changed",
            "key.revoked",
            "credential.created",
            "settings.upi_changed",
            "user.created",
            "user.created",
            "user.role_changed",
            "user.removed",
        ]
    );
    assert!(entries
        .iter()
        .all(|e| e.actor_kind == "cli" && e.actor_id == "cli"));
    // Never a secret: the credential's entry names it, the key's entries hold no secret.
    let all = format!("{entries:?}");
    assert!(
        !all.contains("sk_test_") && !all.contains(PASSWORD),
        "{all}"
    );
    let role_change = &entries[7];
    let detail: serde_json::Value = serde_json::from_str(&role_change.detail).unwrap();
    assert_eq!(
        (detail["before"].as_str(), detail["after"].as_str()),
        (Some("support"), Some("admin"))
    );
}

/// The API's admin paths record the key that made each change, with the caller's address.
async fn the_api_records_the_key_behind_each_change(backend: Backend) {
    let app = TestApp::spawn_with(backend, crate::common::fast_webhooks()).await;
    let key = &app.shop.test_key;
    let scope = test_scope(&app);
    let state = &app.server.as_ref().unwrap().state;
    // The shop's own keys, made by the command line before the test.
    let setup = audit(&app).await.len();
    let paid = app.payment("20.00").await["id"]
        .as_str()
        .unwrap()
        .to_string();
    state.payments.succeed(&scope, &paid).await.unwrap();
    let (status, _) = app
        .post(
            key,
            "/v1/refunds",
            json!({"payment": paid, "amount": "5.00"}),
        )
        .await;
    assert_eq!(status, 201);
    let pending = app.payment("3.00").await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let (status, _) = app
        .post(key, &format!("/v1/payments/{pending}/cancel"), json!({}))
        .await;
    assert_eq!(status, 200);
    let (status, e) = app
        .post(
            key,
            "/v1/webhook_endpoints",
            json!({"url": "http://127.0.0.1:9/h", "events": ["*"]}),
        )
        .await;
    assert_eq!(status, 201, "{e}");
    let e = e["id"].as_str().unwrap();
    let (status, _) = app
        .post(
            key,
            &format!("/v1/webhook_endpoints/{e}"),
            json!({"description": "orders"}),
        )
        .await;
    assert_eq!(status, 200);
    let (status, _) = app
        .post(
            key,
            &format!("/v1/webhook_endpoints/{e}/rotate_secret"),
            json!({}),
        )
        .await;
    assert_eq!(status, 200);
    let deleted = app
        .http
        .delete(format!("{}/v1/webhook_endpoints/{e}", app.url))
        .bearer_auth(key)
        .send()
        .await
        .unwrap();
    assert!(deleted.status().is_success());
    let mut entries = audit(&app).await;
    entries.truncate(entries.len() - setup);
    let actions: Vec<&str> = entries.iter().rev().map(|e| e.action.as_str()).collect();
    assert_eq!(
        actions,
        [
            "refund.created",
            "payment.canceled",
            "webhook_endpoint.created",
            "webhook_endpoint.changed",
            "webhook_endpoint.secret_rotated",
            "webhook_endpoint.removed",
        ]
    );
    let key_id = &state.reads.list_keys(Some(&app.shop.id)).await.unwrap()[0].id;
    for e in &entries {
        assert_eq!((e.actor_kind.as_str(), &e.actor_id), ("key", key_id));
        assert_eq!(e.mode.as_deref(), Some("test"));
        assert_eq!(e.client_addr.as_deref(), Some("127.0.0.1"));
        assert!(!e.detail.contains("whsec_"), "no secret: {}", e.detail);
    }
    let changed: serde_json::Value = serde_json::from_str(&entries[2].detail).unwrap();
    assert_eq!(changed["before"]["description"], serde_json::Value::Null);
    assert_eq!(changed["after"]["description"], "orders");
}

/// The audit page as an owner reads it: newest first, 100 to a page with a link to older
/// entries, filtered by actor, action and date, and the same filter as CSV.
async fn the_audit_page_filters_pages_and_exports(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let scope = test_scope(&app);
    let owner = app.add_user("owner@shop.example", Role::Owner).await;
    let service = &app.server.as_ref().unwrap().state.payments;
    let by_owner = Acting::user(&owner, false, Default::default());
    for i in 0..120 {
        let upi = format!("shop{i}@okaxis");
        hundi::service::merchants::set_upi(&*app.store, &by_owner, Some(&upi), None)
            .await
            .unwrap();
    }
    service
        .set_role(&operator(&scope), &owner.id, Role::Owner)
        .await
        .unwrap();
    let mut v = Visitor::new(&app);
    assert_eq!(v.sign_in("owner@shop.example", PASSWORD).await.status, 303);
    let rows = |body: &str| body.matches("data-testid=\"audit-action\"").count();
    let first = v.get("/dashboard/audit").await;
    assert_eq!(first.status, 200);
    assert_eq!(rows(&first.body), 100);
    // Newest first: the sign-in just made leads.
    let table = &first.body[first.body.find("audit-table").unwrap()..];
    assert!(table.find("user.signed_in").unwrap() < table.find("settings.upi_changed").unwrap());
    assert!(first.body.contains("shop119@okaxis"));
    let at = first
        .body
        .find("data-testid=\"older-page\"")
        .expect("a link to older entries");
    let href_at = first.body[..at].rfind("href=\"").unwrap() + 6;
    let href = &first.body[href_at..href_at + first.body[href_at..].find('"').unwrap()];
    let older = v.get(&href.replace("&#38;", "&")).await;
    assert_eq!(older.status, 200);
    // 2 keys + the user + 120 changes + the role change + the sign-in, 100 of them shown.
    assert_eq!(rows(&older.body), 125 - 100, "{}", older.body);
    assert!(!older.body.contains("shop119@okaxis"));
    assert!(!older.body.contains("older-page"));
    // By action, by actor, by date.
    let upi = v.get("/dashboard/audit?action=settings.upi_changed").await;
    assert_eq!(rows(&upi.body), 100);
    let by_cli = v.get("/dashboard/audit?actor=cli").await;
    assert_eq!(
        rows(&by_cli.body),
        4,
        "two keys, the user and the role change"
    );
    let by_user = v
        .get(&format!(
            "/dashboard/audit?actor={}&action=user.signed_in",
            owner.id
        ))
        .await;
    assert_eq!(rows(&by_user.body), 1);
    let tomorrow = (chrono::Utc::now() + chrono::Duration::days(1)).format("%Y-%m-%d");
    let later = v.get(&format!("/dashboard/audit?from={tomorrow}")).await;
    assert_eq!(rows(&later.body), 0);
    let today = chrono::Utc::now().format("%Y-%m-%d");
    let until_today = v
        .get(&format!(
            "/dashboard/audit?to={today}&action=settings.upi_changed"
        ))
        .await;
    assert_eq!(rows(&until_today.body), 100);
    assert_eq!(
        v.get("/dashboard/audit?action=drop+table").await.status,
        422
    );
    assert_eq!(v.get("/dashboard/audit?before=x").await.status, 422);
    // The CSV holds every row of the filter, not only the first page.
    let csv = v
        .get("/dashboard/audit.csv?action=settings.upi_changed")
        .await;
    assert_eq!(csv.status, 200);
    let mut reader = csv::Reader::from_reader(csv.body.as_bytes());
    let records: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(records.len(), 120);
    assert_eq!(&records[0][4], "settings.upi_changed");
    assert_eq!(&records[0][2], owner.id.as_str());
    assert!(records[0][7].contains("shop119@okaxis"));
}

crate::on_both_backends!(
    the_audit_page_filters_pages_and_exports,
    the_api_records_the_key_behind_each_change,
    the_command_line_records_its_changes,
    every_role_against_every_dashboard_action,
    the_last_owner_is_kept_under_concurrent_demotion,
    the_audit_log_refuses_updates_and_deletes,
);
