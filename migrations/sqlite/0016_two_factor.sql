-- Two-factor sign-in: a user's TOTP secret (sealed with the master key, like dialect
-- credentials), its single-use recovery codes (hashed), the merchant's "every user must use
-- it", and sessions that are not yet fully signed in.

CREATE TABLE user_second_factors (
    user_id     TEXT PRIMARY KEY REFERENCES users (id),
    -- The confirmed secret, sealed; NULL while only a set-up is pending.
    secret      TEXT,
    -- A secret shown for set-up and not yet confirmed with a code, sealed.
    pending     TEXT,
    -- The last 30-second step a code was accepted for: a code is never accepted twice.
    last_step   BIGINT,
    enabled_at  INTEGER
);

CREATE TABLE recovery_codes (
    user_id     TEXT NOT NULL REFERENCES users (id),
    -- SHA-256 (hex) of the code as shown, without its dash; the code itself is never stored.
    code_hash   TEXT NOT NULL,
    used_at     INTEGER,
    PRIMARY KEY (user_id, code_hash)
);

ALTER TABLE merchants ADD COLUMN require_two_factor INTEGER NOT NULL DEFAULT 0;

-- full: signed in; second_factor: the password was right, the code is still asked;
-- enroll: the merchant requires two-factor sign-in and this user must set it up first.
ALTER TABLE dashboard_sessions ADD COLUMN stage TEXT NOT NULL DEFAULT 'full';
