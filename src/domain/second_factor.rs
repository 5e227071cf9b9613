//! Two-factor sign-in: time-based one-time codes (RFC 6238: SHA-1, 30-second steps, 6
//! digits, one step either side accepted for clock drift) and single-use recovery codes.
//! The arithmetic is the `totp-rs` crate's; what is decided here is which step a code
//! matched (so that it is never accepted twice) and how recovery codes look and are hashed.

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use totp_rs::{Algorithm, Secret, TOTP};

/// Seconds per step, digits per code, and steps accepted either side of now.
pub const STEP_SECS: u64 = 30;
pub const DIGITS: usize = 6;
const SKEW: i64 = 1;
/// Random bytes in a secret: 160 bits, as RFC 4226 recommends.
const SECRET_BYTES: usize = 20;
/// Recovery codes given at set-up, each usable once.
pub const RECOVERY_CODES: usize = 10;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SecondFactorError {
    #[error("the two-factor secret is not valid")]
    BadSecret,
}

/// What a user's sealed secret is bound to: it opens for that user only.
pub fn seal_context(user_id: &str) -> String {
    format!("user:{user_id}:second_factor")
}

/// A new random secret, as the base32 text an authenticator app is given.
pub fn new_secret() -> String {
    use rand::RngCore;
    let mut bytes = [0u8; SECRET_BYTES];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    Secret::Raw(bytes.to_vec()).to_encoded().to_string()
}

fn totp(secret: &str, account: &str) -> Result<TOTP, SecondFactorError> {
    let bytes = Secret::Encoded(secret.to_string())
        .to_bytes()
        .map_err(|_| SecondFactorError::BadSecret)?;
    // An account name may not hold ':' in an otpauth URL; an e-mail address has none.
    TOTP::new(
        Algorithm::SHA1,
        DIGITS,
        0,
        STEP_SECS,
        bytes,
        Some("Hundi".to_string()),
        account.replace(':', ""),
    )
    .map_err(|_| SecondFactorError::BadSecret)
}

/// The `otpauth://` URL an authenticator app reads from the QR code.
pub fn otpauth_url(secret: &str, account: &str) -> Result<String, SecondFactorError> {
    Ok(totp(secret, account)?.get_url())
}

/// The code for `step` (a test, or a client computing what the app shows).
pub fn code_at(secret: &str, step: i64) -> Result<String, SecondFactorError> {
    let at = u64::try_from(step).unwrap_or(0) * STEP_SECS;
    Ok(totp(secret, "")?.generate(at))
}

/// The step `unix_secs` falls in.
pub fn step_of(unix_secs: i64) -> i64 {
    unix_secs.div_euclid(STEP_SECS as i64)
}

/// The step (now, or one either side) whose code `code` is, if any. The comparison of each
/// candidate does not stop at the first differing digit.
pub fn matching_step(
    secret: &str,
    code: &str,
    unix_secs: i64,
) -> Result<Option<i64>, SecondFactorError> {
    let code: String = code.chars().filter(|c| !c.is_whitespace()).collect();
    if code.len() != DIGITS || !code.bytes().all(|b| b.is_ascii_digit()) {
        return Ok(None);
    }
    let now = step_of(unix_secs);
    let mut found = None;
    for step in now - SKEW..=now + SKEW {
        let expected = code_at(secret, step)?;
        if bool::from(expected.as_bytes().ct_eq(code.as_bytes())) {
            found = Some(step);
        }
    }
    Ok(found)
}

/// Ten new recovery codes, as shown once: `xxxxx-xxxxx` of lowercase letters and digits
/// (about 51 bits each).
pub fn new_recovery_codes() -> Vec<String> {
    (0..RECOVERY_CODES)
        .map(|_| {
            let t = crate::domain::ids::random_token(10).to_lowercase();
            format!("{}-{}", &t[..5], &t[5..])
        })
        .collect()
}

/// What a recovery code is stored as: SHA-256 of the code without dash, spaces or case. The
/// codes are random enough that a fast hash does not make guessing them practical.
pub fn recovery_hash(code: &str) -> String {
    let plain: String = code
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_lowercase())
        .collect();
    hex::encode(Sha256::digest(plain.as_bytes()))
}

/// Whether what was typed looks like a recovery code rather than a six-digit code.
pub fn is_recovery_code(text: &str) -> bool {
    text.chars().filter(|c| c.is_ascii_alphanumeric()).count() == 10
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rfc_6238_vector_for_sha1() {
        // RFC 6238 appendix B: the ASCII secret "12345678901234567890", T = 59 s gives
        // 94287082; its last six digits are the 6-digit code.
        let secret = Secret::Raw(b"12345678901234567890".to_vec())
            .to_encoded()
            .to_string();
        assert_eq!(code_at(&secret, step_of(59)).unwrap(), "287082");
        assert_eq!(code_at(&secret, step_of(1_111_111_109)).unwrap(), "081804");
    }

    #[test]
    fn a_code_matches_its_step_and_one_either_side_only() {
        let secret = new_secret();
        let now = 1_800_000_000;
        let step = step_of(now);
        for (offset, accepted) in [(-2, false), (-1, true), (0, true), (1, true), (2, false)] {
            let code = code_at(&secret, step + offset).unwrap();
            let found = matching_step(&secret, &code, now).unwrap();
            assert_eq!(found.is_some(), accepted, "offset {offset}");
            if accepted {
                assert_eq!(found, Some(step + offset));
            }
        }
        for junk in ["", "12345", "1234567", "abcdef", "12 34 5x"] {
            assert_eq!(matching_step(&secret, junk, now).unwrap(), None, "{junk}");
        }
        assert!(matching_step("not base32!", "123456", now).is_err());
    }

    #[test]
    fn recovery_codes_are_distinct_and_hashed_without_their_dash() {
        let codes = new_recovery_codes();
        assert_eq!(codes.len(), RECOVERY_CODES);
        let unique: std::collections::HashSet<_> = codes.iter().collect();
        assert_eq!(unique.len(), RECOVERY_CODES);
        let c = &codes[0];
        assert!(is_recovery_code(c));
        assert_eq!(
            recovery_hash(c),
            recovery_hash(&c.replace('-', "").to_uppercase())
        );
        assert!(!is_recovery_code("123456"));
    }

    #[test]
    fn the_otpauth_url_names_the_issuer_and_account() {
        let url = otpauth_url(&new_secret(), "owner@shop.example").unwrap();
        assert!(
            url.starts_with("otpauth://totp/Hundi:owner%40shop.example?"),
            "{url}"
        );
        assert!(url.contains("issuer=Hundi"), "{url}");
    }
}
