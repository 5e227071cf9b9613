-- Hosted checkout: attempts, how a payment was paid, UPI payable amounts and bank credits.

ALTER TABLE merchants ADD COLUMN upi_id TEXT;
ALTER TABLE merchants ADD COLUMN upi_name TEXT;

ALTER TABLE payments ADD COLUMN upi_id TEXT;
ALTER TABLE payments ADD COLUMN upi_name TEXT;
ALTER TABLE payments ADD COLUMN payable_minor INTEGER;
ALTER TABLE payments ADD COLUMN paid_with TEXT;
ALTER TABLE payments ADD COLUMN method_reference TEXT;
ALTER TABLE payments ADD COLUMN attempt_count INTEGER NOT NULL DEFAULT 0;

-- While pending, no two payments to one UPI id ask for the same amount: that amount is how a
-- bank credit finds its payment. Enforced here, never by read-then-write.
CREATE UNIQUE INDEX payments_upi_payable ON payments (upi_id, payable_minor)
    WHERE status = 'pending' AND upi_id IS NOT NULL;

CREATE TABLE payment_attempts (
    id               TEXT PRIMARY KEY,
    payment_id       TEXT NOT NULL REFERENCES payments (id),
    method           TEXT NOT NULL,
    status           TEXT NOT NULL,
    -- Never a card number: the brand and last four only.
    card_brand       TEXT,
    card_last4       TEXT,
    wallet_last4     TEXT,
    failure_code     TEXT,
    failure_message  TEXT,
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL
);
CREATE INDEX payment_attempts_payment ON payment_attempts (payment_id, created_at);

CREATE TABLE credits (
    id            TEXT PRIMARY KEY,
    merchant_id   TEXT NOT NULL REFERENCES merchants (id),
    livemode      INTEGER NOT NULL,
    utr           TEXT NOT NULL,
    currency      TEXT NOT NULL,
    amount_minor  INTEGER NOT NULL CHECK (amount_minor > 0),
    payer         TEXT,
    received_at   INTEGER NOT NULL,
    payment_id    TEXT REFERENCES payments (id),
    matched_at    INTEGER,
    created_at    INTEGER NOT NULL
);
CREATE UNIQUE INDEX credits_utr ON credits (merchant_id, livemode, utr);
CREATE INDEX credits_unmatched ON credits (merchant_id, livemode, created_at DESC) WHERE payment_id IS NULL;

-- Instance-wide secrets shared by every node (for example the checkout's CSRF key).
CREATE TABLE instance_secrets (
    name   TEXT PRIMARY KEY,
    value  TEXT NOT NULL
);
