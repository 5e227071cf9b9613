//! A merchant's settings: business name, default success and cancel URLs, checkout expiry,
//! the customer's pages' default language.

use super::access::Acting;
use super::error::AccountError;
use super::PaymentService;
use crate::domain::locale::Locale;
use crate::domain::merchant::{Merchant, MerchantName};
use crate::domain::payment::limits;
use crate::domain::role::Action;
use crate::domain::web_url::WebUrl;

/// The settings form as typed (blank URLs and expiry: none).
pub struct SettingsInput<'a> {
    pub name: &'a str,
    pub success_url: &'a str,
    pub cancel_url: &'a str,
    /// Minutes, blank for the default.
    pub expiry_minutes: &'a str,
    /// A language code (`en`, `ur`, `ar`, `hi`, `bn`), blank for English.
    pub default_locale: &'a str,
}

fn default_locale(code: &str) -> Result<Option<Locale>, AccountError> {
    match code.trim() {
        "" => Ok(None),
        c => Locale::parse(c)
            .map(Some)
            .map_err(|e| AccountError::Invalid(format!("the default language: {e}"))),
    }
}

fn url(label: &str, text: &str) -> Result<Option<String>, AccountError> {
    WebUrl::optional(text)
        .map(|u| u.map(WebUrl::into_string))
        .map_err(|e| AccountError::Invalid(format!("the {label} {e}")))
}

fn expiry(minutes: &str) -> Result<Option<i64>, AccountError> {
    match minutes.trim() {
        "" => Ok(None),
        m => m
            .parse::<i64>()
            .ok()
            .and_then(|m| m.checked_mul(60))
            .filter(|s| (limits::EXPIRES_IN_MIN..=limits::EXPIRES_IN_MAX).contains(s))
            .map(Some)
            .ok_or_else(|| {
                AccountError::Invalid(format!(
                    "the checkout expiry must be {} to {} minutes",
                    limits::EXPIRES_IN_MIN / 60,
                    limits::EXPIRES_IN_MAX / 60
                ))
            }),
    }
}

/// The settings the form changes, as the audit log shows them.
fn settings_of(m: &Merchant) -> serde_json::Value {
    serde_json::json!({
        "name": m.name,
        "success_url": m.success_url,
        "cancel_url": m.cancel_url,
        "checkout_expiry_secs": m.checkout_expiry_secs,
        "default_locale": m.default_locale,
    })
}

impl PaymentService {
    /// Validates and saves the settings; this node's copy of the merchant is dropped at once
    /// (other nodes' copies live a second at most).
    pub async fn update_settings(
        &self,
        by: &Acting,
        merchant: &Merchant,
        input: SettingsInput<'_>,
    ) -> Result<Merchant, AccountError> {
        by.require(Action::ManageSettings)?;
        if merchant.id != by.merchant_id() {
            return Err(AccountError::NotFound("no such merchant".into()));
        }
        let name = MerchantName::parse(input.name).map_err(|_| {
            AccountError::Invalid(format!(
                "the business name must be 1 to {} characters",
                crate::domain::merchant::NAME_MAX
            ))
        })?;
        let expiry = expiry(input.expiry_minutes)?;
        let mut m = merchant.clone();
        m.name = name.into_string();
        m.success_url = url("success URL", input.success_url)?;
        m.cancel_url = url("cancel URL", input.cancel_url)?;
        m.checkout_expiry_secs = expiry;
        m.default_locale = default_locale(input.default_locale)?;
        let entry = by.merchant_entry(
            "settings.changed",
            Some(&m.id),
            serde_json::json!({ "before": settings_of(merchant), "after": settings_of(&m) }),
        );
        let saved = self
            .store
            .update_merchant_settings(&m, entry.as_ref())
            .await?;
        self.forget_merchant(&m.id);
        Ok(saved)
    }
}
