//! Merchants: creating one, where its UPI and live wallet payments go, and the demo a first
//! start makes.

use super::access::Acting;
use super::error::AccountError;
use super::keys::{create_key, NewKey};
use super::users::create_user;
use super::PaymentService;
use crate::domain::ids::{new_id, random_token};
use crate::domain::key::{Mode, Permission};
use crate::domain::merchant::{Merchant, MerchantName, WalletNumbers, NAME_MAX};
use crate::domain::role::{Action, Role};
use crate::domain::wallet::Wallet;
use crate::store::{Store, StoreError};

pub async fn create_merchant(store: &dyn Store, name: &str) -> Result<Merchant, AccountError> {
    let name = MerchantName::parse(name).map_err(|e| AccountError::Invalid(e.to_string()))?;
    let merchant = Merchant {
        id: new_id("mer"),
        name: name.into_string(),
        upi_id: None,
        upi_name: None,
        wallet_numbers: Default::default(),
        success_url: None,
        cancel_url: None,
        checkout_expiry_secs: None,
        require_two_factor: false,
        default_locale: None,
        created_at: crate::domain::now(),
    };
    store.create_merchant(&merchant).await?;
    Ok(merchant)
}

pub async fn list_merchants(store: &dyn Store) -> Result<Vec<Merchant>, AccountError> {
    Ok(store.list_merchants().await?)
}

/// A UPI id looks like `name@bank`: letters, digits, `.`, `-`, `_` around one `@`.
pub fn valid_upi_id(id: &str) -> bool {
    let ok = |part: &str| {
        !part.is_empty()
            && part
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || ".-_".contains(c))
    };
    id.len() <= 100 && matches!(id.split_once('@'), Some((user, bank)) if ok(user) && ok(bank))
}

/// Sets (or, with no id, clears) where UPI payments go and the payee name shown.
pub async fn set_upi(
    store: &dyn Store,
    by: &Acting,
    upi_id: Option<&str>,
    upi_name: Option<&str>,
) -> Result<Merchant, AccountError> {
    by.require(Action::ManageSettings)?;
    let merchant_id = by.merchant_id();
    let upi_id = upi_id.map(str::trim).filter(|s| !s.is_empty());
    if let Some(id) = upi_id {
        if !valid_upi_id(id) {
            return Err(AccountError::Invalid(format!(
                "'{id}' is not a UPI id (expected name@bank)"
            )));
        }
    }
    let upi_name = upi_name.map(str::trim).filter(|s| !s.is_empty());
    if upi_name.is_some_and(|n| n.chars().count() > NAME_MAX) {
        return Err(AccountError::Invalid(format!(
            "a payee name must be at most {NAME_MAX} characters"
        )));
    }
    let before = match store.get_merchant(merchant_id).await {
        Err(StoreError::NotFound) => {
            return Err(AccountError::Invalid(format!("no merchant {merchant_id}")))
        }
        other => other?,
    };
    let entry = by.merchant_entry(
        "settings.upi_changed",
        Some(merchant_id),
        serde_json::json!({
            "before": { "upi_id": before.upi_id, "upi_name": before.upi_name },
            "after": { "upi_id": upi_id, "upi_name": upi_name },
        }),
    );
    Ok(store
        .set_merchant_upi(merchant_id, upi_id, upi_name, entry.as_ref())
        .await?)
}

/// Sets the merchant's own wallet numbers, where live JazzCash, Easypaisa, bKash and Nagad
/// payments go: each given number replaces its wallet's (an empty one clears it); a wallet
/// given `None` keeps its number.
pub async fn set_wallets(
    store: &dyn Store,
    by: &Acting,
    numbers: &[(Wallet, Option<&str>)],
) -> Result<Merchant, AccountError> {
    by.require(Action::ManageSettings)?;
    let merchant_id = by.merchant_id();
    let before = match store.get_merchant(merchant_id).await {
        Err(StoreError::NotFound) => {
            return Err(AccountError::Invalid(format!("no merchant {merchant_id}")))
        }
        other => other?,
    };
    let kept = &before.wallet_numbers;
    let merged = Wallet::ALL.map(|w| {
        let given = numbers.iter().find(|(g, _)| *g == w).and_then(|(_, n)| *n);
        (w, given.or(kept.get(w)).unwrap_or(""))
    });
    let numbers = WalletNumbers::parse(merged).map_err(AccountError::Invalid)?;
    let entry = by.merchant_entry(
        "settings.wallets_changed",
        Some(merchant_id),
        serde_json::json!({ "before": before.wallet_numbers, "after": numbers }),
    );
    Ok(store
        .set_merchant_wallets(merchant_id, numbers.to_column().as_deref(), entry.as_ref())
        .await?)
}

impl PaymentService {
    /// [`set_wallets`], and this node's copy of the merchant is dropped at once.
    pub async fn set_wallets(
        &self,
        by: &Acting,
        numbers: &[(Wallet, Option<&str>)],
    ) -> Result<Merchant, AccountError> {
        let m = set_wallets(&*self.store, by, numbers).await?;
        self.forget_merchant(by.merchant_id());
        Ok(m)
    }

    /// [`set_upi`], and this node's copy of the merchant is dropped at once.
    pub async fn set_upi(
        &self,
        by: &Acting,
        upi_id: Option<&str>,
        upi_name: Option<&str>,
    ) -> Result<Merchant, AccountError> {
        let m = set_upi(&*self.store, by, upi_id, upi_name).await?;
        self.forget_merchant(by.merchant_id());
        Ok(m)
    }
}

/// What first start creates on an empty database, with the secrets to print once.
pub struct Demo {
    pub merchant: Merchant,
    pub test_key: String,
    pub email: String,
    pub password: String,
}

/// Creates the demo merchant, its test key and dashboard login, if the database is empty.
pub async fn ensure_demo(store: &dyn Store) -> Result<Option<Demo>, AccountError> {
    if store.count_merchants().await? > 0 {
        return Ok(None);
    }
    let merchant = create_merchant(store, "Demo Shop").await?;
    // First start is the operator's own command.
    let operator = Acting::cli(&merchant.id, false);
    let key = create_key(
        store,
        &operator,
        NewKey::new(Mode::Test, "Demo test key", Permission::ALL.to_vec()),
    )
    .await?;
    let email = "demo@hundi.local".to_string();
    let password = random_token(16);
    create_user(store, &operator, &email, &password, Role::Owner).await?;
    Ok(Some(Demo {
        merchant,
        test_key: key.secret,
        email,
        password,
    }))
}
