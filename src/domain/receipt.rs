//! A receipt e-mailed to a customer when their payment succeeds or is refunded: recorded with
//! the event, sent by the receipt sender, retried with backoff, given up after a day.

use chrono::{DateTime, Duration, Utc};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReceiptStatus {
    Pending,
    Sent,
    /// The mail server refused it for good, or every try failed.
    Failed,
    /// Not sent within a day of the payment (no mail server was set, or it was down): a
    /// receipt that late is given up rather than sent.
    Expired,
    /// A test-mode payment's, not sent (unless the server sends test receipts).
    Skipped,
}

impl ReceiptStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ReceiptStatus::Pending => "pending",
            ReceiptStatus::Sent => "sent",
            ReceiptStatus::Failed => "failed",
            ReceiptStatus::Expired => "expired",
            ReceiptStatus::Skipped => "skipped",
        }
    }

    pub fn parse(s: &str) -> Option<ReceiptStatus> {
        [
            ReceiptStatus::Pending,
            ReceiptStatus::Sent,
            ReceiptStatus::Failed,
            ReceiptStatus::Expired,
            ReceiptStatus::Skipped,
        ]
        .into_iter()
        .find(|r| r.as_str() == s)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Receipt {
    pub id: String,
    pub event_id: String,
    pub merchant_id: String,
    pub livemode: bool,
    pub payment_id: String,
    /// The refund a refund receipt is for; `None` for the payment's own receipt.
    pub refund_id: Option<String>,
    pub to_email: String,
    pub status: ReceiptStatus,
    /// Tries so far, counted when a sender leases it.
    pub attempts: i32,
    pub next_attempt_at: DateTime<Utc>,
    pub lease_until: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
    pub sent_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

/// Tries before a receipt is given up.
pub const MAX_ATTEMPTS: i32 = 10;

/// How long a sender holds a leased receipt; one that is not finished by then (its node
/// died mid-send) is due again.
pub const LEASE: Duration = Duration::seconds(60);

/// A receipt not sent this long after it was recorded is given up.
pub fn too_late(created_at: DateTime<Utc>, now: DateTime<Utc>) -> bool {
    now - created_at > Duration::hours(24)
}

/// When to try again after `attempts` tries: 10 s, 30 s, 1 min, 2 min, 5 min, then every 15.
pub fn retry_delay(attempts: i32) -> Duration {
    let secs = match attempts {
        ..=1 => 10,
        2 => 30,
        3 => 60,
        4 => 120,
        5 => 300,
        _ => 900,
    };
    Duration::seconds(secs)
}

/// How a try ended, as the store records it.
#[derive(Debug, Clone, PartialEq)]
pub enum ReceiptOutcome {
    Sent,
    /// Try again at `at`.
    Retry {
        at: DateTime<Utc>,
        error: String,
    },
    /// Failed or expired for good.
    GiveUp {
        status: ReceiptStatus,
        error: String,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_slow_down_and_end() {
        assert_eq!(retry_delay(1), Duration::seconds(10));
        assert!(retry_delay(5) < retry_delay(6));
        assert_eq!(retry_delay(50), Duration::seconds(900));
        let t = Utc::now();
        assert!(!too_late(t, t + Duration::hours(23)));
        assert!(too_late(t, t + Duration::hours(25)));
        for s in ["pending", "sent", "failed", "expired", "skipped"] {
            assert_eq!(ReceiptStatus::parse(s).map(ReceiptStatus::as_str), Some(s));
        }
    }
}
