-- A merchant's team: each dashboard user has a role, and every change made through the
-- dashboard, the command line or the API's admin paths is written to an append-only log.

-- Users who existed before roles keep doing everything: they become owners.
ALTER TABLE users ADD COLUMN role TEXT NOT NULL DEFAULT 'owner';

CREATE TABLE audit_log (
    id            TEXT PRIMARY KEY,
    -- NULL for what belongs to no merchant (a failed sign-in for an unknown address).
    merchant_id   TEXT REFERENCES merchants (id),
    -- 'test' or 'live' for what belongs to one mode, NULL for the merchant as a whole.
    mode          TEXT,
    -- user, cli, key or anonymous; the id is the user's or key's (kept after they go).
    actor_kind    TEXT NOT NULL,
    actor_id      TEXT NOT NULL,
    actor_label   TEXT NOT NULL,
    action        TEXT NOT NULL,
    object_id     TEXT,
    -- A JSON object: what changed, never a secret.
    detail        TEXT NOT NULL,
    client_addr   TEXT,
    user_agent    TEXT,
    created_at    TIMESTAMPTZ NOT NULL
);
-- The audit page: a merchant's newest entries, by actor or by action.
CREATE INDEX audit_log_recent ON audit_log (merchant_id, created_at DESC, id DESC);
CREATE INDEX audit_log_by_actor ON audit_log (merchant_id, actor_id, created_at DESC, id DESC);
CREATE INDEX audit_log_by_action ON audit_log (merchant_id, action, created_at DESC, id DESC);
-- Both at once: without it, an actor's entries of an action they never took would be read
-- through all of that actor's entries to find that there are none.
CREATE INDEX audit_log_by_actor_action
    ON audit_log (merchant_id, actor_id, action, created_at DESC, id DESC);

-- Nothing in Hundi changes or deletes an entry, and the database refuses it too.
CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the audit log is append-only';
END
$$;
CREATE TRIGGER audit_log_no_change BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();
