//! The customer's language: which one a page speaks (`choose`), its messages (Project Fluent
//! files in `locales/`, compiled into the binary), and amounts, countdowns and dates written
//! the local way (`numbers`, `dates`).
//!
//! English is the source; every language has every message (a test fails otherwise). A message
//! missing at run time falls back to English and is logged, never shown as its key.

mod dates;
mod numbers;
mod words;

pub use crate::domain::locale::Locale;
use fluent_templates::fluent_bundle::FluentValue;
use fluent_templates::{LanguageIdentifier, Loader};
use std::borrow::Cow;
use std::collections::HashMap;
pub use words::paid_with;

fluent_templates::static_loader! {
    static MESSAGES = {
        locales: "./locales",
        fallback_language: "en",
        // Right-to-left messages isolate what they insert (a Latin shop name, an amount) so it
        // cannot reorder the words around it; left-to-right ones need no invisible marks.
        customise: |bundle| {
            let rtl = bundle
                .locales
                .first()
                .is_some_and(|l| matches!(l.language.as_str(), "ar" | "ur"));
            bundle.set_use_isolating(rtl);
        },
    };
}

/// Where a value stands in a message split around it (`Texts::around`); a private-use
/// character no translation contains.
const MARK: &str = "\u{E000}";

/// A page's words in one language.
#[derive(Debug, Clone)]
pub struct Texts {
    locale: Locale,
    id: LanguageIdentifier,
}

impl Texts {
    pub fn new(locale: Locale) -> Texts {
        let id = locale
            .code()
            .parse()
            .unwrap_or_else(|_| LanguageIdentifier::default());
        Texts { locale, id }
    }

    pub fn locale(&self) -> Locale {
        self.locale
    }

    /// `ltr` or `rtl`, for `<html dir>`.
    pub fn dir(&self) -> &'static str {
        if self.locale.is_rtl() {
            "rtl"
        } else {
            "ltr"
        }
    }

    /// The message `key`.
    pub fn get(&self, key: &str) -> String {
        self.lookup(key, None)
    }

    /// The message `key` with `$name` set to `value`.
    pub fn with(&self, key: &str, name: &str, value: impl std::fmt::Display) -> String {
        self.with_args(key, &[(name, &value.to_string())])
    }

    /// The message `key` with two values.
    pub fn with2(&self, key: &str, first: &(&str, &str), second: &(&str, &str)) -> String {
        self.with_args(key, &[*first, *second])
    }

    /// The message `key` with its values by name.
    pub fn with_args(&self, key: &str, values: &[(&str, &str)]) -> String {
        self.lookup(key, Some(&args(values)))
    }

    /// The message `key` cut where `$name` goes, for pages that put markup there (a live
    /// countdown, a name in bold): the text before and after it.
    pub fn around(&self, key: &str, name: &str) -> (String, String) {
        let text = self.with(key, name, MARK);
        // Isolation marks around the value belong to the markup's side of the cut.
        let text = text.replace(['\u{2068}', '\u{2069}'], "");
        match text.split_once(MARK) {
            Some((before, after)) => (before.to_string(), after.to_string()),
            None => (text, String::new()),
        }
    }

    fn lookup(
        &self,
        key: &str,
        args: Option<&HashMap<Cow<'static, str>, FluentValue<'_>>>,
    ) -> String {
        if let Some(text) = MESSAGES.try_lookup_complete(&self.id, key, args) {
            return text;
        }
        tracing::warn!(key, locale = %self.locale, "message missing; English shown");
        let en = Texts::new(Locale::En);
        MESSAGES
            .try_lookup_complete(&en.id, key, args)
            .unwrap_or_else(|| key.to_string())
    }

    /// An amount as the customer reads it in this language and the currency's country: the
    /// code, then the number grouped the local way (INR 1,00,000.00) in the local digits.
    pub fn amount(&self, minor: i64, currency: crate::domain::money::Currency) -> String {
        numbers::amount(self.locale, minor, currency, numbers::Digits::Local)
    }

    /// An amount the customer must type into another app exactly: grouped the local way, in
    /// the digits every banking and wallet app takes (0-9).
    pub fn exact_amount(&self, minor: i64, currency: crate::domain::money::Currency) -> String {
        numbers::amount(self.locale, minor, currency, numbers::Digits::Latin)
    }

    /// Seconds left as `14:59` or `1:04:59`, in the local digits.
    pub fn countdown(&self, secs: i64) -> String {
        numbers::countdown(self.locale, secs)
    }

    /// A moment as the language writes it (`3 December 2026, 17:45 UTC`); the page's script
    /// rewrites it in the customer's own time zone.
    pub fn date(&self, at: chrono::DateTime<chrono::Utc>) -> String {
        dates::date(self.locale, at)
    }
}

fn args<'v>(pairs: &[(&str, &'v str)]) -> HashMap<Cow<'static, str>, FluentValue<'v>> {
    pairs
        .iter()
        .map(|(k, v)| (Cow::Owned(k.to_string()), FluentValue::from(*v)))
        .collect()
}

/// The page's language: the one asked for on the page (its language switch), else the
/// payment's, else the first the browser prefers that the pages speak, else the merchant's
/// default, else English.
pub fn choose(
    asked: Option<&str>,
    payment: Option<Locale>,
    accept_language: Option<&str>,
    merchant_default: Option<Locale>,
) -> Locale {
    asked
        .and_then(|a| Locale::parse(a).ok())
        .or(payment)
        .or_else(|| accept_language.and_then(browser_preference))
        .or(merchant_default)
        .unwrap_or(Locale::En)
}

/// The browser's most preferred language the pages speak, from an `Accept-Language` header.
/// Bounded: a long header is cut, and only its first entries are read.
pub fn browser_preference(header: &str) -> Option<Locale> {
    let header: String = header.chars().take(500).collect();
    fluent_langneg::accepted_languages::parse(&header)
        .into_iter()
        .take(20)
        .find_map(|l| Locale::parse(l.language.as_str()).ok())
}

#[cfg(test)]
mod tests;
