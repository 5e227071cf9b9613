-- UPI payable amounts are held per UPI id and per mode: a test payment never takes (or pushes
-- down) the amount a live payment asks for. Manual credit matches record an accepted shortfall.

DROP INDEX payments_upi_payable;
CREATE UNIQUE INDEX payments_upi_mode_payable ON payments (upi_id, livemode, payable_minor)
    WHERE status = 'pending' AND upi_id IS NOT NULL;

-- Set only when a dashboard user matched this credit by hand to a payment that asks for more,
-- and confirmed the shortfall: how much short, who confirmed, when.
ALTER TABLE credits ADD COLUMN shortfall_minor BIGINT;
ALTER TABLE credits ADD COLUMN shortfall_accepted_by TEXT;
ALTER TABLE credits ADD COLUMN shortfall_accepted_at TIMESTAMPTZ;
