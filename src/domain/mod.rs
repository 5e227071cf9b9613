//! Plain types and rules of the payment domain: no I/O, no HTTP, no SQL.

pub mod attempt;
pub mod audit;
pub mod credential;
pub mod credit;
pub mod database_file;
pub mod delivery;
pub mod email;
pub mod event;
pub mod idempotency;
pub mod ids;
pub mod key;
pub mod locale;
pub mod mailbox;
pub mod merchant;
pub mod money;
pub mod payment;
pub mod payment_link;
pub mod receipt;
pub mod refund;
pub mod retention;
pub mod role;
pub mod rollup;
pub mod second_factor;
pub mod session;
pub mod sms_device;
pub mod source;
pub mod wallet;
pub mod web_url;
pub mod webhook;

/// The current time at the precision both stores keep (microseconds), so an object read back
/// equals the object written.
pub fn now() -> chrono::DateTime<chrono::Utc> {
    use chrono::SubsecRound;
    chrono::Utc::now().trunc_subsecs(6)
}
