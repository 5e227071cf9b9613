//! Webhook endpoints: where a merchant's events go, and the delivery log.

use super::access::Acting;
use super::objects::{event_payload, rfc3339};
use super::{PaymentService, ServiceError};
use crate::domain::ids::new_id;
use crate::domain::role::Action;
use crate::domain::webhook::{generate_secret, Endpoint, EVENT_TYPES};
use crate::store::{Delivery, NewEvent, Page, Scope, StoreError};
use crate::webhooks::ssrf;
use serde::Serialize;
use utoipa::ToSchema;

/// The page asked of the store: one row more than wanted, to learn whether more follow.
fn one_more(page: &Page) -> Page {
    Page {
        starting_after: page.starting_after.clone(),
        limit: page.limit.saturating_add(1),
    }
}

fn has_more<T>(rows: &mut Vec<T>, page: &Page) -> (Vec<T>, bool) {
    let more = rows.len() > page.limit as usize;
    rows.truncate(page.limit as usize);
    (std::mem::take(rows), more)
}

/// How long the old secret keeps signing after a rotation.
const ROTATION_GRACE: chrono::Duration = chrono::Duration::hours(24);

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct EndpointObject {
    #[schema(example = "we_0192b3c4d5e6f7a8b9c0d1e2f3a4b5c6")]
    pub id: String,
    #[schema(example = "webhook_endpoint")]
    pub object: &'static str,
    pub url: String,
    pub description: Option<String>,
    /// Event types sent to this endpoint; `["*"]` for all.
    pub events: Vec<String>,
    pub enabled: bool,
    /// Why the endpoint was disabled (`failing` when Hundi disabled it).
    pub disabled_reason: Option<String>,
    /// The signing secret: present only when the endpoint is created or its secret rotated.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
    pub livemode: bool,
    pub created_at: String,
}

impl EndpointObject {
    pub fn new(e: &Endpoint, show_secret: bool) -> EndpointObject {
        EndpointObject {
            id: e.id.clone(),
            object: "webhook_endpoint",
            url: e.url.clone(),
            description: e.description.clone(),
            events: e.events.clone(),
            enabled: e.enabled,
            disabled_reason: e.disabled_reason.clone(),
            secret: show_secret.then(|| e.secret.clone()),
            livemode: e.livemode,
            created_at: rfc3339(e.created_at),
        }
    }
}

/// The `webhook_endpoint.disabled` event for an endpoint Hundi gave up on.
pub fn endpoint_disabled_event(e: &Endpoint) -> NewEvent {
    let now = crate::domain::now();
    let id = new_id("evt");
    let kind = "webhook_endpoint.disabled";
    NewEvent {
        key_id: None,
        payload: event_payload(&id, kind, e.livemode, now, &EndpointObject::new(e, false)),
        id,
        event_type: kind.to_string(),
        object_id: e.id.clone(),
        created_at: now,
        audit: None,
    }
}

/// Changes to an endpoint; `None` leaves a field as it is.
#[derive(Debug, Default)]
pub struct EndpointChange {
    pub url: Option<String>,
    pub events: Option<Vec<String>>,
    pub description: Option<Option<String>>,
    pub enabled: Option<bool>,
}

fn check_events(events: &[String]) -> Result<Vec<String>, ServiceError> {
    if events.is_empty() {
        return Err(ServiceError::invalid(
            "events",
            "name at least one event type, or \"*\"",
        ));
    }
    let mut out = Vec::new();
    for e in events {
        if e != "*" && !EVENT_TYPES.contains(&e.as_str()) {
            return Err(ServiceError::invalid(
                "events",
                format!(
                    "unknown event type '{e}'; known: {}",
                    EVENT_TYPES.join(", ")
                ),
            ));
        }
        if !out.contains(e) {
            out.push(e.clone());
        }
    }
    // Every name is checked, then "*" stands for all of them.
    if out.iter().any(|e| e == "*") {
        return Ok(vec!["*".into()]);
    }
    Ok(out)
}

/// What the audit log keeps of an endpoint's settings (never its secret).
fn endpoint_settings(e: &Endpoint) -> serde_json::Value {
    serde_json::json!({
        "url": e.url,
        "events": e.events,
        "description": e.description,
        "enabled": e.enabled,
    })
}

/// An endpoint's description, on create and on update alike.
fn check_description(description: &Option<String>) -> Result<(), ServiceError> {
    if description
        .as_ref()
        .is_some_and(|d| d.chars().count() > 500)
    {
        return Err(ServiceError::invalid(
            "description",
            "must be at most 500 characters",
        ));
    }
    Ok(())
}

impl PaymentService {
    async fn check_target(&self, scope: &Scope, url: &str) -> Result<String, ServiceError> {
        ssrf::check_url(url, scope.livemode, self.allow_private_webhooks)
            .await
            .map(|u| u.to_string())
            .map_err(|e| ServiceError::invalid("url", e.to_string()))
    }

    pub async fn create_endpoint(
        &self,
        by: &Acting,
        url: &str,
        events: &[String],
        description: Option<String>,
    ) -> Result<Endpoint, ServiceError> {
        by.require(Action::ManageWebhooks)?;
        let scope = &by.scope();
        let url = self.check_target(scope, url).await?;
        let events = check_events(events)?;
        check_description(&description)?;
        let endpoint = Endpoint::new(
            &scope.merchant_id,
            scope.livemode,
            url,
            events,
            description,
            crate::domain::webhook::FORMAT_NATIVE,
            crate::domain::now(),
        );
        let entry = by.entry(
            "webhook_endpoint.created",
            Some(&endpoint.id),
            endpoint_settings(&endpoint),
        );
        self.store
            .create_endpoint(&endpoint, entry.as_ref())
            .await?;
        Ok(endpoint)
    }

    pub async fn get_endpoint(&self, scope: &Scope, id: &str) -> Result<Endpoint, ServiceError> {
        self.store
            .get_endpoint(scope, id)
            .await
            .map_err(|e| ServiceError::from_lookup("webhook endpoint", e))
    }

    /// One page of the scope's endpoints, oldest first, and whether more follow.
    pub async fn list_endpoints(
        &self,
        scope: &Scope,
        page: &Page,
    ) -> Result<(Vec<Endpoint>, bool), ServiceError> {
        let mut rows = self.store.list_endpoints(scope, &one_more(page)).await?;
        Ok(has_more(&mut rows, page))
    }

    pub async fn update_endpoint(
        &self,
        by: &Acting,
        id: &str,
        change: EndpointChange,
    ) -> Result<Endpoint, ServiceError> {
        by.require(Action::ManageWebhooks)?;
        let scope = &by.scope();
        let mut e = self.get_endpoint(scope, id).await?;
        let before = endpoint_settings(&e);
        if let Some(url) = change.url {
            e.url = self.check_target(scope, &url).await?;
        }
        if let Some(events) = change.events {
            e.events = check_events(&events)?;
        }
        if let Some(description) = change.description {
            check_description(&description)?;
            e.description = description;
        }
        if let Some(enabled) = change.enabled {
            e.enabled = enabled;
            if enabled {
                e.disabled_reason = None;
                e.failing_since = None;
            } else {
                e.disabled_reason = Some("disabled by the merchant".into());
            }
        }
        e.updated_at = crate::domain::now();
        let entry = by.entry(
            "webhook_endpoint.changed",
            Some(id),
            serde_json::json!({ "before": before, "after": endpoint_settings(&e) }),
        );
        self.store
            .update_endpoint(&e, entry.as_ref())
            .await
            .map_err(|e| ServiceError::from_lookup("webhook endpoint", e))?;
        Ok(e)
    }

    /// A new secret; the old one keeps signing (both signatures are sent) for 24 hours.
    pub async fn rotate_endpoint_secret(
        &self,
        by: &Acting,
        id: &str,
    ) -> Result<Endpoint, ServiceError> {
        by.require(Action::ManageWebhooks)?;
        let mut e = self.get_endpoint(&by.scope(), id).await?;
        let now = crate::domain::now();
        e.previous_secret = Some(std::mem::replace(&mut e.secret, generate_secret()));
        e.previous_secret_until = Some(now + ROTATION_GRACE);
        e.updated_at = now;
        let entry = by.entry(
            "webhook_endpoint.secret_rotated",
            Some(id),
            serde_json::json!({ "previous_secret_until": e.previous_secret_until }),
        );
        self.store.update_endpoint(&e, entry.as_ref()).await?;
        Ok(e)
    }

    pub async fn delete_endpoint(&self, by: &Acting, id: &str) -> Result<(), ServiceError> {
        by.require(Action::ManageWebhooks)?;
        let e = self.get_endpoint(&by.scope(), id).await?;
        let entry = by.entry("webhook_endpoint.removed", Some(id), endpoint_settings(&e));
        self.store
            .delete_endpoint(&by.scope(), id, crate::domain::now(), entry.as_ref())
            .await
            .map_err(|e| ServiceError::from_lookup("webhook endpoint", e))
    }

    /// One page of an event's deliveries, oldest first, and whether more follow.
    pub async fn deliveries(
        &self,
        scope: &Scope,
        event_id: &str,
        page: &Page,
    ) -> Result<(Vec<Delivery>, bool), ServiceError> {
        self.store
            .get_event(scope, event_id)
            .await
            .map_err(|e| ServiceError::from_lookup("event", e))?;
        let mut rows = self
            .store
            .list_deliveries(scope, event_id, &one_more(page))
            .await?;
        Ok(has_more(&mut rows, page))
    }

    pub async fn redeliver(&self, by: &Acting, event_id: &str) -> Result<u64, ServiceError> {
        by.require(Action::ManageWebhooks)?;
        let entry = by.entry("event.redelivered", Some(event_id), serde_json::json!({}));
        match self
            .store
            .redeliver(&by.scope(), event_id, crate::domain::now(), entry.as_ref())
            .await
        {
            Err(StoreError::NotFound) => Err(ServiceError::NotFound("event")),
            other => Ok(other?),
        }
    }
}
