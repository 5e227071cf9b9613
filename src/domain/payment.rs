//! A payment: what a merchant asked to be paid, and where it stands.

use super::money::{Currency, Money};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Where a payment stands. Terminal states never change again except through refunds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PaymentStatus {
    Pending,
    Succeeded,
    Canceled,
    Expired,
    Failed,
    PartiallyRefunded,
    Refunded,
}

impl PaymentStatus {
    pub const ALL: [PaymentStatus; 7] = [
        PaymentStatus::Pending,
        PaymentStatus::Succeeded,
        PaymentStatus::Canceled,
        PaymentStatus::Expired,
        PaymentStatus::Failed,
        PaymentStatus::PartiallyRefunded,
        PaymentStatus::Refunded,
    ];

    pub fn as_str(&self) -> &'static str {
        match self {
            PaymentStatus::Pending => "pending",
            PaymentStatus::Succeeded => "succeeded",
            PaymentStatus::Canceled => "canceled",
            PaymentStatus::Expired => "expired",
            PaymentStatus::Failed => "failed",
            PaymentStatus::PartiallyRefunded => "partially_refunded",
            PaymentStatus::Refunded => "refunded",
        }
    }

    pub fn parse(s: &str) -> Option<PaymentStatus> {
        PaymentStatus::ALL.into_iter().find(|st| st.as_str() == s)
    }

    /// Statuses from which money was received (and so can be refunded).
    pub fn is_paid(&self) -> bool {
        matches!(
            self,
            PaymentStatus::Succeeded | PaymentStatus::PartiallyRefunded | PaymentStatus::Refunded
        )
    }
}

/// An e-mail address as far as can be told without sending mail (see [`Email`]).
///
/// [`Email`]: super::email::Email
pub fn is_email(v: &str) -> bool {
    super::email::Email::well_formed(v)
}

/// How a customer may pay. The checkout offers only the methods a payment allows.
/// JazzCash and Easypaisa take only PKR, bKash and Nagad only BDT, UPI only INR
/// (`wallet::method_takes`).
pub const METHODS: [&str; 6] = ["card", "jazzcash", "easypaisa", "bkash", "nagad", "upi"];

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Customer {
    pub name: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Payment {
    pub id: String,
    pub merchant_id: String,
    pub livemode: bool,
    /// The API key that created it (for per-key revenue), if any.
    pub key_id: Option<String>,
    /// `native` or the dialect that created it.
    pub source: String,
    pub status: PaymentStatus,
    pub amount: Money,
    pub refunded_minor: i64,
    pub description: Option<String>,
    pub reference: Option<String>,
    pub customer: Customer,
    pub metadata: BTreeMap<String, String>,
    pub success_url: Option<String>,
    pub cancel_url: Option<String>,
    pub methods: Vec<String>,
    /// Where the customer sends money themselves (UPI, or a wallet in live mode) and the exact
    /// amount to send, unique among the pending payments to the same payee.
    pub transfer: Option<Transfer>,
    /// The method that completed the payment, and its reference (a UTR, "Visa •••• 4242").
    pub paid_with: Option<String>,
    pub method_reference: Option<String>,
    pub attempt_count: i32,
    /// The dialect's own request fields it must echo later, as JSON the dialect wrote.
    pub dialect_data: Option<String>,
    /// The language its pages and receipts speak, when its creator named one.
    pub locale: Option<crate::domain::locale::Locale>,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A payment the customer pays by sending the exact payable amount to the merchant's own
/// account; the bank's or the wallet's received-money alert completes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transfer {
    /// What the payable amount is unique within: the merchant's UPI id (`shop@okbank`), or
    /// [`wallets_payee`] for its wallets in one currency (the numbers come from its settings).
    pub payee: String,
    /// The payee name UPI apps show.
    pub payee_name: String,
    pub payable_minor: i64,
}

/// The payee of a merchant's live wallet payments in one currency: one set of payable amounts
/// for all its wallets in that currency, so a received-money SMS from any of them names one
/// payment.
pub fn wallets_payee(merchant_id: &str, currency: Currency) -> String {
    format!("wallets/{merchant_id}/{}", currency.code())
}

impl Transfer {
    /// The `upi://pay` link a UPI app opens, with the exact amount and the payment as note.
    pub fn deeplink(&self, currency: super::money::Currency, payment_id: &str) -> String {
        let amount = super::money::format_minor(self.payable_minor, currency);
        let mut url = String::from("upi://pay?");
        let pairs = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("pa", &self.payee)
            .append_pair("pn", &self.payee_name)
            .append_pair("am", &amount)
            .append_pair("cu", currency.code())
            .append_pair("tn", payment_id)
            .finish();
        url.push_str(&pairs);
        url
    }
}

impl Payment {
    pub fn currency(&self) -> Currency {
        self.amount.currency()
    }

    /// The UPI transfer, when this is an INR payment with one (wallets never take INR).
    pub fn upi(&self) -> Option<&Transfer> {
        self.transfer
            .as_ref()
            .filter(|_| self.currency().code() == "INR")
    }

    /// The amount the customer must send: the transfer's payable amount, else the amount.
    pub fn payable_minor(&self) -> i64 {
        self.transfer
            .as_ref()
            .map_or(self.amount.minor(), |t| t.payable_minor)
    }

    /// Still pending in storage but past its expiry: must be shown (and moved to) `expired`.
    pub fn is_overdue(&self, now: DateTime<Utc>) -> bool {
        self.status == PaymentStatus::Pending && self.expires_at <= now
    }

    pub fn refundable_minor(&self) -> i64 {
        if self.status.is_paid() {
            self.amount.minor() - self.refunded_minor
        } else {
            0
        }
    }
}

/// Limits on what a merchant may attach to a payment (as Stripe's, roughly).
pub mod limits {
    pub const DESCRIPTION_MAX: usize = 1000;
    pub const REFERENCE_MAX: usize = 255;
    pub const NAME_MAX: usize = 200;
    pub const EMAIL_MAX: usize = crate::domain::email::Email::MAX;
    pub const PHONE_MAX: usize = 32;
    pub const URL_MAX: usize = crate::domain::web_url::WebUrl::MAX;
    pub const METADATA_KEYS_MAX: usize = 50;
    pub const METADATA_KEY_MAX: usize = 40;
    pub const METADATA_VALUE_MAX: usize = 500;
    /// What a dialect keeps of its own request fields (PayGate's metadata, XPay's shipping…),
    /// as stored JSON: about what native metadata may hold at most.
    pub const DIALECT_DATA_MAX: usize = 16 * 1024;
    pub const EXPIRES_IN_MIN: i64 = 60;
    pub const EXPIRES_IN_MAX: i64 = 7 * 24 * 3600;
    pub const EXPIRES_IN_DEFAULT: i64 = 3600;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_names_round_trip() {
        for st in PaymentStatus::ALL {
            assert_eq!(PaymentStatus::parse(st.as_str()), Some(st));
            assert_eq!(
                serde_json::to_value(st).unwrap(),
                serde_json::Value::String(st.as_str().into())
            );
        }
        assert_eq!(PaymentStatus::parse("paid"), None);
    }
}

/// A payment whose status changed, heard by whoever waits on it (the checkout's open pages).
#[derive(Debug, Clone, PartialEq)]
pub enum PaymentChange {
    /// This payment's status changed.
    Payment(String),
    /// Changes may have been missed (the notification connection dropped): look at them all.
    Unknown,
}
