//! Receipts by e-mail: the sender leases due receipts (recorded with their payment's event,
//! `store/receipts.rs`), writes each in the payment's language and sends it through the
//! operator's SMTP server, then records it as sent, to retry, or given up. A receipt is
//! leased by one node at a time; every try is bounded by the SMTP timeout, well inside the
//! lease. Only a crash between the server's "250 OK" and the record of it can send one
//! twice, and then with the same Message-ID, which mail services use to drop the copy.

mod message;
mod smtp;

use crate::domain::receipt::{self, Receipt, ReceiptOutcome, ReceiptStatus};
use crate::store::Store;
use smtp::{Mailer, SendError};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

/// Receipts leased at once by a node, each sent concurrently.
const BATCH: u32 = 10;

/// How receipts are sent (`HUNDI_SMTP_*`).
#[derive(Debug, Clone)]
pub struct ReceiptConfig {
    /// `smtp://user:password@host:587?tls=required`, `smtps://…:465`, or `smtp://host:25`.
    pub smtp_url: String,
    /// The sender's address; the display name is the merchant's.
    pub from: String,
    /// Send the receipts of test-mode payments too (to try receipts out).
    pub test_mode: bool,
    /// How often the sender looks for due receipts.
    pub poll: Duration,
}

impl ReceiptConfig {
    /// Checks the URL and the address, so a mistake stops the start, not every receipt.
    pub fn check(&self) -> Result<(), String> {
        Mailer::new(&self.smtp_url, &self.from).map(|_| ())
    }
}

pub struct Sender {
    store: Arc<dyn Store>,
    mailer: Mailer,
    test_mode: bool,
    poll: Duration,
}

impl Sender {
    pub fn new(store: Arc<dyn Store>, config: &ReceiptConfig) -> Result<Sender, String> {
        Ok(Sender {
            store,
            mailer: Mailer::new(&config.smtp_url, &config.from)?,
            test_mode: config.test_mode,
            poll: config.poll,
        })
    }

    /// Sends due receipts until `stopped` turns true.
    pub async fn run(self, mut stopped: watch::Receiver<bool>) {
        loop {
            while self.round().await == BATCH as usize {}
            tokio::select! {
                _ = tokio::time::sleep(self.poll) => {}
                _ = stopped.changed() => {}
            }
            if *stopped.borrow() {
                return;
            }
        }
    }

    /// Leases a batch of due receipts and tries each; how many it leased.
    pub async fn round(&self) -> usize {
        let now = crate::domain::now();
        let leased = match self
            .store
            .claim_receipts(now, now + receipt::LEASE, BATCH)
            .await
        {
            Ok(leased) => leased,
            Err(e) => {
                tracing::warn!(error = %e, "receipts could not be leased");
                return 0;
            }
        };
        let tries = leased.iter().map(|r| self.finish(r));
        futures::future::join_all(tries).await;
        leased.len()
    }

    async fn finish(&self, r: &Receipt) {
        let outcome = self.attempt(r).await;
        if let ReceiptOutcome::Retry { error, .. } | ReceiptOutcome::GiveUp { error, .. } = &outcome
        {
            tracing::warn!(receipt = %r.id, attempts = r.attempts, %error, "receipt not sent");
        }
        let at = crate::domain::now();
        if let Err(e) = self.store.finish_receipt(&r.id, &outcome, at).await {
            // The lease runs out and the receipt is tried again.
            tracing::warn!(receipt = %r.id, error = %e, "receipt outcome not recorded");
        }
    }

    /// One try: skipped in test mode, given up when a day late, else written and sent.
    async fn attempt(&self, r: &Receipt) -> ReceiptOutcome {
        let now = crate::domain::now();
        if !r.livemode && !self.test_mode {
            return give_up(
                ReceiptStatus::Skipped,
                "test mode: receipts of test payments are not sent",
            );
        }
        if receipt::too_late(r.created_at, now) {
            return give_up(ReceiptStatus::Expired, "not sent within a day");
        }
        let mail = match message::compose(&*self.store, r).await {
            Ok(mail) => mail,
            Err(message::ComposeError::Address(e)) => return give_up(ReceiptStatus::Failed, &e),
            Err(message::ComposeError::Store(e)) => return retry(r, now, e.to_string()),
        };
        match self.mailer.send(r, mail).await {
            Ok(()) => ReceiptOutcome::Sent,
            Err(SendError::Permanent(e)) => give_up(ReceiptStatus::Failed, &e),
            Err(SendError::Transient(e)) => retry(r, now, e),
        }
    }
}

fn give_up(status: ReceiptStatus, error: &str) -> ReceiptOutcome {
    ReceiptOutcome::GiveUp {
        status,
        error: error.to_string(),
    }
}

/// Tries again later, or gives up after the last try.
fn retry(r: &Receipt, now: chrono::DateTime<chrono::Utc>, error: String) -> ReceiptOutcome {
    if r.attempts >= receipt::MAX_ATTEMPTS {
        return give_up(ReceiptStatus::Failed, &error);
    }
    ReceiptOutcome::Retry {
        at: now + receipt::retry_delay(r.attempts),
        error,
    }
}
