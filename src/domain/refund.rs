//! A refund returns part or all of a paid payment's amount.

use super::money::Money;
use chrono::{DateTime, Utc};

#[derive(Debug, Clone, PartialEq)]
pub struct Refund {
    pub id: String,
    pub payment_id: String,
    pub merchant_id: String,
    pub livemode: bool,
    pub amount: Money,
    pub reason: Option<String>,
    /// Refunds complete synchronously today; the field leaves room for asynchronous methods.
    pub status: String,
    pub created_at: DateTime<Utc>,
}

pub const REASON_MAX: usize = 500;
