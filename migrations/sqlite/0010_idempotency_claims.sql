-- Idempotency keys: a claim carries a random token, so a stale claim is released (and a
-- response kept) only by the request that holds it; keys are purged after 24 hours by age.
ALTER TABLE idempotency_keys ADD COLUMN claim_token TEXT NOT NULL DEFAULT '';
CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at);
