//! An attempt: one try by the customer to pay with one method. A declined attempt is not
//! the end of the payment; the customer may try again until the cap or the expiry.

use chrono::{DateTime, Utc};

/// How many attempts one payment allows before it fails.
pub const MAX_ATTEMPTS: i32 = 10;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttemptStatus {
    RequiresOtp,
    Succeeded,
    Declined,
}

impl AttemptStatus {
    pub fn as_str(&self) -> &'static str {
        match self {
            AttemptStatus::RequiresOtp => "requires_otp",
            AttemptStatus::Succeeded => "succeeded",
            AttemptStatus::Declined => "declined",
        }
    }

    pub fn parse(s: &str) -> Option<AttemptStatus> {
        [
            AttemptStatus::RequiresOtp,
            AttemptStatus::Succeeded,
            AttemptStatus::Declined,
        ]
        .into_iter()
        .find(|a| a.as_str() == s)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Attempt {
    pub id: String,
    pub payment_id: String,
    pub method: String,
    pub status: AttemptStatus,
    /// Never a card number: the brand and the last four digits only.
    pub card_brand: Option<String>,
    pub card_last4: Option<String>,
    pub wallet_last4: Option<String>,
    pub failure_code: Option<String>,
    pub failure_message: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}
