-- Duplicate reports (issue 17 §3): a new report near an open case of the
-- same category, reported shortly before, is flagged as a possible
-- duplicate when it is stored; a dispatcher may merge it into that case,
-- which closes it with a link to the surviving case.

-- The case a merged case lives on in; NULL for cases never merged. Metrics
-- leave merged cases out (the survivor counts the problem once), Open311
-- follows the link.
ALTER TABLE incidents ADD COLUMN merged_into bigint REFERENCES incidents (id);
CREATE INDEX incidents_merged_into ON incidents (merged_into) WHERE merged_into IS NOT NULL;

-- Open cases by place, in metres: the candidates' lookup is an indexed
-- ST_DWithin on geography. Partial, so the index holds only what can be
-- merged into and closed cases drop out of it.
CREATE INDEX incidents_open_geog ON incidents USING gist ((geom::geography))
    WHERE state NOT IN ('closed', 'cancelled');

-- How near and how recent an open case must be. One row; gridd serve
-- writes its --duplicate-within and --duplicate-days at start.
CREATE TABLE duplicate_settings (
    id       boolean PRIMARY KEY DEFAULT true CHECK (id),
    within_m float8 NOT NULL DEFAULT 50 CHECK (within_m > 0 AND within_m <= 10000),
    days     int    NOT NULL DEFAULT 7 CHECK (days BETWEEN 1 AND 365)
);
INSERT INTO duplicate_settings DEFAULT VALUES;

-- The flags: incident_id may duplicate candidate_id, distance_m apart.
CREATE TABLE duplicate_candidates (
    incident_id  bigint NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
    candidate_id bigint NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
    distance_m   float8 NOT NULL,
    at           timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (incident_id, candidate_id)
);
CREATE INDEX duplicate_candidates_candidate ON duplicate_candidates (candidate_id);

-- Flags a new case in the transaction (the statement) that stores it, so
-- that no path creating cases can miss it and no extra round trip is
-- paid: one index probe per report.
CREATE FUNCTION gridd_flag_duplicates() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO duplicate_candidates (incident_id, candidate_id, distance_m, at)
    SELECT NEW.id, o.id, ST_Distance(o.geom::geography, NEW.geom::geography), NEW.created_at
    FROM duplicate_settings s
    JOIN incidents o ON ST_DWithin(o.geom::geography, NEW.geom::geography, s.within_m)
    WHERE o.state NOT IN ('closed', 'cancelled')
      AND o.id <> NEW.id
      AND o.category_code = NEW.category_code
      AND o.created_at >= NEW.created_at - make_interval(days => s.days)
      AND o.created_at <= NEW.created_at;
    RETURN NULL;
END $$;
CREATE TRIGGER incidents_flag_duplicates AFTER INSERT ON incidents
    FOR EACH ROW EXECUTE FUNCTION gridd_flag_duplicates();
