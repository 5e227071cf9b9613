-- Request rate limits: a key's own limit, and the token buckets nodes take tokens from.

-- Requests per second the key may make (bursts of twice that); NULL: the instance's default.
ALTER TABLE api_keys ADD COLUMN rate_limit INTEGER;

-- One token bucket per limited thing (a key, a key and a client address), shared by every
-- node: a bucket holds up to `burst` tokens and refills at the limit's rate since
-- `updated_at`. Nodes take tokens in small batches with one atomic statement, so N nodes
-- together never hand out more than the bucket holds.
CREATE TABLE rate_limit_buckets (
    name        TEXT PRIMARY KEY,
    tokens      DOUBLE PRECISION NOT NULL,
    -- What the last take granted (read back by the same statement).
    granted     INTEGER NOT NULL,
    updated_at  TIMESTAMPTZ NOT NULL
);
CREATE INDEX rate_limit_buckets_idle ON rate_limit_buckets (updated_at);
