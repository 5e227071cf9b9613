//! Wallet received-money SMS: never panics; a parsed credit has a plain decimal amount that
//! money parsing takes in the wallet's currency, and a transaction id a credit accepts.
#![no_main]

use hundi::domain::credit::valid_utr;
use hundi::domain::money::{Currency, Money};
use hundi::methods::wallet_sms::parse_wallet_sms;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    // The first line is the sender, as the phone names it.
    let (sender, body) = text.split_once('\n').unwrap_or(("", text));
    if let Ok(credit) = parse_wallet_sms(sender, body) {
        assert!(
            credit.amount.bytes().all(|b| b.is_ascii_digit() || b == b'.'),
            "{credit:?} from {text:?}"
        );
        let currency = Currency::parse(credit.wallet.currency_code()).unwrap();
        // Zero is the only amount the service refuses; anything else must parse.
        if credit.amount.bytes().any(|b| (b'1'..=b'9').contains(&b)) {
            assert!(Money::parse(&credit.amount, currency).is_ok(), "{credit:?}");
        }
        assert!(valid_utr(&credit.transaction_id), "{credit:?} from {text:?}");
    }
});
