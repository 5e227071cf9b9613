//! API keys: a mode, permissions, a label; the secret is shown once and stored as SHA-256.

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Mode {
    Test,
    Live,
}

impl Mode {
    pub fn parse(s: &str) -> Option<Mode> {
        match s {
            "test" => Some(Mode::Test),
            "live" => Some(Mode::Live),
            _ => None,
        }
    }

    pub fn as_str(&self) -> &'static str {
        match self {
            Mode::Test => "test",
            Mode::Live => "live",
        }
    }

    pub fn is_live(&self) -> bool {
        *self == Mode::Live
    }

    pub fn from_livemode(livemode: bool) -> Mode {
        if livemode {
            Mode::Live
        } else {
            Mode::Test
        }
    }
}

/// What a key may do. `*:write` implies the matching `*:read`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Permission {
    /// Create payments and nothing else: for keys that live in a browser (a shop page using
    /// the Pakhi Pay SDK or PayGate's `fetch` example), where anyone can read them.
    PaymentsCreate,
    PaymentsRead,
    PaymentsWrite,
    RefundsRead,
    RefundsWrite,
    EventsRead,
    CreditsWrite,
    WebhooksWrite,
}

impl Permission {
    pub const ALL: [Permission; 8] = [
        Permission::PaymentsCreate,
        Permission::PaymentsRead,
        Permission::PaymentsWrite,
        Permission::RefundsRead,
        Permission::RefundsWrite,
        Permission::EventsRead,
        Permission::CreditsWrite,
        Permission::WebhooksWrite,
    ];

    pub fn as_str(&self) -> &'static str {
        match self {
            Permission::PaymentsCreate => "payments:create",
            Permission::PaymentsRead => "payments:read",
            Permission::PaymentsWrite => "payments:write",
            Permission::RefundsRead => "refunds:read",
            Permission::RefundsWrite => "refunds:write",
            Permission::EventsRead => "events:read",
            Permission::CreditsWrite => "credits:write",
            Permission::WebhooksWrite => "webhooks:write",
        }
    }

    pub fn parse(s: &str) -> Option<Permission> {
        Permission::ALL.into_iter().find(|p| p.as_str() == s)
    }

    /// The permission that also grants this one, if any.
    fn implied_by(&self) -> Option<Permission> {
        match self {
            Permission::PaymentsCreate | Permission::PaymentsRead => {
                Some(Permission::PaymentsWrite)
            }
            Permission::RefundsRead => Some(Permission::RefundsWrite),
            _ => None,
        }
    }
}

/// Parses "payments:write,refunds:write" (or "all"); an unknown name is an error naming it.
pub fn parse_permissions(list: &str) -> Result<Vec<Permission>, String> {
    if list.trim() == "all" || list.trim() == "*" {
        return Ok(Permission::ALL.to_vec());
    }
    let mut out = Vec::new();
    for name in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let p = Permission::parse(name).ok_or_else(|| format!("unknown permission '{name}'"))?;
        if !out.contains(&p) {
            out.push(p);
        }
    }
    if out.is_empty() {
        return Err("at least one permission is required".into());
    }
    out.sort();
    Ok(out)
}

pub fn format_permissions(perms: &[Permission]) -> String {
    perms
        .iter()
        .map(|p| p.as_str())
        .collect::<Vec<_>>()
        .join(",")
}

#[derive(Debug, Clone, PartialEq)]
pub struct ApiKey {
    pub id: String,
    pub merchant_id: String,
    pub mode: Mode,
    pub label: String,
    /// The first characters of the secret, safe to show (`hk_test_AbC1…`).
    pub prefix: String,
    pub secret_hash: Vec<u8>,
    pub permissions: Vec<Permission>,
    pub webhook_url: Option<String>,
    pub request_count: i64,
    pub created_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
    /// Requests per second the key may make; `None`: the instance's default.
    pub rate_limit: Option<u32>,
}

impl ApiKey {
    /// A key that can only create payments: the kind that lives in a browser, where anyone
    /// can copy it, so its requests are also limited per client address.
    pub fn is_browser_key(&self) -> bool {
        self.permissions == [Permission::PaymentsCreate]
    }

    pub fn allows(&self, wanted: Permission) -> bool {
        self.permissions.contains(&wanted)
            || wanted
                .implied_by()
                .is_some_and(|p| self.permissions.contains(&p))
    }

    /// A key that can only create payments: the kind meant for a browser (a shop page), so
    /// its secret is public and proves nothing.
    pub fn is_create_only(&self) -> bool {
        self.permissions
            .iter()
            .all(|p| *p == Permission::PaymentsCreate)
    }

    pub fn is_revoked(&self) -> bool {
        self.revoked_at.is_some()
    }

    /// Constant-time check of a presented secret against the stored hash.
    pub fn matches(&self, secret: &str) -> bool {
        hash_secret(secret).ct_eq(&self.secret_hash).into()
    }
}

/// The highest per-key limit (requests per second) that can be set.
pub const RATE_LIMIT_MAX: u32 = 1_000_000;

/// A key's rate limit as an operator types it: a number of requests per second
/// (1 to [`RATE_LIMIT_MAX`]), or `default` (or nothing) for the instance's default.
pub fn parse_rate_limit(text: &str) -> Result<Option<u32>, String> {
    let text = text.trim();
    if text.is_empty() || text.eq_ignore_ascii_case("default") {
        return Ok(None);
    }
    match text.parse::<u32>() {
        Ok(n) if (1..=RATE_LIMIT_MAX).contains(&n) => Ok(Some(n)),
        _ => Err(format!(
            "a rate limit is a number of requests per second from 1 to {RATE_LIMIT_MAX}, or 'default'"
        )),
    }
}

/// A newly generated key secret, to be shown once.
pub struct NewSecret {
    pub secret: String,
    pub prefix: String,
    pub hash: Vec<u8>,
}

pub fn generate_secret(mode: Mode) -> NewSecret {
    let secret = format!("hk_{}_{}", mode.as_str(), super::ids::random_token(40));
    let prefix = secret[..secret.len() - 32].to_string();
    let hash = hash_secret(&secret);
    NewSecret {
        secret,
        prefix,
        hash,
    }
}

pub fn hash_secret(secret: &str) -> Vec<u8> {
    Sha256::digest(secret.as_bytes()).to_vec()
}

/// The mode a secret claims by its prefix; a key's real mode comes from the store.
pub fn mode_of_secret(secret: &str) -> Option<Mode> {
    if secret.starts_with("hk_test_") {
        Some(Mode::Test)
    } else if secret.starts_with("hk_live_") {
        Some(Mode::Live)
    } else {
        None
    }
}

/// Revenue of payments made with a key: per currency, net of refunds, in minor units.
#[derive(Debug, Clone, PartialEq)]
pub struct KeyRevenue {
    pub key_id: String,
    pub currency: String,
    pub minor: i64,
}

/// What one take from a rate-limit bucket gave.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TokenGrant {
    /// Tokens handed out (at most the number asked for).
    pub granted: u32,
    /// Tokens left in the bucket after the take (fractions refill over time).
    pub left: f64,
}

/// A change to API keys another node (or process) made.
#[derive(Debug, Clone, PartialEq)]
pub enum KeyChange {
    /// This key was revoked or changed.
    Key(String),
    /// Changes may have been missed (the notification connection dropped): forget them all.
    Unknown,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_show_their_mode_and_match_only_themselves() {
        let s = generate_secret(Mode::Live);
        assert!(s.secret.starts_with("hk_live_"));
        assert!(s.prefix.starts_with("hk_live_") && s.prefix.len() < s.secret.len());
        assert_eq!(mode_of_secret(&s.secret), Some(Mode::Live));
        let key = ApiKey {
            id: "key_1".into(),
            merchant_id: "mer_1".into(),
            mode: Mode::Live,
            label: "l".into(),
            prefix: s.prefix.clone(),
            secret_hash: s.hash.clone(),
            permissions: vec![Permission::PaymentsWrite],
            webhook_url: None,
            request_count: 0,
            created_at: Utc::now(),
            revoked_at: None,
            rate_limit: None,
        };
        assert!(key.matches(&s.secret));
        assert!(!key.matches(&generate_secret(Mode::Live).secret));
        assert!(key.allows(Permission::PaymentsRead));
        assert!(!key.allows(Permission::RefundsWrite));
    }

    #[test]
    fn rate_limits_parse_within_bounds() {
        assert_eq!(parse_rate_limit("250"), Ok(Some(250)));
        assert_eq!(parse_rate_limit(" default "), Ok(None));
        assert_eq!(parse_rate_limit(""), Ok(None));
        for bad in ["0", "-1", "1.5", "1000001", "lots"] {
            assert!(parse_rate_limit(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn permissions_parse_and_name_the_unknown() {
        assert_eq!(
            parse_permissions("refunds:write, payments:write").unwrap(),
            vec![Permission::PaymentsWrite, Permission::RefundsWrite]
        );
        assert_eq!(
            parse_permissions("all").unwrap().len(),
            Permission::ALL.len()
        );
        assert!(parse_permissions("payments:delete")
            .unwrap_err()
            .contains("payments:delete"));
    }
}
