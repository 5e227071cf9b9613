//! What a person types as a two-factor code: never panics; a six-digit code is matched only
//! to one of the three steps around now (and to the step it is the code of); a recovery
//! code's hash ignores dashes, spaces and case.
#![no_main]

use hundi::domain::second_factor::{
    code_at, is_recovery_code, matching_step, recovery_hash, step_of,
};
use libfuzzer_sys::fuzz_target;

const SECRET: &str = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP";

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let now = 1_800_000_000;
    if let Some(step) = matching_step(SECRET, text, now).unwrap() {
        assert!((step - step_of(now)).abs() <= 1, "{text}");
        let typed: String = text.chars().filter(|c| !c.is_whitespace()).collect();
        assert_eq!(code_at(SECRET, step).unwrap(), typed);
    }
    if is_recovery_code(text) {
        let squeezed: String = text
            .chars()
            .filter(|c| c.is_ascii_alphanumeric())
            .collect::<String>()
            .to_uppercase();
        assert_eq!(recovery_hash(text), recovery_hash(&squeezed));
    }
});
