//! Schemas of request fields whose rules need more than a length: amounts, URLs, times,
//! metadata, method and event names. Each says exactly what the server accepts, so a client
//! generated from the document sends nothing the server refuses (and the property-based run
//! of tests/it/openapi_schemathesis.rs holds the two to each other).

use crate::domain::money::{Currency, MAX_MINOR};
use crate::domain::payment::{limits, METHODS};
use crate::domain::webhook::EVENT_TYPES;
use chrono::{DateTime, Utc};
use utoipa::openapi::schema::{
    AdditionalProperties, ArrayBuilder, ObjectBuilder, OneOfBuilder, Schema, SchemaType, Type,
};
use utoipa::openapi::RefOr;

/// An e-mail address as `domain::payment::is_email` accepts it: something without `@`, an `@`,
/// and a domain with a dot neither first nor last; no whitespace or control characters.
pub const EMAIL_PATTERN: &str = r"^[^@\s\x00-\x1f\x7f-\x9f]+@[^@\s.\x00-\x1f\x7f-\x9f][^@\s\x00-\x1f\x7f-\x9f]*\.[^@\s\x00-\x1f\x7f-\x9f]*[^@\s.\x00-\x1f\x7f-\x9f]$";

/// A phone number: at least five digits, with spaces, `+`, `-`, `(`, `)` and `.` between.
pub const PHONE_PATTERN: &str = r"^[ +().-]*([0-9][ +().-]*){5,32}$";

/// An absolute http(s) URL with a host name (its last label starting with a letter), an
/// optional port and path.
pub const URL_PATTERN: &str =
    r"^https?://([A-Za-z0-9]+\.)*[A-Za-z][A-Za-z0-9]*(:[0-9]{1,4})?(/[A-Za-z0-9._~/-]*)?$";

/// The decimal text of an amount greater than zero, with at most `exponent` decimals and at
/// most `MAX_MINOR` minor units (no sign, no exponent, no leading zeros).
pub fn amount_pattern(exponent: u32) -> String {
    let max_digits = MAX_MINOR.to_string().len();
    let int_digits = max_digits - exponent as usize;
    let whole = format!("[1-9][0-9]{{0,{}}}", int_digits - 1);
    if exponent == 0 {
        return format!("^{whole}$");
    }
    let e = exponent as usize;
    // A fraction of 1..=e digits that is not all zeros: some zeros, a non-zero digit, any.
    let fraction = (0..e)
        .map(|zeros| format!("{}[1-9][0-9]{{0,{}}}", "0".repeat(zeros), e - 1 - zeros))
        .collect::<Vec<_>>()
        .join("|");
    format!("^({whole}(\\.[0-9]{{1,{e}}})?|0\\.({fraction}))$")
}

/// A string field with a pattern (and, when nullable, `null`).
pub fn pattern_string(pattern: &str, max_length: Option<usize>, nullable: bool) -> Schema {
    ObjectBuilder::new()
        .schema_type(string_type(nullable))
        .pattern(Some(pattern))
        .max_length(max_length)
        .into()
}

fn string_type(nullable: bool) -> SchemaType {
    if nullable {
        SchemaType::from_iter([Type::String, Type::Null])
    } else {
        SchemaType::new(Type::String)
    }
}

/// A customer's e-mail address.
pub fn email() -> Schema {
    pattern_string(EMAIL_PATTERN, Some(limits::EMAIL_MAX), true)
}

/// A customer's phone number.
pub fn phone() -> Schema {
    let mut schema = pattern_string(PHONE_PATTERN, Some(limits::PHONE_MAX), true);
    if let Schema::Object(o) = &mut schema {
        o.description = Some(
            "At least five digits; spaces, `+`, `-`, `(`, `)` and `.` may come between".into(),
        );
    }
    schema
}

/// An amount in any currency (its decimals are checked against the currency when it is known).
pub fn any_amount() -> Schema {
    let max = Currency::all().map(|c| c.exponent()).max().unwrap_or(2);
    ObjectBuilder::new()
        .schema_type(string_type(true))
        .pattern(Some(amount_pattern(max)))
        .description(Some(
            "Decimal string, greater than zero, with no more decimals than the payment's \
             currency has; omit to refund everything still refundable",
        ))
        .examples(["25.00"])
        .into()
}

/// A payment link's amount or bound, in the link's currency (`null` or absent: not given).
pub fn link_amount() -> Schema {
    let max = Currency::all().map(|c| c.exponent()).max().unwrap_or(2);
    ObjectBuilder::new()
        .schema_type(string_type(true))
        .pattern(Some(amount_pattern(max)))
        .description(Some(
            "Decimal string, greater than zero, with no more decimals than the link's currency              has; give `amount`, or `min_amount` and `max_amount`",
        ))
        .examples(["499.00"])
        .into()
}

/// An INR amount (a bank credit).
pub fn inr_amount() -> Schema {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .pattern(Some(amount_pattern(2)))
        .description(Some("The amount received, in INR (decimal string)"))
        .examples(["99.00"])
        .into()
}

/// A URL the customer is sent to.
pub fn redirect_url() -> Schema {
    pattern_string(URL_PATTERN, Some(limits::URL_MAX), true)
}

/// A webhook endpoint's URL: http(s) in test mode, https in live mode.
pub fn webhook_url(nullable: bool) -> Schema {
    let mut schema = ObjectBuilder::new()
        .schema_type(string_type(nullable))
        .pattern(Some(URL_PATTERN))
        .max_length(Some(limits::URL_MAX))
        .description(Some(
            "Where to POST events: http or https with a test key, https with a live key; \
             private and loopback addresses are refused unless the operator allows them",
        ))
        .examples(["https://shop.example/hooks/hundi"]);
    if !nullable {
        schema = schema.min_length(Some(1));
    }
    schema.into()
}

/// `metadata`: up to 50 string values under keys of 1 to 40 characters.
pub fn metadata() -> Schema {
    ObjectBuilder::new()
        .schema_type(SchemaType::from_iter([Type::Object, Type::Null]))
        .max_properties(Some(limits::METADATA_KEYS_MAX))
        .property_names(Some(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .min_length(Some(1))
                .max_length(Some(limits::METADATA_KEY_MAX)),
        ))
        .additional_properties(Some(AdditionalProperties::RefOr(RefOr::T(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .max_length(Some(limits::METADATA_VALUE_MAX))
                .into(),
        ))))
        .description(Some(
            "Your own key-value pairs (string values), returned as given",
        ))
        .into()
}

/// A non-empty list of method names, from `allowed`.
pub fn methods_of(allowed: &[&str]) -> Schema {
    ArrayBuilder::new()
        .schema_type(SchemaType::from_iter([Type::Array, Type::Null]))
        .min_items(Some(1))
        .items(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .enum_values(Some(allowed.iter().copied())),
        )
        .description(Some(
            "Which methods the checkout offers (default: all the payment can use). Each wallet \
             takes its own currency only (JazzCash and Easypaisa PKR, bKash and Nagad BDT); \
             `upi` needs an INR amount and a UPI id set for the merchant; in live mode a \
             wallet needs the merchant's number for it",
        ))
        .into()
}

pub fn methods() -> Schema {
    methods_of(&METHODS)
}

/// A non-empty list of event types, or `["*"]` for all.
pub fn event_types(nullable: bool) -> Schema {
    let names = std::iter::once("*").chain(EVENT_TYPES.iter().copied());
    let kind = if nullable {
        SchemaType::from_iter([Type::Array, Type::Null])
    } else {
        SchemaType::new(Type::Array)
    };
    ArrayBuilder::new()
        .schema_type(kind)
        .min_items(Some(1))
        .items(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .enum_values(Some(names)),
        )
        .description(Some("Event types, or `[\"*\"]` for all"))
        .into()
}

/// A time as RFC 3339 or Unix seconds (any second chrono can represent).
pub fn time() -> Schema {
    OneOfBuilder::new()
        .item(ObjectBuilder::new().schema_type(Type::String).format(Some(
            utoipa::openapi::SchemaFormat::KnownFormat(utoipa::openapi::KnownFormat::DateTime),
        )))
        .item(
            ObjectBuilder::new()
                .schema_type(Type::Integer)
                .minimum(Some(DateTime::<Utc>::MIN_UTC.timestamp() as f64))
                .maximum(Some(DateTime::<Utc>::MAX_UTC.timestamp() as f64)),
        )
        .description(Some("RFC 3339, or Unix seconds"))
        .into()
}

/// A time in a JSON body: an RFC 3339 string, or Unix seconds as a string of digits.
pub fn time_text() -> Schema {
    OneOfBuilder::new()
        .item(ObjectBuilder::new().schema_type(Type::String).format(Some(
            utoipa::openapi::SchemaFormat::KnownFormat(utoipa::openapi::KnownFormat::DateTime),
        )))
        .item(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .pattern(Some("^[0-9]{1,11}$")),
        )
        .item(ObjectBuilder::new().schema_type(Type::Null))
        .description(Some(
            "When the bank received it: RFC 3339, or Unix seconds (default: now)",
        ))
        .into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::money::Money;
    use regex::Regex;

    /// Amounts around every edge: zero, decimals, the largest amount and one digit more.
    fn samples() -> Vec<String> {
        let mut out: Vec<String> = [
            "0", "0.0", "0.00", "0.000", "0.1", "0.01", "0.001", "0.0001", "1", "1.", "1.0", "1.5",
            "1.50", "1.505", "1.5055", "10", "100.00", "99.99", "12.345",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        for digits in 10..=16 {
            out.push("9".repeat(digits));
            out.push(format!("{}.99", "9".repeat(digits)));
            out.push(format!("{}.999", "9".repeat(digits)));
        }
        out
    }

    /// The form the document asks for: no leading zeros, no trailing dot, no more decimals
    /// than the currency has (the server also reads "100.00" yen as 100).
    fn written_as_documented(text: &str, exponent: u32) -> bool {
        let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
        let leading_zero = whole.len() > 1 && whole.starts_with('0');
        !leading_zero && !text.ends_with('.') && fraction.len() <= exponent as usize
    }

    #[test]
    fn an_amount_matches_its_pattern_exactly_when_money_accepts_it() {
        for currency in Currency::all() {
            let pattern = Regex::new(&amount_pattern(currency.exponent())).expect("regex");
            for text in samples() {
                let accepted = Money::parse(&text, currency).is_ok();
                let matched = pattern.is_match(&text);
                if matched {
                    assert!(accepted, "{currency}: {text} matches but is refused");
                }
                if accepted && written_as_documented(&text, currency.exponent()) {
                    assert!(matched, "{currency}: {text} is accepted but does not match");
                }
            }
        }
    }

    #[test]
    fn contact_and_url_patterns_agree_with_the_checks() {
        let email = Regex::new(EMAIL_PATTERN).expect("regex");
        for text in ["a@b.c", "a.b@c.d.e", "a@b..c", "ü@ß.de"] {
            assert!(
                email.is_match(text) && crate::domain::payment::is_email(text),
                "{text}"
            );
        }
        for text in [
            "a@b", "@b.c", "a@.b", "a@b.", "a b@c.d", "a@b@c.d", "a@b.c\n",
        ] {
            assert!(
                !email.is_match(text) && !crate::domain::payment::is_email(text),
                "{text}"
            );
        }
        let phone = Regex::new(PHONE_PATTERN).expect("regex");
        for (text, ok) in [
            ("+92 300 1234567", true),
            ("(021) 111-222", true),
            ("1234", false),
            ("12345", true),
            ("12a45", false),
        ] {
            assert_eq!(phone.is_match(text), ok, "{text}");
        }
        let url = Regex::new(URL_PATTERN).expect("regex");
        for text in [
            "https://shop.example/done",
            "http://localhost:8080/x",
            "https://a1.b2c/",
        ] {
            assert!(url.is_match(text), "{text}");
            let parsed = url::Url::parse(text).expect("parses");
            assert!(parsed.host().is_some(), "{text}");
        }
        for text in [
            "ftp://a.b/",
            "https://a.1/",
            "https://",
            "https://a b/",
            "//a.b/",
        ] {
            assert!(!url.is_match(text), "{text}");
        }
    }
}
