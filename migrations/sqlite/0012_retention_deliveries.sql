-- Retention prunes old finished deliveries oldest first (see 0011).
CREATE INDEX IF NOT EXISTS webhook_deliveries_created ON webhook_deliveries (created_at);
