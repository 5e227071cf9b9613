//! Two-factor sign-in over HTTP, on both backends: set up with a code computed from the
//! secret the page shows, the code asked after the password, a code accepted once, recovery
//! codes used once, wrong codes counted by the sign-in throttle, an owner requiring it of
//! everyone, the command line's reset, and each change in the audit log.

use crate::common::visitor::{Page, Visitor};
use crate::common::{Backend, TestApp};
use hundi::domain::audit::AuditFilter;
use hundi::domain::role::Role;
use hundi::domain::second_factor::{code_at, step_of};

use crate::common::PASSWORD;

/// The text of the element with `data-testid="{id}"` (its first text node).
fn testid(page: &Page, id: &str) -> String {
    let marker = format!("data-testid=\"{id}\"");
    let at = page
        .body
        .find(&marker)
        .unwrap_or_else(|| panic!("{id} in {}", page.body));
    let start = at + page.body[at..].find('>').unwrap() + 1;
    let end = start + page.body[start..].find('<').unwrap();
    page.body[start..end].trim().to_string()
}

fn recovery_codes(page: &Page) -> Vec<String> {
    let at = page.body.find("data-testid=\"recovery-codes\"").unwrap();
    let list = &page.body[at..at + page.body[at..].find("</ul>").unwrap()];
    list.split("<li>")
        .skip(1)
        .map(|li| li[..li.find("</li>").unwrap()].to_string())
        .collect()
}

fn now_step() -> i64 {
    step_of(chrono::Utc::now().timestamp())
}

async fn actions(app: &TestApp) -> Vec<String> {
    let filter = AuditFilter {
        limit: 500,
        ..AuditFilter::default()
    };
    let mut entries = app.store.list_audit(&app.shop.id, &filter).await.unwrap();
    entries.reverse();
    entries.into_iter().map(|e| e.action).collect()
}

/// Sets up two-factor sign-in from Settings; returns the secret, the step of the code that
/// confirmed it, and the recovery codes.
async fn set_up(v: &mut Visitor) -> (String, i64, Vec<String>) {
    let csrf = v.get("/dashboard/settings").await.csrf();
    let page = v
        .post("/dashboard/two-factor/setup", &[("csrf", &csrf)])
        .await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("<svg"), "a QR code drawn as SVG");
    // A wrong code is refused, and a new secret is shown.
    let secret = testid(&page, "two-factor-secret");
    let wrong = v
        .post(
            "/dashboard/two-factor/confirm",
            &[("csrf", &csrf), ("code", "000000")],
        )
        .await;
    assert_eq!(wrong.status, 422);
    let secret2 = testid(&wrong, "two-factor-secret");
    assert_ne!(secret, secret2);
    let step = now_step();
    let code = code_at(&secret2, step).unwrap();
    let page = v
        .post(
            "/dashboard/two-factor/confirm",
            &[("csrf", &csrf), ("code", &code)],
        )
        .await;
    assert_eq!(page.status, 200, "{}", page.body);
    let codes = recovery_codes(&page);
    assert_eq!(codes.len(), 10);
    (secret2, step, codes)
}

/// Password, then a code: the status of the code's answer and where it sends the browser.
async fn sign_in_with(v: &mut Visitor, email: &str, code: &str) -> Page {
    let first = v.sign_in(email, PASSWORD).await;
    assert_eq!(
        (first.status, first.location.as_str()),
        (303, "/dashboard/login/code")
    );
    let form = v.get("/dashboard/login/code").await;
    assert_eq!(form.status, 200);
    v.post(
        "/dashboard/login/code",
        &[("csrf", &form.csrf()), ("code", code)],
    )
    .await
}

async fn sign_out(v: &mut Visitor) {
    let csrf = v.get("/dashboard").await.csrf();
    assert_eq!(
        v.post("/dashboard/logout", &[("csrf", &csrf)]).await.status,
        303
    );
}

async fn a_user_signs_in_with_a_code_each_used_once(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    for (email, role) in [
        ("owner@shop.example", Role::Owner),
        ("mate@shop.example", Role::Viewer),
    ] {
        app.add_user(email, role).await;
    }
    let owner = "owner@shop.example";
    let mut v = Visitor::new(&app);
    assert_eq!(v.sign_in(owner, PASSWORD).await.location, "/dashboard");
    let (secret, step, codes) = set_up(&mut v).await;
    let settings = v.get("/dashboard/settings").await;
    assert!(testid(&settings, "two-factor-status").starts_with("On for you"));
    sign_out(&mut v).await;

    // The password alone no longer reaches the dashboard.
    let first = v.sign_in(owner, PASSWORD).await;
    assert_eq!(first.location, "/dashboard/login/code");
    let held = v.get("/dashboard").await;
    assert_eq!(
        (held.status, held.location.as_str()),
        (303, "/dashboard/login/code")
    );
    assert_eq!(
        v.get("/dashboard/payments").await.location,
        "/dashboard/login/code"
    );
    // The code that confirmed the set-up was used: refused. The next step's is accepted.
    let form = v.get("/dashboard/login/code").await;
    let used = code_at(&secret, step).unwrap();
    let page = v
        .post(
            "/dashboard/login/code",
            &[("csrf", &form.csrf()), ("code", &used)],
        )
        .await;
    assert_eq!(page.status, 401, "a code is accepted once");
    let next = code_at(&secret, step + 1).unwrap();
    let page = v
        .post(
            "/dashboard/login/code",
            &[("csrf", &form.csrf()), ("code", &next)],
        )
        .await;
    assert_eq!((page.status, page.location.as_str()), (303, "/dashboard"));
    assert_eq!(v.get("/dashboard").await.status, 200);
    sign_out(&mut v).await;
    // The same code again, on a new sign-in: refused (a replay within its window).
    assert_eq!(sign_in_with(&mut v, owner, &next).await.status, 401);
    // A recovery code signs in once, typed with or without its dash.
    let page = sign_in_with(&mut v, owner, &codes[0].to_uppercase().replace('-', "")).await;
    assert_eq!((page.status, page.location.as_str()), (303, "/dashboard"));
    let settings = v.get("/dashboard/settings").await;
    assert!(testid(&settings, "two-factor-status").contains("9 recovery codes left"));
    sign_out(&mut v).await;
    assert_eq!(sign_in_with(&mut v, owner, &codes[0]).await.status, 401);
    let page = sign_in_with(&mut v, owner, &codes[1]).await;
    assert_eq!(page.status, 303);

    // An owner requires two-factor sign-in: the viewer must set it up before anything else.
    let csrf = v.get("/dashboard/settings").await.csrf();
    let page = v
        .post(
            "/dashboard/two-factor/require",
            &[("csrf", &csrf), ("required", "on")],
        )
        .await;
    assert_eq!(page.status, 303);
    let mut mate = Visitor::new(&app);
    let first = mate.sign_in("mate@shop.example", PASSWORD).await;
    assert_eq!(first.location, "/dashboard/two-factor");
    assert_eq!(
        mate.get("/dashboard/keys").await.location,
        "/dashboard/two-factor"
    );
    let enroll = mate.get("/dashboard/two-factor").await;
    assert!(enroll.body.contains("two-factor-required"));
    let mate_secret = testid(&enroll, "two-factor-secret");
    // Nothing but the set-up: the viewer cannot change the rule either way.
    let refused = mate
        .post("/dashboard/two-factor/require", &[("csrf", &enroll.csrf())])
        .await;
    assert_eq!(refused.location, "/dashboard/two-factor");
    let code = code_at(&mate_secret, now_step()).unwrap();
    let done = mate
        .post(
            "/dashboard/two-factor/confirm",
            &[("csrf", &enroll.csrf()), ("code", &code)],
        )
        .await;
    assert_eq!(done.status, 200, "{}", done.body);
    assert_eq!(mate.get("/dashboard").await.status, 200);
    let csrf = mate.get("/dashboard").await.csrf();
    let denied = mate
        .post("/dashboard/two-factor/require", &[("csrf", &csrf)])
        .await;
    assert_eq!(denied.status, 403, "only an owner sets the rule");

    // The command line resets the owner's second factor; with the rule on, the next sign-in
    // asks for a new set-up.
    let (ok, out, err) = crate::process::hundi(&app.db, &["user", "reset-2fa", "--email", owner]);
    assert!(ok, "{out} {err}");
    sign_out(&mut v).await;
    assert_eq!(
        v.sign_in(owner, PASSWORD).await.location,
        "/dashboard/two-factor"
    );

    let log = actions(&app).await;
    for expected in [
        "user.two_factor_enabled",
        "user.recovery_code_used",
        "settings.two_factor_required",
        "user.two_factor_reset",
    ] {
        assert!(log.iter().any(|a| a == expected), "{expected} in {log:?}");
    }
    let failed = log.iter().filter(|a| *a == "user.sign_in_failed").count();
    assert_eq!(failed, 3, "the refused codes: {log:?}");
}

/// Wrong codes count toward the sign-in throttle: after the free tries even the right code
/// waits, and the refusal says for how long.
async fn wrong_codes_are_throttled(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.add_user("a@shop.example", Role::Owner).await;
    let mut v = Visitor::new(&app);
    v.sign_in("a@shop.example", PASSWORD).await;
    let (secret, step, _) = set_up(&mut v).await;
    sign_out(&mut v).await;
    let first = v.sign_in("a@shop.example", PASSWORD).await;
    assert_eq!(first.location, "/dashboard/login/code");
    let csrf = v.get("/dashboard/login/code").await.csrf();
    let mut statuses = vec![];
    // Five tries for the address, then (this client signed in before) five of its own.
    for _ in 0..12 {
        let page = v
            .post(
                "/dashboard/login/code",
                &[("csrf", &csrf), ("code", "123456")],
            )
            .await;
        statuses.push(page.status);
        if page.status == 429 {
            break;
        }
    }
    assert_eq!(statuses.last(), Some(&429), "{statuses:?}");
    assert!(statuses.len() <= 11, "{statuses:?}");
    let right = code_at(&secret, step + 1).unwrap();
    let page = v
        .post(
            "/dashboard/login/code",
            &[("csrf", &csrf), ("code", &right)],
        )
        .await;
    assert_eq!(
        page.status, 429,
        "blocked means blocked, even for the right code"
    );
    // A session waiting for its code can be signed out, and is gone.
    let out = v.post("/dashboard/logout", &[("csrf", &csrf)]).await;
    assert_eq!(
        (out.status, out.location.as_str()),
        (303, "/dashboard/login")
    );
    let gone = v.get("/dashboard/login/code").await;
    assert_eq!(
        (gone.status, gone.location.as_str()),
        (303, "/dashboard/login")
    );
}

crate::on_both_backends!(
    a_user_signs_in_with_a_code_each_used_once,
    wrong_codes_are_throttled,
);
