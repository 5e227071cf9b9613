//! A phone that forwards the merchant's received-money SMS (wallet and bank alerts) to
//! `POST /v1/credits/sms`. Each has its own token, shown once and kept only as a hash, and is
//! bound to one merchant and one mode; revoking it stops it at once.

use chrono::{DateTime, Duration, Utc};
use sha2::{Digest, Sha256};

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct SmsDevice {
    pub id: String,
    pub merchant_id: String,
    pub livemode: bool,
    /// What the merchant calls it ("Shop phone").
    pub name: String,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

/// A device token starts with this, so a leaked one is recognisable for what it is.
pub const TOKEN_PREFIX: &str = "hsd_";

pub const NAME_MAX: usize = 100;

/// A forwarded SMS must have been received within this long of its arrival here (either
/// way, for clocks that differ a little); the same body is refused twice within it.
pub fn replay_window() -> Duration {
    Duration::minutes(5)
}

/// A new token: the prefix and 32 random letters and digits (about 190 bits).
pub fn new_token() -> String {
    format!("{TOKEN_PREFIX}{}", super::ids::random_token(32))
}

/// What is stored of a token: its SHA-256, hex. A token is random and long, so a fast hash
/// is enough (as for API keys).
pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// What is remembered of a body to refuse it a second time.
pub fn body_digest(body: &[u8]) -> String {
    hex::encode(Sha256::digest(body))
}

/// Whether an SMS received at `sent` may still be taken at `now`.
pub fn fresh(sent: DateTime<Utc>, now: DateTime<Utc>) -> bool {
    (now - sent).abs() <= replay_window()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_distinct_and_stored_as_hashes() {
        let (a, b) = (new_token(), new_token());
        assert_ne!(a, b);
        assert!(a.starts_with(TOKEN_PREFIX) && a.len() == TOKEN_PREFIX.len() + 32);
        assert_eq!(token_hash(&a).len(), 64);
        assert_ne!(token_hash(&a), token_hash(&b));
    }

    #[test]
    fn five_minutes_either_way_is_fresh() {
        let now = Utc::now();
        assert!(fresh(now - Duration::seconds(299), now));
        assert!(fresh(now + Duration::seconds(60), now));
        assert!(!fresh(now - Duration::seconds(301), now));
        assert!(!fresh(now + Duration::minutes(6), now));
    }
}
