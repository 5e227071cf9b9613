-- The merchant dashboard: login sessions, the login throttle, merchant settings, and the
-- indexes its payment filters use.

-- A signed-in browser. The cookie holds a random token; only its SHA-256 is stored.
CREATE TABLE dashboard_sessions (
    token_hash   TEXT PRIMARY KEY,
    user_id      TEXT NOT NULL REFERENCES users (id),
    merchant_id  TEXT NOT NULL REFERENCES merchants (id),
    -- Every form of the session carries this token.
    csrf         TEXT NOT NULL,
    -- The test/live switch: which mode the session shows.
    livemode     BOOLEAN NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL,
    expires_at   TIMESTAMPTZ NOT NULL
);
CREATE INDEX dashboard_sessions_expiry ON dashboard_sessions (expires_at);

-- Failed logins per e-mail address (known or not): after five, tries wait.
CREATE TABLE login_throttle (
    email          TEXT PRIMARY KEY,
    failures       INTEGER NOT NULL,
    blocked_until  TIMESTAMPTZ,
    updated_at     TIMESTAMPTZ NOT NULL
);

ALTER TABLE merchants ADD COLUMN success_url TEXT;
ALTER TABLE merchants ADD COLUMN cancel_url TEXT;
-- Seconds a checkout stays open when a create does not say (NULL: Hundi's default).
ALTER TABLE merchants ADD COLUMN checkout_expiry_secs BIGINT;

CREATE INDEX payments_by_source ON payments (merchant_id, livemode, source, created_at DESC, id DESC);
CREATE INDEX payments_by_email ON payments (merchant_id, livemode, lower(customer_email))
    WHERE customer_email IS NOT NULL;
-- Searching by the start of a customer's name (LIKE 'abc%' on any collation).
CREATE INDEX payments_by_name ON payments (merchant_id, livemode, lower(customer_name) text_pattern_ops)
    WHERE customer_name IS NOT NULL;
CREATE INDEX webhook_deliveries_recent ON webhook_deliveries (merchant_id, livemode, created_at DESC);
