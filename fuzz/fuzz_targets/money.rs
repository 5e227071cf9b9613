//! Amount parsing: never panics; what it accepts is positive, within the maximum, has no
//! more decimals than the currency, and prints back to an amount that parses the same.
#![no_main]

use hundi::domain::money::{Currency, Money, MAX_MINOR};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&pick, rest)) = data.split_first() else {
        return;
    };
    let Ok(text) = std::str::from_utf8(rest) else {
        return;
    };
    let code = ["PKR", "INR", "JPY", "KWD", "USD", "BDT"][pick as usize % 6];
    let currency = Currency::parse(code).unwrap();
    if let Ok(m) = Money::parse(text, currency) {
        assert!(m.minor() > 0 && m.minor() <= MAX_MINOR, "{text}");
        let printed = m.to_string();
        assert_eq!(
            Money::parse(&printed, currency),
            Ok(m),
            "{text} -> {printed}"
        );
    }
});
