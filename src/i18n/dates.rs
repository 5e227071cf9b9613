//! Dates with the language's month names (chrono's locales, from glibc's), in UTC: the page's
//! script rewrites them in the customer's time zone with the browser's own formats.

use super::Locale;
use chrono::{DateTime, Utc};

/// The glibc locale whose month names and order each language uses.
fn chrono_locale(locale: Locale) -> chrono::Locale {
    match locale {
        Locale::En => chrono::Locale::en_GB,
        Locale::Ur => chrono::Locale::ur_PK,
        Locale::Ar => chrono::Locale::ar_SY,
        Locale::Hi => chrono::Locale::hi_IN,
        Locale::Bn => chrono::Locale::bn_BD,
    }
}

/// `3 December 2026, 17:45 UTC`.
pub fn date(locale: Locale, at: DateTime<Utc>) -> String {
    at.format_localized("%-d %B %Y, %H:%M UTC", chrono_locale(locale))
        .to_string()
}
