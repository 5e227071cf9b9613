-- The lists' indexes in ascending order. Ids and creation times only grow, so every new
-- entry of a descending index went to its leftmost leaf page, which splits in half each time
-- it fills: the pages stayed half empty (1.8 times the size of the same entries in
-- ascending order, measured on both backends) and the index split twice as often. An
-- ascending index takes new entries at its right end, where a full page is left full.
-- "Newest first" reads the same index backwards, which costs the same.
DROP INDEX payments_list;
CREATE INDEX payments_list ON payments (merchant_id, livemode, created_at, id);
DROP INDEX payments_by_status;
CREATE INDEX payments_by_status ON payments (merchant_id, livemode, status, created_at, id);
DROP INDEX payments_by_source;
CREATE INDEX payments_by_source ON payments (merchant_id, livemode, source, created_at, id);
DROP INDEX events_list;
CREATE INDEX events_list ON events (merchant_id, livemode, created_at, id);
DROP INDEX webhook_deliveries_recent;
CREATE INDEX webhook_deliveries_recent ON webhook_deliveries (merchant_id, livemode, created_at);
