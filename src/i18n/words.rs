//! Words about a payment that more than one page says: the checkout's receipt and the
//! receipt e-mailed to the customer.

use super::Texts;
use crate::domain::payment::Payment;
use crate::domain::wallet::Wallet;

/// How the payment was paid, as the receipt says it.
pub fn paid_with(t: &Texts, p: &Payment) -> Option<String> {
    match (p.paid_with.as_deref(), &p.method_reference) {
        (Some("upi"), Some(utr)) => Some(t.with("paid-with-upi", "utr", utr)),
        (Some(method), Some(id)) if p.transfer.is_some() => {
            let label = match Wallet::parse(method) {
                Some(w) => w.label(),
                None => method,
            };
            Some(t.with2("paid-with-transfer", &("wallet", label), &("id", id)))
        }
        (Some("test"), _) => Some(t.get("test-mode")),
        (_, reference) => reference.clone(),
    }
}
