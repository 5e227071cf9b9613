//! A bank credit: money received on the merchant's UPI id, identified by its UTR. A credit
//! completes the one pending payment whose payable amount it equals; one that matches
//! nothing is kept for the merchant to match by hand.

use super::money::Money;
use chrono::{DateTime, Utc};

#[derive(Debug, Clone, PartialEq)]
pub struct Credit {
    pub id: String,
    pub merchant_id: String,
    pub livemode: bool,
    /// The bank's unique transaction reference.
    pub utr: String,
    pub amount: Money,
    pub payer: Option<String>,
    pub received_at: DateTime<Utc>,
    pub payment_id: Option<String>,
    pub matched_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

pub const UTR_MAX: usize = 35;

/// A UTR: 6 to 35 letters and digits (UPI RRNs are 12 digits, NEFT UTRs 16 to 22 characters).
pub fn valid_utr(utr: &str) -> bool {
    (6..=UTR_MAX).contains(&utr.len()) && utr.chars().all(|c| c.is_ascii_alphanumeric())
}

/// PayGate's rule for the amount a UPI customer pays: the requested amount less 1.00, then
/// lowered by 0.01 until no other pending payment to the same UPI id asks for it. Small
/// amounts start from the amount itself. Returns the candidates, best first.
pub fn payable_candidates(requested_minor: i64, unit_minor: i64) -> impl Iterator<Item = i64> {
    let start = if requested_minor >= 2 * unit_minor {
        requested_minor - unit_minor
    } else {
        requested_minor
    };
    (1..=start).rev()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payable_amounts_start_one_unit_below_and_step_down() {
        let c: Vec<i64> = payable_candidates(10000, 100).take(3).collect();
        assert_eq!(c, vec![9900, 9899, 9898]);
        let small: Vec<i64> = payable_candidates(150, 100).take(2).collect();
        assert_eq!(small, vec![150, 149]);
        assert_eq!(payable_candidates(1, 100).collect::<Vec<_>>(), vec![1]);
    }

    #[test]
    fn utrs_are_plain_references() {
        assert!(valid_utr("410512345678"));
        assert!(valid_utr("N104261234567890"));
        assert!(!valid_utr("4105 1234"));
        assert!(!valid_utr("abc"));
        assert!(!valid_utr("x'; drop table"));
    }
}
