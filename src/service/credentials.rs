//! The dialects' credentials: created and rotated (by the CLI and the dashboard), read (by
//! the dialects on the request path and when their webhooks are signed), and the few other
//! rows a dialect's webhook is made of. Secrets are generated here, returned once, and
//! stored sealed (`secrets.rs`).

use super::access::Acting;
use crate::domain::audit::AuditEntry;
use crate::domain::credential::{names, Credential};
use crate::domain::ids::random_token;
use crate::domain::key::ApiKey;
use crate::domain::payment::Payment;
use crate::domain::role::Action;
use crate::domain::source::{CredentialKind, Sources};
use crate::secrets::SecretBox;
use crate::store::{Scope, Store, StoreError};
use std::sync::Arc;

#[derive(Debug, thiserror::Error)]
pub enum CredentialError {
    #[error("unknown credential '{name}'; known: {known}")]
    Unknown { name: String, known: String },
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Sealed(#[from] crate::secrets::SecretError),
    #[error(transparent)]
    Forbidden(#[from] super::access::Forbidden),
}

/// A credential as created: the secret is in the clear here and nowhere else.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Created {
    pub name: String,
    pub public_id: Option<String>,
    pub secret: String,
}

/// The credential a merchant may create under `name`, among those the sources need.
pub fn kind(sources: &Sources, name: &str) -> Result<&'static CredentialKind, CredentialError> {
    sources
        .credential(name)
        .ok_or_else(|| CredentialError::Unknown {
            name: name.to_string(),
            known: sources.credential_names(),
        })
}

/// The credentials service: one store, one master key.
#[derive(Clone)]
pub struct Credentials {
    store: Arc<dyn Store>,
    secrets: SecretBox,
}

impl Credentials {
    pub fn new(store: Arc<dyn Store>, secrets: SecretBox) -> Credentials {
        Credentials { store, secrets }
    }

    /// Creates the credential for the actor's merchant and mode, replacing (rotating) an
    /// earlier one.
    pub async fn create(
        &self,
        by: &Acting,
        kind: &CredentialKind,
    ) -> Result<Created, CredentialError> {
        by.require(Action::ManageCredentials)?;
        let scope = by.scope();
        // A public id looks like the 24 hex digits of the ids XPay hands out.
        let public_id = kind.public_id.then(|| hex::encode(random_bytes::<12>()));
        let secret = format!("{}{}", kind.secret_prefix, random_token(40));
        let action = match self.store.get_credential(&scope, kind.name).await {
            Ok(_) => "credential.rotated",
            Err(StoreError::NotFound) => "credential.created",
            Err(e) => return Err(e.into()),
        };
        let entry = by.entry(
            action,
            Some(kind.name),
            serde_json::json!({ "public_id": public_id }),
        );
        self.put(
            &scope,
            kind.name,
            public_id.clone(),
            &secret,
            entry.as_ref(),
        )
        .await?;
        Ok(Created {
            name: kind.name.to_string(),
            public_id,
            secret,
        })
    }

    async fn put(
        &self,
        scope: &Scope,
        name: &str,
        public_id: Option<String>,
        secret: &str,
        audit: Option<&AuditEntry>,
    ) -> Result<(), StoreError> {
        let context = Credential::context(&scope.merchant_id, scope.livemode, name);
        self.store
            .put_credential(
                &Credential {
                    merchant_id: scope.merchant_id.clone(),
                    livemode: scope.livemode,
                    name: name.to_string(),
                    public_id,
                    sealed: self.secrets.seal(secret, &context),
                    created_at: crate::domain::now(),
                },
                audit,
            )
            .await
    }

    /// The credential's public id and secret, if the merchant has created it.
    pub async fn read(
        &self,
        scope: &Scope,
        name: &str,
    ) -> Result<Option<(Option<String>, String)>, CredentialError> {
        match self.store.get_credential(scope, name).await {
            Ok(c) => Ok(Some((c.public_id.clone(), open(&self.secrets, &c)?))),
            Err(StoreError::NotFound) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// Only the secret of [`Credentials::read`].
    pub async fn secret(
        &self,
        scope: &Scope,
        name: &str,
    ) -> Result<Option<String>, CredentialError> {
        Ok(self.read(scope, name).await?.map(|(_, secret)| secret))
    }

    /// The merchant's credentials (sealed), for listing their names and public ids.
    pub async fn list(&self, scope: &Scope) -> Result<Vec<Credential>, CredentialError> {
        Ok(self.store.list_credentials(scope).await?)
    }

    /// Keeps a sealed copy of an API key for dialects whose webhooks are signed with the key
    /// itself (Pakhi Pay, Kazawallet). Written once per key; later calls only read.
    pub async fn remember_api_key(
        &self,
        scope: &Scope,
        key_id: &str,
        presented: &str,
    ) -> Result<(), CredentialError> {
        // Keys known to be kept already, so a busy key costs no database read per request.
        static KEPT: std::sync::OnceLock<dashmap::DashSet<String>> = std::sync::OnceLock::new();
        let kept = KEPT.get_or_init(Default::default);
        if kept.contains(key_id) {
            return Ok(());
        }
        let name = names::api_key(key_id);
        let known = self.read(scope, &name).await?;
        if known.is_none_or(|(_, k)| k != presented) {
            // The dialect's own bookkeeping on the request path, not a change anyone made.
            self.put(scope, &name, None, presented, None).await?;
        }
        kept.insert(key_id.to_string());
        Ok(())
    }

    /// The payment a webhook delivery is about, whichever merchant's (the dispatcher works
    /// for all of them); `None` when there is none.
    pub async fn payment(&self, id: &str) -> Result<Option<Payment>, CredentialError> {
        match self.store.find_payment(id).await {
            Ok(p) => Ok(Some(p)),
            Err(StoreError::NotFound) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// The API key that created a payment, if it is still on record (revoked or not).
    pub async fn creating_key(&self, p: &Payment) -> Result<Option<ApiKey>, CredentialError> {
        let Some(key_id) = p.key_id.as_deref() else {
            return Ok(None);
        };
        Ok(self
            .store
            .list_keys(Some(&p.merchant_id))
            .await?
            .into_iter()
            .find(|k| k.id == key_id))
    }
}

pub fn open(secrets: &SecretBox, c: &Credential) -> Result<String, CredentialError> {
    let context = Credential::context(&c.merchant_id, c.livemode, &c.name);
    Ok(secrets.open(&c.sealed, &context)?)
}

fn random_bytes<const N: usize>() -> [u8; N] {
    use rand::RngCore;
    let mut out = [0u8; N];
    rand::rngs::OsRng.fill_bytes(&mut out);
    out
}
