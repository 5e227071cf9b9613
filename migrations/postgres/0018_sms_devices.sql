-- The phones that forward received-money SMS to /v1/credits/sms, each with its own token, and
-- the bodies they sent lately (a body sent twice is a replay).

CREATE TABLE sms_devices (
    id            TEXT PRIMARY KEY,
    merchant_id   TEXT NOT NULL REFERENCES merchants (id),
    livemode      BOOLEAN NOT NULL,
    name          TEXT NOT NULL,
    -- SHA-256 (hex) of the token as shown once; the token itself is never stored.
    token_hash    TEXT NOT NULL UNIQUE,
    created_at    TIMESTAMPTZ NOT NULL,
    last_used_at  TIMESTAMPTZ,
    revoked_at    TIMESTAMPTZ
);
CREATE INDEX sms_devices_merchant ON sms_devices (merchant_id, livemode, created_at);

-- What each device sent in the replay window, by SHA-256 of the body: the primary key
-- refuses the same body twice. Rows older than the window are pruned as new ones arrive.
CREATE TABLE sms_seen (
    device_id     TEXT NOT NULL REFERENCES sms_devices (id),
    digest        TEXT NOT NULL,
    received_at   TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (device_id, digest)
);
CREATE INDEX sms_seen_received ON sms_seen (received_at);
