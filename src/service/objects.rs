//! The native JSON representation of payments, refunds and events.
//!
//! Used by the native API and frozen into event payloads (the bytes webhooks send).

use crate::domain::credit::Credit;
use crate::domain::money::format_minor;
use crate::domain::payment::{Customer, Payment, PaymentStatus};
use crate::domain::refund::Refund;
use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serialize;
use std::collections::BTreeMap;
use utoipa::ToSchema;

pub fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PaymentObject {
    #[schema(example = "pay_0192b3c4d5e6f7a8b9c0d1e2f3a4b5c6")]
    pub id: String,
    #[schema(example = "payment")]
    pub object: &'static str,
    pub status: PaymentStatus,
    /// Decimal string with the currency's exponent.
    #[schema(example = "100.00")]
    pub amount: String,
    #[schema(example = "PKR")]
    pub currency: String,
    #[schema(example = "0.00")]
    pub amount_refunded: String,
    pub description: Option<String>,
    pub reference: Option<String>,
    pub customer: Option<Customer>,
    pub metadata: BTreeMap<String, String>,
    pub success_url: Option<String>,
    pub cancel_url: Option<String>,
    pub methods: Vec<String>,
    pub checkout_url: String,
    /// Set when the payment can be paid by UPI: where, and the exact amount to send.
    pub upi: Option<UpiObject>,
    /// Set when the customer pays by sending money themselves (UPI, or a live JazzCash,
    /// Easypaisa, bKash or Nagad payment): the exact amount to send, unique among pending
    /// payments.
    #[schema(example = "99.00")]
    pub payable_amount: Option<String>,
    /// How the payment was paid, once it is.
    pub payment_method: Option<PaymentMethodObject>,
    /// `native` or the dialect that created the payment.
    pub source: String,
    /// The language of its checkout and receipts when the create named one: `en`, `ur`,
    /// `ar`, `hi` or `bn`.
    #[schema(value_type = Option<String>, example = "ur")]
    pub locale: Option<crate::domain::locale::Locale>,
    pub livemode: bool,
    pub created_at: String,
    pub expires_at: String,
}

impl PaymentObject {
    pub fn new(p: &Payment, public_url: &str) -> PaymentObject {
        let currency = p.currency();
        let customer = (p.customer != Customer::default()).then(|| p.customer.clone());
        PaymentObject {
            id: p.id.clone(),
            object: "payment",
            status: p.status,
            amount: p.amount.to_string(),
            currency: currency.code().to_string(),
            amount_refunded: format_minor(p.refunded_minor, currency),
            description: p.description.clone(),
            reference: p.reference.clone(),
            customer,
            metadata: p.metadata.clone(),
            success_url: p.success_url.clone(),
            cancel_url: p.cancel_url.clone(),
            methods: p.methods.clone(),
            checkout_url: crate::domain::web_url::checkout_url(public_url, &p.id),
            upi: p.upi().map(|u| UpiObject {
                id: u.payee.clone(),
                name: u.payee_name.clone(),
                payable_amount: format_minor(u.payable_minor, currency),
                deeplink: u.deeplink(currency, &p.id),
            }),
            payable_amount: p
                .transfer
                .as_ref()
                .map(|t| format_minor(t.payable_minor, currency)),
            payment_method: p.paid_with.as_ref().map(|kind| PaymentMethodObject {
                kind: kind.clone(),
                reference: p.method_reference.clone(),
            }),
            source: p.source.clone(),
            locale: p.locale,
            livemode: p.livemode,
            created_at: rfc3339(p.created_at),
            expires_at: rfc3339(p.expires_at),
        }
    }
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct UpiObject {
    /// The merchant's UPI id (VPA).
    pub id: String,
    pub name: String,
    /// What the customer pays by UPI; unique among pending payments to this UPI id.
    #[schema(example = "99.00")]
    pub payable_amount: String,
    #[schema(example = "upi://pay?pa=shop%40okbank&pn=Shop&am=99.00&cu=INR&tn=pay_…")]
    pub deeplink: String,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PaymentMethodObject {
    /// `card`, `jazzcash`, `easypaisa`, `bkash`, `nagad`, `upi` or `test`.
    #[serde(rename = "type")]
    pub kind: String,
    /// What identifies the money: a UTR, "Visa •••• 4242".
    pub reference: Option<String>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RefundObject {
    #[schema(example = "re_0192b3c4d5e6f7a8b9c0d1e2f3a4b5c6")]
    pub id: String,
    #[schema(example = "refund")]
    pub object: &'static str,
    pub payment: String,
    #[schema(example = "25.00")]
    pub amount: String,
    pub currency: String,
    pub reason: Option<String>,
    #[schema(example = "succeeded")]
    pub status: String,
    pub livemode: bool,
    pub created_at: String,
}

impl RefundObject {
    pub fn new(r: &Refund) -> RefundObject {
        RefundObject {
            id: r.id.clone(),
            object: "refund",
            payment: r.payment_id.clone(),
            amount: r.amount.to_string(),
            currency: r.amount.currency().code().to_string(),
            reason: r.reason.clone(),
            status: r.status.clone(),
            livemode: r.livemode,
            created_at: rfc3339(r.created_at),
        }
    }
}

/// The envelope every event payload has; `data.object` is the object after the change.
#[derive(Serialize)]
struct EventEnvelope<'a, T: Serialize> {
    id: &'a str,
    object: &'static str,
    #[serde(rename = "type")]
    event_type: &'a str,
    livemode: bool,
    created_at: String,
    data: EventData<'a, T>,
}

#[derive(Serialize)]
struct EventData<'a, T: Serialize> {
    object: &'a T,
}

pub fn event_payload<T: Serialize>(
    id: &str,
    event_type: &str,
    livemode: bool,
    created_at: DateTime<Utc>,
    object: &T,
) -> String {
    serde_json::to_string(&EventEnvelope {
        id,
        object: "event",
        event_type,
        livemode,
        created_at: rfc3339(created_at),
        data: EventData { object },
    })
    // Serializing plain structs of strings and numbers cannot fail.
    .unwrap_or_default()
}

#[derive(Serialize, ToSchema)]
pub struct CreditObject {
    #[schema(example = "cr_0192b3c4d5e6f7a8b9c0d1e2f3a4b5c6")]
    pub id: String,
    #[schema(example = "credit")]
    pub object: &'static str,
    /// `upi` (a bank credit) or the wallet the money reached.
    #[schema(example = "upi")]
    pub method: String,
    /// The bank's UTR, or the wallet's transaction id.
    #[schema(example = "410512345678")]
    pub utr: String,
    #[schema(example = "99.00")]
    pub amount: String,
    pub currency: String,
    pub payer: Option<String>,
    pub received_at: String,
    /// The payment this credit completed, if any.
    pub payment: Option<String>,
    pub matched: bool,
    pub livemode: bool,
    pub created_at: String,
    /// Set when a dashboard user matched this credit by hand to a payment asking for more,
    /// confirming the shortfall.
    pub shortfall_accepted: Option<ShortfallObject>,
}

/// A shortfall accepted by hand: how much, by whom, when.
#[derive(Serialize, ToSchema)]
pub struct ShortfallObject {
    #[schema(example = "9.00")]
    pub amount: String,
    /// The dashboard user who confirmed it.
    pub by: String,
    pub at: String,
}

impl CreditObject {
    pub fn new(c: &Credit) -> CreditObject {
        CreditObject {
            id: c.id.clone(),
            object: "credit",
            method: c.method.clone(),
            utr: c.utr.clone(),
            amount: c.amount.to_string(),
            currency: c.amount.currency().code().to_string(),
            payer: c.payer.clone(),
            received_at: rfc3339(c.received_at),
            payment: c.payment_id.clone(),
            matched: c.payment_id.is_some(),
            livemode: c.livemode,
            created_at: rfc3339(c.created_at),
            shortfall_accepted: c.shortfall.as_ref().map(|s| ShortfallObject {
                amount: s.amount.to_string(),
                by: s.accepted_by.clone(),
                at: rfc3339(s.accepted_at),
            }),
        }
    }
}
