//! Administrative commands shared by the CLI and first start: merchants, keys, users.

use crate::domain::ids::{new_id, random_token};
use crate::domain::key::{generate_secret, ApiKey, Mode, Permission};
use crate::domain::merchant::{Merchant, User, NAME_MAX};
use crate::domain::webhook::Endpoint;
use crate::store::{Store, StoreError};
use argon2::password_hash::{rand_core::OsRng, PasswordHasher, SaltString};
use argon2::Argon2;

#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

pub async fn create_merchant(store: &dyn Store, name: &str) -> Result<Merchant, AdminError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > NAME_MAX {
        return Err(AdminError::Invalid(format!(
            "a merchant name must be 1 to {NAME_MAX} characters"
        )));
    }
    let merchant = Merchant {
        id: new_id("mer"),
        name: name.to_string(),
        upi_id: None,
        upi_name: None,
        success_url: None,
        cancel_url: None,
        checkout_expiry_secs: None,
        created_at: crate::domain::now(),
    };
    store.create_merchant(&merchant).await?;
    Ok(merchant)
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

pub async fn set_upi(
    store: &dyn Store,
    merchant_id: &str,
    upi_id: Option<&str>,
    upi_name: Option<&str>,
) -> Result<Merchant, AdminError> {
    let upi_id = upi_id.map(str::trim).filter(|s| !s.is_empty());
    if let Some(id) = upi_id {
        if !valid_upi_id(id) {
            return Err(AdminError::Invalid(format!(
                "'{id}' is not a UPI id (expected name@bank)"
            )));
        }
    }
    let upi_name = upi_name.map(str::trim).filter(|s| !s.is_empty());
    if upi_name.is_some_and(|n| n.chars().count() > NAME_MAX) {
        return Err(AdminError::Invalid(format!(
            "a payee name must be at most {NAME_MAX} characters"
        )));
    }
    match store.set_merchant_upi(merchant_id, upi_id, upi_name).await {
        Err(StoreError::NotFound) => Err(AdminError::Invalid(format!("no merchant {merchant_id}"))),
        other => Ok(other?),
    }
}

pub struct CreatedKey {
    pub key: ApiKey,
    /// Shown once; only its hash is stored.
    pub secret: String,
    /// The signing secret of the key's own webhook endpoint, when it has a webhook URL.
    pub webhook_secret: Option<String>,
}

pub async fn create_key(
    store: &dyn Store,
    merchant_id: &str,
    mode: Mode,
    label: &str,
    permissions: Vec<Permission>,
    webhook_url: Option<String>,
) -> Result<CreatedKey, AdminError> {
    let allow_private = crate::webhooks::WebhookConfig::from_env().allow_private;
    create_key_allowing(
        store,
        merchant_id,
        mode,
        label,
        permissions,
        webhook_url,
        allow_private,
    )
    .await
}

/// `create_key`, saying whether the webhook URL may be a private address.
pub async fn create_key_allowing(
    store: &dyn Store,
    merchant_id: &str,
    mode: Mode,
    label: &str,
    permissions: Vec<Permission>,
    webhook_url: Option<String>,
    allow_private: bool,
) -> Result<CreatedKey, AdminError> {
    create_key_from(
        store,
        NewKey {
            merchant_id: merchant_id.to_string(),
            mode,
            label: label.to_string(),
            permissions,
            webhook_url,
            rate_limit: None,
            allow_private,
        },
    )
    .await
}

/// Everything a new key is made of.
pub struct NewKey {
    pub merchant_id: String,
    pub mode: Mode,
    pub label: String,
    pub permissions: Vec<Permission>,
    pub webhook_url: Option<String>,
    /// Requests per second; `None`: the instance's default.
    pub rate_limit: Option<u32>,
    /// Whether the webhook URL may be a private address.
    pub allow_private: bool,
}

/// Creates a key as `new` describes it.
pub async fn create_key_from(store: &dyn Store, new: NewKey) -> Result<CreatedKey, AdminError> {
    let NewKey {
        merchant_id,
        mode,
        label,
        permissions,
        webhook_url,
        rate_limit,
        allow_private,
    } = new;
    let merchant_id = merchant_id.as_str();
    check_rate_limit(rate_limit)?;
    match store.get_merchant(merchant_id).await {
        Ok(_) => {}
        Err(StoreError::NotFound) => {
            return Err(AdminError::Invalid(format!("no merchant {merchant_id}")))
        }
        Err(e) => return Err(e.into()),
    }
    if let Some(url) = &webhook_url {
        crate::webhooks::ssrf::check_url(url, mode.is_live(), allow_private)
            .await
            .map_err(|e| AdminError::Invalid(format!("webhook URL: {e}")))?;
    }
    let secret = generate_secret(mode);
    let key = ApiKey {
        id: new_id("key"),
        merchant_id: merchant_id.to_string(),
        mode,
        label: label.trim().to_string(),
        prefix: secret.prefix,
        secret_hash: secret.hash,
        permissions,
        webhook_url,
        request_count: 0,
        created_at: crate::domain::now(),
        revoked_at: None,
        rate_limit,
    };
    store.create_key(&key).await?;
    // A key's own webhook URL is one more endpoint, limited to events about its payments.
    let webhook_secret = match &key.webhook_url {
        Some(url) => Some(key_endpoint(store, &key, url).await?),
        None => None,
    };
    Ok(CreatedKey {
        key,
        secret: secret.secret,
        webhook_secret,
    })
}

/// The endpoint of a key's own webhook URL; returns its signing secret.
async fn key_endpoint(store: &dyn Store, key: &ApiKey, url: &str) -> Result<String, AdminError> {
    let now = crate::domain::now();
    let endpoint = Endpoint {
        id: new_id("we"),
        merchant_id: key.merchant_id.clone(),
        livemode: key.mode.is_live(),
        url: url.to_string(),
        description: Some(format!("webhook URL of API key {}", key.id)),
        events: vec!["*".into()],
        enabled: true,
        secret: crate::domain::webhook::generate_secret(),
        previous_secret: None,
        previous_secret_until: None,
        failing_since: None,
        disabled_reason: None,
        key_id: Some(key.id.clone()),
        format: crate::domain::webhook::FORMAT_AUTO.to_string(),
        payment_id: None,
        created_at: now,
        updated_at: now,
    };
    store.create_endpoint(&endpoint).await?;
    Ok(endpoint.secret)
}

/// Changes a key's permissions and webhook URL. A new URL replaces the old endpoint's address
/// (its secret stays); a first URL creates the endpoint and returns its new secret; no URL
/// removes it.
pub async fn update_key(
    store: &dyn Store,
    key: &ApiKey,
    permissions: Vec<Permission>,
    webhook_url: Option<String>,
    allow_private: bool,
) -> Result<(ApiKey, Option<String>), AdminError> {
    if let Some(url) = &webhook_url {
        crate::webhooks::ssrf::check_url(url, key.mode.is_live(), allow_private)
            .await
            .map_err(|e| AdminError::Invalid(format!("webhook URL: {e}")))?;
    }
    let scope = crate::store::Scope {
        merchant_id: key.merchant_id.clone(),
        livemode: key.mode.is_live(),
    };
    // The key's own endpoint, looked for page by page (an admin action, not a caller's loop).
    let mut existing = None;
    let mut page = crate::store::Page {
        starting_after: None,
        limit: 100,
    };
    while existing.is_none() {
        let rows = store.list_endpoints(&scope, &page).await?;
        let Some(last) = rows.last() else { break };
        page.starting_after = Some(last.id.clone());
        existing = rows
            .into_iter()
            .find(|e| e.key_id.as_deref() == Some(key.id.as_str()));
    }
    let mut new_secret = None;
    match (existing, &webhook_url) {
        (Some(mut e), Some(url)) if &e.url != url => {
            e.url = url.clone();
            e.updated_at = crate::domain::now();
            store.update_endpoint(&e).await?;
        }
        (Some(_), Some(_)) => {}
        (Some(e), None) => {
            store
                .delete_endpoint(&scope, &e.id, crate::domain::now())
                .await?
        }
        (None, Some(url)) => new_secret = Some(key_endpoint(store, key, url).await?),
        (None, None) => {}
    }
    let mut changed = key.clone();
    changed.permissions = permissions;
    changed.webhook_url = webhook_url;
    Ok((store.update_key(&changed).await?, new_secret))
}

fn check_rate_limit(rate_limit: Option<u32>) -> Result<(), AdminError> {
    use crate::domain::key::RATE_LIMIT_MAX;
    match rate_limit {
        Some(n) if n == 0 || n > RATE_LIMIT_MAX => Err(AdminError::Invalid(format!(
            "a rate limit is 1 to {RATE_LIMIT_MAX} requests per second"
        ))),
        _ => Ok(()),
    }
}

/// Sets a key's rate limit (requests per second; `None`: the instance's default). Nodes
/// apply it within the key cache's lifetime (`HUNDI_KEY_CACHE_MS`).
pub async fn set_key_rate_limit(
    store: &dyn Store,
    key_id: &str,
    rate_limit: Option<u32>,
) -> Result<ApiKey, AdminError> {
    check_rate_limit(rate_limit)?;
    match store.set_key_rate_limit(key_id, rate_limit).await {
        Err(StoreError::NotFound) => Err(AdminError::Invalid(format!("no key {key_id}"))),
        other => Ok(other?),
    }
}

pub fn hash_password(password: &str) -> Result<String, AdminError> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| AdminError::Invalid(format!("cannot hash the password: {e}")))
}

pub async fn create_user(
    store: &dyn Store,
    merchant_id: &str,
    email: &str,
    password: &str,
) -> Result<User, AdminError> {
    if !email.contains('@') || email.len() > 254 {
        return Err(AdminError::Invalid(
            "the e-mail address is not valid".into(),
        ));
    }
    if password.chars().count() < 10 {
        return Err(AdminError::Invalid(
            "a password must have at least 10 characters".into(),
        ));
    }
    let user = User {
        id: new_id("usr"),
        merchant_id: merchant_id.to_string(),
        email: email.trim().to_lowercase(),
        password_hash: hash_password(password)?,
        created_at: crate::domain::now(),
    };
    store.create_user(&user).await.map_err(|e| match e {
        StoreError::Duplicate(_) => AdminError::Invalid(format!("a user {email} already exists")),
        other => other.into(),
    })?;
    Ok(user)
}

/// What first start creates on an empty database, with the secrets to print once.
pub struct Demo {
    pub merchant: Merchant,
    pub test_key: String,
    pub email: String,
    pub password: String,
}

/// Creates the demo merchant, its test key and dashboard login, if the database is empty.
pub async fn ensure_demo(store: &dyn Store) -> Result<Option<Demo>, AdminError> {
    if store.count_merchants().await? > 0 {
        return Ok(None);
    }
    let merchant = create_merchant(store, "Demo Shop").await?;
    let key = create_key(
        store,
        &merchant.id,
        Mode::Test,
        "Demo test key",
        Permission::ALL.to_vec(),
        None,
    )
    .await?;
    let email = "demo@hundi.local".to_string();
    let password = random_token(16);
    create_user(store, &merchant.id, &email, &password).await?;
    Ok(Some(Demo {
        merchant,
        test_key: key.secret,
        email,
        password,
    }))
}
