//! Two-factor sign-in: setting it up (a secret shown as a QR code, confirmed with a code),
//! the code asked after the password, recovery codes, turning it off, and the merchant's
//! "every user must use it". Secrets are sealed with the master key like dialect
//! credentials; recovery codes are stored hashed; a code is accepted once.

use super::access::Acting;
use super::error::AccountError;
use super::throttle::SignInGuard;
use super::users::{SignInError, SESSION_HOURS};
use crate::domain::audit::Origin;
use crate::domain::merchant::{Merchant, User};
use crate::domain::role::Action;
use crate::domain::second_factor::{self as totp, seal_context};
use crate::domain::session::{Session, Stage};
use crate::secrets::SecretBox;
use crate::store::{Store, StoreError};
use serde_json::json;
use std::sync::Arc;

/// How long the code may be typed after the password was right.
pub const CODE_MINUTES: i64 = 5;

/// A set-up in progress: what the settings page shows.
pub struct SetUp {
    /// The secret as base32, for typing into an app by hand.
    pub secret: String,
    pub otpauth_url: String,
    /// The QR code of `otpauth_url`, as SVG drawn here (no third-party script).
    pub qr_svg: String,
}

/// Whether a user has two-factor sign-in on, and how many recovery codes are left.
pub struct Status {
    pub enabled: bool,
    pub codes_left: i64,
}

#[derive(Clone)]
pub struct SecondFactors {
    store: Arc<dyn Store>,
    secrets: SecretBox,
}

impl SecondFactors {
    pub fn new(store: Arc<dyn Store>, secrets: SecretBox) -> SecondFactors {
        SecondFactors { store, secrets }
    }

    pub async fn status(&self, user: &User) -> Result<Status, StoreError> {
        let stored = self.store.get_second_factor(&user.id).await?;
        Ok(Status {
            enabled: stored.secret.is_some(),
            codes_left: stored.codes_left,
        })
    }

    /// Starts (or restarts) setting up the acting user's second factor: a new secret, kept
    /// sealed until a code confirms it.
    pub async fn begin(&self, user: &User) -> Result<SetUp, AccountError> {
        let secret = totp::new_secret();
        let sealed = self.secrets.seal(&secret, &seal_context(&user.id));
        self.store
            .set_pending_second_factor(&user.id, &sealed)
            .await?;
        let otpauth_url = totp::otpauth_url(&secret, &user.email)
            .map_err(|e| AccountError::Invalid(e.to_string()))?;
        let qr_svg = qrcode::QrCode::new(otpauth_url.as_bytes())
            .map_err(|e| AccountError::Invalid(e.to_string()))?
            .render::<qrcode::render::svg::Color>()
            .min_dimensions(200, 200)
            .build();
        Ok(SetUp {
            secret,
            otpauth_url,
            qr_svg,
        })
    }

    /// Confirms the set-up with a code from the app; turns two-factor sign-in on and returns
    /// the ten recovery codes, shown once. A session that had to enroll is signed in fully.
    pub async fn confirm(
        &self,
        by: &Acting,
        user: &User,
        session: &Session,
        code: &str,
    ) -> Result<Vec<String>, AccountError> {
        let stored = self.store.get_second_factor(&user.id).await?;
        let wrong = || AccountError::Invalid("that code is not the one the app shows".into());
        let sealed = stored.pending.ok_or_else(|| {
            AccountError::Invalid("start the set-up again: no secret is waiting".into())
        })?;
        let secret = self.open(&user.id, &sealed)?;
        let now = crate::domain::now();
        let step = totp::matching_step(&secret, code, now.timestamp())
            .map_err(|e| AccountError::Invalid(e.to_string()))?
            .ok_or_else(wrong)?;
        let codes = totp::new_recovery_codes();
        let hashes: Vec<String> = codes.iter().map(|c| totp::recovery_hash(c)).collect();
        let entry = by.merchant_entry("user.two_factor_enabled", Some(&user.id), json!({}));
        self.store
            .enable_second_factor(&user.id, &sealed, step, &hashes, now, entry.as_ref())
            .await?;
        if session.stage == Stage::Enroll {
            let signed_in = by.merchant_entry(
                "user.signed_in",
                Some(&user.id),
                json!({ "second_factor": "totp" }),
            );
            let until = now + chrono::Duration::hours(SESSION_HOURS);
            self.store
                .set_session_stage(
                    &session.token_hash,
                    Stage::Enroll,
                    Stage::Full,
                    until,
                    signed_in.as_ref(),
                )
                .await?;
        }
        Ok(codes)
    }

    /// Turns the acting user's second factor off, with a current code as proof; refused
    /// while the merchant requires it.
    pub async fn disable(
        &self,
        by: &Acting,
        user: &User,
        merchant: &Merchant,
        code: &str,
    ) -> Result<(), AccountError> {
        if merchant.require_two_factor {
            return Err(AccountError::Invalid(
                "this merchant requires two-factor sign-in for every user".into(),
            ));
        }
        if self.check_code(by, user, code).await?.is_none() {
            return Err(AccountError::Invalid(
                "that code is not the one the app shows".into(),
            ));
        }
        let entry = by.merchant_entry("user.two_factor_disabled", Some(&user.id), json!({}));
        Ok(self
            .store
            .disable_second_factor(&user.id, entry.as_ref())
            .await?)
    }

    /// The code asked after the password: a six-digit code (once) or a recovery code (once).
    /// Each try counts toward the sign-in throttle like a password; the right one signs the
    /// session in fully.
    pub async fn sign_in(
        &self,
        guard: &SignInGuard,
        signed: (&Session, &User),
        code: &str,
        client: &str,
        origin: &Origin,
    ) -> Result<(), SignInError> {
        let (session, user) = signed;
        let now = crate::domain::now();
        // Counted like a password try; the code is checked here, not by the password pool.
        if let Err(refusal) = guard.admit(&self.store, &user.email, client, now).await? {
            return Err(SignInError::refused(refusal, now));
        }
        let by = Acting::user(user, false, origin.clone());
        let method = self
            .check_code(&by, user, code)
            .await
            .map_err(|e| match e {
                AccountError::Store(s) => SignInError::Store(s),
                _ => SignInError::Wrong,
            })?;
        let Some(method) = method else {
            let mut entry =
                super::access::refused_sign_in(Some(&user.merchant_id), &user.email, origin);
            entry.detail = json!({ "step": "second_factor" }).to_string();
            self.store.record_audit(&entry).await?;
            return Err(SignInError::Wrong);
        };
        guard
            .succeeded(&self.store, &user.email, client, now)
            .await?;
        let entry = by.merchant_entry(
            "user.signed_in",
            Some(&user.id),
            json!({ "second_factor": method }),
        );
        let until = now + chrono::Duration::hours(SESSION_HOURS);
        let moved = self
            .store
            .set_session_stage(
                &session.token_hash,
                Stage::SecondFactor,
                Stage::Full,
                until,
                entry.as_ref(),
            )
            .await?;
        if moved {
            Ok(())
        } else {
            Err(SignInError::Wrong)
        }
    }

    /// Which kind of code `code` was, if it is the user's and unused: `totp` or
    /// `recovery_code` (a used recovery code is recorded with its use).
    async fn check_code(
        &self,
        by: &Acting,
        user: &User,
        code: &str,
    ) -> Result<Option<&'static str>, AccountError> {
        let stored = self.store.get_second_factor(&user.id).await?;
        let Some(sealed) = stored.secret else {
            return Ok(None);
        };
        let now = crate::domain::now();
        if totp::is_recovery_code(code) {
            let entry = by.merchant_entry(
                "user.recovery_code_used",
                Some(&user.id),
                json!({ "left": stored.codes_left - 1 }),
            );
            let used = self
                .store
                .use_recovery_code(&user.id, &totp::recovery_hash(code), now, entry.as_ref())
                .await?;
            return Ok(used.then_some("recovery_code"));
        }
        let secret = self.open(&user.id, &sealed)?;
        let step = totp::matching_step(&secret, code, now.timestamp())
            .map_err(|e| AccountError::Invalid(e.to_string()))?;
        match step {
            // Accepted once: a replay of the same code (or an older one) is refused.
            Some(step) if self.store.accept_totp_step(&user.id, step).await? => Ok(Some("totp")),
            _ => Ok(None),
        }
    }

    fn open(&self, user_id: &str, sealed: &str) -> Result<String, AccountError> {
        self.secrets
            .open(sealed, &seal_context(user_id))
            .map_err(|e| AccountError::Invalid(format!("the two-factor secret: {e}")))
    }

    /// Whether every user of the merchant must use a second factor (owners only).
    pub async fn require(&self, by: &Acting, on: bool) -> Result<Merchant, AccountError> {
        by.require(Action::ManageTeam)?;
        let entry = by.merchant_entry(
            "settings.two_factor_required",
            None,
            json!({ "required": on }),
        );
        Ok(self
            .store
            .set_require_two_factor(by.merchant_id(), on, entry.as_ref())
            .await?)
    }
}

/// Clears a user's second factor (the operator's `hundi user reset-2fa`, for a lost phone):
/// they sign in with the password alone, or set it up again where the merchant requires it.
pub async fn reset(store: &dyn Store, by: &Acting, user: &User) -> Result<(), AccountError> {
    by.require(Action::ManageTeam)?;
    let entry = by.merchant_entry("user.two_factor_reset", Some(&user.id), json!({}));
    Ok(store
        .disable_second_factor(&user.id, entry.as_ref())
        .await?)
}
