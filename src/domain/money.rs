//! Money: a decimal amount in an ISO-4217 currency, stored as integer minor units.
//!
//! Amounts never pass through `f64`. Parsing rejects what a payment must not carry:
//! zero, negatives, more decimals than the currency has, and absurd sizes.

use rust_decimal::Decimal;
use std::fmt;
use std::str::FromStr;

/// Largest amount accepted, in minor units (fits JavaScript's safe integers with room to spare).
pub const MAX_MINOR: i64 = 99_999_999_999_999;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Currency {
    code: &'static str,
    exponent: u32,
}

/// ISO-4217 codes Hundi accepts, with their minor-unit exponents.
const CURRENCIES: &[(&str, u32)] = &[
    ("AED", 2),
    ("AUD", 2),
    ("BDT", 2),
    ("BHD", 3),
    ("BRL", 2),
    ("CAD", 2),
    ("CHF", 2),
    ("CLP", 0),
    ("CNY", 2),
    ("DKK", 2),
    ("EGP", 2),
    ("EUR", 2),
    ("GBP", 2),
    ("HKD", 2),
    ("IDR", 2),
    ("INR", 2),
    ("IQD", 3),
    ("ISK", 0),
    ("JOD", 3),
    ("JPY", 0),
    ("KES", 2),
    ("KRW", 0),
    ("KWD", 3),
    ("LKR", 2),
    ("LYD", 3),
    ("MXN", 2),
    ("MYR", 2),
    ("NGN", 2),
    ("NOK", 2),
    ("NPR", 2),
    ("NZD", 2),
    ("OMR", 3),
    ("PHP", 2),
    ("PKR", 2),
    ("PLN", 2),
    ("QAR", 2),
    ("SAR", 2),
    ("SEK", 2),
    ("SGD", 2),
    ("SYP", 2),
    ("THB", 2),
    ("TND", 3),
    ("TRY", 2),
    ("UGX", 0),
    ("USD", 2),
    ("VND", 0),
    ("XAF", 0),
    ("XOF", 0),
    ("ZAR", 2),
];

impl Currency {
    /// The Bangladeshi taka: Pakhi Pay's currency unless the operator names another.
    pub const BDT: Currency = Currency {
        code: "BDT",
        exponent: 2,
    };

    /// Every currency Hundi accepts, in code order.
    pub fn all() -> impl Iterator<Item = Currency> {
        CURRENCIES
            .iter()
            .map(|&(code, exponent)| Currency { code, exponent })
    }

    /// Looks a code up case-insensitively (`"pkr"` is PKR).
    pub fn parse(code: &str) -> Result<Currency, MoneyError> {
        let upper = code.trim().to_ascii_uppercase();
        CURRENCIES
            .iter()
            .find(|(c, _)| *c == upper)
            .map(|&(code, exponent)| Currency { code, exponent })
            .ok_or_else(|| MoneyError::UnknownCurrency(code.to_string()))
    }

    pub fn code(&self) -> &'static str {
        self.code
    }

    pub fn exponent(&self) -> u32 {
        self.exponent
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    #[error("must be a decimal number such as \"100.00\"")]
    NotANumber,
    #[error("must be greater than zero")]
    NotPositive,
    #[error("has more decimal places than {currency} allows ({exponent})")]
    TooManyDecimals {
        currency: &'static str,
        exponent: u32,
    },
    #[error("is larger than the maximum allowed")]
    TooLarge,
    #[error("unknown currency '{0}'")]
    UnknownCurrency(String),
}

/// A positive amount of money in one currency.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Money {
    minor: i64,
    currency: Currency,
}

impl Money {
    /// Parses a decimal string ("100.00", "100", "1e2" is refused) in `currency`.
    pub fn parse(text: &str, currency: Currency) -> Result<Money, MoneyError> {
        let text = text.trim();
        let plain = !text.is_empty()
            && text.len() <= 40
            && text
                .chars()
                .all(|c| c.is_ascii_digit() || c == '.' || c == '-' || c == '+');
        if !plain {
            return Err(MoneyError::NotANumber);
        }
        let well_formed = {
            let unsigned = text.strip_prefix(['-', '+']).unwrap_or(text);
            unsigned.matches('.').count() <= 1
                && unsigned.chars().any(|c| c.is_ascii_digit())
                && unsigned.chars().all(|c| c.is_ascii_digit() || c == '.')
        };
        if !well_formed {
            return Err(MoneyError::NotANumber);
        }
        // A well-formed number that does not fit a 96-bit decimal is simply too big.
        let value = Decimal::from_str(text).map_err(|_| MoneyError::TooLarge)?;
        Money::from_decimal(value, currency)
    }

    pub fn from_decimal(value: Decimal, currency: Currency) -> Result<Money, MoneyError> {
        if value <= Decimal::ZERO {
            return Err(MoneyError::NotPositive);
        }
        let normalized = value.normalize();
        if normalized.scale() > currency.exponent {
            return Err(MoneyError::TooManyDecimals {
                currency: currency.code,
                exponent: currency.exponent,
            });
        }
        let minor = normalized
            .checked_mul(Decimal::from(10i64.pow(currency.exponent)))
            .ok_or(MoneyError::TooLarge)?;
        let minor = i64::try_from(minor).map_err(|_| MoneyError::TooLarge)?;
        if minor > MAX_MINOR {
            return Err(MoneyError::TooLarge);
        }
        Ok(Money { minor, currency })
    }

    /// Builds from stored minor units (trusted: they were validated on the way in).
    pub fn from_minor(minor: i64, currency: Currency) -> Money {
        Money { minor, currency }
    }

    pub fn minor(&self) -> i64 {
        self.minor
    }

    pub fn currency(&self) -> Currency {
        self.currency
    }

    pub fn to_decimal(&self) -> Decimal {
        Decimal::new(self.minor, self.currency.exponent)
    }
}

/// Formats minor units as a decimal string with the currency's exponent ("100.00", "5", "1.250").
pub fn format_minor(minor: i64, currency: Currency) -> String {
    Decimal::new(minor, currency.exponent).to_string()
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&format_minor(self.minor, self.currency))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pkr() -> Currency {
        Currency::parse("PKR").unwrap()
    }

    #[test]
    fn parses_and_formats_with_the_currency_exponent() {
        let m = Money::parse("100.5", pkr()).unwrap();
        assert_eq!(m.minor(), 10050);
        assert_eq!(m.to_string(), "100.50");
        let jpy = Currency::parse("jpy").unwrap();
        assert_eq!(Money::parse("1500", jpy).unwrap().to_string(), "1500");
        let kwd = Currency::parse("KWD").unwrap();
        assert_eq!(Money::parse("1.005", kwd).unwrap().minor(), 1005);
    }

    #[test]
    fn trailing_zeros_beyond_the_exponent_are_fine() {
        assert_eq!(Money::parse("10.000", pkr()).unwrap().minor(), 1000);
    }

    #[test]
    fn refuses_what_a_payment_must_not_carry() {
        assert_eq!(Money::parse("0", pkr()), Err(MoneyError::NotPositive));
        assert_eq!(Money::parse("-5", pkr()), Err(MoneyError::NotPositive));
        assert!(matches!(
            Money::parse("1.001", pkr()),
            Err(MoneyError::TooManyDecimals { .. })
        ));
        assert!(matches!(
            Money::parse("1.5", Currency::parse("JPY").unwrap()),
            Err(MoneyError::TooManyDecimals { .. })
        ));
        for bad in ["abc", "", "NaN", "1e5", "inf", "1,000", "0x10", " . "] {
            assert_eq!(
                Money::parse(bad, pkr()),
                Err(MoneyError::NotANumber),
                "{bad}"
            );
        }
        assert_eq!(
            Money::parse("1000000000000000000000", pkr()),
            Err(MoneyError::TooLarge)
        );
        assert_eq!(
            Money::parse("99999999999999999999999999999", pkr()),
            Err(MoneyError::TooLarge)
        );
    }

    #[test]
    fn unknown_currencies_are_named() {
        assert_eq!(
            Currency::parse("XYZ"),
            Err(MoneyError::UnknownCurrency("XYZ".into()))
        );
    }
}
