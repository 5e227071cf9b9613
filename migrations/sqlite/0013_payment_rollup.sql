-- The overview's hourly roll-up (src/domain/rollup.rs): payments counted per hour created,
-- currency and status, and where each merchant's roll-up stands in each mode. Derived data:
-- the worker fills it from the payments, starting empty.
CREATE TABLE payment_hours (
    merchant_id     TEXT NOT NULL,
    livemode        INTEGER NOT NULL,
    hour            INTEGER NOT NULL,
    currency        TEXT NOT NULL,
    status          TEXT NOT NULL,
    payments        INTEGER NOT NULL,
    amount_minor    INTEGER NOT NULL,
    refunded_minor  INTEGER NOT NULL,
    PRIMARY KEY (merchant_id, livemode, hour, currency, status)
) WITHOUT ROWID;

CREATE TABLE payment_rollups (
    merchant_id  TEXT NOT NULL,
    livemode     INTEGER NOT NULL,
    filled_from  INTEGER NOT NULL,
    closed_to    INTEGER NOT NULL,
    events_to    INTEGER NOT NULL,
    PRIMARY KEY (merchant_id, livemode)
) WITHOUT ROWID;
