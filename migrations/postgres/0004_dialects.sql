-- Dialects: what a dialect must echo about its payments, their own webhook formats and
-- per-payment callback URLs, and the dialects' credentials (encrypted at rest).

-- The dialect's own request fields Hundi must echo later (PayGate metadata as sent, XPay's
-- shipping, Kazawallet's amount as sent…), as the JSON the dialect module wrote.
ALTER TABLE payments ADD COLUMN dialect_data TEXT;
-- Waypay's orderRef is unique per merchant: the index, not a read, enforces it.
CREATE UNIQUE INDEX payments_waypay_ref ON payments (merchant_id, livemode, reference)
    WHERE source = 'waypay';

-- `native` (Standard Webhooks), `auto` (an API key's own URL: each payment in the format of
-- the dialect that created it), or one dialect's format.
ALTER TABLE webhook_endpoints ADD COLUMN format TEXT NOT NULL DEFAULT 'native';
UPDATE webhook_endpoints SET format = 'auto' WHERE key_id IS NOT NULL;
-- Set for a callback URL given with one payment (Pakhi Pay's callback_url, Waypay's
-- callbackUrl): it gets only that payment's events.
ALTER TABLE webhook_endpoints ADD COLUMN payment_id TEXT;
DROP INDEX webhook_endpoints_merchant;
CREATE INDEX webhook_endpoints_merchant ON webhook_endpoints (merchant_id, livemode)
    WHERE enabled AND payment_id IS NULL;
CREATE INDEX webhook_endpoints_payment ON webhook_endpoints (payment_id) WHERE payment_id IS NOT NULL;

-- A dialect credential: XPay's account id and HMAC secrets, Waypay's and Kazawallet's secrets,
-- and copies of API keys that a dialect signs with. `secret` is sealed (AES-256-GCM) under the
-- master key, which never enters the database.
CREATE TABLE dialect_credentials (
    merchant_id  TEXT NOT NULL REFERENCES merchants (id),
    livemode     BOOLEAN NOT NULL,
    name         TEXT NOT NULL,
    public_id    TEXT,
    secret       TEXT NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (merchant_id, livemode, name)
);
CREATE UNIQUE INDEX dialect_credentials_public ON dialect_credentials (name, public_id)
    WHERE public_id IS NOT NULL;
