-- Request rate limits: a key's own limit, and the token buckets nodes take tokens from.

-- Requests per second the key may make (bursts of twice that); NULL: the instance's default.
ALTER TABLE api_keys ADD COLUMN rate_limit INTEGER;

-- One token bucket per limited thing (a key, a key and a client address). A bucket holds up
-- to `burst` tokens and refills at the limit's rate since `updated_at`; a request takes one.
-- SQLite is one node, which keeps its buckets in memory; the table is here so both backends
-- have one schema.
CREATE TABLE rate_limit_buckets (
    name        TEXT PRIMARY KEY,
    tokens      REAL NOT NULL,
    -- What the last take granted (read back by the same statement).
    granted     INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
);
CREATE INDEX rate_limit_buckets_idle ON rate_limit_buckets (updated_at);
