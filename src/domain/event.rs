//! Events: one row per state change, written in the same transaction as the change.
//! The payload bytes are fixed at write time; webhooks send them verbatim.

use chrono::{DateTime, Utc};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventType {
    PaymentCreated,
    PaymentSucceeded,
    PaymentCanceled,
    PaymentExpired,
    PaymentFailed,
    RefundSucceeded,
    /// Money arrived (a bank or wallet credit), matched or not.
    CreditReceived,
    /// A credit that completed no payment: the merchant should look at it.
    CreditUnmatched,
}

impl EventType {
    pub fn as_str(&self) -> &'static str {
        match self {
            EventType::PaymentCreated => "payment.created",
            EventType::PaymentSucceeded => "payment.succeeded",
            EventType::PaymentCanceled => "payment.canceled",
            EventType::PaymentExpired => "payment.expired",
            EventType::PaymentFailed => "payment.failed",
            EventType::RefundSucceeded => "refund.succeeded",
            EventType::CreditReceived => "credit.received",
            EventType::CreditUnmatched => "credit.unmatched",
        }
    }
}

/// An event as stored. `payload` is the exact JSON document sent to receivers.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    pub id: String,
    pub merchant_id: String,
    pub livemode: bool,
    pub event_type: String,
    /// The id of the payment or refund the event is about.
    pub object_id: String,
    pub payload: String,
    pub created_at: DateTime<Utc>,
}
