//! The merchants' alert mailboxes: set by the merchant (dashboard, `hundi inbox set`), read by
//! the readers (`inbox/`), which hand each message here to become a credit.

use super::access::Acting;
use super::sms::AlertOutcome;
use super::upi::NewCredit;
use super::{PaymentService, ServiceError};
use crate::domain::mailbox::{self, Mailbox, MailboxProgress, MailboxReport, MailboxSettings};
use crate::domain::role::Action;
use crate::methods::upi_alerts::parse_credit_alert;
use crate::secrets::{SecretBox, SecretError};
use crate::store::{Scope, Store, StoreError};
use chrono::{DateTime, Utc};
use std::sync::Arc;

#[derive(Debug, thiserror::Error)]
pub enum MailboxError {
    #[error("{0}")]
    Invalid(String),
    #[error("no mailbox is set for this mode")]
    NotSet,
    #[error(transparent)]
    Forbidden(#[from] super::access::Forbidden),
    #[error(transparent)]
    Sealed(#[from] SecretError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The mailboxes service: one store, one master key (the passwords are sealed).
#[derive(Clone)]
pub struct Mailboxes {
    store: Arc<dyn Store>,
    secrets: SecretBox,
}

impl Mailboxes {
    pub fn new(store: Arc<dyn Store>, secrets: SecretBox) -> Mailboxes {
        Mailboxes { store, secrets }
    }

    /// Sets the acting user's mailbox for its mode. A password is needed the first time;
    /// afterwards `None` (or an empty one) keeps the one stored.
    pub async fn set(
        &self,
        by: &Acting,
        settings: MailboxSettings,
        password: Option<&str>,
    ) -> Result<Mailbox, MailboxError> {
        by.require(Action::ManageSettings)?;
        let scope = by.scope();
        let password = password.filter(|p| !p.is_empty());
        if password.is_some_and(|p| p.len() > 1_000 || p.contains(['\r', '\n'])) {
            return Err(MailboxError::Invalid(
                "password must be one line of at most 1,000 characters".into(),
            ));
        }
        let context = mailbox::seal_context(&scope.merchant_id, scope.livemode);
        let before = self.store.mailbox(&scope).await?;
        let password_sealed = match (password, &before) {
            (Some(p), _) => self.secrets.seal(p, &context),
            (None, Some(b)) => b.password_sealed.clone(),
            (None, None) => return Err(MailboxError::Invalid("password is required".into())),
        };
        let entry = by.entry(
            "settings.mailbox_changed",
            Some("mailbox"),
            serde_json::json!({
                "before": before.as_ref().map(|b| &b.settings),
                "after": &settings,
                "password_changed": password.is_some(),
            }),
        );
        let now = crate::domain::now();
        let mailbox = Mailbox {
            merchant_id: scope.merchant_id.clone(),
            livemode: scope.livemode,
            settings,
            password_sealed,
            set_at: now,
            read_from: now,
            progress: MailboxProgress::default(),
            lease_owner: None,
            lease_until: None,
        };
        self.store.put_mailbox(&mailbox, entry.as_ref()).await?;
        Ok(mailbox)
    }

    /// Stops reading the acting user's mailbox and forgets it.
    pub async fn clear(&self, by: &Acting) -> Result<(), MailboxError> {
        by.require(Action::ManageSettings)?;
        let entry = by.entry(
            "settings.mailbox_removed",
            Some("mailbox"),
            serde_json::json!({}),
        );
        match self
            .store
            .delete_mailbox(&by.scope(), entry.as_ref())
            .await?
        {
            true => Ok(()),
            false => Err(MailboxError::NotSet),
        }
    }

    pub async fn get(&self, scope: &Scope) -> Result<Option<Mailbox>, MailboxError> {
        Ok(self.store.mailbox(scope).await?)
    }

    /// Every mailbox, for the readers.
    pub async fn all(&self) -> Result<Vec<Mailbox>, MailboxError> {
        Ok(self.store.all_mailboxes().await?)
    }

    /// The password in the clear, for logging in.
    pub fn password(&self, m: &Mailbox) -> Result<String, MailboxError> {
        let context = mailbox::seal_context(&m.merchant_id, m.livemode);
        Ok(self.secrets.open(&m.password_sealed, &context)?)
    }

    /// Takes or renews the lease on a mailbox for `owner`, for `lease`.
    pub async fn claim(
        &self,
        scope: &Scope,
        owner: &str,
        lease: std::time::Duration,
    ) -> Result<bool, MailboxError> {
        let now = crate::domain::now();
        let until = now + chrono::Duration::from_std(lease).unwrap_or(chrono::Duration::MAX);
        Ok(self.store.claim_mailbox(scope, owner, now, until).await?)
    }

    pub async fn release(&self, scope: &Scope, owner: &str) -> Result<(), MailboxError> {
        Ok(self.store.release_mailbox(scope, owner).await?)
    }

    /// Writes a reader's report; `false` when `owner` no longer holds the lease.
    pub async fn report(
        &self,
        scope: &Scope,
        owner: &str,
        report: MailboxReport,
    ) -> Result<bool, MailboxError> {
        let report = match report {
            MailboxReport::Failed { error } => MailboxReport::Failed {
                error: mailbox::report_line(&error),
            },
            MailboxReport::Read { uid, summary } => MailboxReport::Read {
                uid,
                summary: mailbox::report_line(&summary),
            },
            connected => connected,
        };
        let now = crate::domain::now();
        Ok(self
            .store
            .report_mailbox(scope, owner, &report, now)
            .await?)
    }
}

/// A message as read from a mailbox: who sent it, its subject and its text.
#[derive(Debug, Clone, PartialEq)]
pub struct MailAlert {
    /// The sender's address, lower-cased.
    pub from: String,
    pub subject: String,
    pub text: String,
    /// When the mailbox received it.
    pub received_at: Option<DateTime<Utc>>,
}

impl PaymentService {
    /// Takes a message from a merchant's mailbox: one from a listed sender that is a bank's
    /// credit alert becomes a credit (once per UTR), completing the payment it pays.
    pub async fn receive_mail(
        &self,
        mailbox: &Mailbox,
        mail: &MailAlert,
    ) -> Result<AlertOutcome, ServiceError> {
        if !mailbox.settings.reads_sender(&mail.from) {
            return Ok(AlertOutcome::Ignored(format!(
                "from {}, not a listed sender",
                mail.from
            )));
        }
        // The alert is in the body; some banks put it in the subject alone.
        let alert = match parse_credit_alert(&mail.text) {
            Ok(alert) => alert,
            Err(body) => match parse_credit_alert(&mail.subject) {
                Ok(alert) => alert,
                Err(_) => return Ok(AlertOutcome::Ignored(format!("not a credit alert: {body}"))),
            },
        };
        let scope = Scope {
            merchant_id: mailbox.merchant_id.clone(),
            livemode: mailbox.livemode,
        };
        let input = NewCredit {
            wallet: None,
            utr: alert.utr.clone(),
            amount: alert.amount.to_string(),
            received_at: mail.received_at,
            payer: alert.payer,
        };
        match self.record_credit(&scope, input).await {
            Ok(done) => Ok(AlertOutcome::Recorded(Box::new(done))),
            Err(ServiceError::Conflict(_)) => Ok(AlertOutcome::Duplicate {
                method: "upi".into(),
                reference: alert.utr,
            }),
            Err(ServiceError::Invalid { message, .. }) => Ok(AlertOutcome::Ignored(message)),
            Err(e) => Err(e),
        }
    }
}

/// What became of a message, in a line for the dashboard.
pub fn summary(outcome: &AlertOutcome) -> String {
    match outcome {
        AlertOutcome::Recorded(done) => {
            let (credit, paid) = &**done;
            let amount = format!("{} {}", credit.amount, credit.amount.currency().code());
            match paid {
                Some(p) => format!("credit {amount} (UTR {}) paid {}", credit.utr, p.id),
                None => format!("credit {amount} (UTR {}) matched no payment", credit.utr),
            }
        }
        AlertOutcome::Duplicate { reference, .. } => {
            format!("credit with UTR {reference} was recorded before")
        }
        AlertOutcome::Ignored(reason) => format!("left alone: {reason}"),
    }
}
