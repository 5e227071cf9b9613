//! A credit: money received on the merchant's UPI id (identified by its UTR) or wallet
//! (identified by the wallet's transaction id). A credit completes the one pending payment
//! whose payable amount it equals; one that matches nothing is kept for the merchant to match
//! by hand.

use super::money::Money;
use chrono::{DateTime, Utc};
use std::ops::RangeInclusive;

#[derive(Debug, Clone, PartialEq)]
pub struct Credit {
    pub id: String,
    pub merchant_id: String,
    pub livemode: bool,
    /// The rail it came by: `upi` (a bank credit) or a wallet's name (`jazzcash`, `bkash`, …).
    pub method: String,
    /// The bank's unique transaction reference, or the wallet's transaction id; unique
    /// within the rail.
    pub utr: String,
    pub amount: Money,
    pub payer: Option<String>,
    pub received_at: DateTime<Utc>,
    pub payment_id: Option<String>,
    pub matched_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    /// Set when a dashboard user matched this credit by hand to a payment asking for more.
    pub shortfall: Option<AcceptedShortfall>,
}

/// A shortfall a dashboard user confirmed when matching a credit by hand: the credit was
/// `amount` less than the payment's payable amount, and `accepted_by` said to match anyway.
#[derive(Debug, Clone, PartialEq)]
pub struct AcceptedShortfall {
    pub amount: Money,
    /// The dashboard user (e-mail address) who confirmed it.
    pub accepted_by: String,
    pub accepted_at: DateTime<Utc>,
}

pub const UTR_MAX: usize = 35;

/// A UTR: 6 to 35 letters and digits (UPI RRNs are 12 digits, NEFT UTRs 16 to 22 characters).
pub fn valid_utr(utr: &str) -> bool {
    (6..=UTR_MAX).contains(&utr.len()) && utr.chars().all(|c| c.is_ascii_alphanumeric())
}

/// How many distinct payable amounts one requested amount offers at a time. When every one is
/// held by a pending payment, the create is refused rather than underpriced.
pub const PAYABLES_PER_AMOUNT: i64 = 100;

/// PayGate's rule for the amount a UPI customer pays, with a floor: the requested amount less
/// 1.00, then lowered by 0.01 until no other pending payment to the same UPI id (in the same
/// mode) asks for it, down to the requested amount less 1.99 (`PAYABLES_PER_AMOUNT` amounts).
/// Small amounts start from the amount itself, keep the same span, and never go below half the
/// amount: a credit of far less than the price must never complete a payment. Returns the
/// range (lowest..=highest); the best candidate is the highest. Its size never depends on the
/// amount, so neither does the cost of searching it.
pub fn payable_range(requested_minor: i64, unit_minor: i64) -> RangeInclusive<i64> {
    let highest = if requested_minor >= 2 * unit_minor {
        requested_minor - unit_minor
    } else {
        requested_minor
    };
    let half = requested_minor - requested_minor / 2;
    let lowest = (highest - (PAYABLES_PER_AMOUNT - 1)).max(half).max(1);
    lowest..=highest
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payable_amounts_start_one_unit_below_and_step_down_at_most_a_hundred_times() {
        let c: Vec<i64> = payable_range(10000, 100).rev().take(3).collect();
        assert_eq!(c, vec![9900, 9899, 9898]);
        assert_eq!(payable_range(10000, 100), 9801..=9900);
        assert_eq!(
            payable_range(5000, 100),
            4801..=4900,
            "50.00: 49.00 down to 48.01"
        );
        let huge = 99_999_999_999;
        assert_eq!(payable_range(huge, 100), huge - 199..=huge - 100);
    }

    #[test]
    fn small_amounts_never_go_below_half_the_price() {
        assert_eq!(payable_range(150, 100), 75..=150);
        assert_eq!(payable_range(199, 100), 100..=199);
        assert_eq!(payable_range(200, 100), 100..=100);
        assert_eq!(payable_range(300, 100), 150..=200);
        assert_eq!(payable_range(1, 100), 1..=1);
        assert_eq!(payable_range(3, 100), 2..=3);
        for requested in 1..2000 {
            let r = payable_range(requested, 100);
            assert!(r.end() - r.start() < PAYABLES_PER_AMOUNT, "{requested}");
            assert!(2 * r.start() >= requested, "{requested}: {r:?}");
            assert!(
                *r.end() <= requested && *r.start() >= 1,
                "{requested}: {r:?}"
            );
        }
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
