//! Per-key request counts, kept in memory and flushed to the store in batches, so counting
//! never puts a hot row lock on the request path.

use crate::store::Store;
use dashmap::DashMap;
use std::sync::Arc;

#[derive(Default)]
pub struct KeyUsage {
    pending: DashMap<String, i64>,
}

impl KeyUsage {
    pub fn count(&self, key_id: &str) {
        if let Some(mut n) = self.pending.get_mut(key_id) {
            *n += 1;
            return;
        }
        *self.pending.entry(key_id.to_string()).or_insert(0) += 1;
    }

    /// Writes the counts gathered so far; on failure they are put back for the next flush.
    pub async fn flush(&self, store: &Arc<dyn Store>) {
        let keys: Vec<String> = self.pending.iter().map(|e| e.key().clone()).collect();
        let batch: Vec<(String, i64)> = keys
            .into_iter()
            .filter_map(|k| self.pending.remove(&k))
            .filter(|(_, n)| *n > 0)
            .collect();
        if batch.is_empty() {
            return;
        }
        if let Err(e) = store.add_key_requests(&batch).await {
            tracing::warn!(error = %e, "could not record key usage; will retry");
            for (k, n) in batch {
                *self.pending.entry(k).or_insert(0) += n;
            }
        }
    }
}
