-- Each merchant's mailbox (per mode) that receives its bank's credit alerts: where it is, how
-- far it has been read, what went wrong last, and which node reads it now (a lease).

CREATE TABLE mailboxes (
    merchant_id   TEXT NOT NULL REFERENCES merchants (id),
    livemode      INTEGER NOT NULL,
    host          TEXT NOT NULL,
    port          INTEGER NOT NULL,
    -- 'tls' (implicit TLS, port 993) or 'starttls' (port 143 upgraded before login).
    security      TEXT NOT NULL,
    username      TEXT NOT NULL,
    -- Sealed with the master key, bound to the merchant and mode.
    password      TEXT NOT NULL,
    folder        TEXT NOT NULL,
    -- Senders whose messages are read ('' reads every sender): addresses or domains, one per line.
    senders       TEXT NOT NULL,
    -- When the settings last changed: a reader started before then starts again.
    set_at        INTEGER NOT NULL,
    -- Messages that arrived from then on are read: when this host, user and folder were first
    -- set (a new password keeps it, so alerts refused a login meanwhile are still read).
    read_from     INTEGER NOT NULL,
    -- How far the folder has been read: UIDs are only comparable under one UIDVALIDITY.
    uid_validity  INTEGER,
    last_uid      INTEGER,
    connected_at  INTEGER,
    last_read_at  INTEGER,
    last_message  TEXT,
    last_error    TEXT,
    last_error_at INTEGER,
    -- The node reading it, until when; another node takes over once it lapses.
    lease_owner   TEXT,
    lease_until   INTEGER,
    PRIMARY KEY (merchant_id, livemode)
);
