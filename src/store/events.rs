//! Events (the outbox), webhook endpoints and the deliveries of events to them.

use super::*;

#[async_trait]
pub trait EventStore: Send + Sync + 'static {
    async fn get_event(&self, scope: &Scope, id: &str) -> StoreResult<Event>;
    async fn list_events(&self, scope: &Scope, filter: &EventFilter) -> StoreResult<Vec<Event>>;
    /// A signal that fires when deliveries may be due: at once after a commit on this node,
    /// and (PostgreSQL) on other nodes' commits through LISTEN/NOTIFY.
    async fn watch_deliveries(&self) -> StoreResult<Arc<tokio::sync::Notify>>;
    async fn create_endpoint(
        &self,
        endpoint: &Endpoint,
        audit: Option<&AuditEntry>,
    ) -> StoreResult<()>;
    async fn get_endpoint(&self, scope: &Scope, id: &str) -> StoreResult<Endpoint>;
    /// The scope's endpoints (not a payment's own callback URLs), one page at a time.
    async fn list_endpoints(&self, scope: &Scope, page: &Page) -> StoreResult<Vec<Endpoint>>;
    /// Writes every mutable field of an endpoint.
    async fn update_endpoint(
        &self,
        endpoint: &Endpoint,
        audit: Option<&AuditEntry>,
    ) -> StoreResult<()>;
    async fn delete_endpoint(
        &self,
        scope: &Scope,
        id: &str,
        at: DateTime<Utc>,
        audit: Option<&AuditEntry>,
    ) -> StoreResult<()>;
    /// Seals endpoint secrets with this master key from now on (`sealing.rs`), and seals the
    /// ones still stored in clear; returns how many endpoints it sealed. Safe on many nodes
    /// at once: each row is rewritten only if it still holds what was read.
    async fn seal_endpoint_secrets(&self, secrets: &crate::secrets::SecretBox) -> StoreResult<u64>;
    /// Leases up to `limit` due deliveries until `lease_until`; a delivery whose lease ran
    /// out (its node died) is due again. Safe to run on many nodes at once.
    async fn claim_deliveries(
        &self,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: u32,
    ) -> StoreResult<Vec<DeliveryJob>>;
    /// Hands back deliveries leased until `lease_until` and never sent: each is due again at
    /// once, for any node (a stopping node's, so they need not wait out the lease). Only a
    /// still-pending delivery whose lease is still that one is touched: one another node has
    /// leased since, or that is finished, is left alone. Returns how many were handed back.
    async fn release_deliveries(
        &self,
        ids: &[String],
        lease_until: DateTime<Utc>,
    ) -> StoreResult<u64>;
    /// Logs attempts and moves their deliveries on, all in one transaction; also keeps each
    /// endpoint's `failing_since`.
    async fn finish_deliveries(&self, done: &[FinishedDelivery]) -> StoreResult<()>;
    /// Disables endpoints failing since before `before`, each with an event.
    async fn disable_failing_endpoints(
        &self,
        before: DateTime<Utc>,
        now: DateTime<Utc>,
        event: EndpointEventBuilder<'_>,
    ) -> StoreResult<Vec<Endpoint>>;
    /// An event's deliveries with their attempts, one page at a time.
    async fn list_deliveries(
        &self,
        scope: &Scope,
        event_id: &str,
        page: &Page,
    ) -> StoreResult<Vec<Delivery>>;
    /// Schedules an event again for every endpoint that wants it now; returns how many.
    async fn redeliver(
        &self,
        scope: &Scope,
        event_id: &str,
        now: DateTime<Utc>,
        audit: Option<&AuditEntry>,
    ) -> StoreResult<u64>;
    /// The latest deliveries of the scope, newest first; `status` filters (`failed`…).
    async fn recent_deliveries(
        &self,
        scope: &Scope,
        status: Option<&str>,
        limit: u32,
    ) -> StoreResult<Vec<Delivery>>;
    /// Removes one batch (up to `limit` rows of each kind) of what `cut` says is past
    /// keeping, oldest first, each kind in its own short transaction. Never a delivery still
    /// pending, nor an event one is pending for.
    async fn prune(&self, cut: &RetentionCut, limit: u32) -> StoreResult<Pruned>;
    /// What `prune` would remove now, counted (`hundi prune --dry-run`).
    async fn prunable(&self, cut: &RetentionCut) -> StoreResult<Pruned>;
}

/// The SQL both backends share, expanded in each backend's module (see `rows::decoders`);
/// `$own` are the methods that backend writes itself.
macro_rules! events_sql {
    ($($own:tt)*) => {
#[async_trait::async_trait]
impl EventStore for Backend {
    async fn get_event(&self, scope: &Scope, id: &str) -> StoreResult<Event> {
        event_from_row(&self.scoped_row("events", EVENT_COLUMNS, scope, id).await?)
    }

    async fn list_events(&self, scope: &Scope, f: &EventFilter) -> StoreResult<Vec<Event>> {
        let cursor = match &f.starting_after {
            Some(id) => Some(self.get_event(scope, id).await?),
            None => None,
        };
        let sql = format!(
            "SELECT {EVENT_COLUMNS} FROM events WHERE merchant_id = $1 AND livemode = $2 \
             AND ($3 IS NULL OR type = $3) AND ($4 IS NULL OR object_id = $4) \
             AND ($5 IS NULL OR created_at < $5 OR (created_at = $5 AND id < $6)) \
             ORDER BY created_at DESC, id DESC LIMIT $7");
        let rows = sql!(&sql, &scope.merchant_id, scope.livemode, &f.event_type, &f.object_id,
            cursor.as_ref().map(|c| ts(c.created_at)), cursor.as_ref().map(|c| c.id.clone()),
            i64::from(f.limit)).fetch_all(self.reader()).await?;
        rows.iter().map(event_from_row).collect()
    }

    async fn create_endpoint(&self, e: &Endpoint, audit: Option<&AuditEntry>) -> StoreResult<()> {
        let mut tx = self.begin().await?;
        self.insert_endpoint(&mut tx, e).await?;
        audited(tx, audit).await
    }

    async fn get_endpoint(&self, scope: &Scope, id: &str) -> StoreResult<Endpoint> {
        let sql = format!(
            "SELECT {ENDPOINT_COLUMNS} FROM webhook_endpoints WHERE id = $1 AND merchant_id = $2 \
             AND livemode = $3 AND deleted_at IS NULL");
        let row = sql!(&sql, id, &scope.merchant_id, scope.livemode).fetch_optional(self.reader())
            .await?.ok_or(StoreError::NotFound)?;
        self.sealer.open_endpoint(endpoint_from_row(&row)?)
    }

    async fn list_endpoints(&self, scope: &Scope, page: &Page) -> StoreResult<Vec<Endpoint>> {
        let sql = format!("SELECT {ENDPOINT_COLUMNS} FROM webhook_endpoints WHERE merchant_id = $1 \
             AND livemode = $2 AND deleted_at IS NULL AND payment_id IS NULL \
             AND ($3 IS NULL OR (created_at, id) > (SELECT created_at, id FROM webhook_endpoints \
             WHERE id = $3 AND merchant_id = $1)) ORDER BY created_at, id LIMIT $4");
        let rows = sql!(&sql, &scope.merchant_id, scope.livemode, &page.starting_after,
            i64::from(page.limit)).fetch_all(self.reader()).await?;
        rows.iter().map(|r| endpoint_from_row(r).map(|e| self.sealer.open_listed(e))).collect()
    }

    async fn update_endpoint(&self, e: &Endpoint, audit: Option<&AuditEntry>) -> StoreResult<()> {
        let mut tx = self.begin().await?;
        let done = sql!("UPDATE webhook_endpoints SET url = $2, description = $3, events = $4, enabled = $5, \
             secret = $6, previous_secret = $7, previous_secret_until = $8, failing_since = $9, \
             disabled_reason = $10, updated_at = $11 WHERE id = $1 AND deleted_at IS NULL",
            &e.id, &e.url, &e.description, events_column(&e.events), e.enabled,
            self.sealer.seal(&e.id, &e.secret),
            self.sealer.seal_opt(&e.id, e.previous_secret.as_deref()),
            e.previous_secret_until.map(ts), e.failing_since.map(ts), &e.disabled_reason,
            ts(e.updated_at)).execute(&mut *tx).await?.rows_affected();
        if done == 0 { return Err(StoreError::NotFound) }
        audited(tx, audit).await
    }

    async fn delete_endpoint(&self, scope: &Scope, id: &str, at: DateTime<Utc>,
        audit: Option<&AuditEntry>) -> StoreResult<()> {
        let mut tx = self.begin().await?;
        // Kept (disabled) so that its delivery log stays readable.
        let done = sql!("UPDATE webhook_endpoints SET deleted_at = $4, enabled = $5, updated_at = $4 \
             WHERE id = $1 AND merchant_id = $2 AND livemode = $3 AND deleted_at IS NULL",
            id, &scope.merchant_id, scope.livemode, ts(at), false).execute(&mut *tx).await?
        .rows_affected();
        if done == 0 { return Err(StoreError::NotFound) }
        audited(tx, audit).await
    }

    async fn seal_endpoint_secrets(&self, secrets: &crate::secrets::SecretBox) -> StoreResult<u64> {
        self.sealer.set(secrets);
        let rows = sqlx::query("SELECT id, secret, previous_secret FROM webhook_endpoints \
             WHERE secret NOT LIKE 'v1:%' OR previous_secret NOT LIKE 'v1:%'",
        ).fetch_all(self.writer()).await?;
        let mut sealed = 0;
        for r in &rows {
            let id: String = r.try_get("id")?;
            let secret: String = r.try_get("secret")?;
            let previous: Option<String> = r.try_get("previous_secret")?;
            sealed += sql!("UPDATE webhook_endpoints SET secret = $2, previous_secret = $3 \
                 WHERE id = $1 AND secret = $4 AND previous_secret IS NOT DISTINCT FROM $5",
                &id, self.sealer.seal(&id, &secret),
                self.sealer.seal_opt(&id, previous.as_deref()), &secret, &previous)
            .execute(self.writer()).await?.rows_affected();
        }
        Ok(sealed)
    }

    async fn finish_deliveries(&self, done: &[FinishedDelivery]) -> StoreResult<()> {
        let mut tx = self.begin().await?;
        for FinishedDelivery { job, log, outcome } in done {
            let outcome = *outcome;
            let (status, next, completed) = match outcome {
                DeliveryOutcome::Succeeded => {
                    ("succeeded", log.attempted_at, Some(log.attempted_at))
                }
                DeliveryOutcome::Retry { at } => ("pending", at, None),
                DeliveryOutcome::Failed => ("failed", log.attempted_at, Some(log.attempted_at)),
                DeliveryOutcome::Declined => ("declined", log.attempted_at, Some(log.attempted_at)),
                DeliveryOutcome::Skipped => ("skipped", log.attempted_at, Some(log.attempted_at)),
            };
            let held = sql!("UPDATE webhook_deliveries SET status = $2, attempts = attempts + 1, \
             next_attempt_at = $3, lease_until = NULL, last_status = $4, completed_at = $5 \
             WHERE id = $1 AND status = 'pending' AND lease_until = $6",
                &job.delivery_id, status, ts(next), log.status_code, completed.map(ts),
                ts(job.lease_until)).execute(&mut *tx).await?.rows_affected() == 1;
            // The attempt happened either way, so it is logged; but a lease that ran out and
            // went to another node leaves the delivery, and the endpoint's health, to that node.
            sql!("INSERT INTO webhook_attempts (id, delivery_id, attempted_at, status_code, latency_ms, \
             response_body, error) VALUES ($1, $2, $3, $4, $5, $6, $7)",
                &log.id, &job.delivery_id, ts(log.attempted_at), log.status_code, log.latency_ms,
                &log.response_body, &log.error).execute(&mut *tx).await?;
            if !held {
                continue;
            }
            if outcome == DeliveryOutcome::Skipped {
                continue;
            }
            // The receiver answered (even with a final refusal): the endpoint works.
            let answered = matches!(
                outcome,
                DeliveryOutcome::Succeeded | DeliveryOutcome::Declined
            );
            let failing = if answered {
                "UPDATE webhook_endpoints SET failing_since = NULL WHERE id = $1 AND failing_since IS NOT NULL"
            } else {
                "UPDATE webhook_endpoints SET failing_since = $2 WHERE id = $1 AND failing_since IS NULL"
            };
            sql!(failing, &job.endpoint_id, ts(log.attempted_at)).execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn disable_failing_endpoints(&self, before: DateTime<Utc>, now: DateTime<Utc>,
        event: EndpointEventBuilder<'_>) -> StoreResult<Vec<Endpoint>> {
        let mut wake = false;
        let mut tx = self.begin().await?;
        let sql = format!(
            "UPDATE webhook_endpoints SET enabled = $3, disabled_reason = 'failing', updated_at = $2 \
             WHERE enabled AND deleted_at IS NULL AND failing_since < $1 RETURNING {ENDPOINT_COLUMNS}"
        );
        let rows = sql!(&sql, ts(before), ts(now), false).fetch_all(&mut *tx).await?;
        let mut disabled = Vec::with_capacity(rows.len());
        for row in &rows {
            let e = self.sealer.open_listed(endpoint_from_row(row)?);
            let scope = Scope {
                merchant_id: e.merchant_id.clone(),
                livemode: e.livemode,
            };
            wake |= insert_event(&mut tx, &scope, &event(&e)).await?;
            disabled.push(e);
        }
        self.commit(tx, wake).await?;
        Ok(disabled)
    }

    async fn list_deliveries(&self, scope: &Scope, event_id: &str,
        page: &Page) -> StoreResult<Vec<Delivery>> {
        let rows = sql!("SELECT id, event_id, endpoint_id, status, attempts, next_attempt_at, last_status, \
             created_at, completed_at FROM webhook_deliveries WHERE event_id = $1 \
             AND merchant_id = $2 AND livemode = $3 \
             AND ($4 IS NULL OR (created_at, id) > (SELECT created_at, id FROM webhook_deliveries \
             WHERE id = $4 AND event_id = $1)) ORDER BY created_at, id LIMIT $5",
            event_id, &scope.merchant_id, scope.livemode, &page.starting_after,
            i64::from(page.limit)).fetch_all(self.reader()).await?;
        let mut out = Vec::with_capacity(rows.len());
        for r in &rows {
            let id: String = r.try_get("id")?;
            let logs = sql!("SELECT id, attempted_at, status_code, latency_ms, response_body, error \
                 FROM webhook_attempts WHERE delivery_id = $1 ORDER BY attempted_at, id",
                &id).fetch_all(self.reader()).await?;
            let log = logs.iter().map(attempt_log_from_row).collect::<StoreResult<_>>()?;
            out.push(Delivery { log, ..delivery_from_row(r)? });
        }
        Ok(out)
    }

    async fn redeliver(&self, scope: &Scope, event_id: &str,
        now: DateTime<Utc>, audit: Option<&AuditEntry>) -> StoreResult<u64> {
        let mut tx = self.begin().await?;
        let found: Option<(String, Option<String>, String)> = sqlx::query_as(
            "SELECT type, key_id, object_id FROM events WHERE id = $1 AND merchant_id = $2 AND livemode = $3",
        ).bind(event_id).bind(&scope.merchant_id).bind(scope.livemode).fetch_optional(&mut *tx)
        .await?;
        let Some((event_type, key_id, object_id)) = found else {
            return Err(StoreError::NotFound);
        };
        let again = sql!("UPDATE webhook_deliveries SET status = 'pending', next_attempt_at = $2, \
             lease_until = NULL, completed_at = NULL WHERE event_id = $1 AND endpoint_id IN \
             (SELECT id FROM webhook_endpoints WHERE enabled AND deleted_at IS NULL)",
            event_id, ts(now)).execute(&mut *tx).await?.rows_affected();
        let added = sql!(&format!(
            "INSERT INTO webhook_deliveries (id, event_id, endpoint_id, merchant_id, livemode, \
             status, attempts, next_attempt_at, created_at) \
             SELECT {NEW_ID}, $1, w.id, w.merchant_id, w.livemode, 'pending', 0, $2, $2 \
             FROM webhook_endpoints w WHERE {} AND NOT EXISTS (SELECT 1 FROM webhook_deliveries d WHERE d.event_id = $1 \
             AND d.endpoint_id = w.id)",
            rows::subscribers("$3", "$4", "$5", "$6", "$7")),
            event_id, ts(now), &scope.merchant_id, scope.livemode, &event_type, &key_id,
            &object_id).execute(&mut *tx).await?.rows_affected();
        audited(tx, audit).await?;
        self.signal_deliveries();
        Ok(again + added)
    }

    async fn recent_deliveries(&self, scope: &Scope, status: Option<&str>,
        limit: u32) -> StoreResult<Vec<Delivery>> {
        let rows = sql!("SELECT id, event_id, endpoint_id, status, attempts, next_attempt_at, last_status, \
             created_at, completed_at FROM webhook_deliveries WHERE merchant_id = $1 \
             AND livemode = $2 AND ($3 IS NULL OR status = $3) \
             ORDER BY created_at DESC, id DESC LIMIT $4",
            &scope.merchant_id, scope.livemode, status, i64::from(limit)).fetch_all(self.reader())
        .await?;
        rows.iter().map(delivery_from_row).collect()
    }


    async fn claim_deliveries(&self, now: DateTime<Utc>, lease_until: DateTime<Utc>,
        limit: u32) -> StoreResult<Vec<DeliveryJob>> {
        let ids: Vec<String> = sqlx::query_scalar(LEASE_DUE_DELIVERIES).bind(ts(now))
        .bind(ts(lease_until)).bind(i64::from(limit)).fetch_all(self.writer()).await?;
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        // One read for the whole batch.
        let rows = sql!(&format!("SELECT d.id, d.event_id, d.endpoint_id, w.format, e.type, \
             e.object_id, d.attempts, w.url, w.secret, \
             CASE WHEN w.previous_secret_until > $2 THEN w.previous_secret END AS previous_secret, \
             e.payload, d.lease_until FROM webhook_deliveries d \
             JOIN webhook_endpoints w ON w.id = d.endpoint_id \
             JOIN events e ON e.id = d.event_id WHERE d.id {IN_IDS}"),
            id_list(&ids), ts(now)).fetch_all(self.writer()).await?;
        let mut jobs = Vec::with_capacity(rows.len());
        for r in &rows {
            jobs.push(from_row!(r, DeliveryJob { event_id, endpoint_id, format, object_id, attempts,
                url, secret, previous_secret, payload, lease_until;
                delivery_id: get(r, "id")?, event_type: get(r, "type")? }));
        }
        jobs.iter_mut().for_each(|job| self.sealer.open_job(job));
        Ok(jobs)
    }

    async fn release_deliveries(&self, ids: &[String],
        lease_until: DateTime<Utc>) -> StoreResult<u64> {
        if ids.is_empty() {
            return Ok(0);
        }
        // The lease end is the claim's token: a node that re-leased the delivery after this
        // lease ran out set another one.
        let mut tx = self.begin().await?;
        let released = sql!(&format!("UPDATE webhook_deliveries SET lease_until = NULL \
             WHERE id {IN_IDS} AND status = 'pending' AND lease_until = $2"),
            id_list(ids), ts(lease_until)).execute(&mut *tx).await?.rows_affected();
        if released > 0 {
            // Other nodes take them now, not at their next poll.
            notify_dispatchers(&mut tx).await?;
        }
        self.commit(tx, released > 0).await?;
        Ok(released)
    }

    async fn prune(&self, cut: &RetentionCut, limit: u32) -> StoreResult<Pruned> {
        let mut done = Pruned::default();
        let limit = i64::from(limit);
        if let Some(before) = cut.attempts_before {
            done.attempts += sql!(&format!("DELETE FROM webhook_attempts WHERE {ROW_ID} IN \
                 (SELECT {ROW_ID} FROM webhook_attempts WHERE attempted_at < $1 \
                 ORDER BY attempted_at LIMIT $2)"), ts(before), limit)
                .execute(self.writer()).await?.rows_affected();
        }
        if let Some(before) = cut.deliveries_before {
            let ids: Vec<String> = sqlx::query_scalar("SELECT id FROM webhook_deliveries \
                 WHERE created_at < $1 AND status <> 'pending' ORDER BY created_at LIMIT $2")
                .bind(ts(before)).bind(limit).fetch_all(self.reader()).await?;
            let (deliveries, attempts) = self.remove_deliveries("id", &ids).await?;
            done.deliveries += deliveries;
            done.attempts += attempts;
        }
        if let Some(before) = cut.events_before {
            // Through each merchant's own index of events (no index of all events by time:
            // every create would pay for it).
            for (merchant, livemode) in self.scopes().await? {
                let ids: Vec<String> = sqlx::query_scalar(PRUNABLE_EVENTS)
                    .bind(&merchant).bind(livemode).bind(ts(before)).bind(limit)
                    .fetch_all(self.reader()).await?;
                let (deliveries, attempts) = self.remove_deliveries("event_id", &ids).await?;
                let mut tx = self.begin().await?;
                done.events += sql!(&format!("DELETE FROM events WHERE id {IN_IDS} AND NOT EXISTS \
                     (SELECT 1 FROM webhook_deliveries d WHERE d.event_id = events.id)"),
                    id_list(&ids)).execute(&mut *tx).await?.rows_affected();
                tx.commit().await?;
                done.deliveries += deliveries;
                done.attempts += attempts;
            }
        }
        Ok(done)
    }

    async fn prunable(&self, cut: &RetentionCut) -> StoreResult<Pruned> {
        let count = |n: i64| u64::try_from(n).unwrap_or(0);
        let mut found = Pruned::default();
        let far = ts(chrono::DateTime::<Utc>::UNIX_EPOCH);
        let (attempts, deliveries, events) = (cut.attempts_before.map(ts).unwrap_or(far),
            cut.deliveries_before.map(ts).unwrap_or(far), cut.events_before.map(ts).unwrap_or(far));
        // A delivery goes by its own age or with its event; an attempt by its own age or
        // with its delivery.
        let gone_delivery = "(d.status <> 'pending' AND (d.created_at < $2 OR EXISTS (SELECT 1 FROM events e \
             WHERE e.id = d.event_id AND e.created_at < $3 AND NOT EXISTS (SELECT 1 FROM \
             webhook_deliveries p WHERE p.event_id = e.id AND p.status = 'pending'))))";
        found.attempts = count(sql!(&format!("SELECT COUNT(*) FROM webhook_attempts a \
             JOIN webhook_deliveries d ON d.id = a.delivery_id \
             WHERE a.attempted_at < $1 OR {gone_delivery}"), attempts, deliveries, events)
            .fetch_one(self.reader()).await?.try_get(0)?);
        found.deliveries = count(sql!(&format!("SELECT COUNT(*) FROM webhook_deliveries d \
             WHERE $1 = $1 AND {gone_delivery}"), attempts, deliveries, events)
            .fetch_one(self.reader()).await?.try_get(0)?);
        found.events = count(sql!("SELECT COUNT(*) FROM events e WHERE e.created_at < $1 \
             AND NOT EXISTS (SELECT 1 FROM webhook_deliveries p WHERE p.event_id = e.id \
             AND p.status = 'pending')", events).fetch_one(self.reader()).await?.try_get(0)?);
        Ok(found)
    }

    $($own)*
}

/// Up to `$4` events of one merchant and mode older than `$3`, no delivery of which is
/// pending, oldest first.
const PRUNABLE_EVENTS: &str = "SELECT id FROM events e WHERE merchant_id = $1 AND livemode = $2 \
     AND created_at < $3 AND NOT EXISTS (SELECT 1 FROM webhook_deliveries d \
     WHERE d.event_id = e.id AND d.status = 'pending') ORDER BY created_at LIMIT $4";

impl Backend {
    /// Deletes the finished deliveries whose `column` (`id` or `event_id`) is in `ids`, with
    /// their attempts, in one transaction; returns how many deliveries and attempts.
    async fn remove_deliveries(&self, column: &str, ids: &[String]) -> StoreResult<(u64, u64)> {
        if ids.is_empty() {
            return Ok((0, 0));
        }
        let mut tx = self.begin().await?;
        let finished = format!("SELECT id FROM webhook_deliveries WHERE {column} {IN_IDS} \
             AND status <> 'pending'");
        let attempts = sql!(&format!("DELETE FROM webhook_attempts WHERE delivery_id IN ({finished})"),
            id_list(ids)).execute(&mut *tx).await?.rows_affected();
        let deliveries = sql!(&format!("DELETE FROM webhook_deliveries WHERE {column} {IN_IDS} \
             AND status <> 'pending'"), id_list(ids)).execute(&mut *tx).await?.rows_affected();
        tx.commit().await?;
        Ok((deliveries, attempts))
    }

    /// Every merchant's two modes.
    async fn scopes(&self) -> StoreResult<Vec<(String, bool)>> {
        let ids: Vec<String> = sqlx::query_scalar("SELECT id FROM merchants ORDER BY id")
            .fetch_all(self.reader()).await?;
        Ok(ids.into_iter().flat_map(|id| [(id.clone(), false), (id, true)]).collect())
    }

    /// Writes an endpoint, its secrets sealed, in the caller's transaction.
    async fn insert_endpoint(&self, tx: &mut Conn, e: &Endpoint) -> StoreResult<()> {
        sql!(&format!("INSERT INTO webhook_endpoints ({ENDPOINT_COLUMNS}) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)"),
            &e.id, &e.merchant_id, e.livemode, &e.url, &e.description, events_column(&e.events),
            e.enabled, self.sealer.seal(&e.id, &e.secret),
            self.sealer.seal_opt(&e.id, e.previous_secret.as_deref()),
            e.previous_secret_until.map(ts), e.failing_since.map(ts), &e.disabled_reason,
            &e.key_id, ts(e.created_at), ts(e.updated_at), &e.format, &e.payment_id)
        .execute(&mut *tx).await.map_err(classify)?;
        Ok(())
    }
}

async fn insert_event(tx: &mut Conn, scope: &Scope, e: &NewEvent) -> StoreResult<bool> {
    sql!("INSERT INTO events (id, merchant_id, livemode, type, object_id, payload, created_at, key_id) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        &e.id, &scope.merchant_id, scope.livemode, &e.event_type, &e.object_id, &e.payload,
        ts(e.created_at), &e.key_id).execute(&mut *tx).await?;
    if let Some(entry) = &e.audit {
        insert_audit(tx, entry).await?;
    }
    record_receipt(tx, e).await?;
    fan_out(tx, scope, e).await
}

/// One delivery per enabled endpoint that wants this event, in the event's transaction.
async fn fan_out(tx: &mut Conn, scope: &Scope, e: &NewEvent) -> StoreResult<bool> {
    let scheduled = sql!(&format!(
        "INSERT INTO webhook_deliveries (id, event_id, endpoint_id, merchant_id, livemode, status, \
         attempts, next_attempt_at, created_at) \
         SELECT {NEW_ID}, $1, w.id, w.merchant_id, w.livemode, 'pending', 0, $2, $2 \
         FROM webhook_endpoints w WHERE {}",
        rows::subscribers("$3", "$4", "$5", "$6", "$7")),
        &e.id, ts(e.created_at), &scope.merchant_id, scope.livemode, &e.event_type, &e.key_id,
        &e.object_id).execute(&mut *tx).await?.rows_affected();
    if scheduled > 0 {
        notify_dispatchers(tx).await?;
    }
    Ok(scheduled > 0)
}
    };
}
pub(super) use events_sql;
