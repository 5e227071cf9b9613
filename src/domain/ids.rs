//! Prefixed, time-ordered identifiers (`pay_…`, `evt_…`).
//!
//! The body is a UUIDv7 in lowercase hex: ids sort by creation time, which keeps
//! b-tree inserts local and makes "newest first" a cheap index scan.

use uuid::Uuid;

pub fn new_id(prefix: &str) -> String {
    format!("{prefix}_{}", Uuid::now_v7().simple())
}

/// A random token of `len` alphanumeric characters from the OS CSPRNG, for secrets.
pub fn random_token(len: usize) -> String {
    use rand::distributions::Alphanumeric;
    use rand::Rng;
    rand::rngs::OsRng
        .sample_iter(&Alphanumeric)
        .take(len)
        .map(char::from)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_carry_their_prefix_and_sort_by_time() {
        let a = new_id("pay");
        let b = new_id("pay");
        assert!(a.starts_with("pay_"));
        assert_eq!(a.len(), 4 + 32);
        assert!(a < b, "{a} should sort before {b}");
    }

    #[test]
    fn tokens_are_alphanumeric_and_distinct() {
        let t = random_token(32);
        assert_eq!(t.len(), 32);
        assert!(t.chars().all(|c| c.is_ascii_alphanumeric()));
        assert_ne!(t, random_token(32));
    }
}
