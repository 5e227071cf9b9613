//! An e-mail address, checked once: wherever one is typed (a customer's, a dashboard
//! login's), the same rule holds.

use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email(String);

/// Why a text is not an e-mail address.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EmailError {
    #[error("must be at most {} characters", Email::MAX)]
    TooLong,
    #[error("must be a valid e-mail address")]
    Invalid,
}

impl Email {
    /// The longest address (RFC 5321's limit on a path).
    pub const MAX: usize = 254;

    /// An address as far as can be told without sending mail: something before one `@`, a
    /// dotted domain after it, no spaces or control characters. Surrounding blanks are
    /// dropped.
    pub fn parse(text: &str) -> Result<Email, EmailError> {
        let v = text.trim();
        if v.chars().count() > Email::MAX {
            return Err(EmailError::TooLong);
        }
        if Email::well_formed(v) {
            Ok(Email(v.to_string()))
        } else {
            Err(EmailError::Invalid)
        }
    }

    /// The rule alone, on the text as it is (no trimming, no length limit).
    pub fn well_formed(v: &str) -> bool {
        match v.split_once('@') {
            Some((local, domain)) => {
                !local.is_empty()
                    && domain.contains('.')
                    && !domain.starts_with('.')
                    && !domain.ends_with('.')
                    && !v.chars().any(|c| c.is_whitespace() || c.is_control())
                    && !domain.contains('@')
            }
            None => false,
        }
    }

    /// The address in lower case: how logins are stored and looked up.
    pub fn lowercase(&self) -> String {
        self.0.to_lowercase()
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_checked_once() {
        assert_eq!(
            Email::parse(" a@b.co ").map(|e| e.to_string()),
            Ok("a@b.co".into())
        );
        assert_eq!(Email::parse("a@b"), Err(EmailError::Invalid));
        assert_eq!(Email::parse("@b.co"), Err(EmailError::Invalid));
        assert_eq!(Email::parse("a b@c.co"), Err(EmailError::Invalid));
        assert_eq!(Email::parse("a@b@c.co"), Err(EmailError::Invalid));
        let long = format!("{}@b.co", "a".repeat(250));
        assert_eq!(Email::parse(&long), Err(EmailError::TooLong));
        assert_eq!(
            Email::parse("A@B.co").map(|e| e.lowercase()),
            Ok("a@b.co".into())
        );
    }
}
