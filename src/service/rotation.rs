//! Master key rotation: every sealed value the database holds moved under a new key, in one
//! transaction, while servers keep running.
//!
//! The key ring (`secrets/key_file.rs`) makes it safe: the new key goes first in the ring
//! (the key file, or `HUNDI_MASTER_KEY`), the old one stays after it, so every value opens
//! before, during and after the re-sealing; servers that read their key from a file pick the
//! new ring up by themselves. Once no backup from before the rotation is needed, the old key
//! can leave the ring.

use crate::domain::credential::Credential;
use crate::domain::webhook::Endpoint;
use crate::secrets::{key_file, SecretBox, SecretError};
use crate::store::{SealedValue, Store, StoreError};
use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum RotationError {
    #[error(
        "HUNDI_MASTER_KEY holds one key. Put a new key first in it (HUNDI_MASTER_KEY=NEW,OLD; \
         a new key: `openssl rand -hex 32`) on every node, restart them, then rotate again"
    )]
    OneEnvKey,
    #[error(
        "with HUNDI_MASTER_KEY, the new key is the first one it lists; --new-key is for a key file"
    )]
    NewKeyWithEnv,
    #[error(
        "the key file {0} holds {max} keys already; delete the oldest line once no backup \
         needs it, then rotate",
        max = key_file::MAX_KEYS
    )]
    RingFull(PathBuf),
    #[error(transparent)]
    Key(#[from] SecretError),
    #[error("cannot write the key file {0}: {1}")]
    KeyFile(PathBuf, std::io::Error),
    /// A sealed value opens with no key of the ring, or the database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What a rotation did.
#[derive(Debug, Clone, PartialEq)]
pub struct Rotation {
    /// Values sealed again under the new key.
    pub resealed: u64,
    /// The key file now holding the new key first, if the keys come from a file.
    pub key_file: Option<PathBuf>,
}

/// Rotates to `new_key` (generated when `None`) for a ring read from a key file, or to the
/// first key of `HUNDI_MASTER_KEY`. Every value is checked to open before anything changes.
pub async fn rotate(
    store: &dyn Store,
    ring: &SecretBox,
    new_key: Option<[u8; 32]>,
) -> Result<Rotation, RotationError> {
    let Some(path) = ring.file().map(|p| p.to_path_buf()) else {
        if new_key.is_some() {
            return Err(RotationError::NewKeyWithEnv);
        }
        if ring.key_count() < 2 {
            return Err(RotationError::OneEnvKey);
        }
        let resealed = reseal_all(store, ring).await?;
        return Ok(Rotation {
            resealed,
            key_file: None,
        });
    };
    // Nothing changes unless every value opens now.
    check_all(store, ring).await?;
    let keys = next_ring(
        key_file::read(&path)?,
        new_key.unwrap_or_else(SecretBox::generate_key),
    )
    .ok_or_else(|| RotationError::RingFull(path.clone()))?;
    // The file first: a server that meets a value sealed under the new key finds the key.
    key_file::replace(&path, &keys).map_err(|e| RotationError::KeyFile(path.clone(), e))?;
    let rotated = SecretBox::load_file(path.clone())?;
    let resealed = reseal_all(store, &rotated).await?;
    Ok(Rotation {
        resealed,
        key_file: Some(path),
    })
}

/// The ring with `new` first and every key it held after it; `None` when that would pass
/// the ring's size. A key is never dropped here: values (or backups) may still need it.
fn next_ring(mut keys: Vec<[u8; 32]>, new: [u8; 32]) -> Option<Vec<[u8; 32]>> {
    keys.retain(|k| *k != new);
    keys.insert(0, new);
    (keys.len() <= key_file::MAX_KEYS).then_some(keys)
}

/// Moves every sealed value under the ring's first key, in one transaction.
pub async fn reseal_all(store: &dyn Store, ring: &SecretBox) -> Result<u64, StoreError> {
    store
        .reseal_all(&|value| {
            let (sealed, context) = seal_of(value);
            ring.reseal(sealed, &context)
                .map_err(|_| format!("{} does not open with the master keys given", name(value)))
        })
        .await
}

/// Opens every sealed value with the ring, writing nothing.
pub async fn check_all(store: &dyn Store, ring: &SecretBox) -> Result<(), StoreError> {
    store
        .reseal_all(&|value| {
            let (sealed, context) = seal_of(value);
            match ring.open(sealed, &context) {
                Ok(_) => Ok(None),
                Err(_) => Err(format!("{} does not open with the master key", name(value))),
            }
        })
        .await
        .map(|_| ())
}

/// A sealed value and the context its seal is bound to.
fn seal_of(value: SealedValue<'_>) -> (&str, String) {
    match value {
        SealedValue::Credential {
            merchant_id,
            livemode,
            name,
            sealed,
        } => (sealed, Credential::context(merchant_id, livemode, name)),
        SealedValue::Endpoint {
            endpoint_id,
            sealed,
            ..
        } => (sealed, Endpoint::seal_context(endpoint_id)),
        SealedValue::SecondFactor {
            user_id, sealed, ..
        } => (sealed, crate::domain::second_factor::seal_context(user_id)),
        SealedValue::MailboxPassword {
            merchant_id,
            livemode,
            sealed,
        } => (
            sealed,
            crate::domain::mailbox::seal_context(merchant_id, livemode),
        ),
        SealedValue::KeptResponse {
            merchant_id,
            livemode,
            key,
            sealed,
        } => (
            sealed,
            crate::domain::idempotency::seal_context(merchant_id, livemode, key),
        ),
    }
}

/// The value, named for an operator.
fn name(value: SealedValue<'_>) -> String {
    match value {
        SealedValue::Credential {
            merchant_id, name, ..
        } => format!("the {name} credential of {merchant_id}"),
        SealedValue::Endpoint { endpoint_id, .. } => {
            format!("the signing secret of webhook endpoint {endpoint_id}")
        }
        SealedValue::MailboxPassword { merchant_id, .. } => {
            format!("the mailbox password of {merchant_id}")
        }
        SealedValue::KeptResponse { key, .. } => {
            format!("the kept response of idempotency key {key}")
        }
        SealedValue::SecondFactor { user_id, .. } => {
            format!("the two-factor secret of user {user_id}")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rotation_puts_the_new_key_first_and_never_drops_one() {
        let (a, b, c, d, e) = ([1u8; 32], [2u8; 32], [3u8; 32], [4u8; 32], [5u8; 32]);
        assert_eq!(next_ring(vec![a], b), Some(vec![b, a]));
        assert_eq!(
            next_ring(vec![b, a], a),
            Some(vec![a, b]),
            "a key named again moves first"
        );
        assert_eq!(next_ring(vec![a, b, c], d), Some(vec![d, a, b, c]));
        assert_eq!(
            next_ring(vec![a, b, c, d], e),
            None,
            "a full ring is refused, not cut"
        );
    }
}
