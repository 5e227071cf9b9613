-- Core schema: merchants, dashboard users, API keys, payments, refunds, the event outbox
-- and idempotency keys. Money is integer minor units; the currency gives the exponent.

CREATE TABLE merchants (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL
);

CREATE TABLE users (
    id             TEXT PRIMARY KEY,
    merchant_id    TEXT NOT NULL REFERENCES merchants (id),
    email          TEXT NOT NULL,
    password_hash  TEXT NOT NULL,
    created_at     TIMESTAMPTZ NOT NULL
);
CREATE UNIQUE INDEX users_email ON users (lower(email));

CREATE TABLE api_keys (
    id             TEXT PRIMARY KEY,
    merchant_id    TEXT NOT NULL REFERENCES merchants (id),
    livemode       BOOLEAN NOT NULL,
    label          TEXT NOT NULL,
    prefix         TEXT NOT NULL,
    secret_hash    BYTEA NOT NULL,
    permissions    TEXT NOT NULL,
    webhook_url    TEXT,
    request_count  BIGINT NOT NULL DEFAULT 0,
    created_at     TIMESTAMPTZ NOT NULL,
    revoked_at     TIMESTAMPTZ
);
CREATE UNIQUE INDEX api_keys_secret_hash ON api_keys (secret_hash);
CREATE INDEX api_keys_merchant ON api_keys (merchant_id, created_at);

CREATE TABLE payments (
    id              TEXT PRIMARY KEY,
    merchant_id     TEXT NOT NULL REFERENCES merchants (id),
    livemode        BOOLEAN NOT NULL,
    key_id          TEXT,
    source          TEXT NOT NULL,
    status          TEXT NOT NULL,
    currency        TEXT NOT NULL,
    amount_minor    BIGINT NOT NULL CHECK (amount_minor > 0),
    refunded_minor  BIGINT NOT NULL DEFAULT 0 CHECK (refunded_minor >= 0 AND refunded_minor <= amount_minor),
    description     TEXT,
    reference       TEXT,
    customer_name   TEXT,
    customer_email  TEXT,
    customer_phone  TEXT,
    metadata        TEXT NOT NULL,
    success_url     TEXT,
    cancel_url      TEXT,
    methods         TEXT NOT NULL,
    created_at      TIMESTAMPTZ NOT NULL,
    expires_at      TIMESTAMPTZ NOT NULL,
    updated_at      TIMESTAMPTZ NOT NULL
);
CREATE INDEX payments_list ON payments (merchant_id, livemode, created_at DESC, id DESC);
CREATE INDEX payments_by_status ON payments (merchant_id, livemode, status, created_at DESC, id DESC);
CREATE INDEX payments_by_reference ON payments (merchant_id, livemode, reference) WHERE reference IS NOT NULL;
CREATE INDEX payments_pending_expiry ON payments (expires_at) WHERE status = 'pending';
CREATE INDEX payments_by_key ON payments (key_id) WHERE key_id IS NOT NULL;

CREATE TABLE refunds (
    id            TEXT PRIMARY KEY,
    payment_id    TEXT NOT NULL REFERENCES payments (id),
    merchant_id   TEXT NOT NULL,
    livemode      BOOLEAN NOT NULL,
    currency      TEXT NOT NULL,
    amount_minor  BIGINT NOT NULL CHECK (amount_minor > 0),
    reason        TEXT,
    status        TEXT NOT NULL,
    created_at    TIMESTAMPTZ NOT NULL
);
CREATE INDEX refunds_payment ON refunds (payment_id);

-- The outbox: written in the same transaction as the change it describes.
CREATE TABLE events (
    id           TEXT PRIMARY KEY,
    merchant_id  TEXT NOT NULL,
    livemode     BOOLEAN NOT NULL,
    type         TEXT NOT NULL,
    object_id    TEXT NOT NULL,
    payload      TEXT NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL
);
CREATE INDEX events_list ON events (merchant_id, livemode, created_at DESC, id DESC);
CREATE INDEX events_object ON events (object_id);

CREATE TABLE idempotency_keys (
    merchant_id      TEXT NOT NULL,
    livemode         BOOLEAN NOT NULL,
    key              TEXT NOT NULL,
    request_hash     BYTEA NOT NULL,
    response_status  INTEGER,
    response_body    BYTEA,
    created_at       TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (merchant_id, livemode, key)
);
