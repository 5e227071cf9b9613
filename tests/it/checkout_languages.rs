//! The checkout in the customer's language: the payment's `locale`, else the browser's
//! `Accept-Language`, else the merchant's default; a switch on the page; amounts, digits and
//! direction as each language writes them. Pages are read as HTML and in a real Chromium at a
//! phone's width (screenshots of each language).

use crate::checkout_browser::pay_with_card;
use crate::common::browser::Browser;
use crate::common::{Backend, TestApp};
use hundi::i18n::{Locale, Texts};
use hundi::service::access::Acting;
use serde_json::json;

async fn payment(app: &TestApp, body: serde_json::Value) -> (String, String) {
    let (status, p) = app.post(&app.shop.test_key, "/v1/payments", body).await;
    assert_eq!(status, 201, "{p}");
    (
        p["id"].as_str().unwrap().to_string(),
        p["checkout_url"].as_str().unwrap().to_string(),
    )
}

/// The page's `<html lang>` and `dir`, as served to a request with `accept_language`.
async fn served(app: &TestApp, url: &str, accept_language: Option<&str>) -> (u16, String) {
    let mut req = app.http.get(url);
    if let Some(a) = accept_language {
        req = req.header("accept-language", a);
    }
    let res = req.send().await.expect("request");
    let status = res.status().as_u16();
    (status, res.text().await.expect("body"))
}

fn lang_of(html: &str) -> String {
    let start = html.find("<html lang=\"").expect("an html tag with lang") + 12;
    html[start..]
        .split('"')
        .next()
        .unwrap_or_default()
        .to_string()
}

async fn set_default_language(app: &TestApp, code: &str) {
    let payments = hundi::service::PaymentService::new(app.store.clone(), app.url.clone());
    let merchant = app.store.get_merchant(&app.shop.id).await.unwrap();
    payments
        .update_settings(
            &Acting::cli(&app.shop.id, false),
            &merchant,
            hundi::service::settings::SettingsInput {
                name: &merchant.name,
                success_url: "",
                cancel_url: "",
                expiry_minutes: "",
                default_locale: code,
            },
        )
        .await
        .expect("settings");
}

/// The API takes a language tag by its language and refuses one the pages do not speak.
async fn a_payment_names_its_language(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let body = json!({"amount": "10.00", "currency": "PKR", "locale": "ur-PK"});
    let (status, p) = app.post(&app.shop.test_key, "/v1/payments", body).await;
    assert_eq!((status, p["locale"].as_str()), (201, Some("ur")), "{p}");
    let (_, read) = app
        .get(
            &app.shop.test_key,
            &format!("/v1/payments/{}", p["id"].as_str().unwrap()),
        )
        .await;
    assert_eq!(read["locale"], "ur");
    let (_, plain) = app
        .post(
            &app.shop.test_key,
            "/v1/payments",
            json!({"amount": "10.00", "currency": "PKR"}),
        )
        .await;
    assert!(plain["locale"].is_null(), "{plain}");
    let body = json!({"amount": "10.00", "currency": "PKR", "locale": "fr"});
    let (status, refused) = app.post(&app.shop.test_key, "/v1/payments", body).await;
    assert_eq!(status, 422, "{refused}");
    assert_eq!(refused["error"]["param"], "locale", "{refused}");
}

/// The switch, then the payment, then the browser, then the merchant's default, then English.
async fn the_language_is_chosen_in_order(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (_, plain) = payment(&app, json!({"amount": "10.00", "currency": "PKR"})).await;
    let (_, bengali) = payment(
        &app,
        json!({"amount": "10.00", "currency": "BDT", "locale": "bn"}),
    )
    .await;
    let chrome = Some("en-US,en;q=0.9");
    assert_eq!(lang_of(&served(&app, &plain, None).await.1), "en");
    assert_eq!(
        lang_of(&served(&app, &plain, Some("hi-IN,hi;q=0.9")).await.1),
        "hi"
    );
    assert_eq!(
        lang_of(&served(&app, &bengali, Some("hi-IN")).await.1),
        "bn"
    );
    let switched = format!("{bengali}?lang=ar");
    let (_, arabic) = served(&app, &switched, Some("hi-IN")).await;
    assert_eq!(lang_of(&arabic), "ar");
    assert!(arabic.contains("dir=\"rtl\""));
    // The page's forms keep the language the customer chose.
    assert!(arabic.contains("/cancel?lang=ar\""), "{arabic}");

    set_default_language(&app, "ur").await;
    assert_eq!(lang_of(&served(&app, &plain, None).await.1), "ur");
    assert_eq!(
        lang_of(&served(&app, &plain, Some("fr-FR,de")).await.1),
        "ur"
    );
    assert_eq!(lang_of(&served(&app, &plain, chrome).await.1), "en");

    // A page about no payment speaks the browser's language too.
    let unknown = format!("{}/pay/pay_nothing", app.url);
    let (status, missing) = served(&app, &unknown, Some("ar")).await;
    assert_eq!(status, 404);
    assert!(missing.contains(&Texts::new(Locale::Ar).get("not-found-title")));
}

/// A link's page speaks the visitor's language, and the payment it starts keeps it.
async fn a_link_speaks_the_visitors_language(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let body = json!({"amount": "250.00", "currency": "BDT", "description": "Mishti"});
    let (status, link) = app
        .post(&app.shop.test_key, "/v1/payment_links", body)
        .await;
    assert_eq!(status, 201, "{link}");
    let url = link["url"].as_str().unwrap();
    let (_, page) = served(&app, url, Some("bn-BD,bn;q=0.9")).await;
    assert_eq!(lang_of(&page), "bn");
    assert!(page.contains("BDT ২৫০.০০"), "{page}");
    let csrf = page
        .split("name=\"csrf\" value=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .unwrap()
        .to_string();
    let no_redirects = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let started = no_redirects
        .post(url)
        .header("accept-language", "bn-BD")
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(started.status().as_u16(), 303);
    let to = started.headers()["location"].to_str().unwrap().to_string();
    let id = to.trim_start_matches("/pay/");
    let (_, p) = app
        .get(&app.shop.test_key, &format!("/v1/payments/{id}"))
        .await;
    assert_eq!(p["locale"], "bn", "{p}");
    // The checkout then speaks Bengali even to a browser that prefers English.
    let (_, checkout) = served(&app, &format!("{}{to}", app.url), Some("en-US")).await;
    assert_eq!(lang_of(&checkout), "bn");
}

crate::on_both_backends!(
    a_payment_names_its_language,
    the_language_is_chosen_in_order,
    a_link_speaks_the_visitors_language
);

/// Runs `script` in the page and returns what it returns.
async fn js(b: &Browser, script: &str) -> serde_json::Value {
    b.client.execute(script, vec![]).await.expect("script")
}

/// Each language at 360 px: its words, its way of writing the amount, its direction (the
/// shop's initial on the reading side), nothing wider than the phone; a screenshot of each.
async fn each_language_at_a_phones_width(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    // INR payments offer UPI too, with its own panel of words.
    app.set_upi("shop@okbank", "Shop").await;
    let b = Browser::start(360, 800).await;
    let cases = [
        (Locale::En, "INR", "INR 1,00,000.00"),
        (Locale::Ur, "PKR", "PKR 100,000.00"),
        (Locale::Ar, "EGP", "EGP ١٠٠٬٠٠٠٫٠٠"),
        (Locale::Hi, "INR", "INR 1,00,000.00"),
        (Locale::Bn, "BDT", "BDT ১,০০,০০০.০০"),
    ];
    for (locale, currency, shown) in cases {
        let t = Texts::new(locale);
        let (_, checkout) = payment(
            &app,
            json!({"amount": "100000.00", "currency": currency, "locale": locale.code(),
                   "description": "Wedding order"}),
        )
        .await;
        b.goto(&checkout).await;
        assert_eq!(b.text("[data-testid=amount]").await, shown, "{locale}");
        let page = js(
            &b,
            "return [document.documentElement.lang, getComputedStyle(document.body).direction, \
             document.documentElement.scrollWidth, document.querySelector('.avatar').getBoundingClientRect().left, \
             document.querySelector('.merchant-name').getBoundingClientRect().left, document.title];",
        )
        .await;
        let expected_dir = if locale.is_rtl() { "rtl" } else { "ltr" };
        assert_eq!(
            (page[0].as_str(), page[1].as_str()),
            (Some(locale.code()), Some(expected_dir))
        );
        if page[2].as_f64().unwrap() > 360.0 {
            let wide = js(&b, "return Array.from(document.querySelectorAll('*')).filter(e => e.getBoundingClientRect().right > 360).map(e => e.tagName + '.' + e.className + ' ' + Math.round(e.getBoundingClientRect().right)).slice(0, 8);").await;
            panic!("{locale}: {} px wide: {wide}", page[2]);
        }
        let (avatar, name) = (page[3].as_f64().unwrap(), page[4].as_f64().unwrap());
        assert_eq!(
            avatar > name,
            locale.is_rtl(),
            "{locale}: the initial leads the name"
        );
        let cancel = t
            .with("cancel", "merchant", "Shop")
            .replace(['\u{2068}', '\u{2069}'], "");
        let shown_cancel = b
            .text("[data-testid=cancel]")
            .await
            .replace(['\u{2068}', '\u{2069}'], "");
        assert_eq!(shown_cancel, cancel, "{locale}");
        let card = b.text("details[data-method=card] summary").await;
        assert_eq!(card, t.get("method-card"), "{locale}");
        if locale != Locale::En {
            // No English words left in the page, hidden panels included.
            let html = b.client.source().await.expect("page source");
            let en = Texts::new(Locale::En);
            for key in [
                "waiting",
                "upi-scan",
                "upi-open",
                "card-number",
                "card-expiry",
                "test-mode",
                "secured-by",
                "language",
            ] {
                assert!(
                    !html.contains(&en.get(key)),
                    "{locale}: English {key} in {html}"
                );
            }
            assert!(!html.contains("Pay within"), "{locale}: {html}");
        }
        if locale == Locale::Bn {
            // The countdown ticks in Bengali digits.
            tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
            let left = b.text("#countdown").await;
            assert!(
                left.starts_with("৫৯:") || left.starts_with("১:০০"),
                "{left}"
            );
        }
        b.click("details[data-method=card] summary").await;
        b.screenshot(&format!("checkout-{}-phone-360.png", locale.code()))
            .await;
    }
    b.close().await;
}

/// A Bengali browser gets Bengali; the customer switches to Urdu, a declined card says why in
/// Urdu, and the receipt is in Urdu with the date it was paid.
async fn the_browsers_language_then_the_switch(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (_, checkout) = payment(&app, json!({"amount": "1500.00", "currency": "PKR"})).await;
    let b = Browser::start_preferring(360, 800, "bn-BD,bn").await;
    b.goto(&checkout).await;
    assert_eq!(js(&b, "return document.documentElement.lang;").await, "bn");
    b.click("[data-testid=languages] a[data-lang=ur]").await;
    let ur = Texts::new(Locale::Ur);
    b.wait_for_url(&format!("{checkout}?lang=ur"), 5).await;
    assert_eq!(js(&b, "return document.documentElement.dir;").await, "rtl");
    pay_with_card(&b, "4000 0000 0000 9995").await;
    b.wait_for_text(&ur.get("decline-card-insufficient-funds"), 10)
        .await;
    assert_eq!(js(&b, "return document.documentElement.lang;").await, "ur");
    pay_with_card(&b, "4242 4242 4242 4242").await;
    b.wait_for_text(&ur.get("paid-title"), 10).await;
    let receipt = b.text("[data-testid=receipt]").await;
    assert!(receipt.contains(&ur.get("paid-on")), "{receipt}");
    assert!(!b.text("[data-testid=paid-on]").await.is_empty());
    b.screenshot("checkout-ur-receipt-phone-360.png").await;
    b.close().await;
}

crate::on_sqlite!(
    each_language_at_a_phones_width,
    the_browsers_language_then_the_switch
);
