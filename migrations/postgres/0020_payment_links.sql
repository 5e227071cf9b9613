-- Payment links: a reusable address (/l/{slug}) where a customer pays a fixed amount or one
-- between two bounds. A payment made through a link has the link's id as its source.

CREATE TABLE payment_links (
    id            TEXT PRIMARY KEY,
    merchant_id   TEXT NOT NULL REFERENCES merchants (id),
    livemode      BOOLEAN NOT NULL,
    -- Random, unguessable: the link's address is /l/{slug}.
    slug          TEXT NOT NULL UNIQUE,
    currency      TEXT NOT NULL,
    -- A fixed amount, or (NULL) an amount the customer chooses from min_minor to max_minor.
    amount_minor  BIGINT,
    min_minor     BIGINT,
    max_minor     BIGINT,
    description   TEXT NOT NULL,
    -- JSON array of the methods offered; empty: the currency's defaults.
    methods       TEXT NOT NULL,
    max_payments  BIGINT,
    expires_at    TIMESTAMPTZ,
    active        BOOLEAN NOT NULL,
    created_at    TIMESTAMPTZ NOT NULL
);
CREATE INDEX payment_links_merchant ON payment_links (merchant_id, livemode, created_at);
