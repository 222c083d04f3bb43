-- Accounts, sessions, API tokens and the audit log (权限管理、责任追查).
-- Secrets are never stored: passwords as bcrypt hashes, session ids and
-- API tokens as SHA-256 of 32 random bytes (high entropy: no salt or
-- stretching needed, and a lookup by hash stays an index probe).

-- A scope is an area code: '' (everything), a district (6 digits), a
-- street (9), a community (12) or a grid (15). A principal sees and acts
-- only on what lies under it (the code has the scope as prefix).
CREATE TABLE users (
    id            bigserial PRIMARY KEY,
    login         text NOT NULL UNIQUE CHECK (login ~ '^[A-Za-z0-9._@-]{1,64}$'),
    name          text NOT NULL DEFAULT '' CHECK (length(name) <= 100),
    password_hash text NOT NULL,
    role          text NOT NULL CHECK (role IN ('admin', 'gis', 'dispatcher', 'worker', 'viewer', 'reporter')),
    scope         text NOT NULL DEFAULT '' CHECK (scope ~ '^([0-9]{6}([0-9]{3}){0,3})?$'),
    person_id     bigint REFERENCES people (id) ON DELETE SET NULL,
    disabled      boolean NOT NULL DEFAULT false,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE sessions (
    id_hash    bytea PRIMARY KEY CHECK (length(id_hash) = 32),
    user_id    bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL DEFAULT now(),
    last_seen  timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    remote     text NOT NULL DEFAULT ''
);
CREATE INDEX sessions_user ON sessions (user_id);
CREATE INDEX sessions_expiry ON sessions (expires_at);

CREATE TABLE api_tokens (
    id         bigserial PRIMARY KEY,
    name       text NOT NULL CHECK (name <> '' AND length(name) <= 100),
    token_hash bytea NOT NULL UNIQUE CHECK (length(token_hash) = 32),
    role       text NOT NULL CHECK (role IN ('admin', 'gis', 'dispatcher', 'worker', 'viewer', 'reporter')),
    scope      text NOT NULL DEFAULT '' CHECK (scope ~ '^([0-9]{6}([0-9]{3}){0,3})?$'),
    person_id  bigint REFERENCES people (id) ON DELETE SET NULL,
    created_by text NOT NULL DEFAULT '',
    created_at timestamptz NOT NULL DEFAULT now(),
    last_used  timestamptz,
    revoked_at timestamptz
);

-- Every change, who made it, from where, before and after. Append-only:
-- the trigger refuses UPDATE and DELETE (TRUNCATE too), whoever asks.
CREATE TABLE audit_log (
    id          bigserial PRIMARY KEY,
    at          timestamptz NOT NULL DEFAULT now(),
    actor_kind  text NOT NULL CHECK (actor_kind IN ('user', 'token', 'cli', 'system', 'dev')),
    actor_id    bigint,
    actor_name  text NOT NULL DEFAULT '',
    credential  text NOT NULL DEFAULT '', -- 'session:<first 8 hex of its hash>' or 'token:<id>'
    action      text NOT NULL,
    target      text NOT NULL DEFAULT '',
    before      jsonb,
    after       jsonb,
    remote      text NOT NULL DEFAULT '',
    status      int NOT NULL DEFAULT 0
);
CREATE INDEX audit_log_at ON audit_log (at);
CREATE INDEX audit_log_action ON audit_log (action, at);
CREATE INDEX audit_log_actor ON audit_log (actor_name, at);

CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only: % is not allowed', TG_OP USING ERRCODE = 'insufficient_privilege';
END $$;
CREATE TRIGGER audit_log_no_update BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();
