//! Secrets Hundi must read back (dialect credentials, copies of API keys a dialect signs
//! with) are sealed with AES-256-GCM under a master key that never enters the database: a
//! stolen database dump holds no usable secret.
//!
//! The master key comes from `HUNDI_MASTER_KEY` (64 hex digits or base64 of 32 bytes), else
//! from the file `HUNDI_MASTER_KEY_FILE` names, else from `hundi.key` beside the SQLite
//! database (or in the working directory for PostgreSQL), created on first use with mode 0600.
//! Every node of one deployment needs the same key.
//!
//! A deployment may hold a short ring of keys (`key_file.rs`): the first seals, each opens.
//! `hundi secrets rotate` puts a new key first and re-seals every value under it; a server
//! whose key comes from a file follows the file's changes by itself, so it keeps working
//! during and after a rotation without a restart.

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

pub mod key_file;

#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    #[error("HUNDI_MASTER_KEY must be 32 bytes as 64 hex digits or base64")]
    BadKey,
    #[error("master key file {0}: {1}")]
    File(PathBuf, std::io::Error),
    #[error("a sealed secret could not be opened (wrong master key, or the data was altered)")]
    Open,
}

/// The master keys and their ciphers; clones share them, so a key file read again reaches
/// every part of the server.
#[derive(Clone)]
pub struct SecretBox {
    ring: Arc<Ring>,
}

struct Ring {
    /// The first seals; every one opens.
    keys: RwLock<Arc<Vec<Aes256Gcm>>>,
    /// The file the keys came from, followed for changes.
    file: Option<key_file::Watch>,
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
        SecretBox::ring(&[key], None)
    }

    fn ring(keys: &[[u8; 32]], file: Option<PathBuf>) -> SecretBox {
        SecretBox {
            ring: Arc::new(Ring {
                keys: RwLock::new(Arc::new(ciphers(keys))),
                file: file.map(key_file::Watch::new),
            }),
        }
    }

    /// A box with a fresh random key (tests, and a first start with nowhere to keep one).
    pub fn random() -> SecretBox {
        SecretBox::new(random_key())
    }

    /// A fresh random key, for a rotation.
    pub fn generate_key() -> [u8; 32] {
        random_key()
    }

    /// Reads the master key as `source` says (`HUNDI_MASTER_KEY` or `HUNDI_MASTER_KEY_FILE`,
    /// see the module's note), creating the file on first use.
    pub fn load(database_url: &str, source: &MasterKeySource) -> Result<SecretBox, SecretError> {
        let Some(path) = source.file_for(database_url) else {
            let text = source.key.as_deref().unwrap_or_default();
            return Ok(SecretBox::ring(&key_file::parse_ring(text)?, None));
        };
        match key_file::read(&path) {
            Ok(keys) => Ok(SecretBox::ring(&keys, Some(path))),
            Err(SecretError::File(_, e)) if e.kind() == std::io::ErrorKind::NotFound => {
                let key = random_key();
                key_file::create(&path, &key).map_err(|e| SecretError::File(path.clone(), e))?;
                tracing::info!(path = %path.display(), "created the master key for sealed secrets");
                Ok(SecretBox::ring(&[key], Some(path)))
            }
            Err(e) => Err(e),
        }
    }

    /// The ring a key file holds, followed for changes.
    pub fn load_file(path: PathBuf) -> Result<SecretBox, SecretError> {
        Ok(SecretBox::ring(&key_file::read(&path)?, Some(path)))
    }

    /// How many keys the ring holds (the first seals).
    pub fn key_count(&self) -> usize {
        self.keys().len()
    }

    /// The file the keys come from; `None` when `HUNDI_MASTER_KEY` holds them.
    pub fn file(&self) -> Option<&Path> {
        self.ring.file.as_ref().map(|w| w.path.as_path())
    }

    /// The ciphers now, after reading the key file again if it changed.
    fn keys(&self) -> Arc<Vec<Aes256Gcm>> {
        if let Some(keys) = self.ring.file.as_ref().and_then(|w| w.changed()) {
            if let Ok(mut held) = self.ring.keys.write() {
                *held = Arc::new(ciphers(&keys));
            }
        }
        match self.ring.keys.read() {
            Ok(keys) => keys.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
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
        let keys = self.keys();
        let Some(cipher) = keys.first() else {
            return String::new();
        };
        let sealed = cipher
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

    /// Opens a sealed value with whichever key of the ring sealed it.
    pub fn open(&self, sealed: &str, context: &str) -> Result<String, SecretError> {
        self.open_with_index(sealed, context)
            .map(|(plain, _)| plain)
    }

    /// Opens a value and, when a key other than the first sealed it, seals it again under
    /// the first; `None` when it is under the first already.
    pub fn reseal(&self, sealed: &str, context: &str) -> Result<Option<String>, SecretError> {
        match self.open_with_index(sealed, context)? {
            (_, 0) => Ok(None),
            (plain, _) => Ok(Some(self.seal(&plain, context))),
        }
    }

    fn open_with_index(&self, sealed: &str, context: &str) -> Result<(String, usize), SecretError> {
        let bytes = sealed
            .strip_prefix(SEALED_PREFIX)
            .and_then(|b| B64.decode(b).ok())
            .filter(|b| b.len() > 12)
            .ok_or(SecretError::Open)?;
        let (nonce, body) = bytes.split_at(12);
        let payload = || Payload {
            msg: body,
            aad: context.as_bytes(),
        };
        for (i, cipher) in self.keys().iter().enumerate() {
            if let Ok(plain) = cipher.decrypt(Nonce::from_slice(nonce), payload()) {
                return String::from_utf8(plain)
                    .map(|p| (p, i))
                    .map_err(|_| SecretError::Open);
            }
        }
        Err(SecretError::Open)
    }
}

fn ciphers(keys: &[[u8; 32]]) -> Vec<Aes256Gcm> {
    keys.iter().map(|k| Aes256Gcm::new(&(*k).into())).collect()
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
    crate::domain::database_file::beside_database(database_url, "hundi.key")
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
    fn a_ring_opens_under_any_key_and_reseals_under_the_first() {
        let (old, new) = ([1u8; 32], [2u8; 32]);
        let before = SecretBox::new(old).seal("s3cret", "ctx");
        let both = SecretBox::ring(&[new, old], None);
        assert_eq!(both.open(&before, "ctx").unwrap(), "s3cret");
        let after = both
            .reseal(&before, "ctx")
            .unwrap()
            .expect("moved to the new key");
        assert!(SecretBox::new(old).open(&after, "ctx").is_err());
        assert_eq!(SecretBox::new(new).open(&after, "ctx").unwrap(), "s3cret");
        assert_eq!(
            both.reseal(&after, "ctx").unwrap(),
            None,
            "already under the first"
        );
    }

    #[test]
    fn a_box_follows_its_key_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("hundi.key");
        let source = MasterKeySource {
            key: None,
            file: Some(path.clone()),
        };
        let running = SecretBox::load("sqlite://x.db", &source).unwrap();
        let old = key_file::read(&path).unwrap()[0];
        let new = [9u8; 32];
        let sealed_new = SecretBox::new(new).seal("s", "c");
        assert!(running.open(&sealed_new, "c").is_err());
        // A rotation replaces the file; the running box reads it within a second.
        std::thread::sleep(std::time::Duration::from_millis(1100));
        key_file::replace(&path, &[new, old]).unwrap();
        assert_eq!(running.open(&sealed_new, "c").unwrap(), "s");
        assert_eq!(running.key_count(), 2);
    }
}
