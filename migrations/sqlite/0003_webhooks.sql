-- Webhooks: endpoints, one delivery per (event, endpoint), and every attempt's outcome.

CREATE TABLE webhook_endpoints (
    id                        TEXT PRIMARY KEY,
    merchant_id               TEXT NOT NULL REFERENCES merchants (id),
    livemode                  INTEGER NOT NULL,
    url                       TEXT NOT NULL,
    description               TEXT,
    -- ",payment.succeeded,refund.succeeded," or ",*," for every event.
    events                    TEXT NOT NULL,
    enabled                   INTEGER NOT NULL,
    secret                    TEXT NOT NULL,
    previous_secret           TEXT,
    previous_secret_until     INTEGER,
    failing_since             INTEGER,
    disabled_reason           TEXT,
    -- Set for an API key's own webhook URL: it gets only events about that key's payments.
    key_id                    TEXT,
    deleted_at                INTEGER,
    created_at                INTEGER NOT NULL,
    updated_at                INTEGER NOT NULL
);
CREATE INDEX webhook_endpoints_merchant ON webhook_endpoints (merchant_id, livemode) WHERE enabled;

CREATE TABLE webhook_deliveries (
    id               TEXT PRIMARY KEY,
    event_id         TEXT NOT NULL REFERENCES events (id),
    endpoint_id      TEXT NOT NULL REFERENCES webhook_endpoints (id),
    merchant_id      TEXT NOT NULL,
    livemode         INTEGER NOT NULL,
    -- pending (due at next_attempt_at), succeeded, failed
    status           TEXT NOT NULL,
    attempts         INTEGER NOT NULL DEFAULT 0,
    next_attempt_at  INTEGER NOT NULL,
    -- A dispatcher holds the delivery until then; after it, another may take it over.
    lease_until      INTEGER,
    last_status      INTEGER,
    created_at       INTEGER NOT NULL,
    completed_at     INTEGER
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at) WHERE status = 'pending';
CREATE INDEX webhook_deliveries_event ON webhook_deliveries (event_id);

CREATE TABLE webhook_attempts (
    id             TEXT PRIMARY KEY,
    delivery_id    TEXT NOT NULL REFERENCES webhook_deliveries (id),
    attempted_at   INTEGER NOT NULL,
    status_code    INTEGER,
    latency_ms     INTEGER NOT NULL,
    response_body  TEXT,
    error          TEXT
);
CREATE INDEX webhook_attempts_delivery ON webhook_attempts (delivery_id, attempted_at);

-- The API key behind the object an event is about, so a key's own endpoint gets its events.
ALTER TABLE events ADD COLUMN key_id TEXT;
