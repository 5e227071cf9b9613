-- no-transaction
-- Retention prunes old delivery attempts a small batch at a time, oldest first; this index
-- finds them without scanning. Built CONCURRENTLY so that an install with big tables keeps
-- taking payments meanwhile (one statement per file: PostgreSQL runs several in one
-- implicit transaction, which CONCURRENTLY refuses).
CREATE INDEX CONCURRENTLY IF NOT EXISTS webhook_attempts_time ON webhook_attempts (attempted_at);
