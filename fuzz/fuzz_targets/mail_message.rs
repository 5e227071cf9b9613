//! An e-mail as fetched from a merchant's mailbox (any bytes, as a sender chose them): reading
//! it never panics and stays fast (nested parts are refused, HTML is reduced in one pass), and
//! a sender read from it is one lower-case line.
#![no_main]

use hundi::inbox::message::{html_text, read_message, MESSAGE_MAX};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(mail) = read_message(data) {
        assert!(!mail.from.contains(['\r', '\n']), "{mail:?}");
        assert_eq!(mail.from, mail.from.to_ascii_lowercase(), "{mail:?}");
        assert!(mail.text.len() <= 4 * MESSAGE_MAX, "{} bytes of text", mail.text.len());
    }
    if let Ok(html) = std::str::from_utf8(data) {
        let text = html_text(html);
        assert!(text.len() <= 2 * html.len() + 1, "{html:?} became {text:?}");
    }
});
