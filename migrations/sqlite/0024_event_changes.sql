-- The events that change a payment after its creation, for the overview's roll-up worker
-- (store/rollups.rs), which every few seconds reads which hours' payments changed since its
-- last pass. Through `events_list` that read fetched every event of the window, creates
-- included, to look at its type: at thousands of creates a second, hundreds of thousands of
-- rows every five seconds, a stall of the writes beside it each time. Creates are most
-- events and never change an hour already counted, so this index leaves them out and costs
-- them nothing.
CREATE INDEX events_changes ON events (merchant_id, livemode, created_at)
    WHERE type <> 'payment.created';
