//! A dialect credential: a secret a gateway dialect needs in readable form (XPay's HMAC
//! secrets, Waypay's and Kazawallet's secrets, a copy of an API key a dialect signs with),
//! stored sealed, per merchant and mode.

use chrono::{DateTime, Utc};

#[derive(Debug, Clone, PartialEq)]
pub struct Credential {
    pub merchant_id: String,
    pub livemode: bool,
    /// Which credential: see [`names`].
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

/// The credential names.
pub mod names {
    /// XPay: `x-account-id` (public) and the secret that signs requests (`x-signature`).
    pub const XPAY_HMAC: &str = "xpay_hmac";
    /// XPay: the secret that signs webhooks (`X-Signature`), separate from the request one.
    pub const XPAY_WEBHOOK: &str = "xpay_webhook";
    /// Waypay: the secret appended to the MD5 request signature; also signs webhooks.
    pub const WAYPAY: &str = "waypay";
    /// Kazawallet: the API secret behind the webhook's `secret` field.
    pub const KAZAWALLET: &str = "kazawallet";
    /// Pakhi Pay: signs the callbacks of payments created with a key limited to
    /// `payments:create` (a key in a shop page, which anyone can read and so cannot sign).
    pub const PAKHIPAY_CALLBACK: &str = "pakhipay_callback";

    /// A copy of one API key, for dialects whose webhook signature uses the key itself
    /// (Pakhi Pay, Kazawallet). Written the first time the key is used with such a dialect.
    pub fn api_key(key_id: &str) -> String {
        format!("api_key:{key_id}")
    }

    /// The credentials a merchant creates (and rotates) by name.
    pub const MERCHANT_CREATED: [&str; 5] = [
        XPAY_HMAC,
        XPAY_WEBHOOK,
        WAYPAY,
        KAZAWALLET,
        PAKHIPAY_CALLBACK,
    ];
}
