//! The stored certificate: one file per domain, `<cert dir>/<domain>.pem`, holding the chain
//! then its private key. One file, so a renewal replaces both at once (written beside, then
//! renamed): a crash can never leave a new certificate with an old key.

use super::TlsError;
use chrono::{DateTime, Utc};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::sign::CertifiedKey;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Where one domain's certificate is kept.
#[derive(Debug, Clone)]
pub struct CertFiles {
    path: PathBuf,
}

/// A certificate read back: its PEM text and when it expires.
#[derive(Debug, Clone)]
pub struct StoredCert {
    pub pem: String,
    pub not_after: DateTime<Utc>,
}

/// The largest certificate file read: a chain of a few certificates and a key is a few KB.
const MAX_FILE: u64 = 256 * 1024;

impl CertFiles {
    pub fn new(cert_dir: &Path, domain: &str) -> CertFiles {
        CertFiles {
            path: cert_dir.join(format!("{domain}.pem")),
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The stored certificate; `None` when there is none yet.
    pub fn read(&self) -> Result<Option<StoredCert>, TlsError> {
        let len = match std::fs::metadata(&self.path) {
            Ok(m) => m.len(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(source) => return Err(self.file_error(source)),
        };
        if len > MAX_FILE {
            return Err(self.bad("larger than any certificate"));
        }
        let pem = std::fs::read_to_string(&self.path).map_err(|e| self.file_error(e))?;
        let not_after = self.not_after(&pem)?;
        Ok(Some(StoredCert { pem, not_after }))
    }

    /// Stores a chain and its key (PEM), readable by this user only.
    pub fn write(&self, chain_pem: &str, key_pem: &str) -> Result<(), TlsError> {
        let text = format!("{}\n{}\n", chain_pem.trim_end(), key_pem.trim_end());
        write_private(&self.path, &text).map_err(|e| self.file_error(e))
    }

    /// The chain's first certificate's expiry.
    fn not_after(&self, pem: &str) -> Result<DateTime<Utc>, TlsError> {
        let first = CertificateDer::pem_slice_iter(pem.as_bytes())
            .next()
            .ok_or_else(|| self.bad("no certificate in it"))?
            .map_err(|e| self.bad(&e.to_string()))?;
        let (_, cert) = x509_parser::parse_x509_certificate(&first)
            .map_err(|e| self.bad(&format!("not a certificate: {e}")))?;
        DateTime::from_timestamp(cert.validity().not_after.timestamp(), 0)
            .ok_or_else(|| self.bad("an expiry out of range"))
    }

    /// What a TLS handshake presents: the chain with its key, checked to belong together.
    pub fn certified_key(&self, stored: &StoredCert) -> Result<Arc<CertifiedKey>, TlsError> {
        let pem = stored.pem.as_bytes();
        let chain = CertificateDer::pem_slice_iter(pem)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| self.bad(&e.to_string()))?;
        let key = PrivateKeyDer::from_pem_slice(pem).map_err(|e| self.bad(&e.to_string()))?;
        let provider = rustls::crypto::ring::default_provider();
        let certified = CertifiedKey::from_der(chain, key, &provider)
            .map_err(|e| self.bad(&format!("the key does not fit the certificate: {e}")))?;
        Ok(Arc::new(certified))
    }

    fn file_error(&self, source: std::io::Error) -> TlsError {
        TlsError::File {
            path: self.path.clone(),
            source,
        }
    }

    fn bad(&self, message: &str) -> TlsError {
        TlsError::Certificate {
            path: self.path.clone(),
            message: message.to_string(),
        }
    }
}

/// Replaces `path` with `text` in a file only its owner can read (it holds a private key):
/// written beside it, synced, then renamed over it, so a reader sees the old file or the new.
pub(super) fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let mut temp = path.as_os_str().to_owned();
    temp.push(".new");
    let temp = PathBuf::from(temp);
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&temp)?;
    file.write_all(text.as_bytes())?;
    file.sync_all()?;
    std::fs::rename(&temp, path)
}
