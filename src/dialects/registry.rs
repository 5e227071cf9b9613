//! The dialect registry: every dialect is one [`Dialect`], and the rest of Hundi (the router,
//! the webhook dispatcher, the checkout's redirects, the dashboard, the CLI) asks the
//! registry instead of naming a dialect. Every piece is a required method, so a dialect that
//! forgets one does not compile.

use crate::api::extract::Refuse;
use crate::domain::payment::{Payment, PaymentStatus};
use crate::domain::source::{CredentialKind, Source, Sources};
use crate::http::AppState;
use crate::service::credentials::Credentials;
use crate::webhooks::{DeliveryJob, Rendered};
use axum::Router;

/// One gateway's wire dialect.
#[async_trait::async_trait]
pub trait Dialect: Send + Sync {
    /// The `source` of the payments it creates, and the webhook format of its endpoints.
    fn name(&self) -> &'static str;
    /// What the dashboard calls it ("Pakhi Pay").
    fn label(&self) -> &'static str;
    /// Its routes, mounted as they are (paths are the dialect's own).
    fn router(&self) -> Router<AppState>;
    /// Its error shape for a status and a message, for refusals made before a handler runs
    /// (a body over the size limit).
    fn refuse(&self) -> Refuse;
    /// Its word for a payment status, where it has one (docs/dialects.md's status table).
    fn status_name(&self, status: PaymentStatus) -> Option<&'static str>;
    /// The query parameters that carry the payment id on the way back to the merchant.
    fn redirect_id_params(&self) -> &'static [&'static str];
    /// The credentials a merchant creates for it (none: `&[]`).
    fn credentials(&self) -> &'static [CredentialKind];
    /// Its webhook for a delivery about one of its payments, or why none is sent. `Err`
    /// means it cannot be built now (a credential is missing): the delivery is retried.
    async fn webhook(&self, delivery: &Delivery<'_>) -> Result<Rendered, String>;
}

/// A delivery of a payment event to an endpoint in a dialect's format.
pub struct Delivery<'a> {
    pub job: &'a DeliveryJob,
    pub payment: &'a Payment,
    /// Whether the endpoint is an API key's own URL (format `auto`) rather than one the
    /// payment's request named.
    pub on_key_url: bool,
    pub credentials: &'a Credentials,
}

impl Delivery<'_> {
    /// The secret of one of the payment merchant's credentials, in the payment's mode.
    pub async fn secret(&self, name: &str) -> Result<Option<String>, String> {
        let scope = crate::service::Scope {
            merchant_id: self.payment.merchant_id.clone(),
            livemode: self.payment.livemode,
        };
        self.credentials
            .secret(&scope, name)
            .await
            .map_err(|e| e.to_string())
    }

    /// Nothing is sent: the dialect has no webhook for this event.
    pub fn skip(&self, dialect: &str) -> Rendered {
        Rendered::Skip(format!(
            "{dialect} sends no webhook for {}",
            self.job.event_type
        ))
    }
}

/// The dialects a server speaks.
#[derive(Clone)]
pub struct Registry(Vec<&'static dyn Dialect>);

/// The five dialects Hundi ships.
pub fn registry() -> Registry {
    Registry(vec![
        &super::pakhipay::PakhiPay,
        &super::paygate::PayGate,
        &super::xpay::XPay,
        &super::waypay::Waypay,
        &super::kazawallet::Kazawallet,
    ])
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(self.0.iter().map(|d| d.name()))
            .finish()
    }
}

impl Default for Registry {
    fn default() -> Registry {
        registry()
    }
}

impl Registry {
    /// The registry with one more dialect (a test's, or an operator's build).
    pub fn with(mut self, dialect: &'static dyn Dialect) -> Registry {
        self.0.push(dialect);
        self
    }

    pub fn all(&self) -> &[&'static dyn Dialect] {
        &self.0
    }

    pub fn get(&self, name: &str) -> Option<&'static dyn Dialect> {
        self.0.iter().copied().find(|d| d.name() == name)
    }

    /// What the checkout and the dashboard know of each dialect.
    pub fn sources(&self) -> Sources {
        Sources::new(self.0.iter().map(|d| Source {
            name: d.name(),
            label: d.label(),
            redirect_id_params: d.redirect_id_params(),
            credentials: d.credentials(),
        }))
    }
}
