-- What a merge records besides the areas: why an area needs a person's look,
-- the pieces the merge changed (for review on the map), lineage between
-- generations and the crosswalk from every departmental grid.

ALTER TABLE areas ADD COLUMN review text NOT NULL DEFAULT '';
ALTER TABLE areas ADD COLUMN area_m2 float8;

CREATE TABLE merge_pieces (
    id         bigserial PRIMARY KEY,
    generation int  NOT NULL REFERENCES generations (id) ON DELETE CASCADE,
    level      text NOT NULL,
    kind       text NOT NULL,   -- overlap, gap, sliver, uncovered, new_grid, split, bad_code
    code       text NOT NULL DEFAULT '',  -- the area that received the piece
    other      text NOT NULL DEFAULT '',  -- the areas that lost it, comma-separated
    parent     text NOT NULL DEFAULT '',
    area_m2    float8 NOT NULL DEFAULT 0,
    geom       geometry(MultiPolygon, 4326)
);
CREATE INDEX merge_pieces_generation ON merge_pieces (generation, kind);
CREATE INDEX merge_pieces_geom ON merge_pieces USING gist (geom);

CREATE TABLE lineage (
    generation      int  NOT NULL REFERENCES generations (id) ON DELETE CASCADE,
    from_generation int,
    old_code        text,
    new_code        text,
    relation        text NOT NULL CHECK (relation IN ('kept', 'reshaped', 'split', 'merged', 'retired', 'new')),
    old_share       float8,  -- share of the old grid's area in the new one
    new_share       float8   -- share of the new grid's area from the old one
);
CREATE INDEX lineage_generation ON lineage (generation, relation);
CREATE INDEX lineage_old ON lineage (from_generation, old_code);

CREATE TABLE crosswalk (
    generation   int    NOT NULL REFERENCES generations (id) ON DELETE CASCADE,
    dept_code    text   NOT NULL REFERENCES departments (code),
    layer_id     bigint NOT NULL REFERENCES source_layers (id) ON DELETE CASCADE,
    feature_id   bigint NOT NULL REFERENCES source_features (id) ON DELETE CASCADE,
    source_code  text   NOT NULL,
    grid_code    text   NOT NULL,   -- '' for the part outside the unified coverage
    source_share float8 NOT NULL,   -- share of the departmental grid's area
    grid_share   float8,            -- share of the unified grid's area
    area_m2      float8 NOT NULL
);
CREATE INDEX crosswalk_generation ON crosswalk (generation, dept_code);
