//! Read-only queries the service hands to the pages and the API: they read rows but can
//! change nothing, so every write still goes through the service's commands.

use crate::domain::attempt::Attempt;
use crate::domain::credential::Credential;
use crate::domain::event::Event;
use crate::domain::key::ApiKey;
use crate::domain::merchant::{Merchant, User};
use crate::domain::refund::Refund;
use crate::domain::session::DayStat;
use crate::domain::webhook::Endpoint;
use crate::store::{Delivery, EventFilter, KeyRevenue, Page, Scope, Store, StoreResult};
use chrono::{DateTime, Utc};
use std::sync::Arc;

#[derive(Clone)]
pub struct Reads {
    store: Arc<dyn Store>,
}

impl Reads {
    pub fn new(store: Arc<dyn Store>) -> Reads {
        Reads { store }
    }

    /// Whether the database answers (`/healthz`).
    pub async fn ping(&self) -> StoreResult<()> {
        self.store.ping().await
    }

    /// `sqlite` or `postgres`.
    pub fn backend(&self) -> &'static str {
        self.store.backend()
    }

    pub async fn get_merchant(&self, id: &str) -> StoreResult<Merchant> {
        self.store.get_merchant(id).await
    }

    pub async fn list_users(&self, merchant_id: &str) -> StoreResult<Vec<User>> {
        self.store.list_users(merchant_id).await
    }

    pub async fn find_key_by_hash(&self, hash: &[u8]) -> StoreResult<ApiKey> {
        self.store.find_key_by_hash(hash).await
    }

    pub async fn list_keys(&self, merchant_id: Option<&str>) -> StoreResult<Vec<ApiKey>> {
        self.store.list_keys(merchant_id).await
    }

    pub async fn key_revenue(&self, merchant_id: Option<&str>) -> StoreResult<Vec<KeyRevenue>> {
        self.store.key_revenue(merchant_id).await
    }

    /// Names and public ids; the secrets stay sealed.
    pub async fn list_credentials(&self, scope: &Scope) -> StoreResult<Vec<Credential>> {
        self.store.list_credentials(scope).await
    }

    pub async fn payment_stats(
        &self,
        scope: &Scope,
        since: DateTime<Utc>,
    ) -> StoreResult<Vec<DayStat>> {
        self.store.payment_stats(scope, since).await
    }

    pub async fn get_attempt(&self, payment_id: &str, id: &str) -> StoreResult<Attempt> {
        self.store.get_attempt(payment_id, id).await
    }

    pub async fn list_attempts(&self, payment_id: &str) -> StoreResult<Vec<Attempt>> {
        self.store.list_attempts(payment_id).await
    }

    pub async fn list_refunds(&self, scope: &Scope, payment_id: &str) -> StoreResult<Vec<Refund>> {
        self.store.list_refunds(scope, payment_id).await
    }

    /// The receipts e-mailed (or to e-mail) for a payment and its refunds.
    pub async fn receipts_of(
        &self,
        scope: &Scope,
        payment_id: &str,
    ) -> StoreResult<Vec<crate::domain::receipt::Receipt>> {
        self.store.receipts_of(scope, payment_id).await
    }

    pub async fn get_event(&self, scope: &Scope, id: &str) -> StoreResult<Event> {
        self.store.get_event(scope, id).await
    }

    pub async fn list_events(
        &self,
        scope: &Scope,
        filter: &EventFilter,
    ) -> StoreResult<Vec<Event>> {
        self.store.list_events(scope, filter).await
    }

    pub async fn list_endpoints(&self, scope: &Scope, page: &Page) -> StoreResult<Vec<Endpoint>> {
        self.store.list_endpoints(scope, page).await
    }

    pub async fn list_deliveries(
        &self,
        scope: &Scope,
        event_id: &str,
        page: &Page,
    ) -> StoreResult<Vec<Delivery>> {
        self.store.list_deliveries(scope, event_id, page).await
    }

    /// The latest deliveries of the scope, newest first; `status` filters (`failed`…).
    pub async fn recent_deliveries(
        &self,
        scope: &Scope,
        status: Option<&str>,
        limit: u32,
    ) -> StoreResult<Vec<Delivery>> {
        self.store.recent_deliveries(scope, status, limit).await
    }
}
