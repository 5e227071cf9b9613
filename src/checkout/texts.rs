//! What the methods and the engine say to a customer (field errors, declines, one-time code
//! prompts), in the page's language. Methods speak English and give a
//! code; the code picks the message, and an unknown code keeps the method's English words.

use crate::domain::attempt::Attempt;
use crate::domain::wallet::Wallet;
use crate::i18n::{Locale, Texts};
use crate::methods::FieldError;

/// A field of `method`'s form the customer must correct.
pub fn field_error(t: &Texts, method: &str, e: &FieldError) -> String {
    match (e.code, Wallet::parse(method)) {
        ("card_number_missing", _) => t.get("error-card-number-missing"),
        ("card_number_invalid", _) => t.get("error-card-number-invalid"),
        ("expiry_format", _) => t.get("error-expiry-format"),
        ("card_expired", _) => t.get("error-card-expired"),
        ("cvc", _) => t.get("error-cvc"),
        ("phone", Some(w)) => t.with("error-phone", "shape", w.number_shape()),
        _ => untranslated(t, &e.message, "decline-other"),
    }
}

/// Why a try with `method` did not pay.
pub fn decline(t: &Texts, method: &str, code: &str, message: &str) -> String {
    let wallet = Wallet::parse(method).map(Wallet::label);
    match (code, wallet) {
        ("card_declined", _) => t.get("decline-card-declined"),
        ("insufficient_funds", None) => t.get("decline-card-insufficient-funds"),
        ("insufficient_funds", Some(w)) => t.with("decline-wallet-insufficient-funds", "wallet", w),
        ("wallet_declined", Some(w)) => t.with("decline-wallet-declined", "wallet", w),
        ("incorrect_otp", _) => t.get("decline-incorrect-otp"),
        ("code_used", _) => t.get("decline-code-used"),
        ("start_again", _) => t.get("decline-start-again"),
        _ => untranslated(t, message, "decline-other"),
    }
}

/// English words with no message of their own: shown as they are on an English page, as a
/// general message otherwise.
fn untranslated(t: &Texts, english: &str, general: &str) -> String {
    if t.locale() == Locale::En {
        english.to_string()
    } else {
        t.get(general)
    }
}

/// The one-time code prompt, naming the card or phone the code went to.
pub fn otp_prompt(t: &Texts, a: &Attempt) -> String {
    match (&a.card_last4, &a.wallet_last4) {
        (Some(l4), _) => t.with("otp-card", "last4", l4),
        (_, Some(l4)) => t.with("otp-phone", "last4", l4),
        _ => t.get("otp-other"),
    }
}
