//! SMS forwarding: the merchant's phones, each with a token, and the received-money SMS they
//! forward, read as a wallet's or a bank's alert and recorded as a credit.

use super::access::Acting;
use super::upi::NewCredit;
use super::{PaymentService, ServiceError};
use crate::domain::credit::Credit;
use crate::domain::ids::new_id;
use crate::domain::payment::Payment;
use crate::domain::role::Action;
use crate::domain::sms_device::{self, SmsDevice};
use crate::methods::upi_alerts::parse_credit_alert;
use crate::methods::wallet_sms::{parse_wallet_sms, WalletSmsError};
use chrono::{DateTime, Utc};

/// Longest SMS text read: a concatenated SMS of ten parts is about 1,530 characters.
pub const TEXT_MAX: usize = 2_000;

/// An SMS as the phone forwarded it.
#[derive(Debug, Clone)]
pub struct ForwardedSms {
    /// The SMS's sender as the phone saw it (`bKash`, `NAGAD`, `AD-HDFCBK`).
    pub sender: String,
    pub text: String,
    /// When the phone received it.
    pub received_at: DateTime<Utc>,
}

/// What became of a forwarded SMS.
#[derive(Debug)]
pub enum AlertOutcome {
    /// A credit was recorded, completing the payment it paid, if any.
    Recorded(Box<(Credit, Option<Payment>)>),
    /// Its credit was recorded before (the phone forwarded it again).
    Duplicate { method: String, reference: String },
    /// Not a received-money message (an OTP, a debit, an unknown wording): left alone.
    Ignored(String),
}

#[derive(Debug, thiserror::Error)]
pub enum SmsError {
    #[error("the SMS was received more than 5 minutes from now (check the phone's clock)")]
    Stale,
    #[error("this device sent this exact body before")]
    Replayed,
    #[error(transparent)]
    Service(#[from] ServiceError),
}

impl PaymentService {
    /// Adds a forwarding phone in the acting user's mode; the token is returned once.
    pub async fn create_sms_device(
        &self,
        by: &Acting,
        name: &str,
    ) -> Result<(SmsDevice, String), ServiceError> {
        by.require(Action::ManageKeys)?;
        let name = name.trim();
        if name.is_empty() || name.chars().count() > sms_device::NAME_MAX {
            return Err(ServiceError::invalid(
                "name",
                format!("must be 1 to {} characters", sms_device::NAME_MAX),
            ));
        }
        let scope = by.scope();
        let device = SmsDevice {
            id: new_id("smsdev"),
            merchant_id: scope.merchant_id,
            livemode: scope.livemode,
            name: name.to_string(),
            created_at: crate::domain::now(),
            last_used_at: None,
            revoked_at: None,
        };
        let token = sms_device::new_token();
        let entry = by.entry(
            "sms_device.created",
            Some(&device.id),
            serde_json::json!({ "name": device.name }),
        );
        self.store
            .create_sms_device(&device, &sms_device::token_hash(&token), entry.as_ref())
            .await?;
        Ok((device, token))
    }

    pub async fn revoke_sms_device(&self, by: &Acting, id: &str) -> Result<(), ServiceError> {
        by.require(Action::ManageKeys)?;
        let entry = by.entry("sms_device.revoked", Some(id), serde_json::json!({}));
        let now = crate::domain::now();
        let revoked = self
            .store
            .revoke_sms_device(by.merchant_id(), id, now, entry.as_ref())
            .await?;
        if revoked {
            Ok(())
        } else {
            Err(ServiceError::NotFound("SMS device"))
        }
    }

    pub async fn list_sms_devices(
        &self,
        merchant_id: &str,
    ) -> Result<Vec<SmsDevice>, ServiceError> {
        Ok(self.store.list_sms_devices(merchant_id).await?)
    }

    /// The unrevoked device a token belongs to.
    pub async fn sms_device(&self, token: &str) -> Result<Option<SmsDevice>, ServiceError> {
        if !token.starts_with(sms_device::TOKEN_PREFIX) || token.len() > 100 {
            return Ok(None);
        }
        let now = crate::domain::now();
        Ok(self
            .store
            .sms_device_by_token(&sms_device::token_hash(token), now)
            .await?)
    }

    /// Takes a forwarded SMS: refuses one received too long ago or a body sent before, then
    /// records the credit it announces in the device's merchant and mode.
    pub async fn receive_sms(
        &self,
        device: &SmsDevice,
        body: &[u8],
        sms: ForwardedSms,
    ) -> Result<AlertOutcome, SmsError> {
        let now = crate::domain::now();
        if !sms_device::fresh(sms.received_at, now) {
            return Err(SmsError::Stale);
        }
        let digest = sms_device::body_digest(body);
        let forget_before = now - sms_device::replay_window() * 2;
        let first = self
            .store
            .remember_sms(&device.id, &digest, now, forget_before)
            .await
            .map_err(ServiceError::from)?;
        if !first {
            return Err(SmsError::Replayed);
        }
        let input = match credit_of(&sms) {
            Ok(input) => input,
            Err(reason) => return Ok(AlertOutcome::Ignored(reason)),
        };
        let scope = crate::store::Scope {
            merchant_id: device.merchant_id.clone(),
            livemode: device.livemode,
        };
        let (method, reference) = (
            input.wallet.map_or("upi", |w| w.name()).to_string(),
            input.utr.clone(),
        );
        match self.record_credit(&scope, input).await {
            Ok(done) => Ok(AlertOutcome::Recorded(Box::new(done))),
            Err(ServiceError::Conflict(_)) => Ok(AlertOutcome::Duplicate { method, reference }),
            Err(ServiceError::Invalid { message, .. }) => Ok(AlertOutcome::Ignored(message)),
            Err(e) => Err(e.into()),
        }
    }
}

/// The credit an SMS announces: a wallet's received-money SMS, else a bank's credit alert.
fn credit_of(sms: &ForwardedSms) -> Result<NewCredit, String> {
    match parse_wallet_sms(&sms.sender, &sms.text) {
        Ok(c) => Ok(NewCredit {
            wallet: Some(c.wallet),
            utr: c.transaction_id,
            amount: c.amount,
            received_at: Some(sms.received_at),
            payer: c.sender,
        }),
        Err(WalletSmsError::NotAWalletSms) => {
            let alert = parse_credit_alert(&sms.text).map_err(|e| e.to_string())?;
            Ok(NewCredit {
                wallet: None,
                utr: alert.utr,
                amount: alert.amount.to_string(),
                received_at: Some(sms.received_at),
                payer: alert.payer,
            })
        }
        Err(e) => Err(e.to_string()),
    }
}
