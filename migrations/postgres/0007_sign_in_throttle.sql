-- The sign-in throttle, counted before the password is checked: one row per subject
-- (`email:<address>` or `addr:<client address>`). A try is counted, atomically, before the
-- work it guards; once a subject has used its free tries, each try blocks the next for a
-- while. Rows untouched for a window and no longer blocked are purged.
DROP TABLE login_throttle;

CREATE TABLE sign_in_throttle (
    subject        TEXT PRIMARY KEY,
    -- Tries counted since the window began (a try more than a window after the last one
    -- starts again at 1).
    tries          INTEGER NOT NULL,
    blocked_until  TIMESTAMPTZ,
    -- The last counted try.
    updated_at     TIMESTAMPTZ NOT NULL
);
CREATE INDEX sign_in_throttle_updated ON sign_in_throttle (updated_at);

-- Client addresses a user has signed in from: while a stranger keeps an e-mail address
-- blocked, its owner may still try from one of these (counted on its own).
CREATE TABLE sign_in_known (
    email         TEXT NOT NULL,
    address       TEXT NOT NULL,
    last_sign_in  TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (email, address)
);
CREATE INDEX sign_in_known_last ON sign_in_known (last_sign_in);
