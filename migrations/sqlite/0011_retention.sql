-- Retention prunes old delivery attempts a small batch at a time, oldest first; this index
-- finds them without scanning.
CREATE INDEX IF NOT EXISTS webhook_attempts_time ON webhook_attempts (attempted_at);
