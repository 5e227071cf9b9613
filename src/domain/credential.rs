//! A dialect credential: a secret a gateway dialect needs in readable form (XPay's HMAC
//! secrets, Waypay's and Kazawallet's secrets, a copy of an API key a dialect signs with),
//! stored sealed, per merchant and mode.

use chrono::{DateTime, Utc};

#[derive(Debug, Clone, PartialEq)]
pub struct Credential {
    pub merchant_id: String,
    pub livemode: bool,
    /// Which credential: a dialect's (`domain::source::CredentialKind`) or [`names::api_key`].
    pub name: String,
    /// A public identifier that comes with it (XPay's account id), unique per name.
    pub public_id: Option<String>,
    /// The secret, sealed by `secrets::SecretBox` with [`Credential::context`].
    pub sealed: String,
    pub created_at: DateTime<Utc>,
}

impl Credential {
    /// What a sealed value is bound to: a value moved to another row does not open.
    pub fn context(merchant_id: &str, livemode: bool, name: &str) -> String {
        format!(
            "{merchant_id}/{}/{name}",
            if livemode { "live" } else { "test" }
        )
    }
}

/// Credential names beyond the ones the dialects declare (`Dialect::credentials`).
pub mod names {
    /// A copy of one API key, for dialects whose webhook signature uses the key itself
    /// (Pakhi Pay, Kazawallet). Written the first time the key is used with such a dialect.
    pub fn api_key(key_id: &str) -> String {
        format!("api_key:{key_id}")
    }
}
