//! Secrets Hundi must read back (dialect credentials, copies of API keys a dialect signs
//! with) are sealed with AES-256-GCM under a master key that never enters the database: a
//! stolen database dump holds no usable secret.
//!
//! The master key comes from `HUNDI_MASTER_KEY` (64 hex digits or base64 of 32 bytes), else
//! from the file `HUNDI_MASTER_KEY_FILE` names, else from `hundi.key` beside the SQLite
//! database (or in the working directory for PostgreSQL), created on first use with mode 0600.
//! Every node of one deployment needs the same key.

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    #[error("HUNDI_MASTER_KEY must be 32 bytes as 64 hex digits or base64")]
    BadKey,
    #[error("master key file {0}: {1}")]
    File(PathBuf, std::io::Error),
    #[error("a sealed secret could not be opened (wrong master key, or the data was altered)")]
    Open,
}

/// The master key and the cipher built from it.
#[derive(Clone)]
pub struct SecretBox {
    cipher: Aes256Gcm,
}

impl std::fmt::Debug for SecretBox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretBox(..)")
    }
}

const SEALED_PREFIX: &str = "v1:";

/// Where the master key of sealed secrets comes from (`secrets.rs`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MasterKeySource {
    /// `HUNDI_MASTER_KEY`: the key itself (64 hex digits or base64).
    pub key: Option<String>,
    /// `HUNDI_MASTER_KEY_FILE`: a file holding it (default: next to the SQLite file).
    pub file: Option<PathBuf>,
}

impl MasterKeySource {
    /// The file the key of `database_url` is read from, for an operator to carry along to a
    /// copy of the database; `None` when `HUNDI_MASTER_KEY` holds the key itself.
    pub fn file_for(&self, database_url: &str) -> Option<PathBuf> {
        if self.key.as_deref().is_some_and(|k| !k.trim().is_empty()) {
            return None;
        }
        let file = self.file.clone().filter(|p| !p.as_os_str().is_empty());
        Some(file.unwrap_or_else(|| default_key_file(database_url)))
    }
}

impl SecretBox {
    pub fn new(key: [u8; 32]) -> SecretBox {
        SecretBox {
            cipher: Aes256Gcm::new(&key.into()),
        }
    }

    /// A box with a fresh random key (tests, and a first start with nowhere to keep one).
    pub fn random() -> SecretBox {
        SecretBox::new(random_key())
    }

    /// Reads the master key as `source` says (`HUNDI_MASTER_KEY` or `HUNDI_MASTER_KEY_FILE`,
    /// see the module's note), creating the file on first use.
    pub fn load(database_url: &str, source: &MasterKeySource) -> Result<SecretBox, SecretError> {
        if let Some(text) = &source.key {
            if !text.trim().is_empty() {
                return parse_key(text).map(SecretBox::new);
            }
        }
        let path = source
            .file_for(database_url)
            .unwrap_or_else(|| default_key_file(database_url));
        match std::fs::read_to_string(&path) {
            Ok(text) => parse_key(&text).map(SecretBox::new),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let key = random_key();
                write_key_file(&path, &key).map_err(|e| SecretError::File(path.clone(), e))?;
                tracing::info!(path = %path.display(), "created the master key for sealed secrets");
                Ok(SecretBox::new(key))
            }
            Err(e) => Err(SecretError::File(path, e)),
        }
    }

    /// Whether a stored value is sealed (rather than a secret kept in clear).
    pub fn is_sealed(value: &str) -> bool {
        value.starts_with(SEALED_PREFIX)
    }

    /// Seals `plain`, bound to `context` (the row it belongs to): a sealed value copied into
    /// another row does not open there.
    pub fn seal(&self, plain: &str, context: &str) -> String {
        use rand::RngCore;
        let mut nonce = [0u8; 12];
        rand::rngs::OsRng.fill_bytes(&mut nonce);
        let sealed = self
            .cipher
            .encrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: plain.as_bytes(),
                    aad: context.as_bytes(),
                },
            )
            // AES-GCM fails only for messages beyond 64 GiB.
            .unwrap_or_default();
        let mut out = nonce.to_vec();
        out.extend_from_slice(&sealed);
        format!("{SEALED_PREFIX}{}", B64.encode(out))
    }

    pub fn open(&self, sealed: &str, context: &str) -> Result<String, SecretError> {
        let bytes = sealed
            .strip_prefix(SEALED_PREFIX)
            .and_then(|b| B64.decode(b).ok())
            .filter(|b| b.len() > 12)
            .ok_or(SecretError::Open)?;
        let (nonce, body) = bytes.split_at(12);
        let plain = self
            .cipher
            .decrypt(
                Nonce::from_slice(nonce),
                Payload {
                    msg: body,
                    aad: context.as_bytes(),
                },
            )
            .map_err(|_| SecretError::Open)?;
        String::from_utf8(plain).map_err(|_| SecretError::Open)
    }
}

fn random_key() -> [u8; 32] {
    use rand::RngCore;
    let mut key = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut key);
    key
}

fn parse_key(text: &str) -> Result<[u8; 32], SecretError> {
    let text = text.trim();
    let bytes = hex::decode(text)
        .ok()
        .or_else(|| B64.decode(text).ok())
        .ok_or(SecretError::BadKey)?;
    bytes.try_into().map_err(|_| SecretError::BadKey)
}

/// `hundi.key` beside a SQLite database file; the working directory otherwise.
fn default_key_file(database_url: &str) -> PathBuf {
    let file = database_url
        .strip_prefix("sqlite://")
        .or_else(|| database_url.strip_prefix("sqlite:"))
        .map(|rest| rest.split('?').next().unwrap_or(rest))
        .filter(|p| !p.is_empty() && *p != ":memory:");
    match file.and_then(|f| Path::new(f).parent()) {
        Some(dir) if !dir.as_os_str().is_empty() => dir.join("hundi.key"),
        _ => PathBuf::from("hundi.key"),
    }
}

fn write_key_file(path: &Path, key: &[u8; 32]) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    file.write_all(hex::encode(key).as_bytes())?;
    file.write_all(b"\n")?;
    file.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_secrets_open_only_with_their_key_and_context() {
        let a = SecretBox::random();
        let sealed = a.seal("kz_secret_1", "mer_1/test/kazawallet");
        assert!(!sealed.contains("kz_secret_1"));
        assert_eq!(
            a.open(&sealed, "mer_1/test/kazawallet").unwrap(),
            "kz_secret_1"
        );
        assert!(a.open(&sealed, "mer_2/test/kazawallet").is_err());
        assert!(SecretBox::random()
            .open(&sealed, "mer_1/test/kazawallet")
            .is_err());
        // Two seals of one secret differ (fresh nonce each time).
        assert_ne!(sealed, a.seal("kz_secret_1", "mer_1/test/kazawallet"));
    }

    #[test]
    fn master_keys_parse_from_hex_or_base64_of_32_bytes() {
        let key = [7u8; 32];
        assert_eq!(parse_key(&hex::encode(key)).unwrap(), key);
        assert_eq!(parse_key(&format!(" {}\n", B64.encode(key))).unwrap(), key);
        assert!(parse_key("short").is_err());
        assert!(parse_key(&hex::encode([1u8; 16])).is_err());
    }

    #[test]
    fn the_key_file_lives_beside_a_sqlite_database() {
        assert_eq!(
            default_key_file("sqlite:///var/lib/hundi/hundi.db?mode=rwc"),
            PathBuf::from("/var/lib/hundi/hundi.key")
        );
        assert_eq!(
            default_key_file("sqlite://hundi.db"),
            PathBuf::from("hundi.key")
        );
        assert_eq!(
            default_key_file("postgres://u@h/db"),
            PathBuf::from("hundi.key")
        );
    }

    #[test]
    fn a_key_file_is_created_once_and_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("hundi.key");
        let key = random_key();
        write_key_file(&path, &key).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(parse_key(&text).unwrap(), key);
        assert!(write_key_file(&path, &key).is_err(), "never overwritten");
    }
}
