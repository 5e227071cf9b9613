-- The overview's hourly roll-up (src/domain/rollup.rs): payments counted per hour created,
-- currency and status, and where each merchant's roll-up stands in each mode. Derived data:
-- the worker fills it from the payments, starting empty.
CREATE TABLE payment_hours (
    merchant_id     TEXT NOT NULL,
    livemode        BOOLEAN NOT NULL,
    hour            TIMESTAMPTZ NOT NULL,
    currency        TEXT NOT NULL,
    status          TEXT NOT NULL,
    payments        BIGINT NOT NULL,
    amount_minor    BIGINT NOT NULL,
    refunded_minor  BIGINT NOT NULL,
    PRIMARY KEY (merchant_id, livemode, hour, currency, status)
);

CREATE TABLE payment_rollups (
    merchant_id  TEXT NOT NULL,
    livemode     BOOLEAN NOT NULL,
    filled_from  TIMESTAMPTZ NOT NULL,
    closed_to    TIMESTAMPTZ NOT NULL,
    events_to    TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (merchant_id, livemode)
);
