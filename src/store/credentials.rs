//! Dialect credentials: sealed secrets a dialect's wire protocol needs.

use super::*;

#[async_trait]
pub trait CredentialStore: Send + Sync + 'static {
    /// Writes a credential, replacing the one of the same name (a rotation). `Duplicate` when
    /// its public id belongs to another.
    async fn put_credential(
        &self,
        credential: &Credential,
        audit: Option<&AuditEntry>,
    ) -> StoreResult<()>;
    async fn get_credential(&self, scope: &Scope, name: &str) -> StoreResult<Credential>;
    /// The credential called `name` whose public id is `public_id` (XPay's account id).
    async fn find_credential(&self, name: &str, public_id: &str) -> StoreResult<Credential>;
    async fn list_credentials(&self, scope: &Scope) -> StoreResult<Vec<Credential>>;
    /// Passes every sealed value the database holds to `reseal`, in one transaction: each
    /// value it returns replaces the stored one; an error stops it with nothing changed.
    /// Returns how many values were replaced (a master key rotation).
    async fn reseal_all(&self, reseal: Resealer<'_>) -> StoreResult<u64>;
}

/// A sealed value as stored, with the row its seal is bound to.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum SealedValue<'a> {
    Credential {
        merchant_id: &'a str,
        livemode: bool,
        name: &'a str,
        sealed: &'a str,
    },
    /// An endpoint's signing secret, or (`previous`) the one still signing after a rotation.
    Endpoint {
        endpoint_id: &'a str,
        previous: bool,
        sealed: &'a str,
    },
    /// A user's TOTP secret, or (`pending`) one shown for set-up and not yet confirmed.
    SecondFactor {
        user_id: &'a str,
        pending: bool,
        sealed: &'a str,
    },
    /// The password of a merchant's alert mailbox.
    MailboxPassword {
        merchant_id: &'a str,
        livemode: bool,
        sealed: &'a str,
    },
    /// A kept idempotent response's body, without its `SEALED_BODY` mark.
    KeptResponse {
        merchant_id: &'a str,
        livemode: bool,
        key: &'a str,
        sealed: &'a str,
    },
}

/// Given a sealed value, its replacement (`None`: keep it), or why the rotation must stop.
pub type Resealer<'a> =
    &'a (dyn Fn(SealedValue<'_>) -> Result<Option<String>, String> + Send + Sync);

/// The SQL both backends share, expanded in each backend's module (see `rows::decoders`);
/// `$own` are the methods that backend writes itself.
macro_rules! credentials_sql {
    ($($own:tt)*) => {
#[async_trait::async_trait]
impl CredentialStore for Backend {
    async fn put_credential(&self, c: &Credential, audit: Option<&AuditEntry>) -> StoreResult<()> {
        let mut tx = self.begin().await?;
        sql!("INSERT INTO dialect_credentials (merchant_id, livemode, name, public_id, secret, \
             created_at) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (merchant_id, livemode, name) \
             DO UPDATE SET public_id = excluded.public_id, secret = excluded.secret, \
             created_at = excluded.created_at",
            &c.merchant_id, c.livemode, &c.name, &c.public_id, &c.sealed, ts(c.created_at))
        .execute(&mut *tx).await.map_err(classify)?;
        audited(tx, audit).await
    }

    async fn get_credential(&self, scope: &Scope, name: &str) -> StoreResult<Credential> {
        let row = sql!("SELECT merchant_id, livemode, name, public_id, secret, created_at \
             FROM dialect_credentials WHERE merchant_id = $1 AND livemode = $2 AND name = $3",
            &scope.merchant_id, scope.livemode, name).fetch_optional(self.reader()).await?
        .ok_or(StoreError::NotFound)?;
        credential_from_row(&row)
    }

    async fn find_credential(&self, name: &str, public_id: &str) -> StoreResult<Credential> {
        let row = sql!("SELECT merchant_id, livemode, name, public_id, secret, created_at \
             FROM dialect_credentials WHERE name = $1 AND public_id = $2",
            name, public_id).fetch_optional(self.reader()).await?.ok_or(StoreError::NotFound)?;
        credential_from_row(&row)
    }

    async fn list_credentials(&self, scope: &Scope) -> StoreResult<Vec<Credential>> {
        let rows = sql!("SELECT merchant_id, livemode, name, public_id, secret, created_at \
             FROM dialect_credentials WHERE merchant_id = $1 AND livemode = $2 ORDER BY name",
            &scope.merchant_id, scope.livemode).fetch_all(self.reader()).await?;
        rows.iter().map(credential_from_row).collect()
    }

    async fn reseal_all(&self, reseal: Resealer<'_>) -> StoreResult<u64> {
        let stop = StoreError::Write;
        let mut tx = self.begin().await?;
        let mut replaced = 0;
        let rows = sqlx::query("SELECT merchant_id, livemode, name, secret FROM dialect_credentials")
            .fetch_all(&mut *tx).await?;
        for r in &rows {
            let (m, live, name, sealed): (String, bool, String, String) =
                (get(r, "merchant_id")?, get(r, "livemode")?, get(r, "name")?, get(r, "secret")?);
            let value = SealedValue::Credential { merchant_id: &m, livemode: live, name: &name, sealed: &sealed };
            if let Some(new) = reseal(value).map_err(stop)? {
                sql!("UPDATE dialect_credentials SET secret = $4 WHERE merchant_id = $1 \
                     AND livemode = $2 AND name = $3", &m, live, &name, new).execute(&mut *tx).await?;
                replaced += 1;
            }
        }
        let rows = sqlx::query("SELECT id, secret, previous_secret FROM webhook_endpoints")
            .fetch_all(&mut *tx).await?;
        for r in &rows {
            let id: String = get(r, "id")?;
            let both = [(false, get::<Option<String>>(r, "secret")?), (true, get(r, "previous_secret")?)];
            for (previous, sealed) in both {
                let Some(sealed) = sealed.filter(|s| crate::secrets::SecretBox::is_sealed(s)) else {
                    continue;
                };
                let value = SealedValue::Endpoint { endpoint_id: &id, previous, sealed: &sealed };
                if let Some(new) = reseal(value).map_err(stop)? {
                    let column = if previous { "previous_secret" } else { "secret" };
                    sql!(&format!("UPDATE webhook_endpoints SET {column} = $2 WHERE id = $1"), &id, new)
                        .execute(&mut *tx).await?;
                    replaced += 1;
                }
            }
        }
        let rows = sqlx::query("SELECT user_id, secret, pending FROM user_second_factors")
            .fetch_all(&mut *tx).await?;
        for r in &rows {
            let user_id: String = get(r, "user_id")?;
            let both = [(false, get::<Option<String>>(r, "secret")?), (true, get(r, "pending")?)];
            for (pending, sealed) in both {
                let Some(sealed) = sealed else { continue };
                let value = SealedValue::SecondFactor { user_id: &user_id, pending, sealed: &sealed };
                if let Some(new) = reseal(value).map_err(stop)? {
                    let column = if pending { "pending" } else { "secret" };
                    sql!(&format!("UPDATE user_second_factors SET {column} = $2 WHERE user_id = $1"),
                        &user_id, new).execute(&mut *tx).await?;
                    replaced += 1;
                }
            }
        }
        let mark = crate::domain::idempotency::SEALED_BODY;
        let rows = sql!("SELECT merchant_id, livemode, key, response_body FROM idempotency_keys \
             WHERE substr(response_body, 1, $1) = $2", mark.len() as i32, mark.to_vec())
            .fetch_all(&mut *tx).await?;
        for r in &rows {
            let (m, live, key, body): (String, bool, String, Vec<u8>) =
                (get(r, "merchant_id")?, get(r, "livemode")?, get(r, "key")?, get(r, "response_body")?);
            let sealed = String::from_utf8_lossy(body.get(mark.len()..).unwrap_or_default()).into_owned();
            let value = SealedValue::KeptResponse { merchant_id: &m, livemode: live, key: &key, sealed: &sealed };
            if let Some(new) = reseal(value).map_err(stop)? {
                let body = [mark, new.as_bytes()].concat();
                sql!("UPDATE idempotency_keys SET response_body = $4 WHERE merchant_id = $1 \
                     AND livemode = $2 AND key = $3", &m, live, &key, body).execute(&mut *tx).await?;
                replaced += 1;
            }
        }
        let rows = sqlx::query("SELECT merchant_id, livemode, password FROM mailboxes")
            .fetch_all(&mut *tx).await?;
        for r in &rows {
            let (m, live, sealed): (String, bool, String) =
                (get(r, "merchant_id")?, get(r, "livemode")?, get(r, "password")?);
            let value = SealedValue::MailboxPassword { merchant_id: &m, livemode: live, sealed: &sealed };
            if let Some(new) = reseal(value).map_err(stop)? {
                sql!("UPDATE mailboxes SET password = $3 WHERE merchant_id = $1 AND livemode = $2",
                    &m, live, new).execute(&mut *tx).await?;
                replaced += 1;
            }
        }
        tx.commit().await?;
        Ok(replaced)
    }

    $($own)*
}
    };
}
pub(super) use credentials_sql;
