//! Dialect webhooks: what the dispatcher sends to an endpoint whose format is not native.
//! The body is built when the delivery is sent, from the payment (its dialect fields never
//! change after creation) and the event's type, so every retry sends the same bytes.

use super::credentials;
use crate::domain::credential::names;
use crate::domain::payment::Payment;
use crate::domain::webhook::{FORMAT_AUTO, FORMAT_NATIVE};
use crate::secrets::SecretBox;
use crate::store::{DeliveryJob, Store, StoreError};
use crate::webhooks::{Acceptance, Formats, Rendered};
use std::sync::Arc;

pub struct DialectFormats {
    store: Arc<dyn Store>,
    secrets: SecretBox,
}

impl DialectFormats {
    pub fn new(store: Arc<dyn Store>, secrets: SecretBox) -> DialectFormats {
        DialectFormats { store, secrets }
    }

    /// The payment an event is about, or why there is none.
    async fn payment(&self, job: &DeliveryJob) -> Result<Option<Payment>, String> {
        if !job.event_type.starts_with("payment.") {
            return Ok(None);
        }
        match self.store.find_payment(&job.object_id).await {
            Ok(p) => Ok(Some(p)),
            Err(StoreError::NotFound) => Ok(None),
            Err(e) => Err(e.to_string()),
        }
    }

    async fn credential(&self, p: &Payment, name: &str) -> Result<Option<String>, String> {
        let scope = crate::store::Scope {
            merchant_id: p.merchant_id.clone(),
            livemode: p.livemode,
        };
        credentials::read(&*self.store, &self.secrets, &scope, name)
            .await
            .map(|c| c.map(|(_, secret)| secret))
            .map_err(|e| e.to_string())
    }
}

fn send(body: String, headers: Vec<(String, String)>, accept: Acceptance) -> Rendered {
    Rendered::Dialect {
        body,
        headers,
        accept,
    }
}

#[async_trait::async_trait]
impl Formats for DialectFormats {
    async fn render(&self, job: &DeliveryJob) -> Result<Rendered, String> {
        let Some(payment) = self.payment(job).await? else {
            // Only payment events have dialect shapes; the rest go out natively on an
            // API key's own URL and not at all on a dialect's callback URL.
            return Ok(if job.format == FORMAT_AUTO {
                Rendered::Native
            } else {
                Rendered::Skip(format!("{} has no {} webhook", job.format, job.event_type))
            });
        };
        // An API key's own URL speaks the dialect that created each payment.
        let format = if job.format == FORMAT_AUTO {
            payment.source.as_str()
        } else {
            job.format.as_str()
        };
        let skip = || Rendered::Skip(format!("{format} sends no webhook for {}", job.event_type));
        match format {
            FORMAT_NATIVE => Ok(Rendered::Native),
            super::paygate::SOURCE => Ok(
                match super::paygate::webhook(&job.event_type, &payment, &job.secret) {
                    Some((body, headers)) => send(body, headers, Acceptance::Any2xx),
                    None => skip(),
                },
            ),
            super::kazawallet::SOURCE => {
                if super::kazawallet::link_status(&job.event_type).is_none() {
                    return Ok(skip());
                }
                let key_id = payment.key_id.clone().unwrap_or_default();
                let api_key = self
                    .credential(&payment, &names::api_key(&key_id))
                    .await?
                    .ok_or("the API key that created the link is not on record")?;
                let api_secret = self
                    .credential(&payment, names::KAZAWALLET)
                    .await?
                    .ok_or("create the merchant's kazawallet credential (its API secret)")?;
                let body =
                    super::kazawallet::webhook(&job.event_type, &payment, &api_key, &api_secret)
                        .unwrap_or_default();
                Ok(send(body, Vec::new(), Acceptance::FinalOn4xx))
            }
            super::waypay::SOURCE => {
                if job.format == FORMAT_AUTO && !super::waypay::uses_key_url(&payment) {
                    return Ok(Rendered::Skip(
                        "sent to the payment's own callbackUrl, which takes precedence".into(),
                    ));
                }
                let secret = self.credential(&payment, names::WAYPAY).await?;
                Ok(
                    match super::waypay::webhook(
                        &job.event_id,
                        &job.event_type,
                        &payment,
                        secret.as_deref(),
                    ) {
                        Some((body, headers)) => send(body, headers, Acceptance::Only200),
                        None => skip(),
                    },
                )
            }
            super::xpay::SOURCE => {
                if !matches!(
                    job.event_type.as_str(),
                    "payment.succeeded" | "payment.failed"
                ) {
                    return Ok(skip());
                }
                let secret = self
                    .credential(&payment, names::XPAY_WEBHOOK)
                    .await?
                    .ok_or("create the merchant's xpay_webhook credential (its webhook secret)")?;
                Ok(
                    match super::xpay::webhook(&job.event_type, &payment, &secret) {
                        Some((body, headers)) => send(body, headers, Acceptance::Any2xx),
                        None => skip(),
                    },
                )
            }
            // Pakhi Pay's webhook is the callback URL given with a payment; on an API key's
            // own URL its payments' events go out natively.
            super::pakhipay::SOURCE if job.format == FORMAT_AUTO => Ok(Rendered::Native),
            super::pakhipay::SOURCE => {
                if job.event_type != "payment.succeeded" {
                    return Ok(skip());
                }
                let key = self
                    .store
                    .list_keys(Some(&payment.merchant_id))
                    .await
                    .map_err(|e| e.to_string())?
                    .into_iter()
                    .find(|k| payment.key_id.as_deref() == Some(k.id.as_str()));
                let name = super::pakhipay::callback_credential(key.as_ref())
                    .ok_or("the API key that created the payment is not on record")?;
                let secret = self.credential(&payment, &name).await?.ok_or_else(|| {
                    if name == names::PAKHIPAY_CALLBACK {
                        "create the merchant's pakhipay_callback credential (its callback secret)"
                    } else {
                        "the API key that created the payment is not on record"
                    }
                })?;
                Ok(
                    match super::pakhipay::callback(&job.event_type, &payment, &secret) {
                        Some((body, signature)) => send(
                            body,
                            vec![("X-Signature".into(), signature)],
                            Acceptance::Any2xx,
                        ),
                        None => skip(),
                    },
                )
            }
            // Anything else (a native payment on an API key's URL) goes out natively.: its payments' events go out natively.
            _ => Ok(Rendered::Native),
        }
    }
}
