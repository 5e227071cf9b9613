//! Any double prints as ECMAScript's Number::toString would: it reads back to the same
//! double, uses exponent form exactly outside [1e-6, 1e21), never prints `-0`, and is the
//! same text whether the number came from a token or from a previous print.
#![no_main]

use hundi::dialects::js_json;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: [u8; 8]| {
    let f = f64::from_le_bytes(data);
    let Some(n) = serde_json::Number::from_f64(f) else {
        return; // NaN and infinities are not JSON numbers
    };
    let printed = js_json::js_number(&n);
    assert_eq!(printed.parse::<f64>().unwrap(), f, "{printed}");
    let exponent = f != 0.0 && (f.abs() >= 1e21 || f.abs() < 1e-6);
    assert_eq!(printed.contains('e'), exponent, "{f:e} printed {printed}");
    assert!(
        !printed.starts_with("-0") || printed.starts_with("-0."),
        "{printed}"
    );
    assert_ne!(printed, "-0");
    // Shortest: no trailing zero in a fraction, no `+` outside the exponent.
    let mantissa = printed.split('e').next().unwrap();
    assert!(
        !mantissa.contains('.') || !mantissa.ends_with('0'),
        "{printed}"
    );
    // Read back as JSON, the token prints the same.
    let again: serde_json::Number = serde_json::from_str(&printed).unwrap();
    assert_eq!(js_json::js_number(&again), printed);
});
