//! Creating, rotating and reading the dialects' credentials. Secrets are generated here,
//! returned once, and stored sealed (`secrets.rs`).

use crate::domain::credential::{names, Credential};
use crate::domain::ids::random_token;
use crate::secrets::SecretBox;
use crate::store::{Scope, Store, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum CredentialError {
    #[error("unknown credential '{0}'; known: {known}", known = names::MERCHANT_CREATED.join(", "))]
    Unknown(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Sealed(#[from] crate::secrets::SecretError),
}

/// A credential as created: the secret is in the clear here and nowhere else.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Created {
    pub name: String,
    pub public_id: Option<String>,
    pub secret: String,
}

/// Creates the credential `name` for the scope, replacing (rotating) an earlier one.
pub async fn create(
    store: &dyn Store,
    secrets: &SecretBox,
    scope: &Scope,
    name: &str,
) -> Result<Created, CredentialError> {
    let (public_id, secret) = match name {
        // An XPay account id looks like the 24 hex digits of the ids XPay hands out.
        names::XPAY_HMAC => (
            Some(hex::encode(random_bytes::<12>())),
            format!("hmac_sc_{}", random_token(40)),
        ),
        names::XPAY_WEBHOOK => (None, format!("whsec_{}", random_token(40))),
        names::WAYPAY => (None, format!("wp_sec_{}", random_token(40))),
        names::KAZAWALLET => (None, format!("kzw_sec_{}", random_token(40))),
        names::PAKHIPAY_CALLBACK => (None, format!("pkp_cb_{}", random_token(40))),
        other => return Err(CredentialError::Unknown(other.to_string())),
    };
    put(store, secrets, scope, name, public_id.clone(), &secret).await?;
    Ok(Created {
        name: name.to_string(),
        public_id,
        secret,
    })
}

async fn put(
    store: &dyn Store,
    secrets: &SecretBox,
    scope: &Scope,
    name: &str,
    public_id: Option<String>,
    secret: &str,
) -> Result<(), StoreError> {
    let context = Credential::context(&scope.merchant_id, scope.livemode, name);
    store
        .put_credential(&Credential {
            merchant_id: scope.merchant_id.clone(),
            livemode: scope.livemode,
            name: name.to_string(),
            public_id,
            sealed: secrets.seal(secret, &context),
            created_at: crate::domain::now(),
        })
        .await
}

/// The credential's public id and secret, if the merchant has created it.
pub async fn read(
    store: &dyn Store,
    secrets: &SecretBox,
    scope: &Scope,
    name: &str,
) -> Result<Option<(Option<String>, String)>, CredentialError> {
    match store.get_credential(scope, name).await {
        Ok(c) => Ok(Some((c.public_id.clone(), open(secrets, &c)?))),
        Err(StoreError::NotFound) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

pub fn open(secrets: &SecretBox, c: &Credential) -> Result<String, CredentialError> {
    let context = Credential::context(&c.merchant_id, c.livemode, &c.name);
    Ok(secrets.open(&c.sealed, &context)?)
}

/// Keeps a sealed copy of an API key for dialects whose webhooks are signed with the key
/// itself (Pakhi Pay, Kazawallet). Written once per key; later calls only read.
pub async fn remember_api_key(
    store: &dyn Store,
    secrets: &SecretBox,
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
    let known = read(store, secrets, scope, &name).await?;
    if known.is_none_or(|(_, k)| k != presented) {
        put(store, secrets, scope, &name, None, presented).await?;
    }
    kept.insert(key_id.to_string());
    Ok(())
}

fn random_bytes<const N: usize>() -> [u8; N] {
    use rand::RngCore;
    let mut out = [0u8; N];
    rand::rngs::OsRng.fill_bytes(&mut out);
    out
}
