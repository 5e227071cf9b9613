//! Dashboard logins and their sessions: creating a user, signing in (behind the sign-in
//! throttle, `throttle.rs`), the session a cookie names, its test/live switch, signing out.

use super::access::Acting;
use super::error::AccountError;
use super::throttle::{Refusal, SignInGuard};
use super::PaymentService;
use crate::domain::audit::Origin;
use crate::domain::email::Email;
use crate::domain::ids::{new_id, random_token};
use crate::domain::merchant::{Merchant, User};
use crate::domain::role::{Action, Role};
use crate::domain::session::{Session, Stage};
use crate::store::{Store, StoreError};
use argon2::password_hash::{rand_core::OsRng, PasswordHasher, SaltString};
use argon2::Argon2;
use sha2::{Digest, Sha256};

/// How long a dashboard session lasts.
pub const SESSION_HOURS: i64 = 12;

/// A password has at least this many characters.
pub const PASSWORD_MIN: usize = 10;

pub fn hash_password(password: &str) -> Result<String, AccountError> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| AccountError::Invalid(format!("cannot hash the password: {e}")))
}

/// Adds a login to the acting merchant's team, with a role (owners only, or the CLI).
pub async fn create_user(
    store: &dyn Store,
    by: &Acting,
    email: &str,
    password: &str,
    role: Role,
) -> Result<User, AccountError> {
    by.require(Action::ManageTeam)?;
    let address = Email::parse(email)
        .map_err(|_| AccountError::Invalid("the e-mail address is not valid".into()))?;
    if password.chars().count() < PASSWORD_MIN {
        return Err(AccountError::Invalid(format!(
            "a password must have at least {PASSWORD_MIN} characters"
        )));
    }
    let user = User {
        id: new_id("usr"),
        merchant_id: by.merchant_id().to_string(),
        email: address.lowercase(),
        password_hash: hash_password(password)?,
        role,
        created_at: crate::domain::now(),
    };
    let entry = by.merchant_entry(
        "user.created",
        Some(&user.id),
        serde_json::json!({ "email": user.email, "role": role }),
    );
    store
        .create_user(&user, entry.as_ref())
        .await
        .map_err(|e| match e {
            StoreError::Duplicate(_) => {
                AccountError::Invalid(format!("a user {email} already exists"))
            }
            other => other.into(),
        })?;
    Ok(user)
}

/// A store refusal of a team change, in words.
fn team_error(e: StoreError) -> AccountError {
    match e {
        StoreError::LastOwner => {
            AccountError::Invalid("the account must keep at least one owner".into())
        }
        StoreError::NotFound => AccountError::NotFound("no such user".into()),
        other => other.into(),
    }
}

/// Changes a team member's role (owners only); the last owner stays an owner.
pub async fn set_role(
    store: &dyn Store,
    by: &Acting,
    user_id: &str,
    role: Role,
) -> Result<User, AccountError> {
    by.require(Action::ManageTeam)?;
    let before = store
        .list_users(by.merchant_id())
        .await?
        .into_iter()
        .find(|u| u.id == user_id)
        .ok_or_else(|| AccountError::NotFound("no such user".into()))?;
    let entry = by.merchant_entry(
        "user.role_changed",
        Some(user_id),
        serde_json::json!({ "email": before.email, "before": before.role, "after": role }),
    );
    store
        .set_user_role(by.merchant_id(), user_id, role, entry.as_ref())
        .await
        .map_err(team_error)
}

/// Removes a team member and ends their sessions (owners only); never the last owner.
pub async fn remove_user(
    store: &dyn Store,
    by: &Acting,
    user_id: &str,
) -> Result<User, AccountError> {
    by.require(Action::ManageTeam)?;
    let entry = by.merchant_entry("user.removed", Some(user_id), serde_json::json!({}));
    store
        .remove_user(by.merchant_id(), user_id, entry.as_ref())
        .await
        .map_err(team_error)
}

/// What a session cookie's token is stored as.
fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Why a sign-in did not open a session.
#[derive(Debug, thiserror::Error)]
pub enum SignInError {
    #[error("the e-mail address and password do not match")]
    Wrong,
    /// Throttled: seconds until a try may be made.
    #[error("throttled for {0} s")]
    Wait(i64),
    /// Every password check of the node is busy.
    #[error("every password check is busy")]
    Busy,
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl SignInError {
    /// A try the throttle refused before any check: how long to wait, or that checks are busy.
    pub(super) fn refused(refusal: Refusal, now: chrono::DateTime<chrono::Utc>) -> SignInError {
        match refusal {
            Refusal::Blocked(until) => {
                // Rounded up: a client that waits exactly this long finds the block over.
                let ms = (until - now).num_milliseconds();
                SignInError::Wait((ms + 999).div_euclid(1000).max(1))
            }
            Refusal::Busy => SignInError::Busy,
        }
    }
}

/// A signed-in session with its user and merchant.
pub struct SignedIn {
    pub session: Session,
    pub user: User,
    pub merchant: Merchant,
}

/// An argon2id hash of a random password, made once: what an unknown address is checked against.
fn dummy_hash() -> &'static str {
    static HASH: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    HASH.get_or_init(|| hash_password(&random_token(24)).unwrap_or_default())
}

impl PaymentService {
    /// Checks the password (argon2id) once the throttle has counted the try; returns a new
    /// session's token and how far it is signed in: fully, or (a user with two-factor
    /// sign-in) waiting for the code, or (a merchant that requires it, a user without it)
    /// only to set it up. `client` is the client address as the throttle counts it.
    pub async fn sign_in(
        &self,
        guard: &SignInGuard,
        email: &str,
        password: &str,
        client: &str,
        origin: &Origin,
    ) -> Result<(String, Stage), SignInError> {
        use argon2::{PasswordHash, PasswordVerifier};
        let email = email.trim().to_lowercase();
        let now = crate::domain::now();
        let check = match guard.admit(&self.store, &email, client, now).await? {
            Ok(check) => check,
            Err(refusal) => return Err(SignInError::refused(refusal, now)),
        };
        let user = match self.store.find_user_by_email(&email).await {
            Ok(u) => Some(u),
            Err(StoreError::NotFound) => None,
            Err(e) => return Err(e.into()),
        };
        let stored = user.as_ref().map(|u| u.password_hash.clone());
        let password = password.to_string();
        let ok = check
            .run(move || {
                // An unknown address costs the same hashing as a known one.
                let stored = stored.unwrap_or_else(|| dummy_hash().to_string());
                PasswordHash::new(&stored).is_ok_and(|h| {
                    Argon2::default()
                        .verify_password(password.as_bytes(), &h)
                        .is_ok()
                })
            })
            .await;
        let user = match (ok, user) {
            (true, Some(u)) => u,
            (_, known) => {
                let merchant = known.as_ref().map(|u| u.merchant_id.as_str());
                let entry = super::access::refused_sign_in(merchant, &email, origin);
                self.store.record_audit(&entry).await?;
                return Err(SignInError::Wrong);
            }
        };
        let stage = if self
            .store
            .get_second_factor(&user.id)
            .await?
            .secret
            .is_some()
        {
            Stage::SecondFactor
        } else if self
            .store
            .get_merchant(&user.merchant_id)
            .await?
            .require_two_factor
        {
            Stage::Enroll
        } else {
            Stage::Full
        };
        // With a code still to come, the throttle keeps counting until the code is right.
        let lasts = match stage {
            Stage::SecondFactor => chrono::Duration::minutes(super::second_factor::CODE_MINUTES),
            _ => {
                guard.succeeded(&self.store, &email, client, now).await?;
                chrono::Duration::hours(SESSION_HOURS)
            }
        };
        let token = random_token(43);
        let session = Session {
            token_hash: token_hash(&token),
            user_id: user.id.clone(),
            merchant_id: user.merchant_id.clone(),
            csrf: random_token(32),
            livemode: false,
            created_at: now,
            expires_at: now + lasts,
            stage,
        };
        // Recorded as signed in once the session is: now, or when the code is right.
        let entry = (stage == Stage::Full)
            .then(|| {
                Acting::user(&user, false, origin.clone()).merchant_entry(
                    "user.signed_in",
                    Some(&user.id),
                    serde_json::json!({}),
                )
            })
            .flatten();
        self.store.create_session(&session, entry.as_ref()).await?;
        Ok((token, stage))
    }

    /// The unexpired session a cookie's token names, with its user and merchant; `None` when
    /// there is none (or its user is gone).
    pub async fn session(&self, token: &str) -> Result<Option<SignedIn>, StoreError> {
        let session = match self
            .store
            .get_session(&token_hash(token), crate::domain::now())
            .await
        {
            Ok(s) => s,
            Err(StoreError::NotFound) => return Ok(None),
            Err(e) => return Err(e),
        };
        let merchant = self.store.get_merchant(&session.merchant_id).await?;
        let user = self
            .store
            .list_users(&session.merchant_id)
            .await?
            .into_iter()
            .find(|u| u.id == session.user_id);
        Ok(user.map(|user| SignedIn {
            session,
            user,
            merchant,
        }))
    }

    pub async fn sign_out(&self, session: &Session) -> Result<(), StoreError> {
        self.store.delete_session(&session.token_hash).await
    }

    /// The session's test/live switch.
    pub async fn set_session_mode(
        &self,
        session: &Session,
        livemode: bool,
    ) -> Result<(), StoreError> {
        self.store
            .set_session_mode(&session.token_hash, livemode)
            .await
    }

    /// [`create_user`], for the dashboard's team form.
    pub async fn create_user(
        &self,
        by: &Acting,
        email: &str,
        password: &str,
        role: Role,
    ) -> Result<User, AccountError> {
        create_user(&*self.store, by, email, password, role).await
    }

    /// [`set_role`], for the dashboard's team form.
    pub async fn set_role(
        &self,
        by: &Acting,
        user_id: &str,
        role: Role,
    ) -> Result<User, AccountError> {
        set_role(&*self.store, by, user_id, role).await
    }

    /// [`remove_user`], for the dashboard's team form.
    pub async fn remove_user(&self, by: &Acting, user_id: &str) -> Result<User, AccountError> {
        remove_user(&*self.store, by, user_id).await
    }
}
