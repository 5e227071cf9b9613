//! The mailbox readers: each node shares the merchants' alert mailboxes out by lease (one
//! reader per mailbox across all nodes), and reads each one it holds over one IMAP connection:
//! IDLE for new mail, a look every `poll` whatever IDLE says, every message after the last
//! UID handled handed to the service, the UID written back after each. A restart resumes
//! after the last UID written; a message read twice (a crash between its credit and its UID)
//! is a credit recorded before, which the unique UTR refuses.

mod imap;
pub mod message;

use crate::domain::ids::new_id;
use crate::domain::mailbox::{Mailbox, MailboxReport};
use crate::service::inbox::{summary, Mailboxes};
use crate::service::PaymentService;
use crate::service::Scope;
use chrono::{DateTime, Utc};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use tokio::task::JoinHandle;

#[derive(Debug, Clone)]
pub struct InboxConfig {
    /// How long a node holds a mailbox without renewing; another node takes it over after.
    pub lease: Duration,
    /// The longest wait between two looks for new mail (IDLE or not), and between renewals.
    pub poll: Duration,
    /// How often a node looks for mailboxes without a reader.
    pub scan: Duration,
    /// The longest wait before reconnecting after a failure (the first is one second).
    pub backoff_max: Duration,
    /// Certificates trusted besides the public roots (`HUNDI_MAIL_CA_FILE`).
    pub ca_file: Option<std::path::PathBuf>,
    /// Lets mailboxes be on loopback and private addresses (`HUNDI_ALLOW_PRIVATE_MAIL`): a
    /// mail server on the operator's own network, and tests.
    pub allow_private: bool,
}

impl Default for InboxConfig {
    fn default() -> Self {
        InboxConfig {
            lease: Duration::from_secs(30),
            poll: Duration::from_secs(5),
            scan: Duration::from_secs(5),
            backoff_max: Duration::from_secs(60),
            ca_file: None,
            allow_private: false,
        }
    }
}

/// This node's readers.
pub struct Readers {
    mailboxes: Mailboxes,
    payments: PaymentService,
    config: InboxConfig,
    tls: tokio_rustls::TlsConnector,
    /// This node's name on the leases it holds.
    node: String,
}

/// Why a reading ended without an error.
enum Ended {
    Stopped,
    LeaseLost,
}

#[derive(Debug, thiserror::Error)]
enum ReadError {
    #[error(transparent)]
    Imap(#[from] imap::ImapError),
    #[error(transparent)]
    Mailbox(#[from] crate::service::inbox::MailboxError),
    #[error("recording the credit failed: {0}")]
    Service(#[from] crate::service::ServiceError),
}

type Running = HashMap<(String, bool), (DateTime<Utc>, JoinHandle<()>)>;

/// Resolves once `stopped` turns true (or its sender is gone).
async fn until_stopped(stopped: &mut watch::Receiver<bool>) {
    let _ = stopped.wait_for(|s| *s).await;
}

fn scope_of(m: &Mailbox) -> Scope {
    Scope {
        merchant_id: m.merchant_id.clone(),
        livemode: m.livemode,
    }
}

impl Readers {
    pub fn new(
        mailboxes: Mailboxes,
        payments: PaymentService,
        config: InboxConfig,
    ) -> Result<Readers, String> {
        let tls = imap::tls_connector(config.ca_file.as_deref())?;
        Ok(Readers {
            mailboxes,
            payments,
            config,
            tls,
            node: new_id("node"),
        })
    }

    /// Shares the mailboxes out every `scan` until `stopped` turns true, then lets the
    /// readers give their leases up.
    pub async fn run(self: Arc<Self>, mut stopped: watch::Receiver<bool>) {
        let mut running = Running::new();
        loop {
            match self.mailboxes.all().await {
                Ok(all) => self.share_out(all, &mut running, &stopped).await,
                Err(e) => tracing::warn!(error = %e, "cannot list the mailboxes"),
            }
            tokio::select! {
                _ = tokio::time::sleep(self.config.scan) => {}
                _ = until_stopped(&mut stopped) => break,
            }
        }
        for (_, (_, task)) in running {
            let _ = tokio::time::timeout(Duration::from_secs(3), task).await;
        }
    }

    /// Stops the readers of mailboxes removed or changed, and starts one for each mailbox
    /// whose lease this node takes.
    async fn share_out(
        self: &Arc<Self>,
        all: Vec<Mailbox>,
        running: &mut Running,
        stopped: &watch::Receiver<bool>,
    ) {
        running.retain(|key, (set_at, task)| {
            let current = all
                .iter()
                .find(|m| (&m.merchant_id, m.livemode) == (&key.0, key.1));
            let keep = !task.is_finished() && current.is_some_and(|m| m.set_at == *set_at);
            if !keep {
                task.abort();
            }
            keep
        });
        let now = crate::domain::now();
        for m in all {
            let key = (m.merchant_id.clone(), m.livemode);
            let held_elsewhere = m.lease_owner.as_ref().is_some_and(|o| *o != self.node)
                && m.lease_until.is_some_and(|until| until >= now);
            if running.contains_key(&key) || held_elsewhere {
                continue;
            }
            match self
                .mailboxes
                .claim(&scope_of(&m), &self.node, self.config.lease)
                .await
            {
                Ok(true) => {
                    let task = tokio::spawn(self.clone().read(m.clone(), stopped.clone()));
                    running.insert(key, (m.set_at, task));
                }
                Ok(false) => {}
                Err(e) => tracing::warn!(error = %e, "cannot take a mailbox's lease"),
            }
        }
    }

    /// Reads one mailbox while this node holds its lease: reconnects after a failure (backing
    /// off), ends when the lease is lost, and gives the lease up when told to stop.
    async fn read(self: Arc<Self>, mailbox: Mailbox, mut stopped: watch::Receiver<bool>) {
        let scope = scope_of(&mailbox);
        let mut backoff = Duration::from_secs(1);
        loop {
            let failure = match self
                .session(&mailbox, &scope, &mut stopped, &mut backoff)
                .await
            {
                Ok(Ended::Stopped) => break,
                Ok(Ended::LeaseLost) => return,
                Err(e) => e,
            };
            tracing::info!(merchant = %scope.merchant_id, error = %failure, "mailbox reading failed");
            let report = MailboxReport::Failed {
                error: failure.to_string(),
            };
            if let Ok(false) = self.mailboxes.report(&scope, &self.node, report).await {
                return;
            }
            let pause = backoff;
            backoff = (backoff * 2).min(self.config.backoff_max);
            tokio::select! {
                _ = tokio::time::sleep(pause) => {}
                _ = until_stopped(&mut stopped) => break,
            }
            // A node that cannot renew (its lease was taken, the database is away) lets go;
            // the next scan takes the mailbox again once it can.
            if !matches!(
                self.mailboxes
                    .claim(&scope, &self.node, self.config.lease)
                    .await,
                Ok(true)
            ) {
                return;
            }
        }
        let _ = self.mailboxes.release(&scope, &self.node).await;
    }

    /// One connection's life: connect, find where to start, then read what arrives until
    /// told to stop, the lease is lost, or something fails.
    async fn session(
        &self,
        mailbox: &Mailbox,
        scope: &Scope,
        stopped: &mut watch::Receiver<bool>,
        backoff: &mut Duration,
    ) -> Result<Ended, ReadError> {
        let password = self.mailboxes.password(mailbox)?;
        let allow = self.config.allow_private;
        let mut conn = imap::connect(&mailbox.settings, &password, &self.tls, allow).await?;
        let mut last = self.start_after(mailbox, scope, &mut conn).await?;
        let connected = MailboxReport::Connected {
            uid_validity: conn.uid_validity,
            last_uid: last,
        };
        if !self.mailboxes.report(scope, &self.node, connected).await? {
            return Ok(Ended::LeaseLost);
        }
        *backoff = Duration::from_secs(1);
        loop {
            loop {
                let uids = conn.uids_after(last).await?;
                if uids.is_empty() {
                    break;
                }
                for (uid, raw) in conn.fetch(&uids).await? {
                    let summary = self.take(mailbox, &raw).await?;
                    let read = MailboxReport::Read { uid, summary };
                    if !self.mailboxes.report(scope, &self.node, read).await? {
                        return Ok(Ended::LeaseLost);
                    }
                    last = uid;
                }
                // Messages expunged between the listing and the fetch are skipped.
                last = last.max(uids.last().copied().unwrap_or(last));
            }
            if !self
                .mailboxes
                .claim(scope, &self.node, self.config.lease)
                .await?
            {
                return Ok(Ended::LeaseLost);
            }
            tokio::select! {
                waited = conn.wait(self.config.poll) => waited?,
                _ = until_stopped(stopped) => {
                    conn.logout().await;
                    return Ok(Ended::Stopped);
                }
            }
        }
    }

    /// The UID after which to read: where the last reader stopped, under the same
    /// UIDVALIDITY; else (a new mailbox, or the folder was rebuilt) the messages that
    /// arrived since the last one read, or since the mailbox was first set.
    async fn start_after(
        &self,
        mailbox: &Mailbox,
        scope: &Scope,
        conn: &mut imap::Connection,
    ) -> Result<u32, ReadError> {
        // The row as it is now: another node may have read on since this reader started.
        let progress = match self.mailboxes.get(scope).await? {
            Some(m) => m.progress,
            None => mailbox.progress.clone(),
        };
        if let (Some(validity), Some(last)) = (progress.uid_validity, progress.last_uid) {
            if validity == conn.uid_validity {
                return Ok(last);
            }
        }
        let since = progress.last_read_at.unwrap_or(mailbox.read_from);
        match conn.first_since(since).await? {
            Some(first) => Ok(first.saturating_sub(1)),
            None => Ok(conn.highest_uid().await?),
        }
    }

    /// Hands one message to the service; what became of it, in a line.
    async fn take(&self, mailbox: &Mailbox, raw: &[u8]) -> Result<String, ReadError> {
        let mail = match message::read_message(raw) {
            Ok(mail) => mail,
            Err(e) => return Ok(format!("left alone: {e}")),
        };
        let outcome = self.payments.receive_mail(mailbox, &mail).await?;
        Ok(summary(&outcome))
    }
}
