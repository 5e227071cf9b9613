//! The phones that forward received-money SMS, and the bodies they sent within the replay
//! window.

use super::*;
use crate::domain::sms_device::SmsDevice;

#[async_trait]
pub trait SmsStore: Send + Sync + 'static {
    /// Adds a device with the hash of its token, and the audit entry.
    async fn create_sms_device(
        &self,
        device: &SmsDevice,
        token_hash: &str,
        audit: Option<&AuditEntry>,
    ) -> StoreResult<()>;
    /// The merchant's devices in both modes, newest first (a merchant has a handful).
    async fn list_sms_devices(&self, merchant_id: &str) -> StoreResult<Vec<SmsDevice>>;
    /// Revokes a device of the merchant; `false` when there is none or it was revoked.
    async fn revoke_sms_device(
        &self,
        merchant_id: &str,
        id: &str,
        at: DateTime<Utc>,
        audit: Option<&AuditEntry>,
    ) -> StoreResult<bool>;
    /// The unrevoked device a token belongs to, marked as used at `at`.
    async fn sms_device_by_token(
        &self,
        token_hash: &str,
        at: DateTime<Utc>,
    ) -> StoreResult<Option<SmsDevice>>;
    /// Remembers a body a device sent, forgetting its bodies older than `forget_before`;
    /// `false` when the device sent this body before (a replay), decided by the primary key.
    async fn remember_sms(
        &self,
        device_id: &str,
        digest: &str,
        at: DateTime<Utc>,
        forget_before: DateTime<Utc>,
    ) -> StoreResult<bool>;
}

/// The SQL both backends share, expanded in each backend's module (see `rows::decoders`).
macro_rules! sms_sql {
    () => {
        const SMS_DEVICE_COLUMNS: &str =
            "id, merchant_id, livemode, name, created_at, last_used_at, revoked_at";

        fn sms_device_from_row(r: &DbRow) -> StoreResult<crate::domain::sms_device::SmsDevice> {
            use crate::domain::sms_device::SmsDevice;
            Ok(from_row!(
                r,
                SmsDevice {
                    id,
                    merchant_id,
                    livemode,
                    name,
                    created_at,
                    last_used_at,
                    revoked_at
                }
            ))
        }

        #[async_trait::async_trait]
        impl super::sms::SmsStore for Backend {
            async fn create_sms_device(
                &self,
                d: &crate::domain::sms_device::SmsDevice,
                token_hash: &str,
                audit: Option<&AuditEntry>,
            ) -> StoreResult<()> {
                let mut tx = self.begin().await?;
                sql!(
                    &format!(
                        "INSERT INTO sms_devices ({SMS_DEVICE_COLUMNS}, token_hash) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
                    ),
                    &d.id,
                    &d.merchant_id,
                    d.livemode,
                    &d.name,
                    ts(d.created_at),
                    d.last_used_at.map(ts),
                    d.revoked_at.map(ts),
                    token_hash
                )
                .execute(&mut *tx)
                .await
                .map_err(classify)?;
                audited(tx, audit).await
            }

            async fn list_sms_devices(
                &self,
                merchant_id: &str,
            ) -> StoreResult<Vec<crate::domain::sms_device::SmsDevice>> {
                let sql = format!(
                    "SELECT {SMS_DEVICE_COLUMNS} FROM sms_devices WHERE merchant_id = $1 \
             ORDER BY created_at DESC, id DESC LIMIT 200"
                );
                let rows = sql!(&sql, merchant_id).fetch_all(self.reader()).await?;
                rows.iter().map(sms_device_from_row).collect()
            }

            async fn revoke_sms_device(
                &self,
                merchant_id: &str,
                id: &str,
                at: DateTime<Utc>,
                audit: Option<&AuditEntry>,
            ) -> StoreResult<bool> {
                let mut tx = self.begin().await?;
                let done = sql!(
                    "UPDATE sms_devices SET revoked_at = $3 WHERE id = $1 \
             AND merchant_id = $2 AND revoked_at IS NULL",
                    id,
                    merchant_id,
                    ts(at)
                )
                .execute(&mut *tx)
                .await?
                .rows_affected();
                audited_if_one(tx, done, audit).await
            }

            async fn sms_device_by_token(
                &self,
                token_hash: &str,
                at: DateTime<Utc>,
            ) -> StoreResult<Option<crate::domain::sms_device::SmsDevice>> {
                let sql = format!(
                    "UPDATE sms_devices SET last_used_at = $2 WHERE token_hash = $1 \
             AND revoked_at IS NULL RETURNING {SMS_DEVICE_COLUMNS}"
                );
                let row = sql!(&sql, token_hash, ts(at))
                    .fetch_optional(self.writer())
                    .await?;
                row.as_ref().map(sms_device_from_row).transpose()
            }

            async fn remember_sms(
                &self,
                device_id: &str,
                digest: &str,
                at: DateTime<Utc>,
                forget_before: DateTime<Utc>,
            ) -> StoreResult<bool> {
                let mut tx = self.begin().await?;
                sql!(
                    "DELETE FROM sms_seen WHERE device_id = $1 AND received_at < $2",
                    device_id,
                    ts(forget_before)
                )
                .execute(&mut *tx)
                .await?;
                let added = sql!(
                    "INSERT INTO sms_seen (device_id, digest, received_at) \
             VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
                    device_id,
                    digest,
                    ts(at)
                )
                .execute(&mut *tx)
                .await?
                .rows_affected();
                tx.commit().await?;
                Ok(added == 1)
            }
        }
    };
}
pub(super) use sms_sql;
