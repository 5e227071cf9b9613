//! Two-factor sign-in and roles in headless Chromium, where a person uses them: turning it
//! on with a code computed from the secret the page shows, signing in with the next code and
//! with a recovery code, a replayed code refused; and each role's forbidden action refused.
//! Screenshots go to target/tmp/screenshots/ (scripts/update_screenshots.sh copies them).

use crate::common::browser::Browser;
use crate::common::{Backend, TestApp};
use hundi::domain::role::Role;
use hundi::domain::second_factor::{code_at, step_of};

use crate::common::PASSWORD;

async fn sign_in(b: &Browser, app: &TestApp, email: &str) {
    b.goto(&format!("{}/dashboard/login", app.url)).await;
    b.fill("input[name=email]", email).await;
    b.fill("input[name=password]", PASSWORD).await;
    b.click("[data-testid=sign-in]").await;
}

async fn type_code(b: &Browser, code: &str) {
    b.fill("[data-testid=code]", code).await;
    b.click("[data-testid=verify]").await;
}

async fn an_owner_turns_on_two_factor_and_signs_in_with_it(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let owner = "owner@shop.example";
    app.add_user(owner, Role::Owner).await;
    let b = Browser::start(1280, 900).await;
    sign_in(&b, &app, owner).await;
    b.find("[data-testid=revenue-today]").await;

    // Settings → set up: scan (here: read) the secret, confirm with the app's code.
    b.goto(&format!("{}/dashboard/settings", app.url)).await;
    b.click("[data-testid=setup-two-factor]").await;
    b.find("[data-testid=two-factor-qr] svg").await;
    let secret = b.text("[data-testid=two-factor-secret]").await;
    b.screenshot("dashboard-two-factor-setup.png").await;
    let step = step_of(chrono::Utc::now().timestamp());
    b.fill(
        "[data-testid=confirm-code]",
        &code_at(&secret, step).unwrap(),
    )
    .await;
    b.click("[data-testid=confirm-two-factor]").await;
    b.find("[data-testid=two-factor-on]").await;
    let codes: Vec<String> = b
        .text("[data-testid=recovery-codes]")
        .await
        .lines()
        .map(str::to_string)
        .collect();
    assert_eq!(codes.len(), 10, "{codes:?}");
    b.screenshot("dashboard-two-factor-recovery-codes.png")
        .await;
    b.click("[data-testid=continue]").await;
    b.click("[data-testid=logout]").await;

    // Sign in: the password, then the code. The code that confirmed the set-up is spent.
    sign_in(&b, &app, owner).await;
    b.wait_for_url(&format!("{}/dashboard/login/code", app.url), 5)
        .await;
    b.screenshot("dashboard-two-factor-code.png").await;
    type_code(&b, &code_at(&secret, step).unwrap()).await;
    assert!(b
        .text("[data-testid=two-factor-error]")
        .await
        .contains("used already"));
    type_code(&b, &code_at(&secret, step + 1).unwrap()).await;
    b.find("[data-testid=revenue-today]").await;
    b.click("[data-testid=logout]").await;

    // A recovery code, once.
    sign_in(&b, &app, owner).await;
    type_code(&b, &codes[4]).await;
    b.find("[data-testid=revenue-today]").await;
    b.click("[data-testid=logout]").await;
    sign_in(&b, &app, owner).await;
    type_code(&b, &codes[4]).await;
    b.find("[data-testid=two-factor-error]").await;
    b.close().await;
}

/// Each role tries, in the browser, something its role does not allow (a page, or for an
/// admin a team form added to the page by hand) and is refused with a page that says so.
async fn each_role_s_forbidden_action_is_refused(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let b = Browser::start(1280, 900).await;
    for (role, forbidden) in [
        (Role::Admin, None),
        (Role::Developer, Some("/dashboard/audit")),
        (Role::Support, Some("/dashboard/keys")),
        (Role::Viewer, Some("/dashboard/audit")),
    ] {
        let email = format!("{}@shop.example", role.as_str());
        app.add_user(&email, role).await;
        sign_in(&b, &app, &email).await;
        b.find("[data-testid=revenue-today]").await;
        assert_eq!(b.text("[data-testid=my-role]").await, role.as_str());
        match forbidden {
            Some(path) => b.goto(&format!("{}{path}", app.url)).await,
            None => {
                // The team form is not shown to an admin; one forged into the page is refused.
                b.goto(&format!("{}/dashboard/settings", app.url)).await;
                let team = b.text("[data-testid=team]").await;
                assert!(!team.contains("Change"), "{team}");
                b.client
                    .execute(
                        "const f = document.createElement('form'); f.method = 'post';\
                         f.action = '/dashboard/settings/users';\
                         f.innerHTML = '<input name=csrf value=\"' +\
                           document.querySelector('input[name=csrf]').value + '\">' +\
                           '<input name=email value=\"x@shop.example\">' +\
                           '<input name=password value=\"long enough password\">' +\
                           '<input name=role value=\"owner\">';\
                         document.body.appendChild(f); f.submit();",
                        vec![],
                    )
                    .await
                    .unwrap();
            }
        }
        b.wait_for_text("Not allowed", 5).await;
        b.screenshot(&format!("dashboard-refused-{}.png", role.as_str()))
            .await;
        b.goto(&format!("{}/dashboard", app.url)).await;
        b.click("[data-testid=logout]").await;
    }
    let users = app.store.list_users(&app.shop.id).await.unwrap();
    assert!(users.iter().all(|u| u.email != "x@shop.example"));
    b.close().await;
}

crate::on_sqlite!(
    an_owner_turns_on_two_factor_and_signs_in_with_it,
    each_role_s_forbidden_action_is_refused,
);
