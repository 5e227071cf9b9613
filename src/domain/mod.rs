//! Plain types and rules of the payment domain: no I/O, no HTTP, no SQL.

pub mod event;
pub mod ids;
pub mod key;
pub mod merchant;
pub mod money;
pub mod payment;
pub mod refund;
