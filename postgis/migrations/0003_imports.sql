-- Imports started over HTTP run as jobs whose state and report any replica
-- can answer for.
CREATE TABLE import_jobs (
    id          bigserial PRIMARY KEY,
    state       text NOT NULL DEFAULT 'queued' CHECK (state IN ('queued', 'running', 'done', 'failed')),
    request     jsonb NOT NULL,
    report      jsonb,
    error       text,
    error_code  text,
    created_at  timestamptz NOT NULL DEFAULT now(),
    finished_at timestamptz
);
