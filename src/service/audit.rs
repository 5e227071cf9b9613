//! Reading the audit log (writing it is each command's own business, see `access.rs`).

use super::access::Acting;
use super::ServiceError;
use crate::domain::audit::{AuditEntry, AuditFilter};
use crate::domain::role::Action;

/// The most entries one read returns, whatever the caller asks.
pub const PAGE_MAX: u32 = 500;

impl super::PaymentService {
    /// The acting user's merchant's entries, newest first (owners and admins only).
    pub async fn audit_log(
        &self,
        by: &Acting,
        filter: &AuditFilter,
    ) -> Result<Vec<AuditEntry>, ServiceError> {
        by.require(Action::ReadAudit)?;
        let filter = AuditFilter {
            limit: filter.limit.clamp(1, PAGE_MAX),
            ..filter.clone()
        };
        Ok(self.store.list_audit(by.merchant_id(), &filter).await?)
    }
}
