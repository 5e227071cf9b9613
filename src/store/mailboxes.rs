//! The merchants' alert mailboxes: their settings, how far each has been read, and the lease
//! that lets one node at a time read it.

use super::*;
use crate::domain::mailbox::{Mailbox, MailboxReport};

#[async_trait]
pub trait MailboxStore: Send + Sync + 'static {
    /// Sets a merchant's mailbox for a mode, with the audit entry. What was read of it is kept
    /// when the host, user and folder stay the same (a new password, say), else forgotten.
    async fn put_mailbox(&self, mailbox: &Mailbox, audit: Option<&AuditEntry>) -> StoreResult<()>;
    /// Removes it; `false` when there was none.
    async fn delete_mailbox(&self, scope: &Scope, audit: Option<&AuditEntry>) -> StoreResult<bool>;
    async fn mailbox(&self, scope: &Scope) -> StoreResult<Option<Mailbox>>;
    /// Every mailbox (each merchant has at most two), for the readers to share out.
    async fn all_mailboxes(&self) -> StoreResult<Vec<Mailbox>>;
    /// Takes or renews the lease for `owner` until `until`; `false` when another owner holds
    /// one that has not lapsed at `now`.
    async fn claim_mailbox(
        &self,
        scope: &Scope,
        owner: &str,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> StoreResult<bool>;
    /// Gives the lease up, if `owner` holds it.
    async fn release_mailbox(&self, scope: &Scope, owner: &str) -> StoreResult<()>;
    /// Writes a reader's report, only while `owner` holds the lease (`false`: it does not, and
    /// must stop). A read never moves the last UID backwards.
    async fn report_mailbox(
        &self,
        scope: &Scope,
        owner: &str,
        report: &MailboxReport,
        at: DateTime<Utc>,
    ) -> StoreResult<bool>;
}

/// The SQL both backends share, expanded in each backend's module (see `rows::decoders`).
macro_rules! mailboxes_sql {
    () => {
        const MAILBOX_COLUMNS: &str = "merchant_id, livemode, host, port, security, username, \
            password, folder, senders, set_at, read_from, uid_validity, last_uid, connected_at, \
            last_read_at, last_message, last_error, last_error_at, lease_owner, lease_until";

        fn mailbox_from_row(r: &DbRow) -> StoreResult<crate::domain::mailbox::Mailbox> {
            use crate::domain::mailbox::{Mailbox, MailboxProgress, MailboxSettings, Security};
            let security: String = get(r, "security")?;
            let port: i32 = get(r, "port")?;
            let uid = |column| {
                get::<Option<i64>>(r, column).map(|v| v.and_then(|v| u32::try_from(v).ok()))
            };
            let senders: String = get(r, "senders")?;
            Ok(from_row!(r, Mailbox { merchant_id, livemode, set_at, read_from, lease_owner, lease_until;
                password_sealed: get(r, "password")?,
                settings: MailboxSettings {
                    host: get(r, "host")?,
                    port: u16::try_from(port).map_err(|_| StoreError::Corrupt("mailbox port".into()))?,
                    security: Security::parse(&security).map_err(StoreError::Corrupt)?,
                    username: get(r, "username")?,
                    folder: get(r, "folder")?,
                    senders: senders.lines().map(str::to_string).collect(),
                },
                progress: from_row!(r, MailboxProgress { connected_at, last_read_at, last_message,
                    last_error, last_error_at;
                    uid_validity: uid("uid_validity")?,
                    last_uid: uid("last_uid")? })
            }))
        }

        #[async_trait::async_trait]
        impl super::mailboxes::MailboxStore for Backend {
            async fn put_mailbox(
                &self,
                m: &crate::domain::mailbox::Mailbox,
                audit: Option<&AuditEntry>,
            ) -> StoreResult<()> {
                let s = &m.settings;
                let mut tx = self.begin().await?;
                // The same host, user and folder keep their reading; anything else starts over.
                let same = "mailboxes.host = excluded.host AND mailboxes.username = \
                    excluded.username AND mailboxes.folder = excluded.folder";
                sql!(
                    &format!(
                        "INSERT INTO mailboxes (merchant_id, livemode, host, port, security, \
                         username, password, folder, senders, set_at, read_from) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10) \
                         ON CONFLICT (merchant_id, livemode) DO UPDATE SET host = excluded.host, \
                         port = excluded.port, security = excluded.security, \
                         username = excluded.username, password = excluded.password, \
                         folder = excluded.folder, senders = excluded.senders, \
                         set_at = excluded.set_at, connected_at = NULL, last_error = NULL, \
                         last_error_at = NULL, \
                         read_from = CASE WHEN {same} THEN mailboxes.read_from \
                         ELSE excluded.read_from END, \
                         uid_validity = CASE WHEN {same} THEN mailboxes.uid_validity END, \
                         last_uid = CASE WHEN {same} THEN mailboxes.last_uid END"
                    ),
                    &m.merchant_id,
                    m.livemode,
                    &s.host,
                    i32::from(s.port),
                    s.security.as_str(),
                    &s.username,
                    &m.password_sealed,
                    &s.folder,
                    s.senders.join("\n"),
                    ts(m.set_at)
                )
                .execute(&mut *tx)
                .await
                .map_err(classify)?;
                audited(tx, audit).await
            }

            async fn delete_mailbox(
                &self,
                scope: &Scope,
                audit: Option<&AuditEntry>,
            ) -> StoreResult<bool> {
                let mut tx = self.begin().await?;
                let done = sql!(
                    "DELETE FROM mailboxes WHERE merchant_id = $1 AND livemode = $2",
                    &scope.merchant_id,
                    scope.livemode
                )
                .execute(&mut *tx)
                .await?
                .rows_affected();
                audited_if_one(tx, done, audit).await
            }

            async fn mailbox(
                &self,
                scope: &Scope,
            ) -> StoreResult<Option<crate::domain::mailbox::Mailbox>> {
                let sql = format!(
                    "SELECT {MAILBOX_COLUMNS} FROM mailboxes WHERE merchant_id = $1 AND livemode = $2"
                );
                let row = sql!(&sql, &scope.merchant_id, scope.livemode)
                    .fetch_optional(self.writer())
                    .await?;
                row.as_ref().map(mailbox_from_row).transpose()
            }

            async fn all_mailboxes(&self) -> StoreResult<Vec<crate::domain::mailbox::Mailbox>> {
                let sql = format!(
                    "SELECT {MAILBOX_COLUMNS} FROM mailboxes ORDER BY merchant_id, livemode \
                     LIMIT 10000"
                );
                let rows = sql!(&sql).fetch_all(self.writer()).await?;
                rows.iter().map(mailbox_from_row).collect()
            }

            async fn claim_mailbox(
                &self,
                scope: &Scope,
                owner: &str,
                now: DateTime<Utc>,
                until: DateTime<Utc>,
            ) -> StoreResult<bool> {
                let done = sql!(
                    "UPDATE mailboxes SET lease_owner = $3, lease_until = $5 \
                     WHERE merchant_id = $1 AND livemode = $2 AND (lease_owner IS NULL \
                     OR lease_owner = $3 OR lease_until < $4)",
                    &scope.merchant_id,
                    scope.livemode,
                    owner,
                    ts(now),
                    ts(until)
                )
                .execute(self.writer())
                .await?
                .rows_affected();
                Ok(done == 1)
            }

            async fn release_mailbox(&self, scope: &Scope, owner: &str) -> StoreResult<()> {
                sql!(
                    "UPDATE mailboxes SET lease_owner = NULL, lease_until = NULL \
                     WHERE merchant_id = $1 AND livemode = $2 AND lease_owner = $3",
                    &scope.merchant_id,
                    scope.livemode,
                    owner
                )
                .execute(self.writer())
                .await?;
                Ok(())
            }

            async fn report_mailbox(
                &self,
                scope: &Scope,
                owner: &str,
                report: &crate::domain::mailbox::MailboxReport,
                at: DateTime<Utc>,
            ) -> StoreResult<bool> {
                use crate::domain::mailbox::MailboxReport;
                // Each written only while `owner` holds the lease (its last three conditions).
                let query = match report {
                    MailboxReport::Connected { uid_validity, last_uid } => sql!(
                        "UPDATE mailboxes SET connected_at = $4, uid_validity = $5, \
                             last_uid = $6 WHERE merchant_id = $1 AND livemode = $2 AND lease_owner = $3",
                        &scope.merchant_id,
                        scope.livemode,
                        owner,
                        ts(at),
                        i64::from(*uid_validity),
                        i64::from(*last_uid)
                    ),
                    MailboxReport::Read { uid, summary } => sql!(
                        "UPDATE mailboxes SET last_read_at = $4, last_message = $6, \
                             last_uid = CASE WHEN last_uid IS NULL OR last_uid < $5 THEN $5 \
                             ELSE last_uid END WHERE merchant_id = $1 AND livemode = $2 AND lease_owner = $3",
                        &scope.merchant_id,
                        scope.livemode,
                        owner,
                        ts(at),
                        i64::from(*uid),
                        summary
                    ),
                    MailboxReport::Failed { error } => sql!(
                        "UPDATE mailboxes SET last_error = $5, last_error_at = $4 WHERE merchant_id = $1 AND livemode = $2 AND lease_owner = $3",
                        &scope.merchant_id,
                        scope.livemode,
                        owner,
                        ts(at),
                        error
                    ),
                };
                Ok(query.execute(self.writer()).await?.rows_affected() == 1)
            }
        }
    };
}
pub(super) use mailboxes_sql;
