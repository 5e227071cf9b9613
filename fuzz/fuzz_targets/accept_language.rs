//! The language a customer's page speaks, from what the browser and the URL say (any text a
//! visitor sends in `Accept-Language` and `?lang=`): choosing never panics, always lands on a
//! language the pages speak, prefers the page's switch, and every message of that language
//! formats with a value of any text.
#![no_main]

use hundi::i18n::{choose, Locale, Texts};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let (asked, header) = text.split_once('\n').unwrap_or(("", text));
    let chosen = choose(Some(asked), None, Some(header), Some(Locale::Ur));
    assert!(Locale::ALL.contains(&chosen));
    if let Ok(wanted) = Locale::parse(asked) {
        assert_eq!(chosen, wanted, "the switch wins");
    }
    let t = Texts::new(chosen);
    let said = t.with("cancel", "merchant", header);
    assert!(said.contains(header.trim_matches(['\u{2068}', '\u{2069}'])) || header.is_empty());
    let (before, after) = t.around("pay-within", "time");
    assert!(!before.contains('\u{E000}') && !after.contains('\u{E000}'));
});
