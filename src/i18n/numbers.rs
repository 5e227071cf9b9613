//! Numbers the local way, by the Unicode CLDR's rules (ICU4X): grouping (lakh and crore in
//! India, Pakistan and Bangladesh: 1,00,000), the decimal mark, and the language's digits
//! (Bengali ১২৩, Arabic ١٢٣; Hindi and Urdu pages use 0-9).

use super::Locale;
use crate::domain::money::Currency;
use icu_decimal::input::Decimal;
use icu_decimal::DecimalFormatter;

pub enum Digits {
    /// The digits the language writes numbers in.
    Local,
    /// 0-9, whatever the language.
    Latin,
}

/// The country whose way of writing numbers the currency's amounts follow, when it has one
/// the pages' languages are spoken in.
fn region(currency: Currency) -> Option<&'static str> {
    match currency.code() {
        "INR" => Some("IN"),
        "PKR" => Some("PK"),
        "BDT" => Some("BD"),
        "NPR" => Some("NP"),
        "LKR" => Some("LK"),
        "SYP" => Some("SY"),
        "AED" => Some("AE"),
        "SAR" => Some("SA"),
        "EGP" => Some("EG"),
        "JOD" => Some("JO"),
        "IQD" => Some("IQ"),
        _ => None,
    }
}

fn formatter(tag: &str) -> Option<DecimalFormatter> {
    let locale: icu_locale_core::Locale = tag.parse().ok()?;
    DecimalFormatter::try_new((&locale).into(), Default::default()).ok()
}

/// The formatter of `locale` in the currency's country, with the digits asked for; the
/// language alone when that pair is unknown, plain English as the last resort.
fn formatter_for(
    locale: Locale,
    currency: Option<Currency>,
    digits: &Digits,
) -> Option<DecimalFormatter> {
    let extension = match digits {
        Digits::Local => "",
        Digits::Latin => "-u-nu-latn",
    };
    let language = locale.code();
    let with_region = currency
        .and_then(region)
        .and_then(|r| formatter(&format!("{language}-{r}{extension}")));
    with_region
        .or_else(|| formatter(&format!("{language}{extension}")))
        .or_else(|| formatter("en"))
}

/// `INR 1,00,000.00`: the currency's code, a space, the amount with all its decimals.
pub fn amount(locale: Locale, minor: i64, currency: Currency, digits: Digits) -> String {
    let exponent = i16::try_from(currency.exponent()).unwrap_or(0);
    let mut value = Decimal::from(minor);
    value.multiply_pow10(-exponent);
    value.absolute.pad_end(-exponent);
    let number = match formatter_for(locale, Some(currency), &digits) {
        Some(f) => f.format(&value).to_string(),
        None => crate::domain::money::format_minor(minor, currency),
    };
    format!("{} {number}", currency.code())
}

/// `14:59` or `1:04:59` in the language's digits.
pub fn countdown(locale: Locale, secs: i64) -> String {
    let secs = secs.max(0);
    let (h, m, s) = (secs / 3600, (secs % 3600) / 60, secs % 60);
    let Some(f) = formatter_for(locale, None, &Digits::Local) else {
        return format!("{m:02}:{s:02}");
    };
    let part = |n: i64, width: i16| {
        let mut d = Decimal::from(n);
        d.absolute.pad_start(width);
        f.format(&d).to_string()
    };
    if h > 0 {
        format!("{}:{}:{}", part(h, 1), part(m, 2), part(s, 2))
    } else {
        format!("{}:{}", part(m, 2), part(s, 2))
    }
}
