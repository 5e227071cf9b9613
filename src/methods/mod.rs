//! How a customer pays. Each method is one module behind the `Method` trait; the checkout
//! offers a payment only the methods it allows and that fit its mode.

pub mod sandbox;
pub mod upi_alerts;
pub mod wallet_sms;

use crate::domain::payment::Payment;
use std::collections::HashMap;

/// What the customer typed into a method's form, by field name.
pub type FormInput = HashMap<String, String>;

/// A field the customer must correct before anything is attempted (not an attempt).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    pub field: &'static str,
    /// What is wrong, for pages that say it in the customer's language.
    pub code: &'static str,
    pub message: String,
}

/// What a method said about one try.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Paid; the reference names the money ("Visa •••• 4242", a wallet transaction id).
    Succeeded { reference: String },
    /// Refused; the customer may try again.
    Declined { code: &'static str, message: String },
    /// The customer must confirm with a one-time code.
    NeedsOtp,
}

/// A try as the method saw it, with what may be recorded about the instrument.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tried {
    pub outcome: Outcome,
    pub card_brand: Option<String>,
    pub card_last4: Option<String>,
    pub wallet_last4: Option<String>,
}

pub trait Method: Send + Sync {
    /// The name payments list in `methods` (`card`, `jazzcash`, …).
    fn name(&self) -> &'static str;
    /// What the customer sees.
    fn label(&self) -> &'static str;
    /// Whether this method may take this payment (sandbox methods refuse live payments).
    fn accepts(&self, payment: &Payment) -> bool;
    /// Checks the form and tries to pay; `Err` lists fields to correct (no attempt made).
    fn attempt(&self, payment: &Payment, form: &FormInput) -> Result<Tried, Vec<FieldError>>;
    /// Answers a one-time code for an attempt that needed one.
    fn confirm_otp(&self, otp: &str, card_last4: Option<&str>) -> Outcome;
}

/// Every method Hundi knows, in the order the checkout shows them.
pub fn all() -> Vec<Box<dyn Method>> {
    let mut all: Vec<Box<dyn Method>> = vec![Box::new(sandbox::Card)];
    for wallet in crate::domain::wallet::Wallet::ALL {
        all.push(Box::new(sandbox::SandboxWallet(wallet)));
    }
    all
}

/// The methods a payment can be paid with right now.
pub fn offered(payment: &Payment) -> Vec<Box<dyn Method>> {
    all()
        .into_iter()
        .filter(|m| payment.methods.iter().any(|n| n == m.name()) && m.accepts(payment))
        .collect()
}
