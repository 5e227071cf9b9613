//! Bank credit alerts: never panics; a parsed credit has a reference of the documented shape
//! and an amount with two decimals.
#![no_main]

use hundi::methods::upi_alerts::parse_credit_alert;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(credit) = parse_credit_alert(text) {
        let utr = &credit.utr;
        let rrn = utr.len() == 12 && utr.bytes().all(|b| b.is_ascii_digit());
        let neft = (16..=22).contains(&utr.len())
            && utr.bytes().all(|b| b.is_ascii_alphanumeric())
            && utr.bytes().any(|b| b.is_ascii_alphabetic());
        assert!(rrn || neft, "{utr:?} from {text:?}");
        assert_eq!(credit.amount.scale(), 2, "{text:?}");
    }
});
