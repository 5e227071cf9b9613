-- Receipts e-mailed to customers: one per payment.succeeded or refund.succeeded event whose
-- payment has a customer e-mail, written in the event's own transaction (never lost) and sent
-- by a sender that leases it (one node at a time) and retries with backoff.

CREATE TABLE receipts (
    id              TEXT PRIMARY KEY,
    event_id        TEXT NOT NULL UNIQUE,
    merchant_id     TEXT NOT NULL,
    livemode        BOOLEAN NOT NULL,
    payment_id      TEXT NOT NULL,
    -- The refund a refund receipt is for (NULL: a payment receipt).
    refund_id       TEXT,
    to_email        TEXT NOT NULL,
    -- pending, sent, failed (refused for good, or every try failed), expired (not sent within
    -- a day) or skipped (a test-mode payment's, when test receipts are not sent)
    status          TEXT NOT NULL,
    attempts        INTEGER NOT NULL,
    next_attempt_at TIMESTAMPTZ NOT NULL,
    lease_until     TIMESTAMPTZ,
    last_error      TEXT,
    sent_at         TIMESTAMPTZ,
    created_at      TIMESTAMPTZ NOT NULL
);
CREATE INDEX receipts_due ON receipts (next_attempt_at) WHERE status = 'pending';
CREATE INDEX receipts_payment ON receipts (payment_id);
