-- The citizen's verdict (群众签单, issue 17 §2): after 结案 the reporter of
-- a case reported through a citizen's channel says whether the problem is
-- solved, by the Open311 request's token or by a signed link. One verdict
-- per case; a dissatisfied one reopens the case once for rework.

CREATE TABLE verdicts (
    incident_id bigint PRIMARY KEY REFERENCES incidents (id) ON DELETE CASCADE,  -- one per case
    satisfied   boolean NOT NULL,
    comment     text NOT NULL DEFAULT '' CHECK (length(comment) <= 2000),
    channel     text NOT NULL CHECK (channel IN ('token', 'link')),
    reopened    boolean NOT NULL DEFAULT false,
    at          timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX verdicts_at ON verdicts (at);

-- How long after closure a verdict is accepted (gridd serve writes its
-- --verdict-within at start), and the key that signs verdict links: drawn
-- by the first gridd that needs it (crypto/rand; no pgcrypto needed on an
-- external server) and kept here, so that every replica signs and checks
-- alike. A link is only as secret as this row.
CREATE TABLE verdict_settings (
    id          boolean PRIMARY KEY DEFAULT true CHECK (id),
    within_s    int   NOT NULL DEFAULT 604800 CHECK (within_s BETWEEN 3600 AND 7776000),
    link_secret bytea CHECK (length(link_secret) >= 32)
);
INSERT INTO verdict_settings DEFAULT VALUES;
