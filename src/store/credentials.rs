//! Dialect credentials: sealed secrets a dialect's wire protocol needs.

use super::*;

#[async_trait]
pub trait CredentialStore: Send + Sync + 'static {
    /// Writes a credential, replacing the one of the same name (a rotation). `Duplicate` when
    /// its public id belongs to another.
    async fn put_credential(&self, credential: &Credential) -> StoreResult<()>;
    async fn get_credential(&self, scope: &Scope, name: &str) -> StoreResult<Credential>;
    /// The credential called `name` whose public id is `public_id` (XPay's account id).
    async fn find_credential(&self, name: &str, public_id: &str) -> StoreResult<Credential>;
    async fn list_credentials(&self, scope: &Scope) -> StoreResult<Vec<Credential>>;
}

/// The SQL both backends share, expanded in each backend's module (see `rows::decoders`);
/// `$own` are the methods that backend writes itself.
macro_rules! credentials_sql {
    ($($own:tt)*) => {
#[async_trait::async_trait]
impl CredentialStore for Backend {
    async fn put_credential(&self, c: &Credential) -> StoreResult<()> {
        sql!("INSERT INTO dialect_credentials (merchant_id, livemode, name, public_id, secret, \
             created_at) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (merchant_id, livemode, name) \
             DO UPDATE SET public_id = excluded.public_id, secret = excluded.secret, \
             created_at = excluded.created_at",
            &c.merchant_id, c.livemode, &c.name, &c.public_id, &c.sealed, ts(c.created_at))
        .execute(self.writer()).await.map_err(classify)?;
        Ok(())
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

    $($own)*
}
    };
}
pub(super) use credentials_sql;
