//! Merchants and the people who log in to their dashboard.

use crate::domain::wallet::Wallet;
use chrono::{DateTime, Utc};

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Merchant {
    pub id: String,
    pub name: String,
    /// Where UPI payments go (`shop@okbank`) and the payee name customers see.
    pub upi_id: Option<String>,
    pub upi_name: Option<String>,
    /// Where live wallet payments go: the merchant's own account number per wallet.
    pub wallet_numbers: WalletNumbers,
    /// Where customers go after paying or giving up when a payment names no URL.
    pub success_url: Option<String>,
    pub cancel_url: Option<String>,
    /// Seconds a checkout stays open when a create does not say.
    pub checkout_expiry_secs: Option<i64>,
    /// Every user of the merchant must sign in with a second factor.
    pub require_two_factor: bool,
    /// The language of the customer's pages when neither the payment nor the browser names
    /// one the pages speak (`None`: English).
    pub default_locale: Option<crate::domain::locale::Locale>,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct User {
    pub id: String,
    pub merchant_id: String,
    pub email: String,
    #[serde(skip)]
    pub password_hash: String,
    pub role: crate::domain::role::Role,
    pub created_at: DateTime<Utc>,
}

pub const NAME_MAX: usize = 200;

/// A merchant's (business) name: 1 to [`NAME_MAX`] characters once trimmed. The CLI and
/// the dashboard's settings check the same rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MerchantName(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a merchant name must be 1 to {NAME_MAX} characters")]
pub struct MerchantNameError;

impl MerchantName {
    pub fn parse(text: &str) -> Result<MerchantName, MerchantNameError> {
        let name = text.trim();
        if name.is_empty() || name.chars().count() > NAME_MAX {
            return Err(MerchantNameError);
        }
        Ok(MerchantName(name.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_one_to_two_hundred_characters() {
        assert_eq!(
            MerchantName::parse("  Shop ").map(|n| n.into_string()),
            Ok("Shop".into())
        );
        assert_eq!(MerchantName::parse("   "), Err(MerchantNameError));
        assert!(MerchantName::parse(&"a".repeat(200)).is_ok());
        assert_eq!(
            MerchantName::parse(&"a".repeat(201)),
            Err(MerchantNameError)
        );
    }
}

/// A merchant's own wallet account numbers, each checked for its wallet's country.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct WalletNumbers(std::collections::BTreeMap<Wallet, String>);

impl WalletNumbers {
    /// Checks each number (spaces and a country code are dropped); an empty one is left out.
    pub fn parse<'a>(
        entries: impl IntoIterator<Item = (Wallet, &'a str)>,
    ) -> Result<WalletNumbers, String> {
        let mut out = std::collections::BTreeMap::new();
        for (wallet, text) in entries {
            if text.trim().is_empty() {
                continue;
            }
            let number = wallet.account_number(text).ok_or_else(|| {
                format!(
                    "'{}' is not a {} number (expected {})",
                    text.trim(),
                    wallet.label(),
                    wallet.number_shape()
                )
            })?;
            out.insert(wallet, number);
        }
        Ok(WalletNumbers(out))
    }

    pub fn get(&self, wallet: Wallet) -> Option<&str> {
        self.0.get(&wallet).map(String::as_str)
    }

    pub fn iter(&self) -> impl Iterator<Item = (Wallet, &str)> {
        self.0.iter().map(|(w, n)| (*w, n.as_str()))
    }

    /// As the database keeps it: a JSON object by wallet name, `None` when there is none.
    pub fn to_column(&self) -> Option<String> {
        (!self.0.is_empty()).then(|| serde_json::to_string(&self.0).unwrap_or_default())
    }

    pub fn from_column(text: Option<&str>) -> Result<WalletNumbers, String> {
        let Some(text) = text else {
            return Ok(WalletNumbers::default());
        };
        let map: std::collections::BTreeMap<Wallet, String> =
            serde_json::from_str(text).map_err(|e| format!("wallet numbers: {e}"))?;
        WalletNumbers::parse(map.iter().map(|(w, n)| (*w, n.as_str())))
    }
}
