//! Idempotency keys: who holds a key, and the response kept with it.

use chrono::{DateTime, Utc};

/// The outcome of claiming an idempotency key.
#[derive(Debug, Clone, PartialEq)]
pub enum IdempotencyClaim {
    /// The caller owns the key now and must complete or release it.
    Claimed,
    /// Someone else has it: finished (with its response) or still running.
    Existing {
        request_hash: Vec<u8>,
        response: Option<StoredResponse>,
        created_at: DateTime<Utc>,
        /// The claim's token: a release or completion names it, so a claim that another
        /// request has taken over in the meantime is left alone.
        token: String,
    },
}

/// A claimed idempotency key and the response to keep with it, written in the same
/// transaction as the change the request makes: a crash leaves both or neither.
#[derive(Debug, Clone, PartialEq)]
pub struct KeyCompletion {
    pub key: String,
    /// The token the claim was made with; the write fails (`KeyClaimLost`) when the key is
    /// no longer held with it.
    pub token: String,
    pub response: StoredResponse,
}

#[derive(Debug, Clone, PartialEq)]
pub struct StoredResponse {
    pub status: u16,
    pub body: Vec<u8>,
}

/// Marks a kept response body that is sealed (a JSON body never starts with it): a response
/// that shows a secret once is kept sealed under the master key.
pub const SEALED_BODY: &[u8] = b"sealed:";

/// What a kept response's sealed body is bound to: its merchant, mode and key.
pub fn seal_context(merchant_id: &str, livemode: bool, key: &str) -> String {
    format!("idempotency:{merchant_id}:{livemode}:{key}")
}
