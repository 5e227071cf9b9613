use super::*;
use crate::domain::money::Currency;
use std::collections::{BTreeMap, BTreeSet};

/// Each message id of a `.ftl` file with the variables it uses.
fn messages(language: &str) -> BTreeMap<String, BTreeSet<String>> {
    let path = format!(
        "{}/locales/{language}/checkout.ftl",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let variable = regex::Regex::new(r"\{\s*\$([a-z0-9_]+)\s*\}").unwrap();
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| {
            let (id, value) = l.split_once(" = ").unwrap_or_else(|| panic!("{path}: {l}"));
            let vars = variable.captures_iter(value).map(|c| c[1].to_string());
            (id.trim().to_string(), vars.collect())
        })
        .collect()
}

#[test]
fn every_language_has_every_message_with_its_values() {
    let english = messages("en");
    assert!(english.len() > 50, "{} messages", english.len());
    for locale in Locale::ALL {
        let theirs = messages(locale.code());
        let missing: Vec<_> = english
            .keys()
            .filter(|k| !theirs.contains_key(*k))
            .collect();
        let extra: Vec<_> = theirs
            .keys()
            .filter(|k| !english.contains_key(*k))
            .collect();
        assert!(missing.is_empty(), "{locale} lacks {missing:?}");
        assert!(extra.is_empty(), "{locale} has unknown {extra:?}");
        for (id, vars) in &english {
            assert_eq!(&theirs[id], vars, "{locale}: the values of {id}");
            // And the compiled-in bundle has it in that very language, not by falling back.
            let values: HashMap<&str, FluentValue> = vars
                .iter()
                .map(|v| (v.as_str(), FluentValue::from("x")))
                .collect();
            let found =
                MESSAGES.lookup_no_default_fallback(&Texts::new(locale).id, id, Some(&values));
            assert!(found.is_some(), "{locale}: {id} is not in the binary");
        }
    }
}

/// Every message the pages ask for (`t.get("…")`, `t.with(…)`, `t.with2(…)`, `t.around(…)` in
/// templates and code) is in English, so in every language.
#[test]
fn every_message_the_pages_use_exists() {
    let english = messages("en");
    let used = regex::Regex::new(r#"\bt\.(?:get|with\w*|around)\(\s*"([^"]+)""#).unwrap();
    let root = env!("CARGO_MANIFEST_DIR");
    let mut files = Vec::new();
    for dir in ["templates", "src/checkout", "src/i18n", "src/receipts"] {
        for entry in std::fs::read_dir(format!("{root}/{dir}")).unwrap() {
            let path = entry.unwrap().path();
            if path.is_file() && !path.ends_with("i18n/tests.rs") {
                files.push(path);
            }
        }
    }
    let mut seen = 0;
    for path in files {
        let text = std::fs::read_to_string(&path).unwrap();
        for c in used.captures_iter(&text) {
            seen += 1;
            assert!(
                english.contains_key(&c[1]),
                "{}: no message {}",
                path.display(),
                &c[1]
            );
        }
    }
    assert!(
        seen > 40,
        "only {seen} uses found: is the pattern still right?"
    );
}

#[test]
fn messages_take_their_values() {
    let t = Texts::new(Locale::En);
    assert_eq!(
        t.with("cancel", "merchant", "Demo Shop"),
        "Cancel and return to Demo Shop"
    );
    assert_eq!(
        t.around("pay-within", "time"),
        ("Pay within ".to_string(), String::new())
    );
    let ur = Texts::new(Locale::Ur);
    assert_eq!(ur.dir(), "rtl");
    let text = ur.with("cancel", "merchant", "Demo Shop");
    assert!(
        text.contains("\u{2068}Demo Shop\u{2069}"),
        "isolated in RTL: {text:?}"
    );
    assert_ne!(ur.get("paid-title"), t.get("paid-title"));
    // A message no language has shows English's, or its key: never a panic.
    assert_eq!(t.get("no-such-message"), "no-such-message");
}

#[test]
fn amounts_are_grouped_and_written_the_local_way() {
    let inr = Currency::parse("INR").unwrap();
    let pkr = Currency::parse("PKR").unwrap();
    let bdt = Currency::parse("BDT").unwrap();
    let usd = Currency::parse("USD").unwrap();
    let jpy = Currency::parse("JPY").unwrap();
    let en = Texts::new(Locale::En);
    assert_eq!(en.amount(10_000_000, inr), "INR 1,00,000.00");
    assert_eq!(en.amount(10_000_000, usd), "USD 100,000.00");
    assert_eq!(en.amount(125_050, pkr), "PKR 1,250.50");
    assert_eq!(en.amount(99, pkr), "PKR 0.99");
    assert_eq!(en.amount(1500, jpy), "JPY 1,500");
    assert_eq!(
        Texts::new(Locale::Hi).amount(12_345_678_900, inr),
        "INR 12,34,56,789.00"
    );
    let bn = Texts::new(Locale::Bn);
    assert_eq!(bn.amount(10_000_000, bdt), "BDT ১,০০,০০০.০০");
    assert_eq!(bn.exact_amount(10_000_000, bdt), "BDT 1,00,000.00");
    // Arabic in Egypt writes ١٢٣, in Pakistan 123 (the CLDR's choice for each country).
    let egp = Currency::parse("EGP").unwrap();
    let ar = Texts::new(Locale::Ar);
    assert_eq!(ar.amount(125_050, egp), "EGP ١٬٢٥٠٫٥٠");
    assert_eq!(ar.exact_amount(125_050, egp), "EGP 1,250.50");
    assert_eq!(ar.amount(125_050, pkr), "PKR 1,250.50");
}

#[test]
fn countdowns_and_dates_speak_the_language() {
    assert_eq!(Texts::new(Locale::En).countdown(899), "14:59");
    assert_eq!(Texts::new(Locale::En).countdown(3_899), "1:04:59");
    assert_eq!(Texts::new(Locale::Bn).countdown(65), "০১:০৫");
    assert_eq!(Texts::new(Locale::Hi).countdown(-5), "00:00");
    let at = chrono::DateTime::parse_from_rfc3339("2026-12-03T17:45:00Z")
        .unwrap()
        .to_utc();
    assert_eq!(
        Texts::new(Locale::En).date(at),
        "3 December 2026, 17:45 UTC"
    );
    assert!(
        Texts::new(Locale::Hi).date(at).contains("दिसंबर"),
        "{}",
        Texts::new(Locale::Hi).date(at)
    );
}

#[test]
fn the_language_is_chosen_in_order() {
    let chrome = Some("en-US,en;q=0.9");
    assert_eq!(
        choose(Some("ar"), Some(Locale::Ur), chrome, None),
        Locale::Ar
    );
    assert_eq!(
        choose(Some("fr"), Some(Locale::Ur), chrome, None),
        Locale::Ur
    );
    assert_eq!(choose(None, Some(Locale::Ur), chrome, None), Locale::Ur);
    assert_eq!(
        choose(
            None,
            None,
            Some("bn-BD,bn;q=0.9,en;q=0.8"),
            Some(Locale::Ur)
        ),
        Locale::Bn
    );
    assert_eq!(
        choose(None, None, Some("fr-FR, hi;q=0.5"), None),
        Locale::Hi
    );
    assert_eq!(
        choose(None, None, Some("fr-FR"), Some(Locale::Ur)),
        Locale::Ur
    );
    assert_eq!(choose(None, None, None, None), Locale::En);
    let long = "fr,".repeat(10_000) + "bn";
    assert_eq!(
        choose(None, None, Some(&long), None),
        Locale::En,
        "only the start is read"
    );
}
