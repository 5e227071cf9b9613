//! Dialect webhooks: what the dispatcher sends to an endpoint whose format is not native.
//! The body is built when the delivery is sent, from the payment (its dialect fields never
//! change after creation) and the event's type, so every retry sends the same bytes. Which
//! dialect builds it is the registry's answer; this module names none.

use super::registry::{Delivery, Registry};
use crate::domain::webhook::{FORMAT_AUTO, FORMAT_NATIVE};
use crate::service::credentials::Credentials;
use crate::webhooks::{DeliveryJob, Formats, Rendered};

pub struct DialectFormats {
    credentials: Credentials,
    dialects: Registry,
}

impl DialectFormats {
    pub fn new(credentials: Credentials, dialects: Registry) -> DialectFormats {
        DialectFormats {
            credentials,
            dialects,
        }
    }
}

#[async_trait::async_trait]
impl Formats for DialectFormats {
    async fn render(&self, job: &DeliveryJob) -> Result<Rendered, String> {
        let payment = if job.event_type.starts_with("payment.") {
            self.credentials
                .payment(&job.object_id)
                .await
                .map_err(|e| e.to_string())?
        } else {
            None
        };
        let Some(payment) = payment else {
            // Only payment events have dialect shapes; the rest go out natively on an
            // API key's own URL and not at all on a dialect's callback URL.
            return Ok(if job.format == FORMAT_AUTO {
                Rendered::Native
            } else {
                Rendered::Skip(format!("{} has no {} webhook", job.format, job.event_type))
            });
        };
        // An API key's own URL speaks the dialect that created each payment.
        let on_key_url = job.format == FORMAT_AUTO;
        let format = if on_key_url {
            payment.source.as_str()
        } else {
            job.format.as_str()
        };
        match self.dialects.get(format) {
            Some(dialect) if format != FORMAT_NATIVE => {
                dialect
                    .webhook(&Delivery {
                        job,
                        payment: &payment,
                        on_key_url,
                        credentials: &self.credentials,
                    })
                    .await
            }
            // A native payment (or one of a dialect this server no longer speaks).
            _ => Ok(Rendered::Native),
        }
    }
}
