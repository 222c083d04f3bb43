-- 插花地 and disputed borders (issue 17 §4). Where a merge gives an
-- overlap or a gap between admin areas to one of several areas, it records
-- a dispute: the areas, the piece, its size and the rule that decided.
-- GIS staff confirm the rule's choice, reassign the piece to another of
-- the areas, or hand it over (属地 transfer) from a date. Decisions outlive
-- generations: each merge gives a piece inside a standing decision to the
-- area decided, and its dispute carries the decision instead of opening
-- again.

CREATE TABLE border_decisions (
    id            bigserial PRIMARY KEY,
    level         text NOT NULL CHECK (level IN ('district', 'street', 'community')),
    action        text NOT NULL CHECK (action IN ('confirm', 'reassign', 'transfer')),
    to_code       text NOT NULL,           -- the area the piece belongs to
    from_code     text NOT NULL DEFAULT '', -- the area the rule had given it to
    effective_on  date,                     -- transfer: the day the piece changes hands
    note          text NOT NULL DEFAULT '' CHECK (length(note) <= 2000),
    decided_by    text NOT NULL,
    decided_at    timestamptz NOT NULL DEFAULT now(),
    generation    int REFERENCES generations (id) ON DELETE SET NULL, -- where it was decided
    superseded_by bigint REFERENCES border_decisions (id),
    geom          geometry(MultiPolygon, 4326) NOT NULL,
    CHECK ((action = 'transfer') = (effective_on IS NOT NULL))
);
CREATE INDEX border_decisions_geom ON border_decisions USING gist (geom) WHERE superseded_by IS NULL;

CREATE TABLE merge_disputes (
    id          bigserial PRIMARY KEY,
    generation  int  NOT NULL REFERENCES generations (id) ON DELETE CASCADE,
    level       text NOT NULL,
    kind        text NOT NULL CHECK (kind IN ('overlap', 'gap')),
    parent      text NOT NULL DEFAULT '',
    areas       text[] NOT NULL,    -- every area that could hold the piece, given_to first
    given_to    text NOT NULL,      -- the area this generation gave it to
    rule        text NOT NULL,      -- home, larger_share, longer_border, smaller_code, longest_border, only_neighbour, decision
    area_m2     float8 NOT NULL,
    geom        geometry(MultiPolygon, 4326) NOT NULL,
    decision_id bigint REFERENCES border_decisions (id)  -- NULL: open
);
CREATE INDEX merge_disputes_generation ON merge_disputes (generation, level);
